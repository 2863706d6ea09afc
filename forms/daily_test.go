package forms

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"toso/store"
)

// The daily summary of the province, of a commune and of a team, after
// random activity and a busy day (every service, a session): its figures
// equal a count over the raw rows of that day, the teams named inactive
// are those without a log or session in the week ending that day, the
// targets at risk are listed lowest first, and the text stays under 1,000
// characters in both languages.
func TestDailySummary(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	w := newWorld(t, seed)
	w.activity(150)
	ctx := context.Background()
	const day = "2026-11-19"
	at := func(h int) string { return fmt.Sprintf("%sT%02d:30:00Z", "2026-11-19", h) } // 07:30..16:30 in Vietnam
	cat, err := w.s.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range cat.Services { // one log a service, so every service has a line to cut
		w.seq++
		id := fmt.Sprintf("01950000-0000-7000-8000-%012d", w.seq)
		w.citizen[id] = -1
		r := w.push("M1", store.Mutation{Table: "assistance_logs", Op: "create", ID: id, Fields: raw("occurred_at", at(i%10),
			"outcomes", []map[string]string{{"service": s.Code, "result": "done"}}, "citizen_id_number", citizenNumber(20+i))})
		if r.Status != store.StatusApplied {
			t.Fatalf("push: %+v", r)
		}
	}
	w.log("M3", at(3))
	w.session("L1", at(2))
	for i := range 5 { // targets the teams will not reach
		if _, err := w.s.CreateTarget(ctx, store.System, store.NewTarget{Indicator: "vneid_l2_activated", AreaID: w.areas["A1"].ID,
			Period: "campaign", Name: fmt.Sprintf("Đợt %d", i+1), StartsOn: fmt.Sprintf("2026-11-0%d", i+1), EndsOn: "2026-11-30", Goal: float64(100 * (i + 1))}); err != nil {
			t.Fatal(err)
		}
	}
	b := loadBrute(t, w.s)
	cutoff := "2026-11-12"
	for _, c := range []struct {
		name  string
		as    string
		q     store.DailyQuery
		in    func(team, place int64) bool
		teams []string
	}{
		{"province", "CP", store.DailyQuery{AreaID: w.areas["P"].ID, Day: day}, b.inArea(w.areas["P"].ID), []string{"T1", "T2", "T3", "T4"}},
		{"commune", "CA", store.DailyQuery{AreaID: w.areas["B"].ID, Day: day}, b.inArea(w.areas["B"].ID), []string{"T3"}},
		{"team", "L1", store.DailyQuery{TeamID: w.teams["T1"].ID, Day: day},
			func(team, _ int64) bool { return team == w.teams["T1"].ID }, []string{"T1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			as := w.actors[c.as]
			if c.name == "commune" {
				as = w.actors["CP"]
			}
			d, err := w.s.DailySummary(ctx, as, c.q)
			if err != nil {
				t.Fatal(err)
			}
			text := DailyText(d, VI)
			want := b.count(day, day, c.in)
			if c.name == "commune" {
				// Xã Bình holds half of the merged Xã Cũ: its figures lie
				// between its own and its own with all of Xã Cũ's, and
				// with Xã An's they make up both communes and Xã Cũ whole.
				other := b.count(day, day, b.inArea(w.areas["O"].ID))
				da, err := w.s.DailySummary(ctx, as, store.DailyQuery{AreaID: w.areas["A"].ID, Day: day})
				if err != nil {
					t.Fatal(err)
				}
				all := b.count(day, day, func(team, place int64) bool {
					return b.under(place, w.areas["A"].ID) || b.under(place, w.areas["B"].ID) || b.under(place, w.areas["O"].ID)
				})
				for _, f := range []struct {
					name      string
					got, gotA float64
				}{{"visits", d.Figures.Logs, da.Figures.Logs}, {"sessions", d.Figures.Sessions, da.Figures.Sessions},
					{"attendees", d.Figures.Attendees, da.Figures.Attendees}} {
					if f.got < want[f.name] || f.got > want[f.name]+other[f.name] || f.got+f.gotA != all[f.name] {
						t.Errorf("seed %d: %s %v in Xã Bình, %v in Xã An; want from %v to %v, and %v for both",
							seed, f.name, f.got, f.gotA, want[f.name], want[f.name]+other[f.name], all[f.name])
					}
					want[f.name] = f.got
				}
			}
			for _, line := range []string{
				fmt.Sprintf("• Hỗ trợ người dân: %s lượt, %s người mới", VI.number(want["visits"]), VI.number(want["citizens"])),
				fmt.Sprintf("• Tập huấn: %s buổi, %s người tham dự", VI.number(want["sessions"]), VI.number(want["attendees"])),
			} {
				if !strings.Contains(text, line) {
					t.Errorf("seed %d: no line %q in\n%s", seed, line, text)
				}
			}
			// Services: the six largest by count, then the rest together.
			type svc struct {
				label string
				n     float64
			}
			var svcs []svc
			for _, s := range d.Services {
				if n := want["logs:"+s.Code]; n > 0 {
					svcs = append(svcs, svc{s.Vi, n})
				}
			}
			sort.SliceStable(svcs, func(i, j int) bool { return svcs[i].n > svcs[j].n })
			for i, s := range svcs {
				if i < 6 && !strings.Contains(text, fmt.Sprintf("  - %s: %s\n", s.label, VI.number(s.n))) {
					t.Errorf("seed %d: no line for %s (%v) in\n%s", seed, s.label, s.n, text)
				}
			}
			if len(svcs) > 6 && !strings.Contains(text, "  - Dịch vụ khác: ") {
				t.Errorf("seed %d: %d services and no \"other\" line", seed, len(svcs))
			}
			// Inactive: no log or held session in the week ending on the day.
			var inactive []string
			for _, key := range c.teams {
				last := ""
				for _, l := range b.logs {
					if l.team == w.teams[key].ID && l.day > last {
						last = l.day
					}
				}
				for _, x := range b.sess {
					if x.team == w.teams[key].ID && x.day > last {
						last = x.day
					}
				}
				if last <= cutoff {
					inactive = append(inactive, "Tổ "+key)
				}
			}
			switch {
			case c.name == "team":
			case len(inactive) == 0:
				if !strings.Contains(text, fmt.Sprintf("• Tất cả %d tổ đều có hoạt động trong 7 ngày qua", len(c.teams))) {
					t.Errorf("seed %d: want every team active in\n%s", seed, text)
				}
			default:
				if want := fmt.Sprintf("• Tổ chưa hoạt động 7 ngày: %d/%d (%s)", len(inactive), len(c.teams), strings.Join(inactive, ", ")); !strings.Contains(text, want) {
					t.Errorf("seed %d: no line %q in\n%s", seed, want, text)
				}
			}
			if c.name != "commune" && !strings.Contains(text, "• Mục tiêu cần chú ý: 5\n  - Tài khoản VNeID mức 2 được kích hoạt (Thôn Một): ") ||
				c.name != "commune" && !strings.Contains(text, "  - và 2 mục tiêu khác") {
				t.Errorf("targets at risk missing in\n%s", text)
			}
			for _, l := range []Lang{VI, EN} {
				if n := utf8.RuneCountInString(DailyText(d, l)); n >= MaxDailyText {
					t.Errorf("%s summary has %d characters", l, n)
				}
			}
			if en := DailyText(d, EN); !strings.Contains(en, fmt.Sprintf("• Citizens helped: %s visits", EN.number(want["visits"]))) {
				t.Errorf("English summary:\n%s", en)
			}
		})
	}
	if _, err := w.s.DailySummary(ctx, w.actors["M2"], store.DailyQuery{TeamID: w.teams["T1"].ID, Day: day}); err == nil {
		t.Error("a member of another team read team T1's summary")
	}
	if _, err := w.s.DailySummary(ctx, w.actors["L1"], store.DailyQuery{AreaID: w.areas["A1"].ID, Day: day}); err == nil {
		t.Error("a team lead read an area's summary")
	}
}
