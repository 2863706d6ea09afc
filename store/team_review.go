package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// A team's records as a coordinator reviews them: its assistance logs of a
// period (to lock once checked) and its progress reports (to void). Both
// read the team's own rows through its (team_id, version) indexes: a team
// writes a few hundred logs a year.

// ReviewLog is one assistance log for review. Citizen numbers are never
// stored; the name only with the citizen's consent.
type ReviewLog struct {
	ID          string
	Day         string // Vietnam day of occurred_at
	OccurredAt  string
	AuthorID    int64
	AuthorName  string
	VillageID   int64
	VillageName string
	CitizenName string
	AgeBand     string
	Gender      string
	Outcomes    []Outcome
	Notes       string
	Locked      bool
	UpdatedAt   time.Time
}

// TeamLogs lists a team's live logs on days in [from, to], newest first,
// at most limit. The actor must see the team.
func (s *Store) TeamLogs(ctx context.Context, a Actor, teamID int64, from, to string, limit int) ([]ReviewLog, error) {
	if err := validPeriod(from, to); err != nil {
		return nil, err
	}
	if _, err := s.Team(ctx, a, teamID); err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT l.id, date(l.occurred_at, '+7 hours'), l.occurred_at, l.created_by, u.name,
			COALESCE(l.village_id, 0), COALESCE(v.name, ''), COALESCE(l.citizen_name, ''), l.age_band, l.gender, l.outcomes,
			l.notes, l.locked, l.updated_at
		FROM assistance_logs l JOIN users u ON u.id = l.created_by LEFT JOIN areas v ON v.id = l.village_id
		WHERE l.team_id = ?1 AND l.deleted = 0 AND date(l.occurred_at, '+7 hours') BETWEEN ?2 AND ?3
		ORDER BY l.occurred_at DESC, l.id LIMIT ?4`, teamID, from, to, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("logs of team %d: %w", teamID, err)
	}
	defer rows.Close()
	out := []ReviewLog{}
	for rows.Next() {
		var l ReviewLog
		var outcomes, updated string
		if err := rows.Scan(&l.ID, &l.Day, &l.OccurredAt, &l.AuthorID, &l.AuthorName, &l.VillageID, &l.VillageName,
			&l.CitizenName, &l.AgeBand, &l.Gender, &outcomes, &l.Notes, &l.Locked, &updated); err != nil {
			return nil, fmt.Errorf("logs of team %d: %w", teamID, err)
		}
		if err := json.Unmarshal([]byte(outcomes), &l.Outcomes); err != nil {
			return nil, fmt.Errorf("log %s outcomes: %w", l.ID, err)
		}
		l.UpdatedAt = parseTS(updated)
		out = append(out, l)
	}
	return out, rows.Err()
}

// ReviewProgress is one progress report for review.
type ReviewProgress struct {
	ID         string
	Indicator  string
	AsOf       string
	Value      float64
	Note       string
	Corrects   string
	Void       bool
	AuthorName string
	CreatedAt  time.Time
}

// TeamProgressReports lists a team's progress reports with as_of in
// [from, to], newest first, at most limit. The actor must see the team.
func (s *Store) TeamProgressReports(ctx context.Context, a Actor, teamID int64, from, to string, limit int) ([]ReviewProgress, error) {
	if err := validPeriod(from, to); err != nil {
		return nil, err
	}
	if _, err := s.Team(ctx, a, teamID); err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT p.id, p.indicator, p.as_of, p.value, p.note, COALESCE(p.corrects, ''), p.void,
			u.name, p.created_at
		FROM progress_reports p JOIN users u ON u.id = p.created_by
		WHERE p.team_id = ? AND p.as_of BETWEEN ? AND ? ORDER BY p.as_of DESC, p.created_at DESC LIMIT ?`,
		teamID, from, to, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("progress of team %d: %w", teamID, err)
	}
	defer rows.Close()
	out := []ReviewProgress{}
	for rows.Next() {
		var p ReviewProgress
		var created string
		if err := rows.Scan(&p.ID, &p.Indicator, &p.AsOf, &p.Value, &p.Note, &p.Corrects, &p.Void, &p.AuthorName, &created); err != nil {
			return nil, fmt.Errorf("progress of team %d: %w", teamID, err)
		}
		p.CreatedAt = parseTS(created)
		out = append(out, p)
	}
	return out, rows.Err()
}
