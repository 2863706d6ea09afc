package store

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// brute recomputes every report figure from the raw rows, in Go, without
// the rollups, the views or SQL date functions.
type brute struct {
	paths   map[int64]string  // area id → path
	parents map[int64][]int64 // area id → ancestors-or-self (from the path)
	lineage map[int64][]Lineage
	depth   map[int64]int
	logs    []bruteLog
	outs    map[string][]Outcome
	sess    []bruteSession
	prog    []bruteProgress
}

type bruteLog struct {
	id, ref, day string
	team, place  int64
}

type bruteSession struct {
	day                                 string
	team, place                         int64
	attendees, women, minority, elderly float64
	topics                              []string
}

type bruteProgress struct {
	day, indicator string
	team, place    int64
	value          float64
}

func vnDay(t *testing.T, s string) string {
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return tm.In(time.FixedZone("", 7*3600)).Format(time.DateOnly)
}

func loadBrute(t *testing.T, s *Store) *brute {
	t.Helper()
	b := &brute{paths: map[int64]string{}, parents: map[int64][]int64{}, lineage: map[int64][]Lineage{},
		depth: map[int64]int{}, outs: map[string][]Outcome{}}
	q := func(sql string, scan func(func(...any) error)) {
		rows, err := s.read.Query(sql)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			scan(rows.Scan)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	q(`SELECT id, path, depth FROM areas`, func(scan func(...any) error) {
		var id int64
		var p string
		var d int
		scan(&id, &p, &d)
		b.paths[id], b.depth[id], b.parents[id] = p, d, pathIDs(p)
	})
	q(`SELECT old_area_id, new_area_id, share FROM area_lineage`, func(scan func(...any) error) {
		var l Lineage
		scan(&l.OldAreaID, &l.NewAreaID, &l.Share)
		b.lineage[l.OldAreaID] = append(b.lineage[l.OldAreaID], l)
	})
	q(`SELECT id, COALESCE(citizen_ref, ''), occurred_at, team_id, COALESCE(village_id, area_id), outcomes FROM assistance_logs
		WHERE deleted = 0`,
		func(scan func(...any) error) {
			var l bruteLog
			var outcomes string
			scan(&l.id, &l.ref, &l.day, &l.team, &l.place, &outcomes)
			l.day = vnDay(t, l.day)
			b.logs = append(b.logs, l)
			var os []Outcome
			if err := json.Unmarshal([]byte(outcomes), &os); err != nil {
				t.Fatalf("log %s outcomes %q: %v", l.id, outcomes, err)
			}
			b.outs[l.id] = os
		})
	q(`SELECT held_at, team_id, area_id, attendees, women, minority, elderly, topics FROM training_sessions
		WHERE deleted = 0 AND status IN ('held', 'reported', 'locked') AND held_at <> ''`, func(scan func(...any) error) {
		var x bruteSession
		var topics string
		scan(&x.day, &x.team, &x.place, &x.attendees, &x.women, &x.minority, &x.elderly, &topics)
		x.day = vnDay(t, x.day)
		x.topics = strings.Split(strings.Trim(strings.ReplaceAll(topics, `"`, ""), "[]"), ",")
		b.sess = append(b.sess, x)
	})
	q(`SELECT as_of, indicator, team_id, area_id, value FROM progress_reports WHERE void = 0`, func(scan func(...any) error) {
		var p bruteProgress
		scan(&p.day, &p.indicator, &p.team, &p.place, &p.value)
		b.prog = append(b.prog, p)
	})
	return b
}

func has(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// weight of place into area: 1 in the subtree; otherwise the lineage
// shares into area from the place's deepest ancestor-or-self with lineage.
func (b *brute) weight(place, area int64) float64 {
	anc := b.parents[place]
	if has(anc, area) {
		return 1
	}
	var x int64
	for _, id := range anc {
		if len(b.lineage[id]) > 0 && (x == 0 || b.depth[id] > b.depth[x]) {
			x = id
		}
	}
	sum := 0.0
	for _, l := range b.lineage[x] {
		if has(b.parents[l.NewAreaID], area) {
			sum += l.Share
		}
	}
	return math.Min(1, sum)
}

// figures are the flattened figures of area over [from, to], for one team
// (0: all) and one place (0: all).
func (b *brute) figures(area int64, from, to string, team, place int64) map[string]float64 {
	return b.sum(from, to, func(tm, pl int64) float64 {
		if (team != 0 && tm != team) || (place != 0 && pl != place) {
			return 0
		}
		return b.weight(pl, area)
	})
}

// bucket is the row of area's report that place counts in: the area
// itself, the child of the area on the way down to the place, or (through
// lineage) the place's deepest ancestor-or-self with lineage.
func (b *brute) bucket(area, place int64) int64 {
	anc := b.parents[place]
	for i, id := range anc {
		if id == area {
			if i == len(anc)-1 {
				return area
			}
			return anc[i+1]
		}
	}
	var x int64
	for _, id := range anc {
		if len(b.lineage[id]) > 0 && (x == 0 || b.depth[id] > b.depth[x]) {
			x = id
		}
	}
	return x
}

// row is the flattened figures of one row (bucket) of area's report.
func (b *brute) row(area int64, from, to string, bucket int64) map[string]float64 {
	return b.sum(from, to, func(_, pl int64) float64 {
		if b.bucket(area, pl) != bucket {
			return 0
		}
		return b.weight(pl, area)
	})
}

// team is the flattened figures of a team's own work over [from, to],
// wherever it was placed.
func (b *brute) team(team int64, from, to string) map[string]float64 {
	return b.sum(from, to, func(tm, _ int64) float64 {
		if tm != team {
			return 0
		}
		return 1
	})
}

// sum adds up the figures over [from, to], each row of the raw tables
// weighted by w(team, place).
func (b *brute) sum(from, to string, w func(team, place int64) float64) map[string]float64 {
	out := map[string]float64{}
	in := func(day string, tm, pl int64) float64 {
		if day < from || day > to {
			return 0
		}
		return w(tm, pl)
	}
	type first struct {
		day, id string
		l       bruteLog
	}
	firsts := map[[2]string]first{}
	better := func(k [2]string, l bruteLog) {
		if f, ok := firsts[k]; !ok || l.day < f.day || (l.day == f.day && l.id < f.id) {
			firsts[k] = first{l.day, l.id, l}
		}
	}
	for _, l := range b.logs {
		w := in(l.day, l.team, l.place)
		out["logs"] += w
		for _, o := range b.outs[l.id] {
			out["outcome:"+o.Service+"|"+o.Result] += w
			if o.Barrier != "" {
				out["barrier:"+o.Barrier] += w
			}
			if l.ref != "" && o.Result == "done" {
				better([2]string{l.ref, o.Service}, l)
			}
		}
		if l.ref != "" {
			better([2]string{l.ref, "*"}, l)
		}
	}
	for k, f := range firsts {
		w := in(f.day, f.l.team, f.l.place)
		if k[1] == "*" {
			out["citizens"] += w
		} else {
			out["reached:"+k[1]] += w
		}
	}
	for _, x := range b.sess {
		w := in(x.day, x.team, x.place)
		out["sessions"] += w
		out["attendees"] += w * x.attendees
		out["women"] += w * x.women
		out["minority"] += w * x.minority
		out["elderly"] += w * x.elderly
		for _, tp := range x.topics {
			out["topic:"+tp] += w * x.attendees
		}
	}
	for _, p := range b.prog {
		out["manual:"+p.indicator] += in(p.day, p.team, p.place) * p.value
	}
	return clean(out)
}

// lastActive is the last day with a live log or a counted session.
func (b *brute) lastActive(team int64) string {
	last := ""
	for _, l := range b.logs {
		if l.team == team && l.day > last {
			last = l.day
		}
	}
	for _, x := range b.sess {
		if x.team == team && x.day > last {
			last = x.day
		}
	}
	return last
}

func clean(m map[string]float64) map[string]float64 {
	for k, v := range m {
		if math.Abs(v) < 1e-9 {
			delete(m, k)
		}
	}
	return m
}

// flat flattens report figures the way brute.figures names them.
func flat(f Figures) map[string]float64 {
	out := map[string]float64{"logs": f.Logs, "citizens": f.Citizens, "sessions": f.Sessions, "attendees": f.Attendees,
		"women": f.Women, "minority": f.Minority, "elderly": f.Elderly}
	for prefix, m := range map[string]map[string]float64{"reached:": f.Reached, "outcome:": f.Outcomes,
		"barrier:": f.Barriers, "topic:": f.Topics, "manual:": f.Manual} {
		for k, v := range m {
			out[prefix+k] += v
		}
	}
	return clean(out)
}

var approx = cmpopts.EquateApprox(0, 1e-9)

// Every figure of the report, for several areas and periods, equals a
// brute-force computation over the raw rows after random activity through
// the real push path: duplicate citizens across teams, patches moving logs
// between days and villages, deletes, locks, session status changes,
// voided progress reports, and a merged commune counted into its successors;
// then again after a lineage change re-weighs past figures.
func TestReportMatchesBruteForce(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	w := newReportWorld(t, seed)
	steps := 600
	if testing.Short() {
		steps = 200
	}
	for range steps {
		w.step()
	}
	w.checkReports(seed, "after activity")
	if err := w.s.AddLineage(w.ctx, System, Lineage{OldAreaID: w.areas["O2"].ID, NewAreaID: w.areas["B1"].ID, Share: 1, EffectiveOn: "2025-07-01"}); err != nil {
		t.Fatal(err)
	}
	for range steps / 4 {
		w.step()
	}
	w.checkReports(seed, "after a lineage change")
}

func (w *reportWorld) checkReports(seed uint64, when string) {
	t := w.t
	t.Helper()
	b := loadBrute(t, w.s)
	w.checkTrend(b, seed, when)
	for _, key := range []string{"P", "A", "O"} {
		w.checkNarrowReport(seed, w.areas[key], "2025-05-17", "2025-11-03")
	}
	periods := [][2]string{{"2025-01-01", "2026-12-31"}, {"2025-05-17", "2025-11-03"}, {"2025-07-01", "2025-09-30"},
		{"2025-12-31", "2026-01-01"}, {"2025-08-08", "2025-08-08"}, {"2026-01-01", "2026-02-28"}, {"2024-11-03", "2026-02-10"}}
	for _, key := range []string{"P", "A", "B", "A1", "A2", "O", "O2", "B1"} {
		for _, p := range periods {
			area := w.areas[key]
			for _, detail := range []int{teamDetailLimit, 0} {
				r, err := w.s.report(w.ctx, w.actors["coordP"], ReportQuery{AreaID: area.ID, From: p[0], To: p[1]}, detail)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(b.figures(area.ID, p[0], p[1], 0, 0), flat(r.Totals), approx); diff != "" {
					t.Errorf("seed %d, %s: %s %v totals (-brute +report):\n%s", seed, when, key, p, diff)
				}
				rows := map[int64]bool{}
				for id := range b.paths {
					if b.weight(id, area.ID) > 0 {
						rows[b.bucket(area.ID, id)] = true
					}
				}
				for _, pl := range r.Places {
					if diff := cmp.Diff(b.row(area.ID, p[0], p[1], pl.AreaID), flat(pl.Figures), approx); diff != "" {
						t.Errorf("seed %d, %s: %s %v row %s (-brute +report):\n%s", seed, when, key, p, pl.Name, diff)
					}
					delete(rows, pl.AreaID)
				}
				if len(rows) > 0 {
					t.Errorf("seed %d, %s: %s report lacks rows for areas %v", seed, when, key, rows)
				}
				subtree := 0
				for _, tm := range w.teams {
					if strings.HasPrefix(b.paths[tm.AreaID], area.Path) {
						subtree++
					}
				}
				if got, want := len(r.Teams), subtree; got != want {
					t.Errorf("seed %d, %s: %s report lists %d teams, want %d (the subtree's)", seed, when, key, got, want)
				}
				for _, tm := range r.Teams {
					want := b.team(tm.TeamID, p[0], p[1])
					if detail == 0 {
						want = headline(want)
					}
					if diff := cmp.Diff(want, flat(tm.Figures), approx); diff != "" {
						t.Errorf("seed %d, %s: %s %v team %s detail %d (-brute +report):\n%s", seed, when, key, p, tm.Name, detail, diff)
					}
					if got, want := tm.LastActive, b.lastActive(tm.TeamID); got != want {
						t.Errorf("seed %d, %s: team %s last active = %q, want %q", seed, when, tm.Name, got, want)
					}
				}
			}
		}
	}
}

// checkNarrowReport checks a report limited to the headline figures and
// without team figures (the dashboard's area pages): the headline figures
// of the totals and places equal the full report's, the others and every
// team's figures are zero, and the teams' last activity and the inactive
// list are unchanged.
func (w *reportWorld) checkNarrowReport(seed uint64, area *Area, from, to string) {
	t := w.t
	t.Helper()
	full, err := w.s.Report(w.ctx, w.actors["coordP"], ReportQuery{AreaID: area.ID, From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	narrow, err := w.s.Report(w.ctx, w.actors["coordP"], ReportQuery{AreaID: area.ID, From: from, To: to,
		Metrics: HeadlineMetrics, TeamFiguresUpTo: -1})
	if err != nil {
		t.Fatal(err)
	}
	head := func(f Figures) map[string]float64 {
		out := map[string]float64{}
		for k, v := range flat(f) {
			if !strings.Contains(k, ":") {
				out[k] = v
			}
		}
		return out
	}
	if diff := cmp.Diff(head(full.Totals), flat(narrow.Totals), approx); diff != "" {
		t.Errorf("seed %d: %s %s..%s narrow totals (-full headline +narrow):\n%s", seed, area.Name, from, to, diff)
	}
	if len(narrow.Places) != len(full.Places) {
		t.Fatalf("narrow report: %d places, want %d", len(narrow.Places), len(full.Places))
	}
	for i := range full.Places {
		if diff := cmp.Diff(head(full.Places[i].Figures), flat(narrow.Places[i].Figures), approx); diff != "" {
			t.Errorf("seed %d: %s narrow place %s (-full headline +narrow):\n%s", seed, area.Name, full.Places[i].Name, diff)
		}
	}
	for i, tm := range narrow.Teams {
		if got := flat(tm.Figures); len(got) != 0 {
			t.Errorf("seed %d: team %s has figures %v in a report without them", seed, tm.Name, got)
		}
		if tm.LastActive != full.Teams[i].LastActive || tm.Members != full.Teams[i].Members {
			t.Errorf("seed %d: team %s: last active %q, members %d; full report %q, %d", seed, tm.Name, tm.LastActive,
				tm.Members, full.Teams[i].LastActive, full.Teams[i].Members)
		}
	}
	if len(narrow.Inactive) != len(full.Inactive) || len(narrow.Leaderboard) != 0 {
		t.Errorf("seed %d: narrow report: %d inactive (full %d), leaderboard %d (want 0)", seed, len(narrow.Inactive),
			len(full.Inactive), len(narrow.Leaderboard))
	}
}

// checkTrend compares the weekly trend of every area (and of a member's
// team) with the brute-force first reaches of each week.
func (w *reportWorld) checkTrend(b *brute, seed uint64, when string) {
	t := w.t
	t.Helper()
	pick := func(m map[string]float64) map[string]float64 {
		out := map[string]float64{}
		for k, v := range m {
			if k == "citizens" || strings.HasPrefix(k, "reached:") {
				out[k] = v
			}
		}
		return clean(out)
	}
	for _, to := range []string{"2025-08-13", "2026-01-04"} { // a Wednesday, a Sunday
		for _, key := range []string{"P", "A", "B", "A1", "O", "O2", "B1", "m_TA1"} {
			actor, area, team := w.actors["coordP"], w.areas[key], int64(0)
			if a, ok := w.actors[key]; ok {
				actor, area, team = a, w.areas["A1"], a.TeamID
			}
			weeks, err := w.s.WeeklyReached(w.ctx, actor, area.ID, to, 30)
			if err != nil {
				t.Fatal(err)
			}
			if len(weeks) != 30 {
				t.Fatalf("%s trend has %d weeks, want 30", key, len(weeks))
			}
			for _, wk := range weeks {
				mon, _ := time.Parse(time.DateOnly, wk.Start)
				if mon.Weekday() != time.Monday {
					t.Errorf("%s week starts on %s, a %s", key, wk.Start, mon.Weekday())
				}
				sun := mon.AddDate(0, 0, 6).Format(time.DateOnly)
				want := b.figures(area.ID, wk.Start, sun, 0, 0)
				if team != 0 {
					want = b.team(team, wk.Start, sun)
				}
				got := map[string]float64{"citizens": wk.Citizens}
				for k, v := range wk.Reached {
					got["reached:"+k] = v
				}
				if diff := cmp.Diff(pick(want), clean(got), approx); diff != "" {
					t.Errorf("seed %d, %s: %s trend, week of %s (-brute +trend):\n%s", seed, when, key, wk.Start, diff)
				}
			}
		}
	}
}

// headline keeps the figures a large team list carries.
func headline(m map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for _, k := range []string{"logs", "citizens", "sessions", "attendees", "women", "minority", "elderly"} {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

var seedFlag = flag.Uint64("store.seed", 0, "seed of the randomized store tests (0: from the clock)")

// testSeed is -store.seed, or a new seed.
func testSeed() uint64 {
	if *seedFlag != 0 {
		return *seedFlag
	}
	return uint64(time.Now().UnixNano())
}

// The rebuild (every raw row through the rules at once) produces exactly
// the tables the fold kept, one transaction at a time.
func TestRebuildEqualsFold(t *testing.T) {
	seed := testSeed()
	t.Logf("seed %d (replay: go test ./store -run TestRebuildEqualsFold -store.seed %d)", seed, seed)
	w := newReportWorld(t, seed)
	for range 250 {
		w.step()
	}
	dump := func() []string {
		var out []string
		for _, q := range []string{
			`SELECT 'f ' || hex(f.citizen_ref) || ' ' || s.key || ' ' || f.day || ' ' || f.place_id || ' ' || f.team_id
				FROM citizen_firsts f JOIN rollup_series s ON s.id = f.series`,
			`SELECT area_id || ' ' || place_id || ' ' || round(w, 6) FROM area_weights`,
			`SELECT 'b ' || area_id || ' ' || place_id || ' ' || bucket_id || ' ' || round(w, 6) FROM area_buckets`,
			`SELECT 'a ' || r.area_id || ' ' || r.period || ' ' || r.bucket_id || ' ' || s.metric || ' ' || s.key || ' ' || round(r.n, 6)
				FROM area_rollups r JOIN rollup_series s ON s.id = r.series WHERE abs(r.n) > 1e-9`,
			`SELECT 't ' || r.team_id || ' ' || r.period || ' ' || s.metric || ' ' || s.key || ' ' || round(r.n, 6)
				FROM team_rollups r JOIN rollup_series s ON s.id = r.series WHERE abs(r.n) > 1e-9`,
			// Running totals as a step function: the fold may leave a row for a
			// day whose changes cancel out, the rebuild does not.
			`SELECT 'tt ' || team_id || ' ' || day || ' ' || v FROM (SELECT team_id, day, v, lag(v, 1, '0.0 0.0 0.0 0.0 0.0 0.0 0.0')
				OVER (PARTITION BY team_id ORDER BY day) AS prev FROM (SELECT team_id, day, logs || ' ' || citizens || ' ' || sessions
				|| ' ' || attendees || ' ' || women || ' ' || minority || ' ' || elderly AS v FROM team_totals) x) y WHERE v != prev`,
			`SELECT 'w ' || area_id || ' ' || week || ' ' || key || ' ' || round(n, 6) FROM area_trend WHERE abs(n) > 1e-9`,
			`SELECT 'la ' || team_id || ' ' || day FROM team_last_active`,
			`SELECT 'd ' || team_id || ' ' || rows || ' ' || hash FROM team_digests WHERE rows <> 0`,
			`SELECT 'p ' || target_id || ' ' || round(numerator, 6) || ' ' || round(denominator, 6) || ' ' || round(value, 6) || ' ' || status
				FROM target_progress`,
		} {
			rows, err := w.s.read.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var s string
				rows.Scan(&s)
				out = append(out, s)
			}
			rows.Close()
		}
		sort.Strings(out)
		return out
	}
	w.worldTargets()
	for range 50 {
		w.step()
	}
	checkDigestsMatchScan(t, w.s, fmt.Sprintf("seed %d, folded", seed))
	before := dump()
	if len(before) < 100 {
		t.Fatalf("seed %d: only %d rows in the derived tables: the check compares little", seed, len(before))
	}
	if err := w.s.RebuildRollups(w.ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, dump()); diff != "" {
		t.Errorf("seed %d: derived tables kept by the fold vs rebuilt (-fold +rebuild):\n%s", seed, diff)
	}
	checkDigestsMatchScan(t, w.s, fmt.Sprintf("seed %d, rebuilt", seed))
}

// A coordinator sees reports of their subtree only; a member gets only
// their own team's figures, for their team's area.
func TestReportAuthorization(t *testing.T) {
	w := newReportWorld(t, 1)
	for range 120 {
		w.step()
	}
	q := func(key, area string) (*Report, error) {
		return w.s.Report(w.ctx, w.actors[key], ReportQuery{AreaID: w.areas[area].ID, From: "2025-01-01", To: "2026-12-31"})
	}
	cases := []struct {
		actor, area string
		want        error
	}{
		{"coordA", "A", nil}, {"coordA", "A1", nil}, {"coordA", "B", ErrNotFound}, {"coordA", "P", ErrNotFound},
		{"coordB", "A1", ErrNotFound}, {"coordP", "O", nil}, {"m_TA1", "A1", nil}, {"m_TA1", "A", ErrForbidden},
		{"m_TA1", "A2", ErrNotFound}, {"lead_TA1", "B1", ErrNotFound},
	}
	for _, c := range cases {
		_, err := q(c.actor, c.area)
		if (c.want == nil && err != nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s reads %s: err = %v, want %v", c.actor, c.area, err, c.want)
		}
	}
	r, err := q("m_TA1", "A1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range r.Teams {
		if tm.TeamID != w.teams["TA1"].ID {
			t.Errorf("member of TA1 sees team %s", tm.Name)
		}
	}
	b := loadBrute(t, w.s)
	if diff := cmp.Diff(b.figures(w.areas["A1"].ID, "2025-01-01", "2026-12-31", w.teams["TA1"].ID, 0), flat(r.Totals), approx); diff != "" {
		t.Errorf("member totals are not their team's (-brute +report):\n%s", diff)
	}
}

func TestSpans(t *testing.T) {
	cases := []struct {
		from, to string
		want     []span
	}{
		{"2026-01-01", "2026-12-31", []span{{"y", "2026", "2026"}}},
		{"2025-01-01", "2026-12-31", []span{{"y", "2025", "2026"}}},
		{"2026-01-15", "2026-03-10", []span{{"d", "2026-01-15", "2026-01-31"}, {"m", "2026-02", "2026-02"}, {"d", "2026-03-01", "2026-03-10"}}},
		{"2026-01-15", "2026-01-20", []span{{"d", "2026-01-15", "2026-01-20"}}},
		{"2026-01-15", "2026-02-10", []span{{"d", "2026-01-15", "2026-02-10"}}},
		{"2026-02-01", "2026-02-28", []span{{"m", "2026-02", "2026-02"}}},
		{"2025-12-31", "2026-01-01", []span{{"d", "2025-12-31", "2026-01-01"}}},
		{"2025-03-15", "2025-09-10", []span{{"d", "2025-03-15", "2025-03-31"}, {"m", "2025-04", "2025-08"}, {"d", "2025-09-01", "2025-09-10"}}},
		{"2024-11-03", "2027-02-10", []span{{"d", "2024-11-03", "2024-11-30"}, {"m", "2024-12", "2024-12"}, {"y", "2025", "2026"},
			{"m", "2027-01", "2027-01"}, {"d", "2027-02-01", "2027-02-10"}}},
		{"2025-02-01", "2026-01-31", []span{{"m", "2025-02", "2026-01"}}},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, spans(c.from, c.to), cmp.AllowUnexported(span{})); diff != "" {
			t.Errorf("spans(%s, %s) (-want +got):\n%s", c.from, c.to, diff)
		}
	}
}
