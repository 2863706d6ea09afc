package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
)

// Area weights and buckets: which places count into which area, with what
// weight, and in which row of the area's report (its "bucket"). They
// change when an area is created and when lineage changes; a lineage
// change also moves the past figures of the old area's subtree from the
// rows of its old buckets to its new ones.
//
//   - A place counts into itself and every ancestor with weight 1. Its
//     bucket in an ancestor's report is the ancestor's child on the path to
//     it; in its own report, itself.
//   - Through lineage (the 2025 mergers and splits): the deepest
//     ancestor-or-self of the place that has lineage edges (old → new,
//     share) makes the place count into each new area and its ancestors
//     outside the place's own path, with the shares summed per area and
//     capped at 1. Its bucket there is that merged area itself.

type lineageEdge struct {
	to    int64
	share float64
}

// areaGraph holds what weights are computed from.
type areaGraph struct {
	path map[int64][]int64 // area → ids from the root to itself
	out  map[int64][]lineageEdge
}

// weightRow is one (area, place) pair of area_weights and area_buckets.
type weightRow struct {
	area, place, bucket int64
	w                   float64
}

// placeWeights computes the weights and buckets of one place.
func (g *areaGraph) placeWeights(place int64) []weightRow {
	p := g.path[place]
	in := map[int64]bool{}
	var out []weightRow
	for i, a := range p {
		in[a] = true
		bucket := place
		if i+1 < len(p) {
			bucket = p[i+1]
		}
		out = append(out, weightRow{a, place, bucket, 1})
	}
	var merged int64
	for i := len(p) - 1; i >= 0; i-- {
		if len(g.out[p[i]]) > 0 {
			merged = p[i]
			break
		}
	}
	if merged == 0 {
		return out
	}
	shares := map[int64]float64{}
	for _, e := range g.out[merged] {
		for _, a := range g.path[e.to] {
			if !in[a] {
				shares[a] += e.share
			}
		}
	}
	areas := make([]int64, 0, len(shares))
	for a := range shares {
		areas = append(areas, a)
	}
	sort.Slice(areas, func(i, j int) bool { return areas[i] < areas[j] })
	for _, a := range areas {
		out = append(out, weightRow{a, place, merged, min(1, shares[a])})
	}
	return out
}

// loadGraph reads the lineage edges and the paths of the given areas and of
// every area the edges lead to.
func loadGraph(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, places []int64, all bool) (*areaGraph, error) {
	g := &areaGraph{path: map[int64][]int64{}, out: map[int64][]lineageEdge{}}
	rows, err := q.QueryContext(ctx, `SELECT old_area_id, new_area_id, share FROM area_lineage ORDER BY old_area_id, new_area_id`)
	if err != nil {
		return nil, err
	}
	need := map[int64]bool{}
	for rows.Next() {
		var from int64
		var e lineageEdge
		if err := rows.Scan(&from, &e.to, &e.share); err != nil {
			rows.Close()
			return nil, err
		}
		g.out[from] = append(g.out[from], e)
		need[e.to] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, p := range places {
		need[p] = true
	}
	var ids []string
	for id := range need {
		ids = append(ids, strconv.FormatInt(id, 10))
	}
	read := func(rows *sql.Rows, err error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var path string
			if err := rows.Scan(&id, &path); err != nil {
				return err
			}
			g.path[id] = pathIDs(path)
		}
		return rows.Err()
	}
	if all {
		return g, read(q.QueryContext(ctx, `SELECT id, path FROM areas`))
	}
	err = eachChunk(ids, func(list string, args []any) error {
		for i, a := range args {
			args[i], _ = strconv.ParseInt(a.(string), 10, 64)
		}
		return read(q.QueryContext(ctx, `SELECT id, path FROM areas WHERE id IN `+list, args...))
	})
	return g, err
}

// insertWeights writes the weights and buckets of places.
func insertWeights(ctx context.Context, s *Store, tx *sql.Tx, g *areaGraph, places []int64) error {
	var ws, bs [][]any
	for _, p := range places {
		for _, r := range g.placeWeights(p) {
			ws = append(ws, []any{r.area, r.place, r.w})
			bs = append(bs, []any{r.area, r.place, r.bucket, r.w})
		}
	}
	if err := insertRows(ctx, s, tx, `INSERT INTO area_weights (area_id, place_id, w)`, 3, ws); err != nil {
		return fmt.Errorf("area weights: %w", err)
	}
	if err := insertRows(ctx, s, tx, `INSERT INTO area_buckets (area_id, place_id, bucket_id, w)`, 4, bs); err != nil {
		return fmt.Errorf("area buckets: %w", err)
	}
	return nil
}

// structure applies the transaction's structural events and returns the
// targets whose progress must be computed again from the rollups.
func (r *foldRun) structure(events []foldEvent) (targets, force map[int64]bool, err error) {
	targets, force = map[int64]bool{}, map[int64]bool{}
	var added []int64
	lineage := map[int64]bool{}
	var population []int64
	for _, e := range events {
		switch e.kind {
		case evAreaAdded:
			added = append(added, e.id)
		case evLineage:
			lineage[e.id] = true
		case evPopulation:
			population = append(population, e.id)
		case evTarget:
			targets[e.id], force[e.id] = true, true
		}
	}
	s := r.f.s
	if len(added) > 0 {
		g, err := loadGraph(r.ctx, r.tx, added, false)
		if err != nil {
			return nil, nil, fmt.Errorf("fold: areas: %w", err)
		}
		if err := insertWeights(r.ctx, s, r.tx, g, added); err != nil {
			return nil, nil, fmt.Errorf("fold: %w", err)
		}
	}
	if len(lineage) > 0 {
		if err := r.reweigh(lineage); err != nil {
			return nil, nil, err
		}
		// Past figures moved between areas: every target is computed again.
		rows, err := r.tx.QueryContext(r.ctx, `SELECT id FROM targets`)
		if err != nil {
			return nil, nil, fmt.Errorf("fold: %w", err)
		}
		if err := collectIDs(rows, targets); err != nil {
			return nil, nil, fmt.Errorf("fold: %w", err)
		}
	}
	for _, a := range population {
		rows, err := s.wstmts.query(r.ctx, r.tx, `SELECT id FROM targets WHERE area_id = ?`, a)
		if err != nil {
			return nil, nil, fmt.Errorf("fold: %w", err)
		}
		if err := collectIDs(rows, targets); err != nil {
			return nil, nil, fmt.Errorf("fold: %w", err)
		}
	}
	return targets, force, nil
}

func collectIDs(rows *sql.Rows, into map[int64]bool) error {
	ids, err := scanColumn[int64](rows, nil)
	for _, id := range ids {
		into[id] = true
	}
	return err
}

// scanColumn reads a one-column result into a slice and closes rows; err
// is the query's, passed through.
func scanColumn[T any](rows *sql.Rows, err error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// reweigh recomputes the weights of the subtrees of the old areas whose
// lineage changed, moving each place's own figures (its self rows of
// area_rollups) and weekly first reaches out of its old buckets and into
// its new ones.
func (r *foldRun) reweigh(old map[int64]bool) error {
	s := r.f.s
	placeSet := map[int64]bool{}
	for a := range old {
		var path string
		if err := r.tx.QueryRowContext(r.ctx, `SELECT path FROM areas WHERE id = ?`, a).Scan(&path); err != nil {
			return fmt.Errorf("fold: lineage of %d: %w", a, err)
		}
		lo, hi := subtreeRange(path)
		rows, err := r.tx.QueryContext(r.ctx, `SELECT id FROM areas WHERE path >= ? AND path < ?`, lo, hi)
		if err != nil {
			return fmt.Errorf("fold: lineage: %w", err)
		}
		if err := collectIDs(rows, placeSet); err != nil {
			return fmt.Errorf("fold: lineage: %w", err)
		}
	}
	places := make([]int64, 0, len(placeSet))
	for p := range placeSet {
		places = append(places, p)
	}
	sort.Slice(places, func(i, j int) bool { return places[i] < places[j] })
	if err := r.moveFigures(places, -1); err != nil {
		return err
	}
	for _, p := range places {
		for _, q := range []string{`DELETE FROM area_weights WHERE place_id = ?`, `DELETE FROM area_buckets WHERE place_id = ?`} {
			if _, err := r.tx.ExecContext(r.ctx, q, p); err != nil {
				return fmt.Errorf("fold: lineage: %w", err)
			}
		}
	}
	g, err := loadGraph(r.ctx, r.tx, places, false)
	if err != nil {
		return fmt.Errorf("fold: lineage: %w", err)
	}
	if err := insertWeights(r.ctx, s, r.tx, g, places); err != nil {
		return fmt.Errorf("fold: lineage: %w", err)
	}
	return r.moveFigures(places, 1)
}

// moveFigures adds sign × each place's own figures to the rows of its
// buckets in the other areas it counts into.
func (r *foldRun) moveFigures(places []int64, sign float64) error {
	if err := r.loadSeries(); err != nil {
		return err
	}
	for _, p := range places {
		_, err := r.tx.ExecContext(r.ctx, `INSERT INTO area_rollups (area_id, series, period, bucket_id, n)
			SELECT b.area_id, x.series, x.period, b.bucket_id, ? * x.n * b.w
			FROM area_buckets b JOIN area_rollups x ON x.area_id = b.place_id AND x.bucket_id = b.place_id
			WHERE b.place_id = ? AND b.area_id <> b.place_id
			ON CONFLICT (area_id, series, period, bucket_id) DO UPDATE SET n = area_rollups.n + excluded.n`, sign, p)
		if err != nil {
			return fmt.Errorf("fold: move figures of %d: %w", p, err)
		}
		// The weekly trend of first reaches, from the place's day rows.
		weeks := map[[2]string]float64{}
		rows, err := r.tx.QueryContext(r.ctx, `SELECT series, period, n FROM area_rollups
			WHERE area_id = ? AND bucket_id = ? AND period BETWEEN 10000000 AND 99999999`, p, p)
		if err != nil {
			return fmt.Errorf("fold: move trend of %d: %w", p, err)
		}
		for rows.Next() {
			var series, period int64
			var n float64
			if err := rows.Scan(&series, &period, &n); err != nil {
				rows.Close()
				return err
			}
			if k, ok := r.seriesBy[series]; ok && k[0] == "first" {
				weeks[[2]string{weekOf(periodDay(period)), k[1]}] += n
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(weeks) == 0 {
			continue
		}
		type bucket struct {
			area int64
			w    float64
		}
		var bs []bucket
		rows, err = r.tx.QueryContext(r.ctx, `SELECT area_id, w FROM area_buckets WHERE place_id = ? AND area_id <> place_id`, p)
		if err != nil {
			return err
		}
		for rows.Next() {
			var b bucket
			if err := rows.Scan(&b.area, &b.w); err != nil {
				rows.Close()
				return err
			}
			bs = append(bs, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, b := range bs {
			for wk, n := range weeks {
				_, err := r.tx.ExecContext(r.ctx, `INSERT INTO area_trend (area_id, week, key, n) VALUES (?, ?, ?, ?)
					ON CONFLICT (area_id, week, key) DO UPDATE SET n = area_trend.n + excluded.n`, b.area, wk[0], wk[1], sign*n*b.w)
				if err != nil {
					return fmt.Errorf("fold: move trend of %d: %w", p, err)
				}
			}
		}
	}
	return nil
}
