package store

import (
	"context"
	"fmt"
	"time"
)

// Week is one week (Monday to Sunday, Vietnam days) of a trend: citizens
// reached for the first time, in all and by service.
type Week struct {
	Start    string // the Monday, YYYY-MM-DD
	Citizens float64
	Reached  map[string]float64 // service → citizens reached for it the first time
}

// MaxTrendWeeks bounds a trend.
const MaxTrendWeeks = 53

// weeklySQL reads the weekly trend of area ?1 (0009) from the week of
// Monday ?2 to the week of Monday ?3; teamWeeklySQL the first reaches of
// team ?1's own work (like a member's report) by day from ?2 to ?3.
const (
	weeklySQL     = `SELECT week, key, n FROM area_trend WHERE area_id = ?1 AND week BETWEEN ?2 AND ?3`
	teamWeeklySQL = `SELECT substr(CAST(r.period AS TEXT), 1, 4) || '-' || substr(CAST(r.period AS TEXT), 5, 2) || '-' ||
			substr(CAST(r.period AS TEXT), 7, 2), s.key, r.n
		FROM team_rollups r JOIN rollup_series s ON s.id = r.series
		WHERE r.team_id = ?1 AND r.period BETWEEN ?2 AND ?3 AND s.metric = 'first'`
)

// WeeklyReached is the trend of an area over the weeks weeks ending with
// the one holding day to (whole weeks, Monday to Sunday), from the same
// rollups as Report and under the same policy (members and leads: their
// team's area, their team's own work only).
func (s *Store) WeeklyReached(ctx context.Context, a Actor, areaID int64, to string, weeks int) ([]Week, error) {
	end, err := time.Parse(time.DateOnly, to)
	if err != nil {
		return nil, fmt.Errorf("to must be a date (YYYY-MM-DD): %w", ErrInvalid)
	}
	if weeks < 1 || weeks > MaxTrendWeeks {
		return nil, fmt.Errorf("weeks must be 1 to %d: %w", MaxTrendWeeks, ErrInvalid)
	}
	ar, err := s.reportArea(ctx, a, areaID)
	if err != nil {
		return nil, err
	}
	onlyTeam := int64(0)
	if a.Role.InTeam() {
		onlyTeam = a.TeamID
	}
	monday := end.AddDate(0, 0, -((int(end.Weekday()) + 6) % 7))
	first := monday.AddDate(0, 0, -7*(weeks-1))
	out := make([]Week, weeks)
	for i := range out {
		out[i] = Week{Start: first.AddDate(0, 0, 7*i).Format(time.DateOnly), Reached: map[string]float64{}}
	}
	q, args := weeklySQL, []any{ar.ID, first.Format(time.DateOnly), monday.Format(time.DateOnly)}
	if onlyTeam != 0 {
		lo, _, _ := dayPeriod(first.Format(time.DateOnly))
		hi, _, _ := dayPeriod(monday.AddDate(0, 0, 6).Format(time.DateOnly))
		q, args = teamWeeklySQL, []any{onlyTeam, lo, hi}
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("weekly trend: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var day, key string
		var n float64
		if err := rows.Scan(&day, &key, &n); err != nil {
			return nil, fmt.Errorf("weekly trend: %w", err)
		}
		d, err := time.Parse(time.DateOnly, day)
		if err != nil {
			continue
		}
		i := int(d.Sub(first).Hours()) / (24 * 7)
		if i < 0 || i >= weeks {
			continue
		}
		if key == "*" {
			out[i].Citizens += n
		} else {
			out[i].Reached[key] += n
		}
	}
	return out, rows.Err()
}
