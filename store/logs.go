package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Outcome is one service tried for a citizen in an assistance log.
type Outcome struct {
	Service string `json:"service"`
	Result  string `json:"result"`
	Barrier string `json:"barrier,omitempty"`
}

// logFields is a parsed assistance_logs mutation; nil fields are not set.
type logFields struct {
	TeamID      *int64
	VillageID   *int64
	OccurredAt  *string
	CitizenRef  *string
	CitizenName *string
	AgeBand     *string
	Gender      *string
	Minority    *bool
	Disability  *bool
	Consent     *bool
	Notes       *string
	Outcomes    *[]Outcome
}

var ageBands = []string{"", "under_15", "15_24", "25_34", "35_44", "45_59", "60_plus"}

var genders = []string{"", "female", "male", "other"}

func logTable() *syncTable {
	return &syncTable{
		name:  "assistance_logs",
		scope: scopeTeam,
		pullCols: `json_object('id', r.id, 'team_id', r.team_id, 'area_id', r.area_id, 'village_id', r.village_id,
			'created_by', r.created_by, 'occurred_at', r.occurred_at, 'citizen_ref', r.citizen_ref,
			'citizen_name', r.citizen_name, 'age_band', r.age_band, 'gender', r.gender,
			'minority', ` + jbool("r.minority") + `, 'disability', ` + jbool("r.disability") + `,
			'consent', ` + jbool("r.consent") + `, 'notes', r.notes, 'outcomes', json(r.outcomes),
			'locked', ` + jbool("r.locked") + `, 'version', r.version, 'updated_at', r.updated_at)`,
		pullFrom:   `assistance_logs r`,
		live:       `r.deleted = 0`,
		parse:      parseLog,
		apply:      applyLog,
		versionSQL: `SELECT version FROM assistance_logs WHERE id = ?1`,
	}
}

// jbool renders a 0/1 column as a JSON boolean inside json_object.
func jbool(col string) string { return `json(CASE WHEN ` + col + ` = 1 THEN 'true' ELSE 'false' END)` }

func parseLog(s *Store, m *Mutation, c *catalog, now time.Time) (any, *Result) {
	var f logFields
	r := newFieldReader(m.Fields)
	r.ignore("id", "version", "area_id", "created_by", "locked", "deleted", "citizen_ref", "created_at", "updated_at")
	f.TeamID = r.integer("team_id", 1, 1<<62)
	if v := r.integer("village_id", 0, 1<<62); v != nil {
		f.VillageID = v
	}
	f.OccurredAt = r.timestamp("occurred_at", now.Add(futureTolerance))
	f.CitizenName = r.text("citizen_name", 200)
	f.AgeBand = r.enum("age_band", ageBands...)
	f.Gender = r.enum("gender", genders...)
	f.Minority = r.boolean("minority")
	f.Disability = r.boolean("disability")
	f.Consent = r.boolean("consent")
	f.Notes = r.text("notes", 2000)
	r.raw("citizen_id_number")
	r.raw("citizen_phone")
	if v, ok := r.raw("outcomes"); ok {
		if os, reason := parseOutcomes(v, c); reason != "" {
			r.bad("outcomes", reason)
		} else {
			f.Outcomes = &os
		}
	}
	if rej := r.result(); rej != nil {
		return nil, rej
	}
	ref, set, rej := s.citizenFields(m.Fields)
	if rej != nil {
		return nil, rej
	}
	if set {
		f.CitizenRef = &ref
	}
	if m.Op == "create" {
		if f.OccurredAt == nil || *f.OccurredAt == "" {
			return nil, reject(CodeValidation, "occurred_at", "required")
		}
		if f.Outcomes == nil {
			return nil, reject(CodeValidation, "outcomes", "required")
		}
	}
	if f.OccurredAt != nil && *f.OccurredAt == "" {
		return nil, reject(CodeValidation, "occurred_at", "required")
	}
	return &f, nil
}

func parseOutcomes(v json.RawMessage, c *catalog) ([]Outcome, string) {
	var os []Outcome
	if err := json.Unmarshal(v, &os); err != nil {
		return nil, "must be a list of {service, result, barrier}"
	}
	if len(os) == 0 || len(os) > 20 {
		return nil, "must list 1 to 20 services"
	}
	seen := map[string]bool{}
	for _, o := range os {
		switch {
		case !c.services[o.Service]:
			return nil, "unknown service code"
		case seen[o.Service]:
			return nil, "a service is listed twice"
		case o.Result != "done" && o.Result != "partial" && o.Result != "not_done":
			return nil, "result must be done, partial or not_done"
		case o.Result == "not_done" && o.Barrier == "":
			return nil, "a barrier is required when a service is not_done"
		case o.Barrier != "" && !c.barriers[o.Barrier]:
			return nil, "unknown barrier code"
		case o.Result == "done" && o.Barrier != "":
			return nil, "a done service has no barrier"
		}
		seen[o.Service] = true
	}
	return os, ""
}

// logRow is the stored state of an assistance log.
type logRow struct {
	ID                            string
	TeamID, AreaID, CreatedBy     int64
	VillageID                     sql.NullInt64
	OccurredAt                    string
	CitizenRef, CitizenName       sql.NullString
	AgeBand, Gender, Notes        string
	Minority, Disability, Consent bool
	Outcomes                      string
	Locked, Deleted               bool
	Version                       int64
}

func (p *pushTx) loadLog(id string) (*logRow, error) {
	row, err := p.queryRow(`SELECT id, team_id, area_id, created_by, village_id, occurred_at, citizen_ref, citizen_name,
		age_band, gender, notes, minority, disability, consent, outcomes, locked, deleted, version
		FROM assistance_logs WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	var l logRow
	err = row.Scan(&l.ID, &l.TeamID, &l.AreaID, &l.CreatedBy, &l.VillageID, &l.OccurredAt, &l.CitizenRef, &l.CitizenName,
		&l.AgeBand, &l.Gender, &l.Notes, &l.Minority, &l.Disability, &l.Consent, &l.Outcomes, &l.Locked, &l.Deleted, &l.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &l, err
}

func applyLog(p *pushTx, m *Mutation, parsed any) (Result, error) {
	a := p.actor
	var refused *Result // a create's own refusal, if its id is free
	if m.Op == "create" {
		// A phone's creates are new rows: insert first, and look for the
		// row only when the insert did not happen (the id is taken, or
		// the create was refused before it).
		r, inserted, err := p.createLog(m, parsed.(*logFields))
		if err != nil || inserted {
			return r, err
		} else if r.Status != "" {
			refused = &r
		}
	}
	cur, err := p.loadLog(m.ID)
	if err != nil {
		return Result{}, err
	}
	if cur == nil {
		if refused != nil {
			return *refused, nil
		}
		return *reject(CodeNotFound), nil
	}
	tp, _, err := p.team(cur.TeamID)
	if err != nil {
		return Result{}, err
	}
	place := TeamRow{TeamID: cur.TeamID, TeamPath: tp.Path, CreatedBy: cur.CreatedBy}
	switch {
	case !a.CanWriteLog(place):
		return *reject(CodeForbidden), nil
	case m.Op == "create" && cur.CreatedBy != a.UserID:
		return *reject(CodeForbidden, "id", "belongs to another author"), nil
	case cur.Deleted:
		return *reject(CodeDeleted), nil
	case cur.Locked && !a.CanEditLocked(tp.Path):
		return *reject(CodeLocked), nil
	}
	if m.Op == "delete" {
		v := p.nextSeq()
		p.s.touchLoaded(kindLog, m.ID, cur.state())
		if err := p.exec(`UPDATE assistance_logs SET deleted = 1, version = ?, updated_at = ? WHERE id = ?`, v, p.now, m.ID); err != nil {
			return Result{}, err
		}
		return Result{Status: StatusApplied, Version: v}, p.tombstone(teamScope(cur.TeamID), "assistance_logs", m.ID, v)
	}
	f := parsed.(*logFields)
	if f.TeamID != nil && *f.TeamID != cur.TeamID {
		return *reject(CodeForbidden, "team_id", "a log cannot change team"), nil
	}
	if rej := p.checkVillage(f.VillageID, tp.Path); rej != nil {
		return *rej, nil
	}
	next := *cur
	f.applyTo(&next)
	if !a.CanWriteLog(TeamRow{TeamID: next.TeamID, TeamPath: tp.Path, CreatedBy: next.CreatedBy}) {
		return *reject(CodeForbidden), nil
	}
	v := p.nextSeq()
	p.s.touchLoaded(kindLog, m.ID, cur.state())
	err = p.exec(`UPDATE assistance_logs SET village_id = ?, occurred_at = ?, citizen_ref = ?, citizen_name = ?,
		age_band = ?, gender = ?, minority = ?, disability = ?, consent = ?, notes = ?, outcomes = ?, version = ?, updated_at = ?
		WHERE id = ?`,
		next.VillageID, next.OccurredAt, next.CitizenRef, next.CitizenName, next.AgeBand, next.Gender, next.Minority,
		next.Disability, next.Consent, next.Notes, next.Outcomes, v, p.now, m.ID)
	if err != nil {
		return Result{}, checkErr(err)
	}
	return Result{Status: StatusApplied, Version: v}, nil
}

// newLog is the row a create of f makes, or the create's refusal.
func (p *pushTx) newLog(m *Mutation, f *logFields) (logRow, *Result, error) {
	a := p.actor
	teamID := a.TeamID
	if f.TeamID != nil {
		if a.Role.InTeam() && *f.TeamID != a.TeamID {
			// Written for a team the author has left: refuse visibly.
			return logRow{}, reject(CodeForbidden, "team_id", "not your team"), nil
		}
		teamID = *f.TeamID
	}
	if teamID == 0 {
		return logRow{}, reject(CodeValidation, "team_id", "required"), nil
	}
	tp, ok, err := p.team(teamID)
	if err != nil {
		return logRow{}, nil, err
	}
	if !ok || !a.CanWriteLog(TeamRow{TeamID: teamID, TeamPath: tp.Path, CreatedBy: a.UserID}) {
		return logRow{}, reject(CodeForbidden), nil
	}
	if rej := p.checkVillage(f.VillageID, tp.Path); rej != nil {
		return logRow{}, rej, nil
	}
	l := logRow{ID: m.ID, TeamID: teamID, AreaID: tp.AreaID, CreatedBy: a.UserID, Outcomes: "[]"}
	f.applyTo(&l)
	return l, nil, nil
}

const logInsert = `INSERT INTO assistance_logs (id, team_id, area_id, village_id, created_by, occurred_at, citizen_ref,
	citizen_name, age_band, gender, minority, disability, consent, notes, outcomes, version, created_at, updated_at)`

func (p *pushTx) logArgs(l *logRow) []any {
	return []any{l.ID, l.TeamID, l.AreaID, l.VillageID, l.CreatedBy, l.OccurredAt, l.CitizenRef, l.CitizenName, l.AgeBand,
		l.Gender, l.Minority, l.Disability, l.Consent, l.Notes, l.Outcomes, l.Version, p.now, p.now}
}

// createLog inserts the log unless its id is taken. It returns whether it
// did; when it did not, the result is the create's refusal, if any.
func (p *pushTx) createLog(m *Mutation, f *logFields) (Result, bool, error) {
	l, rej, err := p.newLog(m, f)
	if err != nil {
		return Result{}, false, err
	} else if rej != nil {
		return *rej, false, nil
	}
	l.Version = p.nextSeq()
	n, err := p.execN(logInsert+` VALUES `+valueRows(18, 1)+` ON CONFLICT (id) DO NOTHING`, p.logArgs(&l)...)
	if err != nil {
		return Result{}, false, checkErr(err)
	}
	if n == 0 {
		p.unTake(l.Version)
		return Result{}, false, nil
	}
	// The fold takes the new row's state from here, not from a query.
	p.created = true
	p.s.touchCreated(kindLog, m.ID, l.state())
	return Result{Status: StatusApplied, Version: l.Version}, true, nil
}

// createLogs applies a run of lone log creates (pushTx.loneCreate), most of
// a phone's push, with an INSERT per 64 rows instead of one each (on
// PostgreSQL each statement is a round trip). A create its checks refuse
// gets its rejection; one whose id is taken goes through applyGroup alone,
// as any mutation, and so do the rows from a statement the database refused
// on (the refused one is then rejected alone).
func (p *pushTx) createLogs(muts []Mutation, parsed []any, pre []*Result, run []int, fresh []Result, start int) error {
	type pending struct {
		i int
		l logRow
	}
	var rows []pending
	for _, i := range run {
		m := &muts[i]
		l, rej, err := p.newLog(m, parsed[i].(*logFields))
		if err != nil {
			return fmt.Errorf("push %s %s: %w", m.Table, m.ID, err)
		}
		if rej != nil {
			rej.Mid = m.Mid
			fresh[i-start] = *rej
			continue
		}
		l.Version = p.nextSeq()
		rows = append(rows, pending{i, l})
	}
	inserted := map[string]bool{}
	tried := 0 // rows[:tried] went in with their statements
	for tried < len(rows) {
		n := 64
		for n > len(rows)-tried {
			n /= 2 // a few statement shapes, each prepared once
		}
		args := make([]any, 0, 18*n)
		for k := range rows[tried : tried+n] {
			args = append(args, p.logArgs(&rows[tried+k].l)...)
		}
		ids, err := p.queryStrings(logInsert+` VALUES `+valueRows(18, n)+` ON CONFLICT (id) DO NOTHING RETURNING id`, args...)
		if err != nil && p.s.pg {
			return errPGRedo // the transaction is aborted: again, a savepoint each
		} else if err != nil && errors.Is(checkErr(err), ErrInvalid) {
			break // SQLite undid the statement alone: its rows and the rest one by one
		} else if err != nil {
			return fmt.Errorf("push assistance_logs: %w", err)
		}
		for _, id := range ids {
			inserted[id] = true
		}
		tried += n
	}
	for k, r := range rows {
		m := &muts[r.i]
		if k >= tried || !inserted[m.ID] {
			// Taken (by a row before the push, or an earlier create of
			// the run: the create changes that row, as a lone one would),
			// or its statement refused (the seqs taken are skipped).
			if err := p.applyGroup(muts, parsed, pre, []int{r.i}, fresh, start); err != nil {
				return err
			}
			continue
		}
		delete(inserted, m.ID) // a second create of the id in the run finds it taken
		p.s.touchCreated(kindLog, m.ID, r.l.state())
		fresh[r.i-start] = Result{Mid: m.Mid, Status: StatusApplied, Version: r.l.Version}
		if err := p.audit(m, "create"); err != nil {
			return err
		}
	}
	return nil
}

// state is what the fold reads of the log (fold_rules.go).
func (l *logRow) state() *logState {
	place := l.AreaID
	if l.VillageID.Valid {
		place = l.VillageID.Int64
	}
	return &logState{ID: l.ID, Team: l.TeamID, Place: place, Day: vnDayOf(l.OccurredAt), Ref: l.CitizenRef.String,
		Outcomes: parseOutcomesJSON(l.Outcomes), Live: !l.Deleted, Version: l.Version, OccurredAt: l.OccurredAt}
}

// checkVillage: a village must lie in the team's area subtree.
func (p *pushTx) checkVillage(id *int64, teamPath string) *Result {
	if id == nil || *id == 0 {
		return nil
	}
	var path string
	row, err := p.queryRow(`SELECT path FROM areas WHERE id = ?`, *id)
	if err == nil {
		err = row.Scan(&path)
	}
	lo, hi := subtreeRange(teamPath)
	if err != nil || path < lo || path >= hi {
		return reject(CodeValidation, "village_id", "must be an area of the team")
	}
	return nil
}

// applyTo merges the set fields into l; a name is kept only with consent.
func (f *logFields) applyTo(l *logRow) {
	if f.VillageID != nil {
		l.VillageID = sql.NullInt64{Int64: *f.VillageID, Valid: *f.VillageID != 0}
	}
	set(&l.OccurredAt, f.OccurredAt)
	if f.CitizenRef != nil {
		l.CitizenRef = sql.NullString{String: *f.CitizenRef, Valid: true}
	}
	if f.CitizenName != nil {
		l.CitizenName = sql.NullString{String: *f.CitizenName, Valid: *f.CitizenName != ""}
	}
	set(&l.AgeBand, f.AgeBand)
	set(&l.Gender, f.Gender)
	set(&l.Minority, f.Minority)
	set(&l.Disability, f.Disability)
	set(&l.Consent, f.Consent)
	set(&l.Notes, f.Notes)
	if f.Outcomes != nil {
		l.Outcomes = jsonText(*f.Outcomes)
	}
	if !l.Consent {
		l.CitizenName = sql.NullString{}
	}
}
