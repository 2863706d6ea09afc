package store

import (
	"encoding/json"
	"errors"
	"testing"
)

// A conflict raised by two members of TA1 editing a session's place from
// the same version: coordinators of the area and the team's lead list it
// with both values, the member whose value lost lists it, the winner and
// outsiders do not; resolving moves it from open to resolved.
func TestConflictsList(t *testing.T) {
	w := newReportWorld(t, 11)
	s, ctx := w.s, w.ctx
	sess := w.newID()
	r := w.push("m_TA1", Mutation{Table: "training_sessions", Op: "create", ID: sess, Fields: fields("place", "Nhà văn hóa")})
	w.push("m2_TA1", Mutation{Table: "training_sessions", Op: "patch", ID: sess, BaseVersion: r.Version, Fields: fields("place", "Trường học")})
	if m := w.push("m_TA1", Mutation{Table: "training_sessions", Op: "patch", ID: sess, BaseVersion: r.Version, Fields: fields("place", "Sân đình")}); m.Status != StatusMerged {
		t.Fatalf("the late patch: %+v, want merged", m)
	}
	list := func(actor, area string, status string) []Conflict {
		t.Helper()
		cs, err := s.Conflicts(ctx, w.actors[actor], ConflictFilter{AreaID: w.areas[area].ID, Status: status})
		if err != nil {
			t.Fatalf("conflicts of %s as %s: %v", area, actor, err)
		}
		return cs
	}
	got := list("coordA", "A", "")
	if len(got) != 1 {
		t.Fatalf("coordA's open conflicts: %+v, want one", got)
	}
	c := got[0]
	var lost, won string
	if json.Unmarshal(c.LostValue, &lost) != nil || json.Unmarshal(c.WonValue, &won) != nil || lost != "Trường học" || won != "Sân đình" ||
		c.LostByName != "m2_TA1" || c.WonByName != "m_TA1" || c.Table != "training_sessions" || c.RowID != sess || c.Field != "place" ||
		c.TeamName != "TA1" || c.DeviceID != w.actors["m_TA1"].DeviceID {
		t.Errorf("the conflict: %+v (lost %q, won %q), want m2's Trường học lost to m's Sân đình, raised by m's phone", c, lost, won)
	}
	for _, who := range []struct {
		actor, area string
		n           int
	}{{"coordP", "P", 1}, {"lead_TA1", "A1", 1}, {"m2_TA1", "A1", 1}, {"m_TA1", "A1", 0}, {"coordB", "B", 0}} {
		if got := list(who.actor, who.area, "all"); len(got) != who.n {
			t.Errorf("%s lists %d conflicts of %s, want %d", who.actor, len(got), who.area, who.n)
		}
	}
	if _, err := s.Conflicts(ctx, w.actors["coordB"], ConflictFilter{AreaID: w.areas["A"].ID}); !isNotFound(err) {
		t.Errorf("coordB asks for commune A's conflicts: %v, want not found", err)
	}
	if _, err := s.Conflicts(ctx, w.actors["m_TA1"], ConflictFilter{AreaID: w.areas["A"].ID}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a member asks for the commune's conflicts: %v, want forbidden", err)
	}
	if _, err := s.Conflicts(ctx, w.actors["coordA"], ConflictFilter{Status: "some"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("an unknown status: %v, want invalid", err)
	}
	if err := s.ResolveConflict(ctx, w.actors["coordA"], c.ID, "giữ sân đình"); err != nil {
		t.Fatal(err)
	}
	if got := list("coordA", "A", ""); len(got) != 0 {
		t.Errorf("open conflicts after resolving: %+v", got)
	}
	if got := list("coordA", "A", "resolved"); len(got) != 1 || !got[0].Resolved || got[0].Resolution != "giữ sân đình" || got[0].Version <= c.Version {
		t.Errorf("resolved conflicts: %+v, want the one resolved with its note and a new version", got)
	}
}

// A team's logs for review are its live logs of the period, newest
// first; locked ones say so. Its progress reports likewise, void or not.
func TestTeamReview(t *testing.T) {
	w := newReportWorld(t, 5)
	for range 200 {
		w.step()
	}
	s, ctx := w.s, w.ctx
	team := w.teams["TA1"]
	from, to := "2025-05-01", "2026-02-28"
	got, err := s.TeamLogs(ctx, w.actors["coordA"], team.ID, from, to, 500)
	if err != nil {
		t.Fatal(err)
	}
	b := loadBrute(t, s)
	if want := b.team(team.ID, from, to)["logs"]; float64(len(got)) != want {
		t.Errorf("TA1's logs for review: %d, want %v (brute force)", len(got), want)
	}
	for i, l := range got {
		if i > 0 && l.OccurredAt > got[i-1].OccurredAt {
			t.Fatalf("logs not newest first at %d", i)
		}
		var locked bool
		if err := s.read.QueryRow(`SELECT locked FROM assistance_logs WHERE id = ?`, l.ID).Scan(&locked); err != nil || locked != l.Locked {
			t.Errorf("log %s: locked %v, the table says %v (%v)", l.ID, l.Locked, locked, err)
		}
	}
	if _, err := s.TeamLogs(ctx, w.actors["coordB"], team.ID, from, to, 10); !isNotFound(err) {
		t.Errorf("coordB reviews TA1's logs: %v, want not found", err)
	}
	prog, err := s.TeamProgressReports(ctx, w.actors["coordP"], team.ID, from, to, 500)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.read.QueryRow(`SELECT count(*) FROM progress_reports WHERE team_id = ? AND as_of BETWEEN ? AND ?`, team.ID, from, to).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if len(prog) != n {
		t.Errorf("TA1's progress reports: %d, want %d", len(prog), n)
	}
}
