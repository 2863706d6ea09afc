package store

import (
	"context"
	"fmt"
)

// MemberFigures is one member's work in a team over a period.
type MemberFigures struct {
	UserID int64
	Name   string
	Role   Role
	Active bool
	Logs   int    // assistance logs written (visits), live ones
	Last   string // Vietnam day of their last log in the period, "" if none
}

// TeamMemberActivity lists a team's members and leads with the logs each
// wrote on days in [from, to]. The rollups hold no per-member figures, so
// this reads the team's own logs (a few hundred a year, by the team index).
// The actor must see the team (Team).
func (s *Store) TeamMemberActivity(ctx context.Context, a Actor, teamID int64, from, to string) ([]MemberFigures, error) {
	if err := validPeriod(from, to); err != nil {
		return nil, err
	}
	if _, err := s.Team(ctx, a, teamID); err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, `
		WITH w AS (SELECT created_by, count(*) AS n, max(date(occurred_at, '+7 hours')) AS last
			FROM assistance_logs WHERE team_id = ?1 AND deleted = 0
				AND date(occurred_at, '+7 hours') BETWEEN ?2 AND ?3
			GROUP BY created_by)
		SELECT u.id, u.name, u.role, u.active, COALESCE(w.n, 0), COALESCE(w.last, '')
		FROM users u LEFT JOIN w ON w.created_by = u.id
		WHERE u.team_id = ?1 AND u.role IN ('member', 'team_lead')
		ORDER BY u.role = 'member', u.name, u.id`, teamID, from, to)
	if err != nil {
		return nil, fmt.Errorf("members of team %d: %w", teamID, err)
	}
	defer rows.Close()
	out := []MemberFigures{}
	for rows.Next() {
		var m MemberFigures
		if err := rows.Scan(&m.UserID, &m.Name, &m.Role, &m.Active, &m.Logs, &m.Last); err != nil {
			return nil, fmt.Errorf("members of team %d: %w", teamID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
