package store

import (
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
)

// attendeeNamespace is the UUIDv5 namespace of derived attendee ids.
var attendeeNamespace = uuid.MustParse("6f1d3c0e-5a0b-4c59-9a49-3f3a3c1e7b21")

// attendeeFields is a parsed session_attendees mutation.
type attendeeFields struct {
	SessionID  string
	PersonKey  string // keyed hash standing for the person, "" on a patch without one
	CitizenRef *string
	Name       *string
	Consent    *bool
	Gender     *string
	AgeBand    *string
	Minority   *bool
	Disability *bool
	Removed    *bool
}

func attendeeTable() *syncTable {
	return &syncTable{
		name:  "session_attendees",
		scope: scopeTeam,
		pullCols: `json_object('id', r.id, 'session_id', r.session_id, 'team_id', r.team_id, 'created_by', r.created_by,
			'citizen_ref', r.citizen_ref, 'name', r.name, 'consent', ` + jbool("r.consent") + `, 'gender', r.gender,
			'age_band', r.age_band, 'minority', ` + jbool("r.minority") + `, 'disability', ` + jbool("r.disability") + `,
			'removed', ` + jbool("r.removed") + `, 'version', r.version, 'updated_at', r.updated_at)`,
		pullFrom: `session_attendees r`,
		live:     `true`,
		parse:    parseAttendee,
		apply:    applyAttendee,
		versionSQL: `SELECT version FROM session_attendees
			WHERE id = COALESCE((SELECT attendee_id FROM attendee_aliases WHERE alias_id = ?1), ?1)`,
	}
}

// attendeeID derives the id of a person's row in a session: the same
// person added on two phones lands on one row. The person key is a keyed
// hash, so the id reveals nothing about the person.
func attendeeID(sessionID, personKey string) string {
	return uuid.NewSHA1(attendeeNamespace, []byte(sessionID+"|"+personKey)).String()
}

func normalizeName(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

func parseAttendee(s *Store, m *Mutation, c *catalog, now time.Time) (any, *Result) {
	var f attendeeFields
	r := newFieldReader(m.Fields)
	r.ignore("id", "version", "team_id", "created_by", "citizen_ref", "created_at", "updated_at")
	sid := r.str("session_id", 36)
	f.Name = r.text("name", 200)
	f.Consent = r.boolean("consent")
	f.Gender = r.enum("gender", genders...)
	f.AgeBand = r.enum("age_band", ageBands...)
	f.Minority = r.boolean("minority")
	f.Disability = r.boolean("disability")
	f.Removed = r.boolean("removed")
	r.raw("citizen_id_number")
	r.raw("citizen_phone")
	if sid != nil && !validUUID(*sid) {
		r.bad("session_id", "must be a UUID")
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
		f.PersonKey = "ref:" + ref
	} else if f.Name != nil && normalizeName(*f.Name) != "" {
		f.PersonKey = "name:" + s.citizenRef("name", normalizeName(*f.Name))
	}
	if m.Op == "create" {
		if sid == nil || *sid == "" {
			return nil, reject(CodeValidation, "session_id", "required")
		}
		if f.PersonKey == "" {
			return nil, reject(CodeValidation, "name", "a name or a citizen number is required")
		}
		f.SessionID = *sid
	}
	return &f, nil
}

type attendeeRow struct {
	ID, SessionID              string
	TeamID, CreatedBy          int64
	CitizenRef, Name           sql.NullString
	Consent, Minority, Disable bool
	Removed                    bool
	Gender, AgeBand            string
}

func (p *pushTx) loadAttendee(id string) (*attendeeRow, error) {
	row, err := p.queryRow(`SELECT a.id, a.session_id, a.team_id, a.created_by, a.citizen_ref, a.name, a.consent,
		a.minority, a.disability, a.removed, a.gender, a.age_band
		FROM session_attendees a WHERE a.id = COALESCE((SELECT attendee_id FROM attendee_aliases WHERE alias_id = ?1), ?1)`, id)
	if err != nil {
		return nil, err
	}
	var a attendeeRow
	err = row.Scan(&a.ID, &a.SessionID, &a.TeamID, &a.CreatedBy, &a.CitizenRef, &a.Name, &a.Consent, &a.Minority,
		&a.Disable, &a.Removed, &a.Gender, &a.AgeBand)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &a, err
}

func applyAttendee(p *pushTx, m *Mutation, parsed any) (Result, error) {
	a := p.actor
	f := parsed.(*attendeeFields)
	id := m.ID
	if m.Op == "create" {
		id = attendeeID(f.SessionID, f.PersonKey)
	}
	cur, err := p.loadAttendee(id)
	if err != nil {
		return Result{}, err
	}
	sessionID := f.SessionID
	if cur != nil {
		sessionID = cur.SessionID
	} else if m.Op != "create" {
		return *reject(CodeNotFound), nil
	}
	sess, err := p.loadSession(sessionID)
	if err != nil {
		return Result{}, err
	}
	if sess == nil {
		return *reject(CodeNotFound, "session_id", "no such session"), nil
	}
	tp, _, err := p.team(sess.TeamID)
	if err != nil {
		return Result{}, err
	}
	switch {
	case !a.CanWriteTeamData(sess.TeamID, tp.Path):
		return *reject(CodeForbidden), nil
	case sess.Deleted:
		return *reject(CodeDeleted, "session_id", "the session was deleted"), nil
	case string(sess.Values["status"]) == `"locked"` && !a.CanEditLocked(tp.Path):
		return *reject(CodeLocked), nil
	}
	if cur == nil {
		cur = &attendeeRow{ID: id, SessionID: sessionID, TeamID: sess.TeamID, CreatedBy: a.UserID}
	}
	if f.CitizenRef != nil {
		cur.CitizenRef = sql.NullString{String: *f.CitizenRef, Valid: true}
	}
	if f.Name != nil {
		cur.Name = sql.NullString{String: *f.Name, Valid: *f.Name != ""}
	}
	set(&cur.Consent, f.Consent)
	set(&cur.Gender, f.Gender)
	set(&cur.AgeBand, f.AgeBand)
	set(&cur.Minority, f.Minority)
	set(&cur.Disable, f.Disability)
	switch {
	case m.Op == "delete":
		cur.Removed = true // removal is a flag: the row stays and syncs
	case f.Removed != nil:
		cur.Removed = *f.Removed
	case m.Op == "create":
		cur.Removed = false // adding the person again brings them back
	}
	if !cur.Consent {
		cur.Name = sql.NullString{}
	}
	v := p.nextSeq()
	if err := p.s.touch(p.ctx, p.tx, kindAttendee, cur.ID); err != nil {
		return Result{}, err
	}
	err = p.exec(`INSERT INTO session_attendees (id, session_id, team_id, created_by, citizen_ref, name, consent,
		gender, age_band, minority, disability, removed, version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET citizen_ref = excluded.citizen_ref, name = excluded.name,
			consent = excluded.consent, gender = excluded.gender, age_band = excluded.age_band,
			minority = excluded.minority, disability = excluded.disability, removed = excluded.removed,
			version = excluded.version, updated_at = excluded.updated_at`,
		cur.ID, cur.SessionID, cur.TeamID, cur.CreatedBy, cur.CitizenRef, cur.Name, cur.Consent, cur.Gender,
		cur.AgeBand, cur.Minority, cur.Disable, cur.Removed, v, p.now, p.now)
	if err != nil {
		return Result{}, checkErr(err)
	}
	res := Result{Status: StatusApplied, Version: v}
	if m.ID != cur.ID {
		// The phone chose another id: remember it, and tell the phone.
		if err := p.exec(`INSERT INTO attendee_aliases (alias_id, attendee_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, m.ID, cur.ID); err != nil {
			return Result{}, err
		}
		res.ID = cur.ID
	}
	return res, nil
}
