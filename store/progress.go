package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"time"
)

// progressFields is a parsed progress_reports mutation.
type progressFields struct {
	Indicator *string
	AsOf      *string
	Value     *float64
	Note      *string
	Corrects  *string
	Void      *bool
}

func progressTable() *syncTable {
	return &syncTable{
		name:  "progress_reports",
		scope: scopeTeam,
		pullCols: `json_object('id', r.id, 'team_id', r.team_id, 'area_id', r.area_id, 'created_by', r.created_by,
			'indicator', r.indicator, 'as_of', r.as_of, 'value', r.value, 'note', r.note, 'corrects', r.corrects,
			'void', ` + jbool("r.void") + `, 'version', r.version, 'updated_at', r.updated_at)`,
		pullFrom:   `progress_reports r`,
		live:       `true`,
		parse:      parseProgress,
		apply:      applyProgress,
		versionSQL: `SELECT version FROM progress_reports WHERE id = ?1`,
	}
}

func parseProgress(s *Store, m *Mutation, c *catalog, now time.Time) (any, *Result) {
	var f progressFields
	r := newFieldReader(m.Fields)
	r.ignore("id", "version", "team_id", "area_id", "created_by", "voided_by", "created_at", "updated_at")
	f.Indicator = r.str("indicator", 40)
	f.AsOf = r.str("as_of", 10)
	f.Note = r.text("note", 1000)
	f.Corrects = r.str("corrects", 36)
	f.Void = r.boolean("void")
	if v, ok := r.raw("value"); ok {
		var x float64
		if err := json.Unmarshal(v, &x); err != nil || x < -1e12 || x > 1e12 {
			r.bad("value", "must be a number")
		} else {
			f.Value = &x
		}
	}
	if f.Indicator != nil && !c.indicators[*f.Indicator] {
		r.bad("indicator", "unknown indicator code")
	}
	if f.AsOf != nil {
		if d, err := time.Parse(time.DateOnly, *f.AsOf); err != nil || d.After(now.Add(24*time.Hour)) {
			r.bad("as_of", "must be a date (YYYY-MM-DD), not in the future")
		}
	}
	if f.Corrects != nil && *f.Corrects != "" && !validUUID(*f.Corrects) {
		r.bad("corrects", "must be a UUID")
	}
	if rej := r.result(); rej != nil {
		return nil, rej
	}
	switch m.Op {
	case "create":
		switch {
		case f.Indicator == nil:
			return nil, reject(CodeValidation, "indicator", "required")
		case f.AsOf == nil:
			return nil, reject(CodeValidation, "as_of", "required")
		case f.Value == nil:
			return nil, reject(CodeValidation, "value", "required")
		case f.Void != nil && *f.Void:
			return nil, reject(CodeValidation, "void", "a new report is not void")
		}
	case "patch":
		// Append-only: the one change after creation is voiding.
		if f.Void == nil || len(m.Fields) != 1 {
			return nil, reject(CodeForbidden, "fields", "progress reports are append-only: correct with a new entry")
		}
	case "delete":
		return nil, reject(CodeForbidden, "op", "progress reports are append-only: a coordinator may void one")
	}
	return &f, nil
}

func applyProgress(p *pushTx, m *Mutation, parsed any) (Result, error) {
	a := p.actor
	f := parsed.(*progressFields)
	var teamID, createdBy, version int64
	row, err := p.queryRow(`SELECT team_id, created_by, version FROM progress_reports WHERE id = ?`, m.ID)
	if err != nil {
		return Result{}, err
	}
	err = row.Scan(&teamID, &createdBy, &version)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Result{}, err
	}
	if exists {
		tp, _, err := p.team(teamID)
		if err != nil {
			return Result{}, err
		}
		if m.Op == "create" {
			// A create seen again (a reinstalled app): nothing changes.
			if createdBy != a.UserID || !a.CanReportProgress(teamID, tp.Path) {
				return *reject(CodeForbidden), nil
			}
			return Result{Status: StatusApplied, Version: version}, nil
		}
		if !a.CanVoidProgress(tp.Path) {
			return *reject(CodeForbidden), nil
		}
		v := p.nextSeq()
		if err := p.s.touch(p.ctx, p.tx, kindProgress, m.ID); err != nil {
			return Result{}, err
		}
		err = p.exec(`UPDATE progress_reports SET void = ?, voided_by = ?, version = ?, updated_at = ? WHERE id = ?`,
			*f.Void, a.UserID, v, p.now, m.ID)
		return Result{Status: StatusApplied, Version: v}, err
	}
	if m.Op != "create" {
		return *reject(CodeNotFound), nil
	}
	teamID = a.TeamID
	if fid, ok := m.Fields["team_id"]; ok {
		if json.Unmarshal(fid, &teamID) != nil || (a.Role.InTeam() && teamID != a.TeamID) {
			return *reject(CodeForbidden, "team_id", "not your team"), nil
		}
	}
	tp, ok, err := p.team(teamID)
	if err != nil {
		return Result{}, err
	}
	if !ok || !a.CanReportProgress(teamID, tp.Path) {
		return *reject(CodeForbidden), nil
	}
	var corrects sql.NullString
	if f.Corrects != nil && *f.Corrects != "" {
		var t int64
		row, err := p.queryRow(`SELECT team_id FROM progress_reports WHERE id = ?`, *f.Corrects)
		if err != nil {
			return Result{}, err
		}
		if row.Scan(&t) != nil || t != teamID {
			return *reject(CodeValidation, "corrects", "no such report in this team"), nil
		}
		corrects = sql.NullString{String: *f.Corrects, Valid: true}
	}
	note := ""
	set(&note, f.Note)
	v := p.nextSeq()
	p.s.touchNew(kindProgress, m.ID)
	err = p.exec(`INSERT INTO progress_reports (id, team_id, area_id, created_by, indicator, as_of, value, note, corrects,
		version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, teamID, tp.AreaID, a.UserID, *f.Indicator, *f.AsOf, *f.Value, note, corrects, v, p.now, p.now)
	if err != nil {
		return Result{}, checkErr(err)
	}
	return Result{Status: StatusApplied, Version: v}, nil
}
