package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// What the fold reads of each kind of row, by id. The same query gives the
// state before a change (touch) and after (apply).

var stateSQL = map[rowKind]string{
	kindLog: `SELECT id, team_id, COALESCE(village_id, area_id), occurred_at, COALESCE(citizen_ref, ''), outcomes,
		deleted, version FROM assistance_logs WHERE id IN `,
	kindSession: `SELECT id, team_id, area_id, status, held_at, attendees, women, minority, elderly, topics, deleted, version
		FROM training_sessions WHERE id IN `,
	kindProgress:   `SELECT id, team_id, area_id, indicator, as_of, value, void, version FROM progress_reports WHERE id IN `,
	kindAttendee:   `SELECT id, team_id, version FROM session_attendees WHERE id IN `,
	kindConflict:   `SELECT id, team_id, version FROM sync_conflicts WHERE id IN `,
	kindTeamTarget: `SELECT id, team_id, version FROM team_targets WHERE id IN `,
	kindMember: `SELECT CAST(u.id AS TEXT), COALESCE(u.team_id, 0), COALESCE(t.area_id, 0), u.role, u.active
		FROM users u LEFT JOIN teams t ON t.id = u.team_id WHERE u.id IN `,
}

// inShapes are the sizes of the IN lists the fold sends: a list is padded
// to the next size (repeating its last id), so each query has at most
// five prepared shapes.
var inShapes = []int{1, 8, 64, 256, 500}

// eachChunk calls fn with the ids in chunks padded to an inShapes size,
// with the "(?, ?, …)" list for it.
func eachChunk(ids []string, fn func(list string, args []any) error) error {
	for len(ids) > 0 {
		n := min(len(ids), inShapes[len(inShapes)-1])
		size := inShapes[0]
		for _, s := range inShapes {
			if s >= n {
				size = s
				break
			}
		}
		args := make([]any, size)
		for i := range args {
			args[i] = ids[min(i, n-1)]
		}
		if err := fn(inList(size), args); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

func inList(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

// loadStates reads the current state of the rows of kind k with the given
// ids; ids without a row are absent from the map.
func (s *Store) loadStates(ctx context.Context, tx *sql.Tx, k rowKind, ids []string) (map[string]any, error) {
	out := make(map[string]any, len(ids))
	err := eachChunk(ids, func(list string, args []any) error {
		if k == kindMember { // users.id is an integer column
			for i, a := range args {
				args[i], _ = strconv.ParseInt(a.(string), 10, 64)
			}
		}
		rows, err := s.wstmts.query(ctx, tx, stateSQL[k]+list, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			id, st, err := scanState(k, rows)
			if err != nil {
				return err
			}
			out[id] = st
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("fold: read rows: %w", err)
	}
	return out, nil
}

func scanState(k rowKind, rows *sql.Rows) (string, any, error) {
	switch k {
	case kindLog:
		var l logState
		var outcomes string
		var deleted bool
		if err := rows.Scan(&l.ID, &l.Team, &l.Place, &l.OccurredAt, &l.Ref, &outcomes, &deleted, &l.Version); err != nil {
			return "", nil, err
		}
		l.Day, l.Outcomes, l.Live = vnDayOf(l.OccurredAt), parseOutcomesJSON(outcomes), !deleted
		return l.ID, &l, nil
	case kindSession:
		var x sessionState
		var topics string
		var deleted bool
		if err := rows.Scan(&x.ID, &x.Team, &x.Place, &x.Status, &x.HeldAt, &x.Attendees, &x.Women, &x.Minority,
			&x.Elderly, &topics, &deleted, &x.Version); err != nil {
			return "", nil, err
		}
		x.Topics, x.Live = parseTopicsJSON(topics), !deleted
		return x.ID, &x, nil
	case kindProgress:
		var p progressState
		if err := rows.Scan(&p.ID, &p.Team, &p.Place, &p.Indicator, &p.AsOf, &p.Value, &p.Void, &p.Version); err != nil {
			return "", nil, err
		}
		return p.ID, &p, nil
	case kindMember:
		var m memberState
		var id string
		if err := rows.Scan(&id, &m.Team, &m.Area, &m.Role, &m.Active); err != nil {
			return "", nil, err
		}
		m.ID, _ = strconv.ParseInt(id, 10, 64)
		return id, &m, nil
	default:
		v := rowVersion{Live: true}
		if err := rows.Scan(&v.ID, &v.Team, &v.Version); err != nil {
			return "", nil, err
		}
		return v.ID, &v, nil
	}
}
