package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Target progress. A target's numerator is the weighted sum of its
// indicator's metric over the places counting into its area, on the days
// of its period (members: every active member and lead, whatever the day).
// The fold adds the transaction's differences to the targets they fall in,
// and computes a target again from the area rollups when it was created or
// changed, or when lineage moved figures. Value and status follow in Go
// (TargetStatus); the target's rows on phones (target_progress in the team
// scope, team_targets) take a new seq.

// targets updates the progress of the targets the transaction changed:
// those its differences fall in, and recompute (computed again from the
// rollups). A target whose figures come out unchanged keeps its version,
// unless it is in force (its goal or name changed: phones need the row).
func (r *foldRun) targets(recompute, force map[int64]bool) error {
	inc := map[int64]float64{}
	if len(r.deltas) > 0 {
		rows, err := r.f.s.wstmts.query(r.ctx, r.tx, `SELECT g.id, sum(d.n * w.w)
			FROM fold_delta d JOIN area_weights w ON w.place_id = d.place_id
			JOIN targets g ON g.area_id = w.area_id AND g.metric = d.metric AND g.key = d.key
			WHERE d.day = '' OR (d.day >= g.starts_on AND d.day <= g.ends_on)
			GROUP BY g.id`)
		if err != nil {
			return fmt.Errorf("fold: targets: %w", err)
		}
		for rows.Next() {
			var id int64
			var n float64
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return fmt.Errorf("fold: targets: %w", err)
			}
			if n != 0 {
				inc[id] = n
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("fold: targets: %w", err)
		}
	}
	ids := make([]int64, 0, len(inc)+len(recompute))
	for id := range recompute {
		ids = append(ids, id)
	}
	for id := range inc {
		if !recompute[id] {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var v int64
	today, now := Today(r.now), ts(r.now)
	for _, id := range ids {
		t, err := loadTargetCalc(r.ctx, r.tx, id)
		if errors.Is(err, sql.ErrNoRows) {
			continue // deleted in this transaction
		} else if err != nil {
			return fmt.Errorf("fold: target %d: %w", id, err)
		}
		num := t.numerator + inc[id]
		if recompute[id] {
			if num, err = targetNumerator(r.ctx, r.tx, t.area, indicatorRule{metric: t.metric, key: t.key}, t.starts, t.ends); err != nil {
				return err
			}
		}
		value := num
		if t.kind == "percent" {
			value = 0
			if t.denominator > 0 {
				value = num * 100 / t.denominator
			}
		}
		status := TargetStatus(value, t.goal, t.starts, t.ends, today, t.metric == "members")
		if !force[id] && near(num, t.numerator) && t.denominator == t.storedDen && near(value, t.value) && status == t.status {
			continue // unchanged but for the rounding of weighted sums
		}
		if v == 0 {
			if v, err = nextSeq(r.ctx, r.tx); err != nil {
				return err
			}
		}
		_, err = r.tx.ExecContext(r.ctx, `UPDATE target_progress SET numerator = ?, denominator = ?, value = ?, status = ?,
			as_of = ?, version = ? WHERE target_id = ?`, num, t.denominator, value, status, now, v, id)
		if err != nil {
			return fmt.Errorf("fold: target %d: %w", id, err)
		}
		if err := r.bumpTeamTargets(id, v); err != nil {
			return err
		}
	}
	return nil
}

// bumpTeamTargets gives the target's rows on phones version v.
func (r *foldRun) bumpTeamTargets(target, v int64) error {
	rows, err := r.f.s.wstmts.query(r.ctx, r.tx, `SELECT id, team_id, version FROM team_targets WHERE target_id = ?`, target)
	if err != nil {
		return fmt.Errorf("fold: team targets: %w", err)
	}
	var rs []rowVersion
	for rows.Next() {
		var x rowVersion
		if err := rows.Scan(&x.ID, &x.Team, &x.Version); err != nil {
			rows.Close()
			return fmt.Errorf("fold: team targets: %w", err)
		}
		rs = append(rs, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("fold: team targets: %w", err)
	}
	for _, x := range rs {
		if x.Version == v {
			continue
		}
		r.digestTerm(kindTeamTarget, x.Team, x.ID, x.Version, -1)
		r.digestTerm(kindTeamTarget, x.Team, x.ID, v, 1)
	}
	if _, err := r.f.s.wstmts.exec(r.ctx, r.tx, `UPDATE team_targets SET version = ? WHERE target_id = ?`, v, target); err != nil {
		return fmt.Errorf("fold: team targets: %w", err)
	}
	return nil
}

// targetCalc is what a target's progress is computed from.
type targetCalc struct {
	area              int64
	metric, key, kind string
	goal, numerator   float64
	denominator       float64 // the area's figure now
	storedDen, value  float64 // as stored
	status            string
	starts, ends      string
}

func loadTargetCalc(ctx context.Context, tx *sql.Tx, id int64) (*targetCalc, error) {
	var t targetCalc
	err := tx.QueryRowContext(ctx, `SELECT g.area_id, g.metric, g.key, g.kind, g.goal, p.numerator,
			CASE g.denominator WHEN 'population' THEN a.population WHEN 'adults' THEN a.adults
				WHEN 'working_age' THEN a.working_age WHEN 'households' THEN a.households ELSE 0 END,
			g.starts_on, g.ends_on, p.denominator, p.value, p.status
		FROM targets g JOIN target_progress p ON p.target_id = g.id JOIN areas a ON a.id = g.area_id WHERE g.id = ?`, id).
		Scan(&t.area, &t.metric, &t.key, &t.kind, &t.goal, &t.numerator, &t.denominator, &t.starts, &t.ends, &t.storedDen,
			&t.value, &t.status)
	return &t, err
}

// spanPeriods turns a span into its integer period range.
func spanPeriods(sp span) (int64, int64) {
	conv := func(s string) int64 {
		digits := make([]byte, 0, 8)
		for i := 0; i < len(s); i++ {
			if s[i] != '-' {
				digits = append(digits, s[i])
			}
		}
		n, _ := strconv.ParseInt(string(digits), 10, 64)
		return n
	}
	return conv(sp.lo), conv(sp.hi)
}

const membersSQL = `SELECT COALESCE(sum(w.w), 0) FROM area_weights w JOIN teams t ON t.area_id = w.place_id
	JOIN users u ON u.team_id = t.id WHERE w.area_id = ? AND u.active = 1 AND u.role IN ('member', 'team_lead')`

// targetNumerator computes a target's numerator from the area rollups (or
// the members, for members per 100 residents).
func targetNumerator(ctx context.Context, tx *sql.Tx, areaID int64, r indicatorRule, from, to string) (float64, error) {
	var n float64
	if r.metric == "members" {
		if err := tx.QueryRowContext(ctx, membersSQL, areaID).Scan(&n); err != nil {
			return 0, fmt.Errorf("target numerator: %w", err)
		}
		return n, nil
	}
	var series int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM rollup_series WHERE metric = ? AND key = ?`, r.metric, r.key).Scan(&series)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil // nothing was ever counted
	} else if err != nil {
		return 0, fmt.Errorf("target numerator: %w", err)
	}
	for _, sp := range spans(from, to) {
		lo, hi := spanPeriods(sp)
		var x float64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(sum(n), 0) FROM area_rollups
			WHERE area_id = ? AND series = ? AND period BETWEEN ? AND ?`, areaID, series, lo, hi).Scan(&x); err != nil {
			return 0, fmt.Errorf("target numerator: %w", err)
		}
		n += x
	}
	return n, nil
}

// near reports whether two sums are equal but for float rounding.
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(a), math.Abs(b)) }
