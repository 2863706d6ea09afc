package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
)

// Allocation methods of a parent target to the areas below it.
const (
	AllocateProportional = "proportional" // by the indicator's denominator field (population for counts)
	AllocateEqual        = "equal"
)

// GoalsChangedError is an allocation that would overwrite goals changed
// by hand since the last allocation (or set by hand before it): nothing was
// written; allocate again with replace to overwrite them.
type GoalsChangedError struct {
	Changed []ChangedGoal
}

// ChangedGoal is a child target whose goal was set by hand.
type ChangedGoal struct {
	TargetID      int64
	AreaID        int64
	AreaName      string
	Goal          float64 // the goal now
	AllocatedGoal float64 // what the last allocation gave it (0: never allocated)
	NewGoal       float64 // what this allocation would give it
}

func (e *GoalsChangedError) Error() string {
	return fmt.Sprintf("%d goals below were changed by hand; allocate with replace to overwrite them: %v", len(e.Changed), ErrConflict)
}

// Is makes a GoalsChangedError match ErrConflict.
func (e *GoalsChangedError) Is(target error) bool { return target == ErrConflict }

// LargestRemainder splits total whole units in proportion to weights so
// that the parts sum to total exactly (Hamilton's method): each part is
// its quota rounded down, and the units left over go to the largest
// remainders (ties: the larger weight, then the earlier entry). Zero
// weights get nothing unless every weight is zero, which splits equally.
func LargestRemainder(total int64, weights []float64) []int64 {
	parts := make([]int64, len(weights))
	if len(weights) == 0 || total <= 0 {
		return parts
	}
	sum := 0.0
	for _, w := range weights {
		sum += max(w, 0)
	}
	ws := make([]float64, len(weights))
	for i, w := range weights {
		ws[i] = max(w, 0)
		if sum == 0 {
			ws[i] = 1
		}
	}
	if sum == 0 {
		sum = float64(len(ws))
	}
	rem := make([]float64, len(ws))
	given := int64(0)
	for i, w := range ws {
		q := float64(total) * w / sum
		parts[i] = int64(math.Floor(q))
		rem[i] = q - float64(parts[i])
		given += parts[i]
	}
	order := make([]int, len(ws))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool {
		i, j := order[x], order[y]
		if rem[i] != rem[j] {
			return rem[i] > rem[j]
		}
		return ws[i] > ws[j]
	})
	for k := 0; given < total; k = (k + 1) % len(order) {
		if ws[order[k]] > 0 {
			parts[order[k]]++
			given++
		}
	}
	for given > total { // float rounding gave one too many: take it from the smallest remainder
		for k := len(order) - 1; k >= 0 && given > total; k-- {
			if parts[order[k]] > 0 {
				parts[order[k]]--
				given--
			}
		}
	}
	return parts
}

// AllocateTarget splits a target among the current child areas of its area
// (children without a valid_to before the period starts): a count goal in
// whole units in proportion to the children's denominator field
// (population when the indicator has none) or in equal parts, by largest
// remainder, so the parts sum to the goal exactly; a percent goal is the
// same rate for every child. A child whose share is zero gets no target.
// Existing child targets for the same indicator and dates get the new
// goal, unless their goal was changed by hand since the last allocation
// (or set by hand): then nothing is written and the error is a
// *GoalsChangedError naming them, unless replace. The actor must be
// allowed to allocate the parent (CanAllocateTarget) and to manage the
// children's targets.
func (s *Store) AllocateTarget(ctx context.Context, a Actor, parentID int64, method string, replace bool) ([]Target, error) {
	if method != AllocateProportional && method != AllocateEqual {
		return nil, fmt.Errorf("method must be proportional or equal: %w", ErrInvalid)
	}
	var ids []int64
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		path, err := s.targetPath(ctx, tx, a, parentID)
		if err != nil {
			return err
		}
		if !a.CanAllocateTarget(path) {
			return fmt.Errorf("allocate target %d: %w", parentID, ErrForbidden)
		}
		var p NewTarget
		var kind, denominator string
		err = tx.QueryRowContext(ctx, `SELECT indicator, area_id, period, name, starts_on, ends_on, goal, kind, denominator
			FROM targets WHERE id = ?`, parentID).Scan(&p.Indicator, &p.AreaID, &p.Period, &p.Name, &p.StartsOn, &p.EndsOn,
			&p.Goal, &kind, &denominator)
		if err != nil {
			return fmt.Errorf("allocate target %d: %w", parentID, err)
		}
		if denominator == "" {
			denominator = "population"
		}
		// Each child with the target it already has for this indicator
		// and period, if any.
		rows, err := tx.QueryContext(ctx, `SELECT a.id, a.name, CASE ?1 WHEN 'adults' THEN a.adults WHEN 'working_age' THEN a.working_age
				WHEN 'households' THEN a.households ELSE a.population END,
				COALESCE(g.id, 0), COALESCE(g.goal, 0), COALESCE(g.allocated_goal, 0)
			FROM areas a LEFT JOIN targets g ON g.area_id = a.id AND g.indicator = ?2 AND g.starts_on = ?3 AND g.ends_on = ?4
			WHERE a.parent_id = ?5 AND (a.valid_to IS NULL OR a.valid_to >= ?3) ORDER BY a.id`,
			denominator, p.Indicator, p.StartsOn, p.EndsOn, p.AreaID)
		if err != nil {
			return fmt.Errorf("allocate target %d: %w", parentID, err)
		}
		type child struct {
			id              int64
			name            string
			den             float64
			target          int64
			goal, allocated float64
		}
		var cs []child
		total := 0.0
		for rows.Next() {
			var c child
			if err := rows.Scan(&c.id, &c.name, &c.den, &c.target, &c.goal, &c.allocated); err != nil {
				rows.Close()
				return fmt.Errorf("allocate target %d: %w", parentID, err)
			}
			cs = append(cs, c)
			total += c.den
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("allocate target %d: %w", parentID, err)
		}
		if len(cs) == 0 {
			return fmt.Errorf("area %d has no child areas to allocate to: %w", p.AreaID, ErrInvalid)
		}
		if method == AllocateProportional && total == 0 && kind == "count" {
			return fmt.Errorf("the child areas have no %s figures: allocate equally: %w", denominator, ErrInvalid)
		}
		goals := make([]float64, len(cs))
		if kind == "percent" {
			for i := range goals {
				goals[i] = p.Goal
			}
		} else {
			weights := make([]float64, len(cs))
			for i, c := range cs {
				weights[i] = 1
				if method == AllocateProportional {
					weights[i] = c.den
				}
			}
			for i, n := range LargestRemainder(int64(math.Round(p.Goal)), weights) {
				goals[i] = float64(n)
			}
		}
		var changed []ChangedGoal
		for i, c := range cs {
			if c.target != 0 && c.goal != c.allocated && c.goal != goals[i] {
				changed = append(changed, ChangedGoal{TargetID: c.target, AreaID: c.id, AreaName: c.name, Goal: c.goal,
					AllocatedGoal: c.allocated, NewGoal: goals[i]})
			}
		}
		if len(changed) > 0 && !replace {
			return &GoalsChangedError{Changed: changed}
		}
		for i, c := range cs {
			if goals[i] <= 0 {
				continue // a child without population gets no share
			}
			n := p
			n.AreaID = c.id
			n.Year, n.Quarter = 0, 0
			n.Period = "campaign"
			if n.Name == "" {
				n.Name = p.Period
			}
			n.Goal = goals[i]
			id, err := s.insertTarget(ctx, tx, a, n, parentID)
			if err != nil {
				return err
			}
			// Keep the parent's period kind (year, quarter) on the child,
			// and remember the goal given, to tell a later hand edit.
			if _, err := tx.ExecContext(ctx, `UPDATE targets SET period = ?, name = ?, allocated_goal = ? WHERE id = ?`,
				p.Period, p.Name, n.Goal, id); err != nil {
				return fmt.Errorf("allocate target %d: %w", parentID, err)
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Target, 0, len(ids))
	for _, id := range ids {
		t, err := s.Target(ctx, a, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, nil
}
