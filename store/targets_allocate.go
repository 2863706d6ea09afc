package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
)

// Allocation methods of a parent target to the areas below it.
const (
	AllocateProportional = "proportional" // by the indicator's denominator field (population for counts)
	AllocateEqual        = "equal"
)

// AllocateTarget splits a target among the current child areas of its area
// (children without a valid_to before the period starts): a count goal in
// proportion to the children's denominator field (population when the
// indicator has none) or in equal parts, rounded up; a percent goal is the
// same rate for every child. Existing child targets for the same indicator
// and dates get the new goal. The children's goals can be edited after.
// The actor must be allowed to allocate the parent (CanAllocateTarget) and
// to manage the children's targets.
func (s *Store) AllocateTarget(ctx context.Context, a Actor, parentID int64, method string) ([]Target, error) {
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
		rows, err := tx.QueryContext(ctx, `SELECT id, CASE ? WHEN 'adults' THEN adults WHEN 'working_age' THEN working_age
			WHEN 'households' THEN households ELSE population END
			FROM areas WHERE parent_id = ? AND (valid_to IS NULL OR valid_to >= ?) ORDER BY id`, denominator, p.AreaID, p.StartsOn)
		if err != nil {
			return fmt.Errorf("allocate target %d: %w", parentID, err)
		}
		type child struct {
			id  int64
			den float64
		}
		var cs []child
		total := 0.0
		for rows.Next() {
			var c child
			if err := rows.Scan(&c.id, &c.den); err != nil {
				rows.Close()
				return fmt.Errorf("allocate target %d: %w", parentID, err)
			}
			cs = append(cs, c)
			total += c.den
		}
		rows.Close()
		if len(cs) == 0 {
			return fmt.Errorf("area %d has no child areas to allocate to: %w", p.AreaID, ErrInvalid)
		}
		if method == AllocateProportional && total == 0 && kind == "count" {
			return fmt.Errorf("the child areas have no %s figures: allocate equally: %w", denominator, ErrInvalid)
		}
		for _, c := range cs {
			n := p
			n.AreaID = c.id
			n.Year, n.Quarter = 0, 0
			n.Period = "campaign"
			if n.Name == "" {
				n.Name = p.Period
			}
			switch {
			case kind == "percent":
				n.Goal = p.Goal
			case method == AllocateEqual:
				n.Goal = math.Ceil(p.Goal / float64(len(cs)))
			default:
				n.Goal = math.Ceil(p.Goal * c.den / total)
			}
			if n.Goal <= 0 {
				continue // a child without population gets no share
			}
			id, err := s.insertTarget(ctx, tx, a, n, parentID)
			if err != nil {
				return err
			}
			// Keep the parent's period kind (year, quarter) on the child.
			if _, err := tx.ExecContext(ctx, `UPDATE targets SET period = ?, name = ? WHERE id = ?`, p.Period, p.Name, id); err != nil {
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
