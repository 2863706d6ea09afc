package store

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// worldTargets creates targets of every numerator rule on several areas.
func (w *reportWorld) worldTargets() []int64 {
	w.t.Helper()
	var ids []int64
	for _, n := range []NewTarget{
		{Indicator: "vneid_l2_activated", AreaID: w.areas["P"].ID, Period: "year", Year: 2025, Goal: 40},
		{Indicator: "vneid_l2_activated", AreaID: w.areas["A"].ID, Period: "quarter", Year: 2025, Quarter: 3, Goal: 10},
		{Indicator: "payment_accounts", AreaID: w.areas["A1"].ID, Period: "campaign", Name: "Tháng thanh toán", StartsOn: "2025-06-15", EndsOn: "2025-12-15", Goal: 1},
		{Indicator: "course_attendees", AreaID: w.areas["B"].ID, Period: "year", Year: 2025, Goal: 300},
		{Indicator: "households_fibre", AreaID: w.areas["A"].ID, Period: "campaign", Name: "Cáp quang", StartsOn: "2025-05-01", EndsOn: "2026-02-28", Goal: 50},
		{Indicator: "members_per_100", AreaID: w.areas["A"].ID, Period: "year", Year: 2026, Goal: 5},
		{Indicator: "online_stores_opened", AreaID: w.areas["B1"].ID, Period: "year", Year: 2025, Goal: 8},
	} {
		tg, err := w.s.CreateTarget(w.ctx, System, n)
		if err != nil {
			w.t.Fatalf("create target %s: %v", n.Indicator, err)
		}
		ids = append(ids, tg.ID)
	}
	return ids
}

// bruteNumerator restates a target's numerator from the raw rows.
func (b *brute) numerator(w *reportWorld, t *Target) float64 {
	rule, err := loadIndicatorRule(w.ctx, w.s.read, t.Indicator)
	if err != nil {
		w.t.Fatal(err)
	}
	switch rule.metric {
	case "members":
		rows, err := w.s.read.Query(`SELECT t.area_id FROM users u JOIN teams t ON t.id = u.team_id
			WHERE u.active = 1 AND u.role IN ('member', 'team_lead')`)
		if err != nil {
			w.t.Fatal(err)
		}
		defer rows.Close()
		n := 0.0
		for rows.Next() {
			var place int64
			rows.Scan(&place)
			n += b.weight(place, t.AreaID)
		}
		return n
	case "first":
		return b.figures(t.AreaID, t.StartsOn, t.EndsOn, 0, 0)["reached:"+rule.key]
	case "topic":
		return b.figures(t.AreaID, t.StartsOn, t.EndsOn, 0, 0)["topic:"+rule.key]
	}
	return b.figures(t.AreaID, t.StartsOn, t.EndsOn, 0, 0)["manual:"+t.Indicator]
}

func (w *reportWorld) checkTargets(seed uint64, ids []int64, when string) {
	w.t.Helper()
	b := loadBrute(w.t, w.s)
	for _, id := range ids {
		tg, err := w.s.Target(w.ctx, System, id)
		if err != nil {
			w.t.Fatal(err)
		}
		if got, want := tg.Numerator, b.numerator(w, tg); math.Abs(got-want) > 1e-9 {
			w.t.Errorf("seed %d, %s: target %s on %d numerator = %v, want %v", seed, when, tg.Indicator, tg.AreaID, got, want)
		}
		var status, asOf string
		var value float64
		w.s.read.QueryRow(`SELECT status, as_of, value FROM target_progress WHERE target_id = ?`, id).Scan(&status, &asOf, &value)
		want := tg.Numerator
		if tg.Kind == "percent" {
			want = 0
			if tg.Denominator > 0 {
				want = tg.Numerator * 100 / tg.Denominator
			}
		}
		if math.Abs(value-want) > 1e-9 {
			w.t.Errorf("seed %d, %s: target %d value = %v, want %v", seed, when, id, value, want)
		}
		level := tg.Indicator == "members_per_100"
		if got, want := status, TargetStatus(value, tg.Goal, tg.StartsOn, tg.EndsOn, Today(parseTS(asOf)), level); got != want {
			w.t.Errorf("seed %d, %s: target %d stored status = %s, want %s (as of %s)", seed, when, id, got, want, asOf)
		}
	}
}

// Target progress kept by the triggers equals a brute-force computation:
// for targets created before the activity (kept incrementally), after it
// (computed at creation), and after a lineage change and member changes.
func TestTargetProgressMatchesBruteForce(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	w := newReportWorld(t, seed)
	early := w.worldTargets()
	for range 300 {
		w.step()
	}
	w.checkTargets(seed, early, "kept by triggers")
	for _, id := range early {
		if err := w.s.DeleteTarget(w.ctx, System, id); err != nil {
			t.Fatal(err)
		}
	}
	late := w.worldTargets()
	w.checkTargets(seed, late, "computed at creation")
	if err := w.s.AddLineage(w.ctx, System, Lineage{OldAreaID: w.areas["O2"].ID, NewAreaID: w.areas["B1"].ID, Share: 1, EffectiveOn: "2025-07-01"}); err != nil {
		t.Fatal(err)
	}
	active := false
	if _, err := w.s.UpdateUser(w.ctx, System, w.actors["m2_TA1"].UserID, UserPatch{Active: &active}); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		w.step()
	}
	w.checkTargets(seed, late, "after a lineage change")
}

func TestTargetStatus(t *testing.T) {
	cases := []struct {
		value, goal float64
		today       string
		level       bool
		want        string
	}{
		{0, 100, "2026-01-01", false, "behind"},     // day 1 of 365 expects 0.27: nothing done is behind
		{50, 100, "2026-07-01", false, "on_track"},  // half the year, half done
		{40, 100, "2026-07-01", false, "at_risk"},   // 40 of an expected 49.6
		{30, 100, "2026-07-01", false, "behind"},    // under 70%
		{100, 100, "2026-03-01", false, "on_track"}, // done early
		{3, 5, "2026-01-01", true, "behind"},        // a level: expects the goal at once
		{4.6, 5, "2026-12-31", true, "on_track"},    // ≥ 90%
		{10, 100, "2025-06-01", false, "on_track"},  // before the period
		{80, 100, "2027-06-01", false, "at_risk"},   // after it: expects the goal
	}
	for _, c := range cases {
		if got := TargetStatus(c.value, c.goal, "2026-01-01", "2026-12-31", c.today, c.level); got != c.want {
			t.Errorf("TargetStatus(%v, %v, %s, level %v) = %s, want %s", c.value, c.goal, c.today, c.level, got, c.want)
		}
	}
}

// A team's targets reach its phones through sync as read-only
// target_progress rows; a deleted target leaves a tombstone.
func TestTargetProgressSyncs(t *testing.T) {
	w := newReportWorld(t, 3)
	tg, err := w.s.CreateTarget(w.ctx, w.actors["coordA"], NewTarget{Indicator: "vneid_l2_activated", AreaID: w.areas["A1"].ID,
		Period: "year", Year: 2025, Goal: 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.CreateTarget(w.ctx, w.actors["coordA"], NewTarget{Indicator: "vneid_l2_activated", AreaID: w.areas["A"].ID,
		Period: "year", Year: 2025, Goal: 20}); !errors.Is(err, ErrForbidden) {
		t.Errorf("coordinator of A sets A's own target: err = %v, want ErrForbidden", err)
	}
	if _, err := w.s.CreateTarget(w.ctx, w.actors["coordA"], NewTarget{Indicator: "vneid_l2_activated", AreaID: w.areas["B1"].ID,
		Period: "year", Year: 2025, Goal: 20}); !errors.Is(err, ErrNotFound) {
		t.Errorf("coordinator of A sets B1's target: err = %v, want ErrNotFound", err)
	}
	a := w.actors["m_TA1"]
	pull := func(cursor string) (*ScopeChanges, string) {
		resp, err := w.s.Pull(w.ctx, a, PullRequest{DeviceID: a.DeviceID, Cursors: map[string]string{teamScope(a.TeamID): cursor}})
		if err != nil {
			t.Fatal(err)
		}
		sc := resp.Scopes[teamScope(a.TeamID)]
		return sc, sc.Cursor
	}
	sc, cursor := pull("")
	var got []string
	for _, c := range sc.Changes {
		if c.Table == "target_progress" {
			var row struct {
				TargetID  int64   `json:"target_id"`
				Numerator float64 `json:"numerator"`
				Goal      float64 `json:"goal"`
			}
			json.Unmarshal(c.Row, &row)
			got = append(got, c.ID)
			if row.TargetID != tg.ID || row.Goal != 20 {
				t.Errorf("row %s = %s", c.ID, c.Row)
			}
		}
	}
	if want := []string{itoa(tg.ID) + ":" + itoa(a.TeamID)}; !cmp.Equal(got, want) {
		t.Errorf("target rows = %v, want one for team %d", got, a.TeamID)
	}
	// A log that reaches a citizen moves the progress, and the phone gets it.
	r := w.push("m_TA1", Mutation{Table: "assistance_logs", Op: "create", ID: w.newID(), Fields: fields(
		"occurred_at", "2025-08-01T03:00:00Z", "citizen_id_number", "038090000001",
		"outcomes", []map[string]string{{"service": "vneid_l2", "result": "done"}})})
	if r.Status != StatusApplied {
		t.Fatalf("push: %+v", r)
	}
	sc, cursor = pull(cursor)
	found := false
	for _, c := range sc.Changes {
		if c.Table == "target_progress" {
			found = strings.Contains(string(c.Row), `"numerator":1`)
		}
	}
	if !found {
		t.Errorf("after a log, the pull has no target_progress row with numerator 1: %+v", sc.Changes)
	}
	// Phones cannot write it.
	if r := w.push("lead_TA1", Mutation{Table: "target_progress", Op: "patch", ID: "01940000-0000-7000-8000-999999999999",
		Fields: fields("goal", 1)}); r.Code != CodeReadOnly {
		t.Errorf("push to target_progress: %+v, want read_only", r)
	}
	if err := w.s.DeleteTarget(w.ctx, w.actors["coordA"], tg.ID); err != nil {
		t.Fatal(err)
	}
	sc, _ = pull(cursor)
	if len(sc.Changes) != 1 || sc.Changes[0].Op != "del" || sc.Changes[0].Table != "target_progress" {
		t.Errorf("after delete: changes %+v, want one target_progress del", sc.Changes)
	}
}
