package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"toso/store"
)

// A member moved to another team: the old team's data leaves their phone
// and their pending writes for it come back rejected, visibly.
func TestSyncMemberMovedWithPendingLogs(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	var r replica
	e.push("memberA1", logCreate(1, uuidN(1)))
	e.syncAll("memberA1", &r, 500)
	oldScope, newScope := teamScopeName(e.teamA1.ID), teamScopeName(e.teamA2.ID)
	if got := len(r.rows[oldScope]); got != 1 {
		t.Fatalf("rows in %s = %d, want 1", oldScope, got)
	}
	to := e.teamA2.ID
	if _, err := e.store.UpdateUser(ctx, store.System, e.users["memberA1"].ID, store.UserPatch{TeamID: &to}); err != nil {
		t.Fatal(err)
	}
	p := e.push("memberA1",
		mut{"mid": 2, "table": "assistance_logs", "op": "patch", "id": uuidN(1), "fields": map[string]any{"notes": "late edit"}},
		logCreate(3, uuidN(2), "team_id", e.teamA1.ID),
		logCreate(4, uuidN(3)),
	)
	if diff := cmp.Diff([]string{"rejected/forbidden", "rejected/forbidden", "applied"}, statuses(p)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	pl := e.pull("memberA1", r.cursors, 500)
	if diff := cmp.Diff([]string{oldScope}, pl.ScopesRemoved); diff != "" {
		t.Errorf("scopes_removed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{newScope}, pl.ScopesAdded); diff != "" {
		t.Errorf("scopes_added (-want +got):\n%s", diff)
	}
	if _, ok := pl.Scopes[oldScope]; ok {
		t.Errorf("the old team scope is still served")
	}
	if got := pl.Scopes[newScope]; got == nil || len(got.Changes) != 1 || got.Changes[0].ID != uuidN(3) {
		t.Errorf("new team scope = %+v, want the one new log", got)
	}
}

// A member of team B can neither write nor read team A's data.
func TestSyncTeamIsolation(t *testing.T) {
	e := newTestEnv(t)
	session := uuidN(70)
	e.push("memberA1", logCreate(1, uuidN(1)), mut{"mid": 2, "table": "training_sessions", "op": "create", "id": session})
	p := e.push("memberB1",
		mut{"mid": 1, "table": "assistance_logs", "op": "patch", "id": uuidN(1), "fields": map[string]any{"notes": "intrusion"}},
		mut{"mid": 2, "table": "assistance_logs", "op": "delete", "id": uuidN(1)},
		logCreate(3, uuidN(2), "team_id", e.teamA1.ID),
		mut{"mid": 4, "table": "training_sessions", "op": "patch", "id": session, "fields": map[string]any{"notes": "intrusion"}},
		mut{"mid": 5, "table": "session_attendees", "op": "create", "id": uuidN(3), "fields": map[string]any{"session_id": session, "name": "X"}},
		logCreate(6, uuidN(1)), // reusing team A's id
	)
	for i, s := range statuses(p) {
		if s != "rejected/forbidden" {
			t.Errorf("mutation %d: %s, want rejected/forbidden", i+1, s)
		}
	}
	if got, want := countRows(t, e, `SELECT count(*) FROM assistance_logs WHERE notes = 'intrusion' OR deleted = 1 OR team_id <> ?`, e.teamA1.ID), 0; got != want {
		t.Errorf("changed rows = %d, want %d", got, want)
	}
	pl := e.pull("memberB1", map[string]string{teamScopeName(e.teamA1.ID): "0"}, 500)
	if _, ok := pl.Scopes[teamScopeName(e.teamA1.ID)]; ok {
		t.Errorf("team B member was served team A's scope")
	}
	raw, _ := json.Marshal(pl)
	if bytes.Contains(raw, []byte(uuidN(1))) || bytes.Contains(raw, []byte(session)) {
		t.Errorf("team B member's pull holds team A rows")
	}
	// The coordinator of commune B sees nothing of commune A either.
	var r replica
	e.syncAll("coordB", &r, 500)
	for scope, rows := range r.rows {
		for k := range rows {
			if k == "assistance_logs/"+uuidN(1) {
				t.Errorf("coordinator B got team A's log in %s", scope)
			}
		}
	}
	var ra replica
	e.syncAll("coordA", &ra, 500)
	if _, ok := ra.rows[fmt.Sprintf("area:%d", e.communeA.ID)]["assistance_logs/"+uuidN(1)]; !ok {
		t.Errorf("coordinator A did not get team A1's log")
	}
}

// Paging with a small limit resumes without skipping: the union of pages
// is the server's set and the digest of the copy matches.
func TestSyncPullPagingResumesWithoutSkipping(t *testing.T) {
	e := newTestEnv(t)
	var muts []mut
	for i := 1; i <= 30; i++ {
		muts = append(muts, logCreate(int64(i), uuidN(i)))
	}
	for i := 1; i <= 5; i++ {
		muts = append(muts, mut{"mid": int64(30 + i), "table": "assistance_logs", "op": "delete", "id": uuidN(i)})
	}
	e.push("memberA1", muts...)
	var r replica
	e.syncAll("memberA1", &r, 7)
	scope := teamScopeName(e.teamA1.ID)
	if got, want := len(r.rows[scope]), 25; got != want {
		t.Errorf("rows = %d, want %d", got, want)
	}
	// More writes between pulls, then resume from the stored cursors.
	e.push("leadA1", logCreate(1, uuidN(99)), mut{"mid": 2, "table": "assistance_logs", "op": "delete", "id": uuidN(10)})
	e.syncAll("memberA1", &r, 3)
	if got, want := len(r.rows[scope]), 25; got != want {
		t.Errorf("rows after resume = %d, want %d", got, want)
	}
	for name, rows := range r.rows {
		d := r.digests[name]
		if d == nil || d.Digest == nil {
			t.Errorf("%s: no digest", name)
			continue
		}
		count, hash := digestOf(rows)
		if count != d.Digest.Count || hash != d.Digest.Hash {
			t.Errorf("%s: digest of the copy %d/%s, server %d/%s", name, count, hash, d.Digest.Count, d.Digest.Hash)
		}
	}
	if got := len(r.rows["catalog"]); got < 30 {
		t.Errorf("catalog rows = %d, want services, barriers, indicators and areas", got)
	}
}

func TestSyncDeviceOfflinePastHorizonGetsReset(t *testing.T) {
	e := newTestEnv(t)
	e.push("memberA1", logCreate(1, uuidN(1)), logCreate(2, uuidN(2)))
	var r replica
	e.syncAll("memberA1", &r, 500)
	old := r.cursors
	e.push("leadA1", mut{"mid": 1, "table": "assistance_logs", "op": "delete", "id": uuidN(1)})
	if err := e.store.PruneSync(context.Background(), timeNow().Add(store.TombstoneHorizon+24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	p := e.pull("memberA1", old, 500)
	scope := teamScopeName(e.teamA1.ID)
	if !contains(p.Resets, scope) {
		t.Fatalf("resets = %v, want %s", p.Resets, scope)
	}
	if got := p.Scopes[scope]; got == nil || len(got.Changes) != 1 || got.Changes[0].ID != uuidN(2) || got.Digest == nil || got.Digest.Count != 1 {
		t.Errorf("reset scope = %+v, want the one remaining log from 0 with a digest", got)
	}
}

func TestSyncGzipBothWays(t *testing.T) {
	e := newTestEnv(t)
	body, _ := json.Marshal(map[string]any{"protocol": 1, "device_id": e.deviceOf("memberA1"), "schema_version": 1,
		"mutations": []mut{logCreate(1, uuidN(1))}})
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(body)
	zw.Close()
	r := e.do("POST", "/v1/sync/push", e.token("memberA1"), zb.Bytes(), "Content-Encoding", "gzip")
	if r.Status != 200 {
		t.Fatalf("gzip push: %d %s", r.Status, r.Body)
	}
	pb, _ := json.Marshal(map[string]any{"protocol": 1, "device_id": e.deviceOf("memberA1"), "schema_version": 1})
	r = e.do("POST", "/v1/sync/pull", e.token("memberA1"), pb, "Accept-Encoding", "gzip")
	if got := r.Header.Get("Content-Encoding"); got != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", got)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Contains(plain, []byte(uuidN(1))) {
		t.Errorf("gzip pull does not hold the pushed log: %.200s", plain)
	}
}

// A team moved to another commune leaves the old coordinator's area scope:
// the cursor's team-set fingerprint changes and the scope resets, so the
// old coordinator's copy drops the team's rows and the new one gets them.
func TestSyncTeamMovedBetweenAreasResetsAreaScopes(t *testing.T) {
	e := newTestEnv(t)
	e.push("memberA1", logCreate(1, uuidN(1)))
	var ra, rb replica
	e.syncAll("coordA", &ra, 500)
	e.syncAll("coordB", &rb, 500)
	to := e.villageB1.ID
	if _, err := e.store.UpdateTeam(context.Background(), store.System, e.teamA1.ID, store.TeamPatch{AreaID: &to}); err != nil {
		t.Fatal(err)
	}
	scopeA, scopeB := fmt.Sprintf("area:%d", e.communeA.ID), fmt.Sprintf("area:%d", e.communeB.ID)
	if p := e.pull("coordA", ra.cursors, 500); !contains(p.Resets, scopeA) {
		t.Errorf("coordinator A resets = %v, want %s", p.Resets, scopeA)
	}
	e.syncAll("coordA", &ra, 500)
	e.syncAll("coordB", &rb, 500)
	if _, ok := ra.rows[scopeA]["assistance_logs/"+uuidN(1)]; ok {
		t.Errorf("coordinator A still holds the moved team's log")
	}
	if _, ok := rb.rows[scopeB]["assistance_logs/"+uuidN(1)]; !ok {
		t.Errorf("coordinator B did not get the moved team's log")
	}
}
