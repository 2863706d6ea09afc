package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"toso/store"
)

func teamScopeName(id int64) string { return fmt.Sprintf("team:%d", id) }

// statuses lists "status/code" of each result, for compact comparisons.
func statuses(p pushResp) []string {
	var out []string
	for _, r := range p.Results {
		s := r.Status
		if r.Code != "" {
			s += "/" + r.Code
		}
		out = append(out, s)
	}
	return out
}

func countRows(t *testing.T, e *testEnv, q string, args ...any) int {
	t.Helper()
	db := rawDB(t, e)
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The push committed but its response was lost; the app retries the same
// batch (after a restart, from its outbox). Same results, applied once.
func TestSyncPushCommittedResponseLostThenRetried(t *testing.T) {
	e := newTestEnv(t)
	batch := []mut{
		logCreate(1, uuidN(1)),
		logCreate(2, uuidN(2), "notes", "second"),
		{"mid": 3, "table": "assistance_logs", "op": "patch", "id": uuidN(1), "base_version": 0, "fields": map[string]any{"notes": "edited"}},
	}
	first := e.push("memberA1", batch...)
	retry := e.push("memberA1", batch...)
	if diff := cmp.Diff(first.Results, retry.Results); diff != "" {
		t.Errorf("retried results differ (-first +retry):\n%s", diff)
	}
	if got, want := retry.LastMid, int64(3); got != want {
		t.Errorf("last_mid = %d, want %d", got, want)
	}
	if got, want := countRows(t, e, `SELECT count(*) FROM assistance_logs`), 2; got != want {
		t.Errorf("logs = %d, want %d", got, want)
	}
	if got, want := countRows(t, e, `SELECT count(*) FROM audit_log WHERE entity = 'assistance_logs'`), 3; got != want {
		t.Errorf("audit rows = %d, want %d (each mutation applied once)", got, want)
	}
	// A retry overlapping new mutations: the old ones answer from storage,
	// the new one applies.
	more := e.push("memberA1", batch[2], logCreate(4, uuidN(4)))
	if diff := cmp.Diff([]string{"applied", "applied"}, statuses(more)); diff != "" {
		t.Errorf("overlap statuses (-want +got):\n%s", diff)
	}
	if got, want := more.Results[0], first.Results[2]; got.Version != want.Version {
		t.Errorf("replayed mid 3 version = %d, want the stored %d", got.Version, want.Version)
	}
	// A pull tells a phone that lost the response how far the server got.
	if got, want := e.pull("memberA1", nil, 10).LastMid, int64(4); got != want {
		t.Errorf("pull last_mid = %d, want %d", got, want)
	}
	// Stored results pruned: the app learns the mid was processed long ago.
	if err := e.store.PruneSync(context.Background(), timeNow().AddDate(1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"duplicate"}, statuses(e.push("memberA1", batch[0]))); diff != "" {
		t.Errorf("after pruning (-want +got):\n%s", diff)
	}
}

func TestSyncPushMidGap(t *testing.T) {
	e := newTestEnv(t)
	e.push("memberA1", logCreate(1, uuidN(1)))
	r := e.pushRaw("memberA1", logCreate(3, uuidN(3)))
	if got, want := r.Status, 409; got != want {
		t.Fatalf("status = %d, want %d: %s", got, want, r.Body)
	}
	body := r.JSON(t)["error"].(map[string]any)
	if got, want := body["code"], "mid_gap"; got != want {
		t.Errorf("code = %v, want %v", got, want)
	}
	if got, want := body["expected"], float64(2); got != want {
		t.Errorf("expected = %v, want %v", got, want)
	}
	if got, want := countRows(t, e, `SELECT count(*) FROM assistance_logs`), 1; got != want {
		t.Errorf("logs = %d, want %d (nothing applied on a gap)", got, want)
	}
}

func TestSyncPushTxGroupAllOrNothing(t *testing.T) {
	e := newTestEnv(t)
	session := uuidN(10)
	p := e.push("memberA1",
		mut{"mid": 1, "tx": "t-1", "table": "training_sessions", "op": "create", "id": session, "fields": map[string]any{"place": "Nhà văn hóa"}},
		mut{"mid": 2, "tx": "t-1", "table": "session_attendees", "op": "create", "id": uuidN(11), "fields": map[string]any{"session_id": session, "name": "Lò Văn A", "consent": true}},
		mut{"mid": 3, "tx": "t-1", "table": "session_attendees", "op": "create", "id": uuidN(12), "fields": map[string]any{"session_id": session, "gender": "robot"}},
		logCreate(4, uuidN(13)),
	)
	want := []string{"rejected/group_failed", "rejected/group_failed", "rejected/validation_failed", "applied"}
	if diff := cmp.Diff(want, statuses(p)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if got := countRows(t, e, `SELECT count(*) FROM training_sessions`) + countRows(t, e, `SELECT count(*) FROM session_attendees`); got != 0 {
		t.Errorf("rows of the failed group = %d, want 0", got)
	}
	// The same group without the bad member applies whole.
	p = e.push("memberA1",
		mut{"mid": 5, "tx": "t-2", "table": "training_sessions", "op": "create", "id": session, "fields": map[string]any{"place": "Nhà văn hóa"}},
		mut{"mid": 6, "tx": "t-2", "table": "session_attendees", "op": "create", "id": uuidN(11), "fields": map[string]any{"session_id": session, "name": "Lò Văn A", "consent": true}},
	)
	if diff := cmp.Diff([]string{"applied", "applied"}, statuses(p)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

// One bad record never blocks the others; each gets its own code.
func TestSyncPushValidationPerMutation(t *testing.T) {
	e := newTestEnv(t)
	future := timeNow().Add(time.Hour).UTC().Format(time.RFC3339)
	cases := []struct {
		name      string
		m         mut
		wantCode  string
		wantField string
	}{
		{"id not a UUID", logCreate(0, "not-a-uuid"), "validation_failed", "id"},
		{"unknown service", mut{"table": "assistance_logs", "op": "create", "id": uuidN(1), "fields": map[string]any{"occurred_at": "2026-11-20T09:12:00Z", "outcomes": []map[string]any{{"service": "teleport", "result": "done"}}}}, "validation_failed", "outcomes"},
		{"not_done without barrier", mut{"table": "assistance_logs", "op": "create", "id": uuidN(2), "fields": map[string]any{"occurred_at": "2026-11-20T09:12:00Z", "outcomes": []map[string]any{{"service": "vneid_l2", "result": "not_done"}}}}, "validation_failed", "outcomes"},
		{"unknown barrier", mut{"table": "assistance_logs", "op": "create", "id": uuidN(3), "fields": map[string]any{"occurred_at": "2026-11-20T09:12:00Z", "outcomes": []map[string]any{{"service": "vneid_l2", "result": "not_done", "barrier": "aliens"}}}}, "validation_failed", "outcomes"},
		{"occurred in the future", logCreate(0, uuidN(4), "occurred_at", future), "validation_failed", "occurred_at"},
		{"notes too long", logCreate(0, uuidN(5), "notes", string(bytes.Repeat([]byte("x"), 2001))), "validation_failed", "notes"},
		{"bad ID number", logCreate(0, uuidN(6), "citizen_id_number", "12345"), "validation_failed", "citizen_id_number"},
		{"unknown field", logCreate(0, uuidN(7), "favourite_colour", "red"), "validation_failed", "favourite_colour"},
		{"patch of a missing row", mut{"table": "assistance_logs", "op": "patch", "id": uuidN(8), "fields": map[string]any{"notes": "x"}}, "not_found", ""},
		{"unknown table", mut{"table": "rockets", "op": "create", "id": uuidN(9)}, "validation_failed", "table"},
	}
	var muts []mut
	for i, c := range cases {
		c.m["mid"] = int64(2*i + 1)
		muts = append(muts, c.m, logCreate(int64(2*i+2), uuidN(100+i)))
	}
	p := e.push("memberA1", muts...)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad, good := p.Results[2*i], p.Results[2*i+1]
			if bad.Status != "rejected" || bad.Code != c.wantCode {
				t.Errorf("got %s/%s, want rejected/%s", bad.Status, bad.Code, c.wantCode)
			}
			if _, ok := bad.Fields[c.wantField]; c.wantField != "" && !ok {
				t.Errorf("fields = %v, want %q named", bad.Fields, c.wantField)
			}
			if bad.Retryable == nil || *bad.Retryable {
				t.Errorf("retryable = %v, want false", bad.Retryable)
			}
			if good.Status != "applied" {
				t.Errorf("the next good mutation: got %s/%s, want applied", good.Status, good.Code)
			}
		})
	}
}

// Raw ID-card and phone numbers never reach the database file or its WAL,
// nor a pull response.
func TestSyncRawCitizenNumbersNeverStored(t *testing.T) {
	e := newTestEnv(t)
	const idNumber, phone = "038090001234", "0912345678"
	session := uuidN(20)
	e.push("memberA1",
		logCreate(1, uuidN(1), "citizen_id_number", idNumber, "consent", false, "citizen_name", "Hidden Name"),
		logCreate(2, uuidN(2), "citizen_phone", "+84 912 345 678"),
		mut{"mid": 3, "table": "training_sessions", "op": "create", "id": session},
		mut{"mid": 4, "table": "session_attendees", "op": "create", "id": uuidN(21), "fields": map[string]any{"session_id": session, "citizen_id_number": idNumber}},
		logCreate(5, uuidN(3), "citizen_id_number", "0380900012"), // rejected: the raw value must not leak through errors either
	)
	pulled := e.pull("memberA1", nil, 500)
	raw, _ := json.Marshal(pulled)
	var files [][]byte
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(e.store.Path() + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	files = append(files, raw)
	for i, b := range files {
		for _, secret := range []string{idNumber, phone, "912345678", "0380900012", "Hidden Name"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("source %d contains %q", i, secret)
			}
		}
	}
	if got, want := countRows(t, e, `SELECT count(DISTINCT citizen_ref) FROM assistance_logs WHERE citizen_ref IS NOT NULL`), 2; got != want {
		t.Errorf("distinct citizen refs = %d, want %d", got, want)
	}
	// The same person, written differently, gets the same ref.
	e.push("memberA1", logCreate(6, uuidN(4), "citizen_phone", "0912.345.678"))
	if got, want := countRows(t, e, `SELECT count(DISTINCT citizen_ref) FROM assistance_logs WHERE citizen_ref IS NOT NULL`), 2; got != want {
		t.Errorf("distinct citizen refs after a rewritten phone = %d, want %d", got, want)
	}
}

func TestSyncTwoPhonesAddSameAttendee(t *testing.T) {
	e := newTestEnv(t)
	session := uuidN(30)
	e.push("leadA1", mut{"mid": 1, "table": "training_sessions", "op": "create", "id": session})
	add := func(key string, mid int64, id, name string) pushResult {
		return e.push(key, mut{"mid": mid, "table": "session_attendees", "op": "create", "id": id,
			"fields": map[string]any{"session_id": session, "name": name, "consent": true}}).Results[0]
	}
	a := add("leadA1", 2, uuidN(31), "Lò Văn A")
	b := add("memberA1", 1, uuidN(32), "  lò  văn a ")
	if a.Status != "applied" || b.Status != "applied" {
		t.Fatalf("statuses %s, %s; want applied twice", a.Status, b.Status)
	}
	if a.ID == "" || a.ID != b.ID {
		t.Errorf("derived ids %q and %q, want one id", a.ID, b.ID)
	}
	if got, want := countRows(t, e, `SELECT count(*) FROM session_attendees`), 1; got != want {
		t.Errorf("attendee rows = %d, want %d", got, want)
	}
	// The phone's own id still works for later edits (an alias).
	p := e.push("memberA1", mut{"mid": 2, "table": "session_attendees", "op": "delete", "id": uuidN(32)})
	if diff := cmp.Diff([]string{"applied"}, statuses(p)); diff != "" {
		t.Errorf("remove by alias (-want +got):\n%s", diff)
	}
	if got, want := countRows(t, e, `SELECT count(*) FROM session_attendees WHERE removed = 1`), 1; got != want {
		t.Errorf("removed attendees = %d, want %d (removal is a flag)", got, want)
	}
}

func TestSyncSessionSameFieldClash(t *testing.T) {
	e := newTestEnv(t)
	session := uuidN(40)
	base := e.push("leadA1", mut{"mid": 1, "table": "training_sessions", "op": "create", "id": session,
		"fields": map[string]any{"notes": "original", "place": "Hall"}}).Results[0].Version
	patch := func(key string, mid int64, fields map[string]any) pushResult {
		return e.push(key, mut{"mid": mid, "table": "training_sessions", "op": "patch", "id": session, "base_version": base, "fields": fields}).Results[0]
	}
	// Two offline edits by one member on the same base supersede each other.
	if diff := cmp.Diff([]string{"applied"}, statuses(e.push("memberA1", mut{"mid": 1, "table": "training_sessions", "op": "patch", "id": session,
		"base_version": base, "fields": map[string]any{"notes": "draft"}}))); diff != "" {
		t.Errorf("own first edit (-want +got):\n%s", diff)
	}
	first := patch("memberA1", 2, map[string]any{"notes": "from member", "attendees": 12})
	second := patch("leadA1", 2, map[string]any{"notes": "from lead", "place": "School"})
	if got := countRows(t, e, `SELECT count(*) FROM sync_conflicts`); got != 1 {
		t.Errorf("conflicts = %d, want 1 (the member's own edits do not conflict)", got)
	}
	if first.Status != "applied" {
		t.Errorf("first: %s, want applied", first.Status)
	}
	if second.Status != "merged" || second.ConflictID == "" {
		t.Fatalf("second: %+v, want merged with a conflict id", second)
	}
	var r replica
	e.syncAll("leadA1", &r, 500)
	scope := r.rows[teamScopeName(e.teamA1.ID)]
	var sess struct {
		Notes     string `json:"notes"`
		Place     string `json:"place"`
		Attendees int    `json:"attendees"`
	}
	json.Unmarshal(scope["training_sessions/"+session].Row, &sess)
	if diff := cmp.Diff(struct {
		Notes     string `json:"notes"`
		Place     string `json:"place"`
		Attendees int    `json:"attendees"`
	}{"from lead", "School", 12}, sess); diff != "" {
		t.Errorf("merged session (-want +got):\n%s", diff)
	}
	var conflict struct {
		Field     string `json:"field"`
		LostValue string `json:"lost_value"`
		WonValue  string `json:"won_value"`
		LostBy    int64  `json:"lost_by"`
	}
	c, ok := scope["sync_conflicts/"+second.ConflictID]
	if !ok {
		t.Fatalf("conflict %s not pulled", second.ConflictID)
	}
	json.Unmarshal(c.Row, &conflict)
	want := conflict
	want.Field, want.LostValue, want.WonValue, want.LostBy = "notes", "from member", "from lead", e.users["memberA1"].ID
	if diff := cmp.Diff(want, conflict); diff != "" {
		t.Errorf("conflict (-want +got):\n%s", diff)
	}
	// Resolving is a patch, by the loser.
	if diff := cmp.Diff([]string{"rejected/forbidden"}, statuses(e.push("memberA2", mut{"mid": 1, "table": "sync_conflicts", "op": "patch",
		"id": second.ConflictID, "fields": map[string]any{"resolved": true}}))); diff != "" {
		t.Errorf("resolve by another team's member (-want +got):\n%s", diff)
	}
	p := e.push("memberA1", mut{"mid": 3, "table": "sync_conflicts", "op": "patch", "id": second.ConflictID, "fields": map[string]any{"resolved": true}})
	if diff := cmp.Diff([]string{"applied"}, statuses(p)); diff != "" {
		t.Errorf("resolve (-want +got):\n%s", diff)
	}
}

func TestSyncSessionStatusCannotGoBackwards(t *testing.T) {
	e := newTestEnv(t)
	session := uuidN(50)
	e.push("leadA1", mut{"mid": 1, "table": "training_sessions", "op": "create", "id": session},
		mut{"mid": 2, "table": "training_sessions", "op": "patch", "id": session, "fields": map[string]any{"status": "reported"}})
	p := e.push("memberA1", mut{"mid": 1, "table": "training_sessions", "op": "patch", "id": session, "fields": map[string]any{"status": "held", "notes": "kept"}})
	if got := p.Results[0]; got.Status != "merged" || got.ConflictID == "" {
		t.Errorf("backward status: %+v, want merged with a conflict", got)
	}
	var status, notes string
	rawDB(t, e).QueryRow(`SELECT status, notes FROM training_sessions WHERE id = ?`, session).Scan(&status, &notes)
	if status != "reported" || notes != "kept" {
		t.Errorf("status, notes = %q, %q; want reported, kept", status, notes)
	}
}

func TestSyncLockedRejectsMemberEdit(t *testing.T) {
	e := newTestEnv(t)
	session, log := uuidN(60), uuidN(61)
	e.push("memberA1", mut{"mid": 1, "table": "training_sessions", "op": "create", "id": session}, logCreate(2, log))
	if diff := cmp.Diff([]string{"rejected/forbidden"}, statuses(e.push("leadA1",
		mut{"mid": 1, "table": "training_sessions", "op": "patch", "id": session, "fields": map[string]any{"status": "locked"}}))); diff != "" {
		t.Errorf("lead locking (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"applied"}, statuses(e.push("coordA",
		mut{"mid": 1, "table": "training_sessions", "op": "patch", "id": session, "fields": map[string]any{"status": "locked"}}))); diff != "" {
		t.Errorf("coordinator locking (-want +got):\n%s", diff)
	}
	if err := e.store.LockLog(context.Background(), actorOf(t, e, "coordA"), log, true); err != nil {
		t.Fatal(err)
	}
	p := e.push("memberA1",
		mut{"mid": 3, "table": "training_sessions", "op": "patch", "id": session, "fields": map[string]any{"notes": "late"}},
		mut{"mid": 4, "table": "assistance_logs", "op": "patch", "id": log, "fields": map[string]any{"notes": "late"}},
		mut{"mid": 5, "table": "assistance_logs", "op": "delete", "id": log},
	)
	if diff := cmp.Diff([]string{"rejected/locked", "rejected/locked", "rejected/locked"}, statuses(p)); diff != "" {
		t.Errorf("member edits of locked rows (-want +got):\n%s", diff)
	}
}

func TestSyncDeleteWinsOverLaterPatch(t *testing.T) {
	e := newTestEnv(t)
	e.push("memberA1", logCreate(1, uuidN(1)))
	p := e.push("leadA1", mut{"mid": 1, "table": "assistance_logs", "op": "delete", "id": uuidN(1)})
	p2 := e.push("memberA1", mut{"mid": 2, "table": "assistance_logs", "op": "patch", "id": uuidN(1), "fields": map[string]any{"notes": "x"}})
	if diff := cmp.Diff([]string{"applied", "rejected/deleted"}, append(statuses(p), statuses(p2)...)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSyncReadOnlyTables(t *testing.T) {
	e := newTestEnv(t)
	p := e.push("coordA",
		mut{"mid": 1, "table": "services", "op": "create", "id": uuidN(1)},
		mut{"mid": 2, "table": "areas", "op": "patch", "id": uuidN(2)},
		mut{"mid": 3, "table": "indicators", "op": "delete", "id": uuidN(3)},
		mut{"mid": 4, "table": "sync_conflicts", "op": "create", "id": uuidN(4)},
		mut{"mid": 5, "table": "barriers", "op": "patch", "id": uuidN(5)},
	)
	for i, s := range statuses(p) {
		if s != "rejected/read_only" {
			t.Errorf("mutation %d: %s, want rejected/read_only", i+1, s)
		}
	}
}

func TestSyncEnvelopeChecks(t *testing.T) {
	e := newTestEnv(t)
	var big []mut
	for i := 1; i <= 200; i++ {
		big = append(big, logCreate(int64(i), uuidN(i), "notes", strings.Repeat("n", 2700)))
	}
	cases := []struct {
		name     string
		body     map[string]any
		wantCode string
		want     int
	}{
		{"body over 512 KB", map[string]any{"protocol": 1, "device_id": e.deviceOf("memberA1"), "schema_version": 1, "mutations": big}, "too_large", 413},
		{"another user's device", map[string]any{"protocol": 1, "device_id": e.deviceOf("memberA2"), "schema_version": 1}, "forbidden", 403},
		{"unsupported schema", map[string]any{"protocol": 1, "device_id": e.deviceOf("memberA1"), "schema_version": 99}, "unsupported_schema", 409},
		{"too many mutations", map[string]any{"protocol": 1, "device_id": e.deviceOf("memberA1"), "schema_version": 1, "mutations": make([]mut, 201)}, "validation_failed", 422},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("POST", "/v1/sync/push", e.token("memberA1"), c.body)
			if r.Status != c.want || r.ErrorCode() != c.wantCode {
				t.Errorf("got %d %s, want %d %s", r.Status, r.ErrorCode(), c.want, c.wantCode)
			}
		})
	}
}

// A reinstalled app (new device, mids from 1) re-sends a create the server
// already has: from the same author it is a patch, not a second row.
func TestSyncCreateOfExistingIDBySameAuthorIsPatch(t *testing.T) {
	e := newTestEnv(t)
	e.push("memberA1", logCreate(1, uuidN(1)))
	dev := "00000000-0000-4000-8000-0000000000ff"
	sess, err := e.store.OpenSession(context.Background(), e.users["memberA1"].ID, store.DeviceInfo{ID: dev, Platform: "android"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.tokens.Issue(e.users["memberA1"].ID, dev, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/v1/sync/push", tok, map[string]any{"protocol": 1, "device_id": dev, "schema_version": 1,
		"mutations": []mut{logCreate(1, uuidN(1), "notes", "again")}})
	var p pushResp
	json.Unmarshal(r.Body, &p)
	if diff := cmp.Diff([]string{"applied"}, statuses(p)); diff != "" {
		t.Errorf("(-want +got):\n%s\n%s", diff, r.Body)
	}
	var n int
	var notes string
	rawDB(t, e).QueryRow(`SELECT count(*), max(notes) FROM assistance_logs`).Scan(&n, &notes)
	if n != 1 || notes != "again" {
		t.Errorf("rows, notes = %d, %q; want 1, again", n, notes)
	}
	// The same id from another author is refused.
	if diff := cmp.Diff([]string{"rejected/forbidden"}, statuses(e.push("leadA1", logCreate(1, uuidN(1))))); diff != "" {
		t.Errorf("other author (-want +got):\n%s", diff)
	}
}

// Progress reports are append-only: leads add, corrections are new entries,
// only coordinators void; members cannot write them at all.
func TestSyncProgressReportsAppendOnly(t *testing.T) {
	e := newTestEnv(t)
	report := func(mid int64, id string, extra ...any) mut {
		f := map[string]any{"indicator": "households_fibre", "as_of": "2026-11-01", "value": 120}
		for i := 0; i+1 < len(extra); i += 2 {
			f[extra[i].(string)] = extra[i+1]
		}
		return mut{"mid": mid, "table": "progress_reports", "op": "create", "id": id, "fields": f}
	}
	p := e.push("leadA1",
		report(1, uuidN(1)),
		report(2, uuidN(2), "value", 125, "corrects", uuidN(1)),
		mut{"mid": 3, "table": "progress_reports", "op": "patch", "id": uuidN(1), "fields": map[string]any{"value": 130}},
		mut{"mid": 4, "table": "progress_reports", "op": "delete", "id": uuidN(1)},
		mut{"mid": 5, "table": "progress_reports", "op": "patch", "id": uuidN(1), "fields": map[string]any{"void": true}},
		report(6, uuidN(3), "indicator", "happiness"),
	)
	want := []string{"applied", "applied", "rejected/forbidden", "rejected/forbidden", "rejected/forbidden", "rejected/validation_failed"}
	if diff := cmp.Diff(want, statuses(p)); diff != "" {
		t.Errorf("lead (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"rejected/forbidden"}, statuses(e.push("memberA1", report(1, uuidN(4))))); diff != "" {
		t.Errorf("member (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"rejected/forbidden"}, statuses(e.push("coordB", mut{"mid": 1, "table": "progress_reports", "op": "patch", "id": uuidN(1), "fields": map[string]any{"void": true}}))); diff != "" {
		t.Errorf("coordinator of another commune (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"applied"}, statuses(e.push("coordA", mut{"mid": 1, "table": "progress_reports", "op": "patch", "id": uuidN(1), "fields": map[string]any{"void": true}}))); diff != "" {
		t.Errorf("coordinator voiding (-want +got):\n%s", diff)
	}
	if got, want := countRows(t, e, `SELECT count(*) FROM progress_reports WHERE void = 1`), 1; got != want {
		t.Errorf("void reports = %d, want %d", got, want)
	}
}

// Every applied mutation leaves an audit entry naming user, device and mid,
// and only the names of the fields it set.
func TestSyncAuditTrail(t *testing.T) {
	e := newTestEnv(t)
	e.push("memberA1", logCreate(1, uuidN(1), "citizen_id_number", "038090001234"), logCreate(2, "bad-id"))
	trail, err := e.store.AuditTrail(context.Background(), "assistance_logs", uuidN(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(trail) != 1 {
		t.Fatalf("audit entries = %d, want 1", len(trail))
	}
	got := trail[0]
	if got.UserID != e.users["memberA1"].ID || got.DeviceID != e.deviceOf("memberA1") || got.Mid != 1 || got.Action != "create" {
		t.Errorf("audit entry %+v, want create by memberA1 from its device with mid 1", got)
	}
	if bytes.Contains(got.Detail, []byte("038090001234")) || !bytes.Contains(got.Detail, []byte("citizen_id_number")) {
		t.Errorf("audit detail %s: want the field name, never the value", got.Detail)
	}
	// A create sent again under a new mid for the row that exists changes
	// it: an update in the trail. A patch follows, and a coordinator's lock.
	e.push("memberA1", logCreate(3, uuidN(1), "notes", "again"),
		mut{"mid": 4, "table": "assistance_logs", "op": "patch", "id": uuidN(1), "fields": map[string]any{"notes": "x"}})
	if err := e.store.LockLog(context.Background(), actorOf(t, e, "coordA"), uuidN(1), true); err != nil {
		t.Fatal(err)
	}
	trail, err = e.store.AuditTrail(context.Background(), "assistance_logs", uuidN(1))
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, a := range trail {
		seen = append(seen, fmt.Sprintf("%s/%d", a.Action, a.Mid))
	}
	if want := []string{"create/1", "update/3", "patch/4", "lock/0"}; !slices.Equal(seen, want) {
		t.Errorf("audit trail %v, want %v", seen, want)
	}
	// Another log's trail holds none of these.
	if other, err := e.store.AuditTrail(context.Background(), "assistance_logs", uuidN(2)); err != nil || len(other) != 0 {
		t.Errorf("trail of a log never created: %v, %v", other, err)
	}
}

// TestPushRejectionsSpeakTheCallersLanguage: a rejected mutation's code is
// a sentence and each bad field's reason too, in Vietnamese by default and
// in English on request, with stable reason codes beside them.
func TestPushRejectionsSpeakTheCallersLanguage(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct {
		lang, message, phone, notes string
		mid                         int64
	}{
		{"", "Một số trường không hợp lệ.", "Số điện thoại phải là số di động Việt Nam (10 chữ số, bắt đầu bằng 0).", "Nội dung quá dài.", 1},
		{"en", "Some fields are invalid.", "The phone number must be a Vietnamese mobile number (10 digits starting with 0).", "The text is too long.", 2},
	} {
		m := logCreate(tc.mid, uuidN(int(tc.mid)), "citizen_phone", "12345", "notes", string(bytes.Repeat([]byte("x"), 2001)))
		r := e.do("POST", "/v1/sync/push", e.token("memberA1"), map[string]any{"protocol": 1, "device_id": e.deviceOf("memberA1"),
			"schema_version": 1, "mutations": []mut{m}}, "Accept-Language", tc.lang)
		var p struct {
			Results []struct {
				Code, Message   string
				Fields, Reasons map[string]string
			}
		}
		if err := json.Unmarshal(r.Body, &p); err != nil || r.Status != 200 || len(p.Results) != 1 {
			t.Fatalf("push: %d %s %v", r.Status, r.Body, err)
		}
		got := p.Results[0]
		if got.Code != "validation_failed" || got.Message != tc.message || got.Fields["notes"] != tc.notes || got.Reasons["notes"] != "too_long" {
			t.Errorf("lang %q: %+v, want message %q and notes %q (too_long)", tc.lang, got, tc.message, tc.notes)
		}
	}
	// The phone reason, alone.
	r := e.do("POST", "/v1/sync/push", e.token("memberA1"), map[string]any{"protocol": 1, "device_id": e.deviceOf("memberA1"),
		"schema_version": 1, "mutations": []mut{logCreate(3, uuidN(3), "citizen_phone", "12345")}}, "Accept-Language", "vi")
	if !strings.Contains(string(r.Body), `"citizen_phone":"Số điện thoại phải là số di động Việt Nam (10 chữ số, bắt đầu bằng 0)."`) ||
		!strings.Contains(string(r.Body), `"reasons":{"citizen_phone":"bad_phone"}`) {
		t.Errorf("a bad citizen phone: %s", r.Body)
	}
}
