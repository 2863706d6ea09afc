package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
)

// RebuildRollups recomputes every derived table (area weights and buckets,
// citizen firsts, area and team rollups, the weekly trend, the teams'
// running totals and last active days, target progress, team digests)
// from the raw rows, with the rules of fold_rules.go and the fold's own
// statements. The fold keeps them current; this is for bulk loads
// (generators) and repairs. It runs alone, in one transaction.
func (s *Store) RebuildRollups(ctx context.Context) error {
	return s.rebuildRollups(ctx, func(string, int, int) {})
}

// rebuildBatch is how many summed differences the rebuild keeps in memory
// before it folds them into the tables.
const rebuildBatch = 200_000

func (s *Store) rebuildRollups(ctx context.Context, progress func(stage string, done, total int)) error {
	return s.soloTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// The derived tables are rewritten in random order: a larger page
		// cache for the run (the writer's 16 MB is sized for pushes).
		if !s.pg {
			if _, err := tx.ExecContext(ctx, `PRAGMA cache_size = -262144`); err != nil {
				return fmt.Errorf("rebuild: %w", err)
			}
			defer tx.ExecContext(context.WithoutCancel(ctx), `PRAGMA `+writerCacheSize)
		}
		f := s.folding()
		r := &foldRun{f: f, ctx: ctx, tx: tx, now: s.now(), deltas: map[deltaKey]float64{}, digest: map[int64]*digestDelta{}}
		for _, t := range []string{"area_weights", "area_buckets", "area_rollups", "team_rollups", "area_trend", "team_totals",
			"team_last_active", "citizen_firsts", "team_digests"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
				return fmt.Errorf("rebuild: %w", err)
			}
		}
		progress("weights", 0, 1)
		g, err := loadGraph(ctx, tx, nil, true)
		if err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		var places []int64
		for id := range g.path {
			places = append(places, id)
		}
		if err := insertWeights(ctx, s, tx, g, places); err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		progress("weights", 1, 1)
		var total int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM assistance_logs`).Scan(&total); err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		beside, endBeside, err := s.beside(ctx, tx) // the loops below write between rows
		if err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		defer endBeside()
		// flush folds the differences gathered so far into the rollups.
		flush := func(force bool) error {
			if len(r.deltas) < rebuildBatch && !force {
				return nil
			}
			if err := r.writeDeltas(); err != nil {
				return err
			}
			for _, st := range foldTableSQL { // additive: batch by batch, in any order
				if _, err := tx.ExecContext(ctx, st.sql); err != nil {
					return fmt.Errorf("rebuild %s: %w", st.name, err)
				}
			}
			err := r.clear()
			r.deltas = map[deltaKey]float64{}
			return err
		}
		add := func(c contribution) { r.add(c, 1) }
		// Logs, in citizen order: each citizen's firsts from all their logs.
		var firstRows [][]any
		flushFirsts := func(atLeast int) error {
			if len(firstRows) < atLeast {
				return nil
			}
			err := insertRows(ctx, s, tx, `INSERT INTO citizen_firsts (citizen_ref, series, day, place_id, team_id)`, 5, firstRows)
			firstRows = firstRows[:0]
			if err != nil {
				return fmt.Errorf("rebuild: citizen firsts: %w", err)
			}
			return nil
		}
		done := 0
		var ref string
		var theirs []logState
		firsts := func() error {
			if ref == "" {
				return nil
			}
			blob, err := hex.DecodeString(ref)
			if err != nil {
				return fmt.Errorf("rebuild: citizen ref: %w", err)
			}
			fs := citizenFirsts(theirs)
			for _, k := range keysSorted(fs) {
				fst := fs[k]
				r.add(contribution{place: fst.Place, team: fst.Team, day: fst.Day, metric: "first", key: k, n: 1}, 1)
				series, err := r.seriesID("first", k)
				if err != nil {
					return err
				}
				d, _, _ := dayPeriod(fst.Day)
				firstRows = append(firstRows, []any{blob, series, d, fst.Place, fst.Team})
			}
			return flushFirsts(512)
		}
		// Without a citizen first, then by citizen (the partial index on
		// citizen_ref gives the order without a sort of every log).
		for _, q := range []string{
			`SELECT id, team_id, COALESCE(village_id, area_id), occurred_at, '', outcomes, deleted, version
			FROM assistance_logs WHERE citizen_ref IS NULL`,
			`SELECT id, team_id, COALESCE(village_id, area_id), occurred_at, citizen_ref, outcomes, deleted, version
			FROM assistance_logs WHERE citizen_ref IS NOT NULL ORDER BY citizen_ref`,
		} {
			rows, err := beside.QueryContext(ctx, q)
			if err != nil {
				return fmt.Errorf("rebuild: %w", err)
			}
			for rows.Next() {
				id, st, err := scanState(kindLog, rows)
				if err != nil {
					rows.Close()
					return fmt.Errorf("rebuild: %w", err)
				}
				l := st.(*logState)
				l.contributions(add)
				if l.Live {
					r.digestTerm(kindLog, l.Team, id, l.Version, 1)
				}
				if l.Ref != ref {
					if err := firsts(); err != nil {
						rows.Close()
						return err
					}
					ref, theirs = l.Ref, theirs[:0]
				}
				if l.Ref != "" && l.Live {
					theirs = append(theirs, *l)
				}
				done++
				if done%100_000 == 0 {
					progress("logs", done, total)
				}
				if err := flush(false); err != nil {
					rows.Close()
					return err
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("rebuild: %w", err)
			}
		}
		if err := firsts(); err != nil {
			return err
		}
		if err := flushFirsts(0); err != nil {
			return err
		}
		progress("logs", total, total)
		// Sessions and progress reports: contributions and digests; the other
		// team-scope rows: digests.
		for _, k := range []rowKind{kindSession, kindProgress, kindAttendee, kindConflict, kindTeamTarget} {
			progress(digestTable[k], 0, 1)
			q := stateSQL[k]
			q = q[:len(q)-len(" WHERE id IN ")]
			rows, err := beside.QueryContext(ctx, q)
			if err != nil {
				return fmt.Errorf("rebuild %s: %w", digestTable[k], err)
			}
			for rows.Next() {
				id, st, err := scanState(k, rows)
				if err != nil {
					rows.Close()
					return fmt.Errorf("rebuild %s: %w", digestTable[k], err)
				}
				if c, ok := st.(interface{ contributions(func(contribution)) }); ok {
					c.contributions(add)
				}
				if v := versionOf(st); v != nil && v.Live {
					r.digestTerm(k, v.Team, id, v.Version, 1)
				}
				if err := flush(false); err != nil {
					rows.Close()
					return err
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("rebuild %s: %w", digestTable[k], err)
			}
			progress(digestTable[k], 1, 1)
		}
		if err := flush(true); err != nil {
			return err
		}
		// The teams' summaries of their day rows, from the start.
		progress("totals", 0, 1)
		if _, err := tx.ExecContext(ctx, foldTempSQL); err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO fold_teams (team_id, day, pd) SELECT id, '', 10000000 FROM teams`); err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		for _, st := range teamSQL {
			if _, err := tx.ExecContext(ctx, st.sql); err != nil {
				return fmt.Errorf("rebuild %s: %w", st.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM fold_teams`); err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		progress("totals", 1, 1)
		progress("targets", 0, 1)
		all := map[int64]bool{}
		trows, err := tx.QueryContext(ctx, `SELECT id FROM targets`)
		if err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		if err := collectIDs(trows, all); err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		if err := r.targets(all, nil); err != nil {
			return err
		}
		progress("targets", 1, 1)
		return r.writeDigests()
	})
}
