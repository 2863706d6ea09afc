package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"
)

// The daily summary team leads and commune coordinators paste into their
// Zalo groups: one day's figures of an area (the upward report's total:
// whole numbers) or of one team (its own work), the targets at risk and
// the teams without activity for a week. The text is forms.DailyText.

// DailyInactiveDays is the week a team may go without activity before the
// summary names it.
const DailyInactiveDays = 7

// DailyQuery selects a summary: an area, or a team (TeamID set), and a day.
type DailyQuery struct {
	AreaID int64
	TeamID int64
	Day    string // YYYY-MM-DD (Vietnam)
}

// Daily is a day's summary.
type Daily struct {
	Day      string
	Area     Area   // the area, or the team's area
	Team     string // the team's name for a team summary, else ""
	Figures  Figures
	AtRisk   []RiskTarget // targets at risk or behind, lowest progress first
	Inactive []string     // active teams without activity in the week ending on Day (a team summary: the team itself)
	Teams    int          // active teams considered
	Services []Label      // the catalog's services, for their labels
}

// RiskTarget is a target that is not on track, with the area it is for
// and its indicator's labels.
type RiskTarget struct {
	Target
	AreaName string
	Label    Label
}

func validDay(day string) error {
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return fmt.Errorf("day must be a date (YYYY-MM-DD): %w", ErrInvalid)
	}
	return nil
}

// DailySummary computes the summary of a day for an actor who may read the
// area's reports (a team's: who may see the team).
func (s *Store) DailySummary(ctx context.Context, a Actor, q DailyQuery) (*Daily, error) {
	if err := validDay(q.Day); err != nil {
		return nil, err
	}
	d := &Daily{Day: q.Day}
	if err := s.dailyServices(ctx, d); err != nil {
		return nil, err
	}
	day, _ := time.Parse(time.DateOnly, q.Day)
	cutoff := day.AddDate(0, 0, -DailyInactiveDays).Format(time.DateOnly)
	if q.TeamID != 0 {
		return d, s.teamDaily(ctx, a, q.TeamID, d, cutoff)
	}
	ar, err := s.reportArea(ctx, a, q.AreaID)
	if err != nil {
		return nil, err
	}
	if a.Role.InTeam() {
		return nil, fmt.Errorf("daily summary of area %d: %w", q.AreaID, ErrForbidden)
	}
	d.Area = *ar
	if d.Figures, err = s.upwardFigures(ctx, a, ar.ID, q.Day, q.Day); err != nil {
		return nil, err
	}
	r, err := s.Report(ctx, a, ReportQuery{AreaID: ar.ID, From: q.Day, To: q.Day, Metrics: []string{"log:"}, TeamFiguresUpTo: -1})
	if err != nil {
		return nil, err
	}
	for _, t := range r.Teams {
		if !t.Active {
			continue
		}
		d.Teams++
		if t.LastActive == "" || t.LastActive <= cutoff {
			d.Inactive = append(d.Inactive, t.Name)
		}
	}
	return d, s.dailyTargets(ctx, a, ar.ID, d)
}

// teamDaily fills d with one team's day: its own figures (wherever its
// work was placed), its area's targets and whether it has been inactive.
// A handful of index seeks: a team lead's pull computes it.
func (s *Store) teamDaily(ctx context.Context, a Actor, teamID int64, d *Daily, cutoff string) error {
	var path string
	err := s.read.QueryRowContext(ctx, `SELECT t.name, a.path FROM teams t JOIN areas a ON a.id = t.area_id WHERE t.id = ?`, teamID).
		Scan(&d.Team, &path)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !a.CanSeeTeam(teamID, path) {
		return fmt.Errorf("team %d: %w", teamID, ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("daily summary: %w", err)
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("daily summary: %w", err)
	}
	defer tx.Rollback()
	ar, err := scanArea(tx.QueryRowContext(ctx, `SELECT `+areaColumns+` FROM areas WHERE path = ?`, path))
	if err != nil {
		return fmt.Errorf("daily summary: %w", err)
	}
	d.Area = *ar
	teams, err := reportTeams(ctx, tx, path, teamID)
	if err != nil {
		return err
	}
	if err := teamFigures(ctx, tx, path, teamID, d.Day, d.Day, true, teams); err != nil {
		return err
	}
	d.Figures = newFigures()
	if t := teams[teamID]; t != nil {
		d.Figures = wholeFigures(t.Figures)
		if t.Active {
			d.Teams = 1
			if t.LastActive == "" || t.LastActive <= cutoff {
				d.Inactive = []string{t.Name}
			}
		}
	}
	if err := tx.Rollback(); err != nil {
		return err
	}
	return s.dailyTargets(ctx, a, ar.ID, d) // the targets of the team's area
}

// dailyTargets lists the targets of the area's subtree whose period holds
// the day and which are not on track, lowest progress first.
func (s *Store) dailyTargets(ctx context.Context, a Actor, areaID int64, d *Daily) error {
	ts, err := s.Targets(ctx, a, TargetFilter{AreaID: areaID, From: d.Day, To: d.Day, Limit: MaxPageSize})
	if err != nil {
		return err
	}
	names, labels := map[int64]string{}, map[string]Label{}
	for _, t := range ts {
		if t.Status == "on_track" {
			continue
		}
		if _, ok := names[t.AreaID]; !ok {
			var n string
			if err := s.read.QueryRowContext(ctx, `SELECT name FROM areas WHERE id = ?`, t.AreaID).Scan(&n); err != nil {
				return fmt.Errorf("daily summary: %w", err)
			}
			names[t.AreaID] = n
		}
		if _, ok := labels[t.Indicator]; !ok {
			l := Label{Code: t.Indicator}
			if err := s.read.QueryRowContext(ctx, `SELECT label_vi, label_en FROM indicators WHERE code = ?`, t.Indicator).
				Scan(&l.Vi, &l.En); err != nil {
				return fmt.Errorf("daily summary: %w", err)
			}
			labels[t.Indicator] = l
		}
		d.AtRisk = append(d.AtRisk, RiskTarget{Target: t, AreaName: names[t.AreaID], Label: labels[t.Indicator]})
	}
	sort.SliceStable(d.AtRisk, func(i, j int) bool { return progress(d.AtRisk[i].Target) < progress(d.AtRisk[j].Target) })
	return nil
}

func progress(t Target) float64 {
	if t.Goal <= 0 {
		return 0
	}
	return t.Value / t.Goal
}

func (s *Store) dailyServices(ctx context.Context, d *Daily) error {
	rows, err := s.read.QueryContext(ctx, `SELECT code, label_vi, label_en FROM services ORDER BY active DESC, sort, code`)
	if err != nil {
		return fmt.Errorf("daily summary: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l Label
		if err := rows.Scan(&l.Code, &l.Vi, &l.En); err != nil {
			return fmt.Errorf("daily summary: %w", err)
		}
		d.Services = append(d.Services, l)
	}
	return rows.Err()
}
