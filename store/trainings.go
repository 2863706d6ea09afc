package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// TrainingSession is a training session as a coordinator reviews it.
type TrainingSession struct {
	ID          string
	TeamID      int64
	TeamName    string
	AreaID      int64
	AreaName    string
	Status      string
	Place       string
	Topics      []string
	Day         string // Vietnam day held, else scheduled ("" if neither)
	ScheduledAt string
	HeldAt      string
	Attendees   int // the session's count
	Women       int
	Minority    int
	Elderly     int
	Listed      int // attendee rows recorded
}

// Attendee is one person recorded at a session. Name is set only with the
// person's consent (the schema refuses it otherwise).
type Attendee struct {
	ID         string
	Name       string
	Gender     string
	AgeBand    string
	Minority   bool
	Disability bool
}

// TrainingFilter selects sessions: those of teams in the area's subtree (or
// one team), on days in [From, To] (both or neither), newest first.
type TrainingFilter struct {
	AreaID   int64
	TeamID   int64
	From, To string
	Limit    int
}

// sessionDay is a session's Vietnam day: held, else scheduled.
const sessionDay = `COALESCE(date(NULLIF(s.held_at, ''), '+7 hours'), date(NULLIF(s.scheduled_at, ''), '+7 hours'), '')`

const trainingColumns = `s.id, s.team_id, t.name, s.area_id, ar.name, s.status, s.place, s.topics, ` + sessionDay + `,
	s.scheduled_at, s.held_at, s.attendees, s.women, s.minority, s.elderly,
	(SELECT count(*) FROM session_attendees x WHERE x.session_id = s.id AND x.removed = 0)`

const trainingFrom = ` FROM training_sessions s JOIN teams t ON t.id = s.team_id JOIN areas ta ON ta.id = t.area_id
	JOIN areas ar ON ar.id = s.area_id`

func scanTraining(sc interface{ Scan(...any) error }) (*TrainingSession, error) {
	var t TrainingSession
	var topics string
	err := sc.Scan(&t.ID, &t.TeamID, &t.TeamName, &t.AreaID, &t.AreaName, &t.Status, &t.Place, &topics, &t.Day,
		&t.ScheduledAt, &t.HeldAt, &t.Attendees, &t.Women, &t.Minority, &t.Elderly, &t.Listed)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(topics), &t.Topics); err != nil {
		t.Topics = nil
	}
	return &t, nil
}

// TrainingSessions lists the sessions of the teams in an area's subtree
// that the actor may review (members and leads: their own team's). The area
// is checked as for Report; a team outside it yields nothing.
func (s *Store) TrainingSessions(ctx context.Context, a Actor, f TrainingFilter) ([]TrainingSession, error) {
	if (f.From == "") != (f.To == "") {
		return nil, fmt.Errorf("from and to go together: %w", ErrInvalid)
	}
	if f.From != "" {
		if err := validPeriod(f.From, f.To); err != nil {
			return nil, err
		}
	}
	ar, err := s.reportArea(ctx, a, f.AreaID)
	if err != nil {
		return nil, err
	}
	team := f.TeamID
	if a.Role.InTeam() {
		if team != 0 && team != a.TeamID {
			return []TrainingSession{}, nil
		}
		team = a.TeamID
	}
	lo, hi := subtreeRange(ar.Path)
	// A province's sessions are walked newest first by day (0009's index)
	// until the page is full; a smaller area's through its teams.
	// The CROSS JOINs' conditions stand in the WHERE: PostgreSQL takes no
	// ON after CROSS JOIN (SQLite reads either the same).
	from := ` FROM areas ta CROSS JOIN teams t CROSS JOIN training_sessions s
		JOIN areas ar ON ar.id = s.area_id`
	joins := ` t.area_id = ta.id AND s.team_id = t.id AND`
	if ar.Level == "province" {
		from = ` FROM training_sessions s INDEXED BY training_sessions_day JOIN teams t ON t.id = s.team_id
			JOIN areas ta ON ta.id = t.area_id JOIN areas ar ON ar.id = s.area_id`
		joins = ``
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+trainingColumns+from+`
		WHERE`+joins+` ta.path >= ? AND ta.path < ? AND s.deleted = 0 AND (? = 0 OR s.team_id = ?)
			AND (? = '' OR `+sessionDay+` BETWEEN ? AND ?)
		ORDER BY `+sessionDay+` DESC, s.id LIMIT ?`,
		lo, hi, team, team, f.From, f.From, f.To, clampLimit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("training sessions: %w", err)
	}
	defer rows.Close()
	out := []TrainingSession{}
	for rows.Next() {
		t, err := scanTraining(rows)
		if err != nil {
			return nil, fmt.Errorf("training sessions: %w", err)
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// TrainingSessionAttendees returns a session the actor may see (its team's
// members, coordinators of the area, admins) with its attendees.
func (s *Store) TrainingSessionAttendees(ctx context.Context, a Actor, id string) (*TrainingSession, []Attendee, error) {
	var path string
	err := s.read.QueryRowContext(ctx, `SELECT ta.path FROM training_sessions s JOIN teams t ON t.id = s.team_id
		JOIN areas ta ON ta.id = t.area_id WHERE s.id = ? AND s.deleted = 0`, id).Scan(&path)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("training session %s: %w", id, ErrNotFound)
	} else if err != nil {
		return nil, nil, fmt.Errorf("training session %s: %w", id, err)
	}
	t, err := scanTraining(s.read.QueryRowContext(ctx, `SELECT `+trainingColumns+trainingFrom+` WHERE s.id = ?`, id))
	if err != nil {
		return nil, nil, fmt.Errorf("training session %s: %w", id, err)
	}
	if !a.CanSeeTeam(t.TeamID, path) {
		return nil, nil, fmt.Errorf("training session %s: %w", id, ErrNotFound)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id, COALESCE(name, ''), gender, age_band, minority, disability
		FROM session_attendees WHERE session_id = ? AND removed = 0 ORDER BY created_at, id`, id)
	if err != nil {
		return nil, nil, fmt.Errorf("attendees of %s: %w", id, err)
	}
	defer rows.Close()
	out := []Attendee{}
	for rows.Next() {
		var at Attendee
		if err := rows.Scan(&at.ID, &at.Name, &at.Gender, &at.AgeBand, &at.Minority, &at.Disability); err != nil {
			return nil, nil, fmt.Errorf("attendees of %s: %w", id, err)
		}
		out = append(out, at)
	}
	return t, out, rows.Err()
}
