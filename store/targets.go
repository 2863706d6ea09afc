package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Target is an indicator's goal for an area over a period, with its
// confirmed progress (kept current by the rollup triggers).
type Target struct {
	ID          int64
	Indicator   string
	Kind        string // count or percent
	AreaID      int64
	AreaPath    string
	Period      string // year, quarter or campaign
	Name        string
	StartsOn    string
	EndsOn      string
	Goal        float64
	ParentID    int64
	Numerator   float64
	Denominator float64
	Value       float64 // numerator/denominator×100 for percent, numerator for count
	Status      string  // as of today (TargetStatus), not as of the last write
	AsOf        time.Time
	Version     int64
}

// NewTarget is what creating a target takes. Year and Quarter set the
// dates of year and quarter periods; a campaign gives its dates and name.
type NewTarget struct {
	Indicator string
	AreaID    int64
	Period    string
	Year      int
	Quarter   int
	Name      string
	StartsOn  string
	EndsOn    string
	Goal      float64
}

// TargetPatch changes the fields that are set.
type TargetPatch struct {
	Goal *float64
	Name *string
}

// Status thresholds: a target is on track at 90% of what the elapsed share
// of its period expects, at risk from 70%, behind below.
const (
	onTrackRatio = 0.9
	atRiskRatio  = 0.7
)

// TargetStatus says whether value is on track for goal over [start, end]
// as of today: expected = goal × the elapsed fraction of the period (days,
// inclusive); a level indicator (members per 100 residents) expects the
// goal at once. The SQL trigger targets_progress_changed is the same rule.
func TargetStatus(value, goal float64, start, end, today string, level bool) string {
	s, _ := time.Parse(time.DateOnly, start)
	e, _ := time.Parse(time.DateOnly, end)
	d, _ := time.Parse(time.DateOnly, today)
	frac := 1.0
	if !level {
		frac = (d.Sub(s).Hours()/24 + 1) / (e.Sub(s).Hours()/24 + 1)
		frac = min(1, max(0, frac))
	}
	expected := goal * frac
	switch {
	case value >= goal || value >= onTrackRatio*expected:
		return "on_track"
	case value >= atRiskRatio*expected:
		return "at_risk"
	}
	return "behind"
}

// periodDates resolves the dates of a new target's period.
func periodDates(n NewTarget) (string, string, error) {
	switch n.Period {
	case "year":
		if n.Year < 2000 || n.Year > 2100 {
			return "", "", fmt.Errorf("year must be between 2000 and 2100: %w", ErrInvalid)
		}
		return fmt.Sprintf("%d-01-01", n.Year), fmt.Sprintf("%d-12-31", n.Year), nil
	case "quarter":
		if n.Year < 2000 || n.Year > 2100 || n.Quarter < 1 || n.Quarter > 4 {
			return "", "", fmt.Errorf("year and quarter (1-4) are required: %w", ErrInvalid)
		}
		s := time.Date(n.Year, time.Month(3*n.Quarter-2), 1, 0, 0, 0, 0, time.UTC)
		return s.Format(time.DateOnly), s.AddDate(0, 3, -1).Format(time.DateOnly), nil
	case "campaign":
		if strings.TrimSpace(n.Name) == "" {
			return "", "", fmt.Errorf("a campaign needs a name: %w", ErrInvalid)
		}
		if err := validPeriod(n.StartsOn, n.EndsOn); err != nil {
			return "", "", err
		}
		return n.StartsOn, n.EndsOn, nil
	}
	return "", "", fmt.Errorf("period must be year, quarter or campaign: %w", ErrInvalid)
}

// indicatorRule is how an indicator's numerator maps onto rollups.
type indicatorRule struct {
	kind, metric, key, denominator string
}

func loadIndicatorRule(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, code string) (indicatorRule, error) {
	var r indicatorRule
	var numerator, rule string
	err := q.QueryRowContext(ctx, `SELECT kind, numerator, denominator, rule FROM indicators WHERE code = ? AND active = 1`, code).
		Scan(&r.kind, &numerator, &r.denominator, &rule)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("indicator %q: %w", code, ErrInvalid)
	} else if err != nil {
		return r, fmt.Errorf("indicator %q: %w", code, err)
	}
	switch {
	case rule == "team_members":
		r.metric = "members"
	case strings.HasPrefix(numerator, "service:"):
		r.metric, r.key = "first", strings.TrimPrefix(numerator, "service:")
	case strings.HasPrefix(numerator, "topic:"):
		r.metric, r.key = "topic", strings.TrimPrefix(numerator, "topic:")
	default:
		r.metric, r.key = "manual", code
	}
	return r, nil
}

// CreateTarget sets a goal for an area and period. Admins anywhere;
// coordinators for areas strictly below their root (their own area's
// targets come from above).
func (s *Store) CreateTarget(ctx context.Context, a Actor, n NewTarget) (*Target, error) {
	var id int64
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		id, err = s.insertTarget(ctx, tx, a, n, 0)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Target(ctx, a, id)
}

// insertTarget creates (or, for the same indicator, area and dates,
// replaces the goal of) a target inside tx and computes its progress.
func (s *Store) insertTarget(ctx context.Context, tx *sql.Tx, a Actor, n NewTarget, parentID int64) (int64, error) {
	if n.Goal <= 0 || n.Goal > 1e12 {
		return 0, fmt.Errorf("goal must be positive: %w", ErrInvalid)
	}
	from, to, err := periodDates(n)
	if err != nil {
		return 0, err
	}
	var path string
	if err := tx.QueryRowContext(ctx, `SELECT path FROM areas WHERE id = ?`, n.AreaID).Scan(&path); errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("area %d: %w", n.AreaID, ErrNotFound)
	} else if err != nil {
		return 0, fmt.Errorf("create target: %w", err)
	}
	if !a.CanManageTargets(path) {
		if a.CanSeeArea(path) {
			return 0, fmt.Errorf("targets of area %d: %w", n.AreaID, ErrForbidden)
		}
		return 0, fmt.Errorf("area %d: %w", n.AreaID, ErrNotFound)
	}
	rule, err := loadIndicatorRule(ctx, tx, n.Indicator)
	if err != nil {
		return 0, err
	}
	v, err := nextSeq(ctx, tx)
	if err != nil {
		return 0, err
	}
	now := ts(s.now())
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO targets (indicator, area_id, period, name, starts_on, ends_on, goal, parent_id,
		metric, key, kind, denominator, created_by, version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (indicator, area_id, starts_on, ends_on) DO UPDATE SET goal = excluded.goal, name = excluded.name,
			parent_id = COALESCE(excluded.parent_id, targets.parent_id), version = excluded.version, updated_at = excluded.updated_at
		RETURNING id`,
		n.Indicator, n.AreaID, n.Period, strings.TrimSpace(n.Name), from, to, n.Goal, nullInt(parentID),
		rule.metric, rule.key, rule.kind, rule.denominator, nullInt(a.UserID), v, now, now).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create target: %w", checkErr(err))
	}
	// Numerator, denominator, value and status come from the fold
	// (fold_targets.go), after the transaction's other changes.
	_, err = tx.ExecContext(ctx, `INSERT INTO target_progress (target_id, as_of, version) VALUES (?, ?, ?)
		ON CONFLICT (target_id) DO NOTHING`, id, now, v)
	if err != nil {
		return 0, fmt.Errorf("create target: %w", err)
	}
	if err := s.addTeamTargets(ctx, tx, `g.id = ?`, id, v); err != nil {
		return 0, fmt.Errorf("create target: %w", err)
	}
	s.foldEvent(evTarget, id)
	return id, s.audit(ctx, tx, a, 0, "create", "target", id, map[string]any{"indicator": n.Indicator, "area_id": n.AreaID,
		"starts_on": from, "ends_on": to, "goal": n.Goal, "parent_id": parentID})
}

const targetColumns = `g.id, g.indicator, g.kind, g.area_id, a.path, g.period, g.name, g.starts_on, g.ends_on, g.goal,
	COALESCE(g.parent_id, 0), p.numerator, p.denominator, p.value, p.as_of, g.metric, max(g.version, p.version)`

const targetFrom = ` FROM targets g JOIN target_progress p ON p.target_id = g.id JOIN areas a ON a.id = g.area_id`

func (s *Store) scanTarget(sc interface{ Scan(...any) error }) (*Target, error) {
	var t Target
	var asOf, metric string
	err := sc.Scan(&t.ID, &t.Indicator, &t.Kind, &t.AreaID, &t.AreaPath, &t.Period, &t.Name, &t.StartsOn, &t.EndsOn,
		&t.Goal, &t.ParentID, &t.Numerator, &t.Denominator, &t.Value, &asOf, &metric, &t.Version)
	if err != nil {
		return nil, err
	}
	t.AsOf = parseTS(asOf)
	t.Status = TargetStatus(t.Value, t.Goal, t.StartsOn, t.EndsOn, Today(s.now()), metric == "members")
	return &t, nil
}

// Target returns one target with its progress, if the actor may see it.
func (s *Store) Target(ctx context.Context, a Actor, id int64) (*Target, error) {
	t, err := s.scanTarget(s.read.QueryRowContext(ctx, `SELECT `+targetColumns+targetFrom+` WHERE g.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !a.canReadTargets(t.AreaPath)) {
		return nil, fmt.Errorf("target %d: %w", id, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("target %d: %w", id, err)
	}
	return t, nil
}

// TargetFilter narrows Targets. Zero values mean no filter.
type TargetFilter struct {
	AreaID    int64  // the area and its subtree (default: the actor's root)
	Indicator string // one indicator
	From, To  string // periods overlapping [From, To] (both or neither)
	After     int64  // keyset pagination
	Limit     int
}

// Targets lists targets with their progress in an area's subtree.
func (s *Store) Targets(ctx context.Context, a Actor, f TargetFilter) ([]Target, error) {
	root := a.listRoot()
	if f.AreaID != 0 {
		ar, err := s.reportArea(ctx, a, f.AreaID)
		if err != nil {
			return nil, err
		}
		root = ar.Path
	}
	lo, hi := subtreeRange(root)
	if a.Role.InTeam() {
		// Their team's area only: no path lies between p and p+"\x01" (paths
		// are digits and slashes), and PostgreSQL's text holds no NUL.
		lo, hi = a.AreaPath, a.AreaPath+"\x01"
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+targetColumns+targetFrom+`
		WHERE a.path >= ? AND a.path < ? AND (? = '' OR g.indicator = ?) AND (? = '' OR (g.starts_on <= ? AND g.ends_on >= ?))
			AND g.id > ? ORDER BY g.id LIMIT ?`,
		lo, hi, f.Indicator, f.Indicator, f.From, f.To, f.From, f.After, clampLimit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("targets: %w", err)
	}
	defer rows.Close()
	out := []Target{}
	for rows.Next() {
		t, err := s.scanTarget(rows)
		if err != nil {
			return nil, fmt.Errorf("targets: %w", err)
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// UpdateTarget changes a target's goal or name.
func (s *Store) UpdateTarget(ctx context.Context, a Actor, id int64, p TargetPatch) (*Target, error) {
	if p.Goal != nil && (*p.Goal <= 0 || *p.Goal > 1e12) {
		return nil, fmt.Errorf("goal must be positive: %w", ErrInvalid)
	}
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		path, err := s.targetPath(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if !a.CanManageTargets(path) {
			return fmt.Errorf("target %d: %w", id, ErrForbidden)
		}
		v, err := nextSeq(ctx, tx)
		if err != nil {
			return err
		}
		now := ts(s.now())
		_, err = tx.ExecContext(ctx, `UPDATE targets SET goal = COALESCE(?, goal), name = COALESCE(?, name), version = ?, updated_at = ?
			WHERE id = ?`, p.Goal, p.Name, v, now, id)
		if err != nil {
			return fmt.Errorf("update target %d: %w", id, checkErr(err))
		}
		// The new goal changes the status: the fold computes it and resends.
		s.foldEvent(evTarget, id)
		return s.audit(ctx, tx, a, 0, "update", "target", id, p)
	})
	if err != nil {
		return nil, err
	}
	return s.Target(ctx, a, id)
}

// DeleteTarget removes a target; phones holding it get tombstones.
func (s *Store) DeleteTarget(ctx context.Context, a Actor, id int64) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		path, err := s.targetPath(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if !a.CanManageTargets(path) {
			return fmt.Errorf("target %d: %w", id, ErrForbidden)
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, team_id FROM team_targets WHERE target_id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete target %d: %w", id, err)
		}
		type row struct {
			id   string
			team int64
		}
		var rs []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.team); err != nil {
				rows.Close()
				return fmt.Errorf("delete target %d: %w", id, err)
			}
			rs = append(rs, r)
		}
		rows.Close()
		now := ts(s.now())
		for _, r := range rs {
			if err := s.touch(ctx, tx, kindTeamTarget, r.id); err != nil {
				return err
			}
			v, err := nextSeq(ctx, tx)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO tombstones (seq, scope, tbl, row_id, created_at) VALUES (?, ?, 'target_progress', ?, ?)`,
				v, teamScope(r.team), r.id, now); err != nil {
				return fmt.Errorf("delete target %d: %w", id, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM targets WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete target %d: %w", id, err)
		}
		return s.audit(ctx, tx, a, 0, "delete", "target", id, nil)
	})
}

// targetPath is the area path of a target the actor may see.
func (s *Store) targetPath(ctx context.Context, tx *sql.Tx, a Actor, id int64) (string, error) {
	var path string
	err := tx.QueryRowContext(ctx, `SELECT a.path FROM targets g JOIN areas a ON a.id = g.area_id WHERE g.id = ?`, id).Scan(&path)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !a.canReadTargets(path)) {
		return "", fmt.Errorf("target %d: %w", id, ErrNotFound)
	} else if err != nil {
		return "", fmt.Errorf("target %d: %w", id, err)
	}
	return path, nil
}

// addTeamTargets gives the teams sitting on a target's area the target's
// row in their scope (team_targets), for the targets selected by where
// (over targets g; one argument), at version v; existing rows are kept.
func (s *Store) addTeamTargets(ctx context.Context, tx *sql.Tx, where string, arg any, v int64) error {
	ids, err := scanColumn[string](tx.QueryContext(ctx, `SELECT g.id || ':' || t.id FROM targets g JOIN teams t ON t.area_id = g.area_id
		WHERE `+where+` AND NOT EXISTS (SELECT 1 FROM team_targets x WHERE x.target_id = g.id AND x.team_id = t.id)`, arg))
	if err != nil {
		return err
	}
	for _, id := range ids {
		s.touchNew(kindTeamTarget, id)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO team_targets (id, target_id, team_id, version)
		SELECT g.id || ':' || t.id, g.id, t.id, ? FROM targets g JOIN teams t ON t.area_id = g.area_id
		WHERE `+where+` AND NOT EXISTS (SELECT 1 FROM team_targets x WHERE x.target_id = g.id AND x.team_id = t.id)`, v, arg)
	return err
}
