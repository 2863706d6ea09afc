package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
)

// sessionFields are the fields of a training session phones edit, in
// storage order. Values travel as canonical JSON text, so merging compares
// and moves them without caring about their type.
var sessionFields = []string{"status", "place", "topics", "scheduled_at", "held_at", "facilitators",
	"attendees", "women", "minority", "elderly", "notes"}

// statusRank orders the status machine: planned → held → reported →
// locked; cancelled is terminal and reachable from planned or held.
var statusRank = map[string]int{"planned": 0, "held": 1, "reported": 2, "locked": 3, "cancelled": 9}

// forwardStatus reports whether a session may move from cur to next.
func forwardStatus(cur, next string) bool {
	if cur == "cancelled" {
		return false
	}
	if next == "cancelled" {
		return cur == "planned" || cur == "held"
	}
	return statusRank[next] > statusRank[cur]
}

// sessionPatch is a parsed training_sessions mutation.
type sessionPatch struct {
	TeamID *int64
	Values map[string]string // field → canonical JSON
}

// fieldVersion is who last changed a field, and at which seq.
type fieldVersion struct {
	V  int64 `json:"v"`
	By int64 `json:"by"`
}

func sessionTable() *syncTable {
	return &syncTable{
		name:  "training_sessions",
		scope: scopeTeam,
		pullCols: `json_object('id', r.id, 'team_id', r.team_id, 'area_id', r.area_id, 'created_by', r.created_by,
			'status', r.status, 'place', r.place, 'topics', json(r.topics), 'scheduled_at', r.scheduled_at,
			'held_at', r.held_at, 'facilitators', json(r.facilitators), 'attendees', r.attendees, 'women', r.women,
			'minority', r.minority, 'elderly', r.elderly, 'notes', r.notes, 'version', r.version, 'updated_at', r.updated_at)`,
		pullFrom:   `training_sessions r`,
		live:       `r.deleted = 0`,
		parse:      parseSession,
		apply:      applySession,
		versionSQL: `SELECT version FROM training_sessions WHERE id = ?1`,
	}
}

func parseSession(s *Store, m *Mutation, c *catalog, now time.Time) (any, *Result) {
	p := &sessionPatch{Values: map[string]string{}}
	r := newFieldReader(m.Fields)
	r.ignore("id", "version", "area_id", "created_by", "deleted", "created_at", "updated_at")
	p.TeamID = r.integer("team_id", 1, 1<<62)
	put := func(name string, v any, ok bool) {
		if ok {
			p.Values[name] = jsonText(v)
		}
	}
	st := r.enum("status", "planned", "held", "reported", "locked", "cancelled")
	put("status", st, st != nil)
	place := r.text("place", 200)
	put("place", place, place != nil)
	topics := r.codes("topics", c.services, 20)
	put("topics", topics, topics != nil)
	sched := r.timestamp("scheduled_at", time.Time{})
	put("scheduled_at", sched, sched != nil)
	held := r.timestamp("held_at", now.Add(futureTolerance))
	put("held_at", held, held != nil)
	if v, ok := r.raw("facilitators"); ok {
		var fs []string
		if err := json.Unmarshal(v, &fs); err != nil || len(fs) > 10 {
			r.bad("facilitators", "must be a list of at most 10 names")
		} else {
			for _, f := range fs {
				if len(f) == 0 || len([]rune(f)) > 100 {
					r.bad("facilitators", "each name must have 1 to 100 characters")
				}
			}
			if fs == nil {
				fs = []string{}
			}
			put("facilitators", fs, true)
		}
	}
	for _, name := range []string{"attendees", "women", "minority", "elderly"} {
		n := r.integer(name, 0, 100000)
		put(name, n, n != nil)
	}
	notes := r.text("notes", 2000)
	put("notes", notes, notes != nil)
	if rej := r.result(); rej != nil {
		return nil, rej
	}
	return p, nil
}

// sessionRow is the stored state of a session, its fields as JSON values.
type sessionRow struct {
	TeamID, CreatedBy int64
	Deleted           bool
	Values            map[string]json.RawMessage
	Versions          map[string]fieldVersion
}

func (p *pushTx) loadSession(id string) (*sessionRow, error) {
	row, err := p.queryRow(`SELECT team_id, created_by, deleted, field_versions,
		json_object('status', status, 'place', place, 'topics', json(topics), 'scheduled_at', scheduled_at,
			'held_at', held_at, 'facilitators', json(facilitators), 'attendees', attendees, 'women', women,
			'minority', minority, 'elderly', elderly, 'notes', notes)
		FROM training_sessions WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	var r sessionRow
	var fv, vals string
	err = row.Scan(&r.TeamID, &r.CreatedBy, &r.Deleted, &fv, &vals)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(fv), &r.Versions); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(vals), &r.Values); err != nil {
		return nil, err
	}
	return &r, nil
}

// sessionColumns writes the field values from one JSON object parameter.
// The counts are cast: PostgreSQL's json_extract (compat.sql) returns text;
// on SQLite the parser has made them integers already, and the cast keeps them.
const sessionColumns = `json_extract(?1, '$.status'), json_extract(?1, '$.place'), json(json_extract(?1, '$.topics')),
	json_extract(?1, '$.scheduled_at'), json_extract(?1, '$.held_at'), json(json_extract(?1, '$.facilitators')),
	CAST(json_extract(?1, '$.attendees') AS BIGINT), CAST(json_extract(?1, '$.women') AS BIGINT),
	CAST(json_extract(?1, '$.minority') AS BIGINT), CAST(json_extract(?1, '$.elderly') AS BIGINT), json_extract(?1, '$.notes')`

func applySession(p *pushTx, m *Mutation, parsed any) (Result, error) {
	a := p.actor
	cur, err := p.loadSession(m.ID)
	if err != nil {
		return Result{}, err
	}
	if cur == nil {
		if m.Op != "create" {
			return *reject(CodeNotFound), nil
		}
		return p.createSession(m, parsed.(*sessionPatch))
	}
	tp, _, err := p.team(cur.TeamID)
	if err != nil {
		return Result{}, err
	}
	var status string
	json.Unmarshal(cur.Values["status"], &status)
	switch {
	case !a.CanWriteTeamData(cur.TeamID, tp.Path):
		return *reject(CodeForbidden), nil
	case cur.Deleted:
		return *reject(CodeDeleted), nil
	case status == "locked" && !a.CanEditLocked(tp.Path):
		return *reject(CodeLocked), nil
	}
	v := p.nextSeq()
	if err := p.s.touch(p.ctx, p.tx, kindSession, m.ID); err != nil {
		return Result{}, err
	}
	if m.Op == "delete" {
		if err := p.exec(`UPDATE training_sessions SET deleted = 1, version = ?, updated_at = ? WHERE id = ?`, v, p.now, m.ID); err != nil {
			return Result{}, err
		}
		return Result{Status: StatusApplied, Version: v}, p.tombstone(teamScope(cur.TeamID), "training_sessions", m.ID, v)
	}
	sp := parsed.(*sessionPatch)
	if sp.TeamID != nil && *sp.TeamID != cur.TeamID {
		return *reject(CodeForbidden, "team_id", "a session cannot change team"), nil
	}
	if nv, ok := sp.Values["status"]; ok && nv == `"locked"` && !a.CanLockSession(tp.Path) {
		return *reject(CodeForbidden, "status", "only a coordinator locks a session"), nil
	}
	res := Result{Status: StatusApplied, Version: v}
	type lostValue struct {
		field, lost, won string
		by               int64
	}
	var losses []lostValue
	for _, name := range sessionFields {
		nv, ok := sp.Values[name]
		if !ok || nv == string(cur.Values[name]) {
			continue
		}
		old := string(cur.Values[name])
		lost, won, lostBy, apply := "", "", int64(0), true
		var next string
		if name == "status" && json.Unmarshal([]byte(nv), &next) == nil && !forwardStatus(status, next) {
			// Status only moves forward: the backward value loses.
			lost, won, lostBy, apply = nv, old, a.UserID, false
		} else if fv := cur.Versions[name]; fv.V > m.BaseVersion && fv.By != a.UserID {
			// Changed by someone else since the writer's base: last
			// arrival wins, the overwritten value is kept in
			// sync_conflicts. (A user's own earlier edit, queued offline
			// on the same base, is simply superseded.)
			lost, won, lostBy = old, nv, cur.Versions[name].By
		}
		if lost != "" {
			losses = append(losses, lostValue{name, lost, won, lostBy})
		}
		if apply {
			cur.Values[name] = json.RawMessage(nv)
			cur.Versions[name] = fieldVersion{V: v, By: a.UserID}
		}
	}
	err = p.exec(`UPDATE training_sessions SET (status, place, topics, scheduled_at, held_at, facilitators,
		attendees, women, minority, elderly, notes) = (SELECT `+sessionColumns+`),
		field_versions = ?2, updated_by = ?3, version = ?4, updated_at = ?5 WHERE id = ?6`,
		jsonText(cur.Values), jsonText(cur.Versions), a.UserID, v, p.now, m.ID)
	if err != nil {
		return Result{}, checkErr(err)
	}
	// After the update (the write a constraint may refuse, so a refused
	// patch leaves no conflict behind): the values that lost.
	for _, l := range losses {
		id, err := p.conflict(cur.TeamID, "training_sessions", m.ID, l.field, l.lost, l.won, l.by)
		if err != nil {
			return Result{}, err
		}
		if res.ConflictID == "" {
			res.Status, res.ConflictID = StatusMerged, id
		}
	}
	return res, nil
}

func (p *pushTx) createSession(m *Mutation, sp *sessionPatch) (Result, error) {
	a := p.actor
	teamID := a.TeamID
	if sp.TeamID != nil {
		if a.Role.InTeam() && *sp.TeamID != a.TeamID {
			return *reject(CodeForbidden, "team_id", "not your team"), nil
		}
		teamID = *sp.TeamID
	}
	if teamID == 0 {
		return *reject(CodeValidation, "team_id", "required"), nil
	}
	tp, ok, err := p.team(teamID)
	if err != nil {
		return Result{}, err
	}
	if !ok || !a.CanWriteTeamData(teamID, tp.Path) {
		return *reject(CodeForbidden), nil
	}
	vals := map[string]json.RawMessage{"status": json.RawMessage(`"planned"`), "place": json.RawMessage(`""`),
		"topics": json.RawMessage(`[]`), "scheduled_at": json.RawMessage(`""`), "held_at": json.RawMessage(`""`),
		"facilitators": json.RawMessage(`[]`), "attendees": json.RawMessage(`0`), "women": json.RawMessage(`0`),
		"minority": json.RawMessage(`0`), "elderly": json.RawMessage(`0`), "notes": json.RawMessage(`""`)}
	if st, ok := sp.Values["status"]; ok && st == `"locked"` && !a.CanLockSession(tp.Path) {
		return *reject(CodeForbidden, "status", "only a coordinator locks a session"), nil
	}
	v := p.nextSeq()
	p.s.touchNew(kindSession, m.ID)
	fv := map[string]fieldVersion{}
	for k, val := range sp.Values {
		vals[k] = json.RawMessage(val)
		fv[k] = fieldVersion{V: v, By: a.UserID}
	}
	err = p.exec(`INSERT INTO training_sessions (status, place, topics, scheduled_at, held_at, facilitators,
		attendees, women, minority, elderly, notes, field_versions, id, team_id, area_id, created_by, updated_by,
		version, created_at, updated_at)
		SELECT `+sessionColumns+`, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?8`,
		jsonText(vals), jsonText(fv), m.ID, teamID, tp.AreaID, a.UserID, v, p.now)
	if err != nil {
		return Result{}, checkErr(err)
	}
	return Result{Status: StatusApplied, Version: v}, nil
}

// conflict records a value that lost a race; the row syncs in the team scope.
func (p *pushTx) conflict(teamID int64, tbl, rowID, field, lost, won string, lostBy int64) (string, error) {
	id := uuid.NewString()
	v := p.nextSeq()
	p.s.touchNew(kindConflict, id)
	err := p.exec(`INSERT INTO sync_conflicts (id, team_id, tbl, row_id, field, lost_value, won_value, lost_by, won_by,
		device_id, mid, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, teamID, tbl, rowID, field, lost, won, nullInt(lostBy), p.actor.UserID, nullStr(p.actor.DeviceID),
		p.mid, v, p.now, p.now)
	return id, err
}
