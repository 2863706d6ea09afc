package store

import (
	"database/sql"
	"encoding/hex"
	"fmt"
	"sort"
)

// Citizens are counted once, ever: citizen_firsts keeps, per citizen ref and
// key ('*' or a service), where the citizen was first reached
// (citizenFirsts in fold_rules.go). The fold refreshes the citizens whose
// logs changed. A new log can only move a first earlier, so a citizen
// touched by new logs alone is decided against the stored firsts; a
// changed or deleted log, or a tie on the day (the stored row keeps no log
// id), recomputes the citizen from all their live logs.

type firstsRun struct {
	r     *foldRun
	full  map[string]bool        // refs to recompute from their logs
	fresh map[string][]*logState // refs touched by new logs only: the new logs
	// cands are the firsts of the fresh refs' new logs, by ref and key
	// (claimFresh).
	cands map[string]map[string]storedFirst
}

func newFirstsRun(r *foldRun) *firstsRun {
	return &firstsRun{r: r, full: map[string]bool{}, fresh: map[string][]*logState{}}
}

// logChanged notes a log's change (old nil: created in this transaction).
func (c *firstsRun) logChanged(old, cur *logState) {
	if old == nil {
		if cur != nil && cur.Live && cur.Ref != "" {
			c.fresh[cur.Ref] = append(c.fresh[cur.Ref], cur)
		}
		return
	}
	if cur != nil && sameForFirsts(old, cur) {
		return
	}
	if old.Ref != "" {
		c.full[old.Ref] = true
	}
	if cur != nil && cur.Ref != "" {
		c.full[cur.Ref] = true
	}
}

func sameForFirsts(a, b *logState) bool {
	if a.Ref != b.Ref || a.Day != b.Day || a.Place != b.Place || a.Team != b.Team || a.Live != b.Live ||
		len(a.Outcomes) != len(b.Outcomes) {
		return false
	}
	for i := range a.Outcomes {
		if (a.Outcomes[i].Result == "done") != (b.Outcomes[i].Result == "done") || a.Outcomes[i].Service != b.Outcomes[i].Service {
			return false
		}
	}
	return true
}

// storedFirst is a citizen_firsts row.
type storedFirst struct {
	Day         string
	Place, Team int64
}

func (c *firstsRun) run() error {
	for ref := range c.full {
		delete(c.fresh, ref)
	}
	if len(c.full) == 0 && len(c.fresh) == 0 {
		return nil
	}
	refs := make([]string, 0, len(c.full)+len(c.fresh))
	for ref := range c.full {
		refs = append(refs, ref)
	}
	for ref := range c.fresh {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	if l := leaseOf(c.r.ctx); l != nil {
		blobs := make([][]byte, len(refs))
		for i, ref := range refs {
			b, err := hex.DecodeString(ref)
			if err != nil {
				return fmt.Errorf("citizen ref %q: %w", ref, err)
			}
			blobs[i] = b
		}
		if err := l.lockCitizens(c.r.ctx, refs, blobs); err != nil {
			return err
		}
	}
	// A citizen new to the store is the common case: their firsts are
	// inserted where none is stored, in one statement, and only the
	// citizens who have one are read.
	claimed, err := c.claimFresh()
	if err != nil {
		return err
	}
	load := keysSorted(c.full)
	var contested []string
	for _, ref := range keysSorted(c.fresh) {
		if len(claimed[ref]) < len(c.cands[ref]) {
			contested = append(contested, ref)
		}
	}
	stored, err := c.loadStored(append(load, contested...))
	if err != nil {
		return err
	}
	next := map[string]map[string]storedFirst{}
	for _, ref := range contested {
		// Decide against what was stored before: the firsts just claimed
		// are this transaction's own (and stay in stored, counted, for
		// write to compare with).
		prior := map[string]storedFirst{}
		for k, f := range stored[ref] {
			if _, mine := claimed[ref][k]; !mine {
				prior[k] = f
			}
		}
		n, tie := decideFresh(prior, c.fresh[ref])
		if tie {
			c.full[ref] = true
			continue
		}
		next[ref] = n
	}
	if err := c.recompute(next); err != nil {
		return err
	}
	return c.write(stored, next)
}

// claimFresh inserts the firsts of the citizens touched by new logs only
// where no first is stored for the citizen and key (ON CONFLICT DO
// NOTHING), adds their contributions, and returns them by ref and key.
func (c *firstsRun) claimFresh() (map[string]map[string]storedFirst, error) {
	r := c.r
	c.cands = map[string]map[string]storedFirst{}
	var rows [][]any
	for _, ref := range keysSorted(c.fresh) {
		blob, err := hex.DecodeString(ref)
		if err != nil {
			return nil, fmt.Errorf("citizen ref %q: %w", ref, err)
		}
		cands := make([]logState, len(c.fresh[ref]))
		for i, l := range c.fresh[ref] {
			cands[i] = *l
		}
		firsts := citizenFirsts(cands)
		c.cands[ref] = map[string]storedFirst{}
		for _, k := range keysSorted(firsts) {
			f := firsts[k]
			c.cands[ref][k] = storedFirst{Day: f.Day, Place: f.Place, Team: f.Team}
			series, err := r.seriesID("first", k)
			if err != nil {
				return nil, err
			}
			d, _, _ := dayPeriod(f.Day)
			rows = append(rows, []any{blob, series, d, f.Place, f.Team})
		}
	}
	type claim struct {
		ref    string
		series int64
	}
	var got []claim
	err := insertRowsReturning(r.ctx, r.f.s, r.tx, `INSERT INTO citizen_firsts (citizen_ref, series, day, place_id, team_id)`, 5, rows,
		` ON CONFLICT (citizen_ref, series) DO NOTHING RETURNING citizen_ref, series`, func(res *sql.Rows) error {
			var blob []byte
			var c claim
			if err := res.Scan(&blob, &c.series); err != nil {
				return err
			}
			c.ref = hex.EncodeToString(blob)
			got = append(got, c)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("fold: citizen firsts: %w", err)
	}
	claimed := map[string]map[string]storedFirst{}
	for _, g := range got {
		_, key, err := r.seriesKey(g.series)
		if err != nil {
			return nil, err
		}
		f := c.cands[g.ref][key]
		if claimed[g.ref] == nil {
			claimed[g.ref] = map[string]storedFirst{}
		}
		claimed[g.ref][key] = f
		r.add(contribution{place: f.Place, team: f.Team, day: f.Day, metric: "first", key: key, n: 1}, 1)
	}
	return claimed, nil
}

// decideFresh merges a citizen's new logs into their stored firsts; tie
// reports a new log on the day of a stored first (the log ids decide, and
// the stored row has none).
func decideFresh(stored map[string]storedFirst, logs []*logState) (map[string]storedFirst, bool) {
	cands := make([]logState, len(logs))
	for i, l := range logs {
		cands[i] = *l
	}
	out := map[string]storedFirst{}
	for k, v := range stored {
		out[k] = v
	}
	for k, f := range citizenFirsts(cands) {
		cur, ok := stored[k]
		switch {
		case ok && f.Day == cur.Day:
			return nil, true
		case !ok || f.Day < cur.Day:
			out[k] = storedFirst{Day: f.Day, Place: f.Place, Team: f.Team}
		}
	}
	return out, false
}

func (c *firstsRun) loadStored(refs []string) (map[string]map[string]storedFirst, error) {
	r := c.r
	out := map[string]map[string]storedFirst{}
	blobs := make([]string, len(refs))
	for i, ref := range refs {
		b, err := hex.DecodeString(ref)
		if err != nil {
			return nil, fmt.Errorf("citizen ref %q: %w", ref, err)
		}
		blobs[i] = string(b)
	}
	// Series are loaded before the rows are read: PostgreSQL runs no second
	// query on a connection while the rows of another are open.
	if err := r.loadSeries(); err != nil {
		return nil, fmt.Errorf("fold: citizen firsts: %w", err)
	}
	err := eachChunk(blobs, func(list string, args []any) error {
		for i, a := range args {
			args[i] = []byte(a.(string))
		}
		rows, err := r.f.s.wstmts.query(r.ctx, r.tx, `SELECT citizen_ref, series, day, place_id, team_id FROM citizen_firsts
			WHERE citizen_ref IN `+list, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ref []byte
			var series, day int64
			var f storedFirst
			if err := rows.Scan(&ref, &series, &day, &f.Place, &f.Team); err != nil {
				return err
			}
			f.Day = periodDay(day)
			_, key, err := r.seriesKey(series)
			if err != nil {
				return err
			}
			h := hex.EncodeToString(ref)
			if out[h] == nil {
				out[h] = map[string]storedFirst{}
			}
			out[h][key] = f
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("fold: citizen firsts: %w", err)
	}
	return out, nil
}

// recompute computes the firsts of c.full from every live log of each.
func (c *firstsRun) recompute(next map[string]map[string]storedFirst) error {
	r := c.r
	refs := keysSorted(c.full)
	logs := map[string][]logState{}
	err := eachChunk(refs, func(list string, args []any) error {
		rows, err := r.f.s.wstmts.query(r.ctx, r.tx, `SELECT id, team_id, COALESCE(village_id, area_id), occurred_at, citizen_ref, outcomes
			FROM assistance_logs WHERE citizen_ref IN `+list+` AND deleted = 0`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			l := logState{Live: true}
			var outcomes string
			if err := rows.Scan(&l.ID, &l.Team, &l.Place, &l.OccurredAt, &l.Ref, &outcomes); err != nil {
				return err
			}
			l.Day, l.Outcomes = vnDayOf(l.OccurredAt), parseOutcomesJSON(outcomes)
			logs[l.Ref] = append(logs[l.Ref], l)
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("fold: citizen logs: %w", err)
	}
	for _, ref := range refs {
		n := map[string]storedFirst{}
		for k, f := range citizenFirsts(logs[ref]) {
			n[k] = storedFirst{Day: f.Day, Place: f.Place, Team: f.Team}
		}
		next[ref] = n
	}
	return nil
}

// write stores the firsts that changed and adds their moves to the deltas.
func (c *firstsRun) write(stored, next map[string]map[string]storedFirst) error {
	r := c.r
	var upserts [][]any
	var deletes []any
	for _, ref := range keysSorted(next) {
		blob, _ := hex.DecodeString(ref)
		old, cur := stored[ref], next[ref]
		keys := map[string]bool{}
		for k := range old {
			keys[k] = true
		}
		for k := range cur {
			keys[k] = true
		}
		for _, k := range keysSorted(keys) {
			o, had := old[k]
			n, has := cur[k]
			if had == has && o == n {
				continue
			}
			if had {
				r.add(contribution{place: o.Place, team: o.Team, day: o.Day, metric: "first", key: k, n: 1}, -1)
			}
			series, err := r.seriesID("first", k)
			if err != nil {
				return err
			}
			if has {
				r.add(contribution{place: n.Place, team: n.Team, day: n.Day, metric: "first", key: k, n: 1}, 1)
				d, _, _ := dayPeriod(n.Day)
				upserts = append(upserts, []any{blob, series, d, n.Place, n.Team})
			} else {
				deletes = append(deletes, blob, series)
			}
		}
	}
	err := insertRowsThen(r.ctx, r.f.s, r.tx, `INSERT INTO citizen_firsts (citizen_ref, series, day, place_id, team_id)`, 5, upserts,
		` ON CONFLICT (citizen_ref, series) DO UPDATE SET day = excluded.day, place_id = excluded.place_id, team_id = excluded.team_id`)
	for len(deletes) > 0 && err == nil {
		_, err = r.f.s.wstmts.exec(r.ctx, r.tx, `DELETE FROM citizen_firsts WHERE citizen_ref = ? AND series = ?`, deletes[0], deletes[1])
		deletes = deletes[2:]
	}
	if err != nil {
		return fmt.Errorf("fold: citizen firsts: %w", err)
	}
	return nil
}
