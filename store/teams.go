package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Team is a village (or commune) community digital technology team.
type Team struct {
	ID               int64
	AreaID           int64
	AreaPath         string
	Name             string
	FoundedOn        string // YYYY-MM-DD or ""
	FoundingDecision string
	Active           bool
	Members          int // active members and leads
	Version          int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// NewTeam is what creating a team takes.
type NewTeam struct {
	AreaID           int64
	Name             string
	FoundedOn        string
	FoundingDecision string
}

// TeamPatch changes the fields that are set.
type TeamPatch struct {
	AreaID           *int64
	Name             *string
	FoundedOn        *string
	FoundingDecision *string
	Active           *bool
}

const teamColumns = `t.id, t.area_id, a.path, t.name, COALESCE(t.founded_on, ''), t.founding_decision, t.active,
	(SELECT count(*) FROM users u WHERE u.team_id = t.id AND u.active = 1), t.version, t.created_at, t.updated_at`

func scanTeam(sc interface{ Scan(...any) error }) (*Team, error) {
	var t Team
	var created, updated string
	err := sc.Scan(&t.ID, &t.AreaID, &t.AreaPath, &t.Name, &t.FoundedOn, &t.FoundingDecision, &t.Active,
		&t.Members, &t.Version, &created, &updated)
	if err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = parseTS(created), parseTS(updated)
	return &t, nil
}

func (s *Store) team(ctx context.Context, q querier, id int64) (*Team, error) {
	t, err := scanTeam(q.QueryRowContext(ctx, `SELECT `+teamColumns+` FROM teams t JOIN areas a ON a.id = t.area_id WHERE t.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("team %d: %w", id, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("team %d: %w", id, err)
	}
	return t, nil
}

// querier is what *sql.DB and *sql.Tx share for reads.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Team returns the team if the actor may see it, or an error wrapping ErrNotFound.
func (s *Store) Team(ctx context.Context, a Actor, id int64) (*Team, error) {
	t, err := s.team(ctx, s.read, id)
	if err != nil {
		return nil, err
	}
	if !a.CanSeeTeam(t.ID, t.AreaPath) {
		return nil, fmt.Errorf("team %d: %w", id, ErrNotFound)
	}
	return t, nil
}

// TeamFilter narrows Teams. Zero values mean no filter.
type TeamFilter struct {
	AreaID int64  // teams in this area's subtree
	Query  string // substring of the name (case and diacritics folded, see Fold)
	Active *bool
	After  int64
	Limit  int
}

// Teams lists the teams the actor may see.
func (s *Store) Teams(ctx context.Context, a Actor, f TeamFilter) ([]Team, error) {
	var (
		where []string
		args  []any
	)
	if a.InTeamRole() {
		where = append(where, "t.id = ?")
		args = append(args, a.TeamID)
	} else {
		lo, hi := subtreeRange(a.listRoot())
		where = append(where, "a.path >= ? AND a.path < ?")
		args = append(args, lo, hi)
	}
	if f.AreaID != 0 {
		ar, err := s.Area(ctx, a, f.AreaID)
		if err != nil {
			return nil, err
		}
		lo, hi := subtreeRange(ar.Path)
		where = append(where, "a.path >= ? AND a.path < ?")
		args = append(args, lo, hi)
	}
	if f.Query != "" {
		where = append(where, "instr(t.name_fold, ?) > 0")
		args = append(args, Fold(f.Query))
	}
	if f.Active != nil {
		where = append(where, "t.active = ?")
		args = append(args, *f.Active)
	}
	where = append(where, "t.id > ?")
	args = append(args, f.After, clampLimit(f.Limit))
	rows, err := s.read.QueryContext(ctx, `SELECT `+teamColumns+` FROM teams t JOIN areas a ON a.id = t.area_id WHERE `+
		strings.Join(where, " AND ")+` ORDER BY t.id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("teams: %w", err)
	}
	defer rows.Close()
	out := []Team{}
	for rows.Next() {
		t, err := scanTeam(rows)
		if err != nil {
			return nil, fmt.Errorf("teams: %w", err)
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// CreateTeam adds a team in an area the actor manages.
func (s *Store) CreateTeam(ctx context.Context, a Actor, n NewTeam) (*Team, error) {
	var id int64
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		id, err = s.insertTeam(ctx, tx, a, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.team(ctx, s.read, id)
}

func (s *Store) insertTeam(ctx context.Context, tx *sql.Tx, a Actor, n NewTeam) (int64, error) {
	path, err := s.areaPathFor(ctx, tx, a, n.AreaID)
	if err != nil {
		return 0, err
	}
	if !a.CanManageTeam(path) {
		return 0, fmt.Errorf("create team in area %d: %w", n.AreaID, ErrForbidden)
	}
	v, err := nextSeq(ctx, tx)
	if err != nil {
		return 0, err
	}
	now := ts(s.now())
	var id int64
	err = tx.QueryRowContext(ctx, `
		INSERT INTO teams (area_id, name, name_fold, founded_on, founding_decision, version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		n.AreaID, n.Name, Fold(n.Name), nullStr(n.FoundedOn), n.FoundingDecision, v, now, now).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create team: %w", checkErr(err))
	}
	// The targets of the team's area reach its phones (its scope starts at 0).
	if err := s.addTeamTargets(ctx, tx, `t.id = ?`, id, v); err != nil {
		return 0, fmt.Errorf("create team: %w", err)
	}
	return id, s.audit(ctx, tx, a, 0, "create", "team", id, n)
}

// areaPathFor returns the path of an area the actor may see, inside tx.
func (s *Store) areaPathFor(ctx context.Context, q querier, a Actor, areaID int64) (string, error) {
	var path string
	err := q.QueryRowContext(ctx, `SELECT path FROM areas WHERE id = ?`, areaID).Scan(&path)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !a.CanSeeArea(path)) {
		return "", fmt.Errorf("area %d: %w", areaID, ErrNotFound)
	} else if err != nil {
		return "", fmt.Errorf("area %d: %w", areaID, err)
	}
	return path, nil
}

// UpdateTeam renames, moves (within the actor's reach) or (de)activates a team.
func (s *Store) UpdateTeam(ctx context.Context, a Actor, id int64, p TeamPatch) (*Team, error) {
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		cur, err := s.team(ctx, tx, id)
		if err != nil {
			return err
		}
		if !a.CanSeeTeam(cur.ID, cur.AreaPath) {
			return fmt.Errorf("team %d: %w", id, ErrNotFound)
		}
		if !a.CanManageTeam(cur.AreaPath) {
			return fmt.Errorf("update team %d: %w", id, ErrForbidden)
		}
		if p.AreaID != nil && *p.AreaID != cur.AreaID {
			path, err := s.areaPathFor(ctx, tx, a, *p.AreaID)
			if err != nil {
				return err
			}
			if !a.CanManageTeam(path) {
				return fmt.Errorf("move team %d to area %d: %w", id, *p.AreaID, ErrForbidden)
			}
		}
		if p.AreaID != nil && *p.AreaID != cur.AreaID {
			// Its members count on its area (members per 100 residents).
			if err := s.touchTeamMembers(ctx, tx, id); err != nil {
				return err
			}
		}
		set(&cur.AreaID, p.AreaID)
		set(&cur.Name, p.Name)
		set(&cur.FoundedOn, p.FoundedOn)
		set(&cur.FoundingDecision, p.FoundingDecision)
		set(&cur.Active, p.Active)
		v, err := nextSeq(ctx, tx)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE teams SET area_id = ?, name = ?, name_fold = ?, founded_on = ?, founding_decision = ?, active = ?, version = ?, updated_at = ?
			WHERE id = ?`,
			cur.AreaID, cur.Name, Fold(cur.Name), nullStr(cur.FoundedOn), cur.FoundingDecision, cur.Active, v, ts(s.now()), id)
		if err != nil {
			return fmt.Errorf("update team %d: %w", id, checkErr(err))
		}
		return s.audit(ctx, tx, a, 0, "update", "team", id, p)
	})
	if err != nil {
		return nil, err
	}
	return s.team(ctx, s.read, id)
}

// touchTeamMembers records the team's users for the fold before a change
// of the team moves them.
func (s *Store) touchTeamMembers(ctx context.Context, tx *sql.Tx, team int64) error {
	ids, err := scanColumn[int64](tx.QueryContext(ctx, `SELECT id FROM users WHERE team_id = ?`, team))
	if err != nil {
		return fmt.Errorf("team %d members: %w", team, err)
	}
	for _, id := range ids {
		if err := s.touchMember(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}
