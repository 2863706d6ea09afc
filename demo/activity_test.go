package demo

import (
	"context"
	"testing"
	"time"

	"toso/store"
	"toso/store/storetest"
)

// TestActivity builds the demo with its activity and checks it looks like a
// few months of work: logs in every team, plausible rates, sessions at every
// stage, and the fixed member pulls their team's logs.
func TestActivity(t *testing.T) {
	ctx := context.Background()
	path := storetest.DB(t, "demo.db")
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	var p *Province
	p, err = Build(ctx, st, Options{Activity: Activity})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("demo with activity built in %s", time.Since(start).Round(time.Millisecond))
	db, err := store.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	perTeam := map[int64]int{}
	rows, err := db.QueryContext(ctx, `SELECT team_id, count(*) FROM assistance_logs GROUP BY team_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var team int64
		var n int
		if err := rows.Scan(&team, &n); err != nil {
			t.Fatal(err)
		}
		perTeam[team] = n
	}
	rows.Close()
	total := 0
	for _, c := range p.Communes {
		for _, v := range c.Villages {
			if perTeam[v.TeamID] < 10 {
				t.Errorf("team %d has %d logs, want at least 10", v.TeamID, perTeam[v.TeamID])
			}
			total += perTeam[v.TeamID]
		}
	}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	perUser := float64(total) / float64(p.Users)
	if perUser < 5 || perUser > 25 {
		t.Errorf("%d logs for %d users: %.1f each, want 5 to 25", total, p.Users, perUser)
	}
	const outcomes = `SELECT count(*) FROM assistance_logs l, json_each(l.outcomes) o WHERE l.deleted = 0 AND `
	vneid := count(outcomes + `o.value ->> 'service' = 'vneid_l2'`)
	vneidDone := count(outcomes + `o.value ->> 'service' = 'vneid_l2' AND o.value ->> 'result' = 'done'`)
	if rate := float64(vneidDone) / float64(vneid); rate < 0.6 || rate > 0.85 {
		t.Errorf("VNeID level 2 done in %d of %d outcomes (%.0f%%), want 60-85%%", vneidDone, vneid, 100*rate)
	}
	for _, b := range []string{"elderly_or_disabled", "no_smartphone", "sim_not_own_name"} {
		if n := count(outcomes + `o.value ->> 'result' = 'not_done' AND o.value ->> 'barrier' = '` + b + `'`); n == 0 {
			t.Errorf("no not_done outcome with barrier %s", b)
		}
	}
	if got, want := count(`SELECT count(*) FROM (SELECT citizen_ref FROM assistance_logs WHERE citizen_ref IS NOT NULL
		GROUP BY citizen_ref HAVING count(DISTINCT team_id) > 1) x`), 1; got < want {
		t.Errorf("%d citizens helped by two teams, want at least %d", got, want)
	}
	for _, s := range []string{"planned", "held", "reported"} {
		if n := count(`SELECT count(*) FROM training_sessions WHERE status = '` + s + `'`); n == 0 {
			t.Errorf("no %s training session", s)
		}
	}
	for q, what := range map[string]string{
		`SELECT count(*) FROM session_attendees`:                "attendees",
		`SELECT count(*) FROM progress_reports`:                 "progress reports",
		`SELECT count(*) FROM assistance_logs WHERE locked = 1`: "locked logs",
	} {
		if n := count(q); n == 0 {
			t.Errorf("no %s", what)
		}
	}

	// The fixed member pulls their team's logs.
	var uid, team int64
	if err := db.QueryRowContext(ctx, `SELECT id, team_id FROM users WHERE phone = '0900000004'`).Scan(&uid, &team); err != nil {
		t.Fatal(err)
	}
	a, err := st.Actor(ctx, uid, "")
	if err != nil {
		t.Fatal(err)
	}
	cursors := map[string]string{}
	pulled := 0
	for range 100 {
		res, err := st.Pull(ctx, a, store.PullRequest{DeviceID: "6f1c1e9a-0000-4000-8000-000000000004", Cursors: cursors})
		if err != nil {
			t.Fatal(err)
		}
		more := false
		for name, sc := range res.Scopes {
			for _, c := range sc.Changes {
				if c.Table == "assistance_logs" && c.Op == "put" {
					pulled++
				}
			}
			cursors[name] = sc.Cursor
			more = more || sc.HasMore
		}
		if !more {
			break
		}
	}
	if pulled != perTeam[team] {
		t.Errorf("member pulled %d logs, want the team's %d", pulled, perTeam[team])
	}
}

// TestDemoShowsEveryPage: the demo comes with what the overview shows
// besides activity: targets (with progress) and inactive teams.
func TestDemoShowsEveryPage(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, storetest.DB(t, "demo.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := Build(ctx, st, Options{Communes: 3, VillagesPerCommune: 3, Activity: Activity})
	if err != nil {
		t.Fatal(err)
	}
	today := store.Today(time.Now())
	rep, err := st.Report(ctx, store.System, store.ReportQuery{AreaID: p.ID, From: today[:4] + "-01-01", To: today})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Inactive) == 0 {
		for _, tm := range rep.Teams {
			t.Logf("team %d %s last active %s active %v", tm.TeamID, tm.Name, tm.LastActive, tm.Active)
		}
		t.Errorf("no inactive team in the demo province (communes: %d, villages in the first: %d)", len(p.Communes), len(p.Communes[0].Villages))
	}
	for _, team := range rep.Inactive {
		if team.TeamID == p.Communes[0].Villages[0].TeamID {
			t.Errorf("the demo accounts' team %d is inactive", team.TeamID)
		}
	}
	if active := len(rep.Teams) - len(rep.Inactive); active < len(rep.Teams)/2 {
		t.Errorf("%d of %d teams active, want most", active, len(rep.Teams))
	}

	ts, err := st.Targets(ctx, store.System, store.TargetFilter{AreaID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	byIndicator := map[string]int{}
	progress := 0
	for _, tg := range ts {
		byIndicator[tg.Indicator]++
		if tg.Value > 0 {
			progress++
		}
	}
	for ind, want := range map[string]int{"vneid_l2_activated": 1 + len(p.Communes), "adults_smartphone": 1,
		"members_per_100": 1, "course_attendees": 1, "online_stores_opened": len(p.Communes)} {
		if byIndicator[ind] != want {
			t.Errorf("%d %s targets, want %d (all: %v)", byIndicator[ind], ind, want, byIndicator)
		}
	}
	if progress < len(ts)/2 {
		t.Errorf("%d of %d targets have progress, want most", progress, len(ts))
	}
}
