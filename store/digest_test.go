package store

import (
	"context"
	"testing"
	"time"
)

// The kept team digests equal a scan of the rows, for every team and every
// area, through random activity, target creation and deletion, and a team
// moving to another area.
func TestTeamDigestsMatchScan(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	w := newReportWorld(t, seed)
	early := w.worldTargets()
	check := func(when string) {
		t.Helper()
		ctx := context.Background()
		tx, err := w.s.read.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		var scopes []scope
		for key, team := range w.teams {
			scopes = append(scopes, scope{name: "team " + key, kind: scopeTeam, team: team.ID})
		}
		for key := range w.areas {
			a, err := w.s.Area(ctx, System, w.areas[key].ID)
			if err != nil {
				t.Fatal(err)
			}
			scopes = append(scopes, scope{name: "area " + key, kind: scopeTeam, area: a.Path})
		}
		nonEmpty := 0
		for _, sc := range scopes {
			kept, err := teamDigest(ctx, tx, sc)
			if err != nil {
				t.Fatal(err)
			}
			scanned, err := w.s.scanDigest(ctx, tx, System, sc)
			if err != nil {
				t.Fatal(err)
			}
			if *kept != *scanned {
				t.Errorf("seed %d, %s: %s digest kept %+v, scanned %+v", seed, when, sc.name, *kept, *scanned)
			}
			if scanned.Count > 0 {
				nonEmpty++
			}
		}
		if nonEmpty == 0 {
			t.Fatalf("seed %d, %s: every scope is empty: the check compares nothing", seed, when)
		}
	}
	for range 300 {
		w.step()
	}
	check("after activity")
	for _, id := range early[:len(early)/2] {
		if err := w.s.DeleteTarget(w.ctx, System, id); err != nil {
			t.Fatal(err)
		}
	}
	w.worldTargets()
	area := w.areas["B1"].ID
	if _, err := w.s.UpdateTeam(w.ctx, System, w.teams["TA2"].ID, TeamPatch{AreaID: &area}); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		w.step()
	}
	check("after target changes and a team move")
}
