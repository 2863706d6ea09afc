package server

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"toso/phone"
	"toso/store"
)

// The named failures of the sync issue, driven through the reference phone
// client against the real HTTP server.

// dropPushResponse lets the server handle the next push and loses its
// answer, like a phone that went into a tunnel after sending.
type dropPushResponse struct {
	mu    sync.Mutex
	armed bool
}

func (d *dropPushResponse) arm() { d.mu.Lock(); d.armed = true; d.mu.Unlock() }

func (d *dropPushResponse) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	d.mu.Lock()
	drop := d.armed && strings.HasSuffix(req.URL.Path, "/sync/push")
	if drop {
		d.armed = false
	}
	d.mu.Unlock()
	if err == nil && drop {
		resp.Body.Close()
		return nil, phone.ErrInjected
	}
	return resp, err
}

// openPhone opens a phone database at path for fixture user key and signs in.
func openPhone(t *testing.T, e *testEnv, base, path, key string, rt http.RoundTripper) *phone.Client {
	t.Helper()
	if rt == nil {
		rt = http.DefaultTransport
	}
	c, err := phone.Open(context.Background(), path, phone.Config{BaseURL: base, HTTP: &http.Client{Transport: rt}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(context.Background(), e.users[key].Phone, "password-"+key); err != nil {
		t.Fatal(err)
	}
	return c
}

func statusesOf(t *testing.T, c *phone.Client) []string {
	t.Helper()
	entries, err := c.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		s := en.Status
		if en.Code != "" {
			s += "/" + en.Code
		}
		out = append(out, s)
	}
	return out
}

func logFields(team int64) map[string]any {
	return map[string]any{"team_id": team, "occurred_at": "2026-11-20T09:12:00Z",
		"outcomes": []map[string]any{{"service": "vneid_l2", "result": "not_done", "barrier": "no_smartphone"}}}
}

// The server commits a push, the answer is lost, the app is killed and
// started again: the retried push gets the stored results and nothing is
// applied twice.
func TestPhonePushResponseLostThenAppRestarted(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	base, path := e.listen(), filepath.Join(t.TempDir(), "phone.db")
	drop := &dropPushResponse{}
	c := openPhone(t, e, base, path, "memberA1", drop)
	for _, id := range []string{uuidN(1), uuidN(2)} {
		if _, err := c.Create(ctx, "assistance_logs", id, logFields(e.teamA1.ID), ""); err != nil {
			t.Fatal(err)
		}
	}
	drop.arm()
	if _, err := c.Push(ctx); !errors.Is(err, phone.ErrInjected) {
		t.Fatalf("push error = %v, want the injected fault", err)
	}
	if got, want := countRows(t, e, `SELECT count(*) FROM assistance_logs`), 2; got != want {
		t.Fatalf("server rows after the lost response = %d, want %d (the push committed)", got, want)
	}
	if n, _ := c.Pending(ctx); n != 2 {
		t.Fatalf("pending = %d, want 2: the phone never saw the results", n)
	}
	c.Close()
	c = openPhone(t, e, base, path, "memberA1", nil)
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"applied", "applied"}, statusesOf(t, c)); diff != "" {
		t.Errorf("outbox after restart (-want +got):\n%s", diff)
	}
	if got, want := countRows(t, e, `SELECT count(*) FROM assistance_logs`), 2; got != want {
		t.Errorf("server rows = %d, want %d: a retried push applied twice", got, want)
	}
	rows, _ := c.Rows(ctx, teamScopeName(e.teamA1.ID))
	if got, want := len(rows), 2; got != want {
		t.Errorf("local rows = %d, want %d", got, want)
	}
}

// A member moved to another team with edits pending: they come back
// rejected, visibly; the old team's rows leave the phone, the new team's
// arrive.
func TestPhoneMemberMovedWithPendingLogs(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	base := e.listen()
	c := openPhone(t, e, base, filepath.Join(t.TempDir(), "phone.db"), "memberA1", nil)
	c.Create(ctx, "assistance_logs", uuidN(1), logFields(e.teamA1.ID), "")
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	e.push("memberA2", logCreate(1, uuidN(9), "team_id", e.teamA2.ID))
	c.Patch(ctx, "assistance_logs", uuidN(1), 0, map[string]any{"notes": "late edit"}, "")
	c.Create(ctx, "assistance_logs", uuidN(2), logFields(e.teamA1.ID), "")
	to := e.teamA2.ID
	if _, err := e.store.UpdateUser(ctx, store.System, e.users["memberA1"].ID, store.UserPatch{TeamID: &to}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"applied", "rejected/forbidden", "rejected/forbidden"}, statusesOf(t, c)); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}
	scopes, _ := c.Scopes(ctx)
	if contains(scopes, teamScopeName(e.teamA1.ID)) || !contains(scopes, teamScopeName(e.teamA2.ID)) {
		t.Errorf("scopes = %v, want team A2 and not team A1", scopes)
	}
	var ids []string
	rows, _ := c.Rows(ctx, "")
	for _, r := range rows {
		if r.Table == "assistance_logs" {
			ids = append(ids, r.ID)
		}
	}
	if diff := cmp.Diff([]string{uuidN(9)}, ids); diff != "" {
		t.Errorf("logs on the phone (-want +got):\n%s", diff)
	}
}

// Two phones add the same person to a session under different ids: one
// row, both phones hold it under the server's id, and the phone's own id
// still works for a removal.
func TestPhoneTwoPhonesAddSameAttendee(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	base := e.listen()
	lead := openPhone(t, e, base, filepath.Join(t.TempDir(), "lead.db"), "leadA1", nil)
	member := openPhone(t, e, base, filepath.Join(t.TempDir(), "member.db"), "memberA1", nil)
	session := uuidN(100)
	lead.Create(ctx, "training_sessions", session, map[string]any{"team_id": e.teamA1.ID, "place": "Nhà văn hóa"}, "")
	if err := lead.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	add := map[string]any{"session_id": session, "name": "Lò Văn A", "consent": true}
	lead.Create(ctx, "session_attendees", uuidN(1), add, "")
	add["name"] = "  lò văn a "
	member.Create(ctx, "session_attendees", uuidN(2), add, "")
	for _, c := range []*phone.Client{lead, member, lead, member} {
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := countRows(t, e, `SELECT count(*) FROM session_attendees`), 1; got != want {
		t.Fatalf("attendee rows = %d, want %d", got, want)
	}
	var serverID string
	rawDB(t, e).QueryRow(`SELECT id FROM session_attendees`).Scan(&serverID)
	for name, c := range map[string]*phone.Client{"lead": lead, "member": member} {
		entries, _ := c.Outbox(ctx)
		last := entries[len(entries)-1]
		if last.Status != "applied" || last.ServerID != serverID {
			t.Errorf("%s: result %s with server id %q, want applied with %q", name, last.Status, last.ServerID, serverID)
		}
		var ids []string
		rows, _ := c.Rows(ctx, "")
		for _, r := range rows {
			if r.Table == "session_attendees" {
				ids = append(ids, r.ID)
			}
		}
		if diff := cmp.Diff([]string{serverID}, ids); diff != "" {
			t.Errorf("%s: attendees on the phone (-want +got):\n%s", name, diff)
		}
	}
	member.Delete(ctx, "session_attendees", uuidN(2), 0)
	if err := member.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := countRows(t, e, `SELECT count(*) FROM session_attendees WHERE removed = 1`), 1; got != want {
		t.Errorf("removed rows = %d, want %d: the phone's own id did not reach the row", got, want)
	}
}

// A phone offline past the tombstone horizon gets a reset: it pushes its
// pending work first, then pulls the scope from the start and ends with
// exactly what a fresh phone holds.
func TestPhoneOfflinePastHorizon(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	base := e.listen()
	c := openPhone(t, e, base, filepath.Join(t.TempDir(), "phone.db"), "memberA1", nil)
	c.Create(ctx, "assistance_logs", uuidN(1), logFields(e.teamA1.ID), "")
	c.Create(ctx, "assistance_logs", uuidN(2), logFields(e.teamA1.ID), "")
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	e.push("leadA1", mut{"mid": 1, "table": "assistance_logs", "op": "delete", "id": uuidN(1)})
	if err := e.store.PruneSync(ctx, timeNow().Add(store.TombstoneHorizon+24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	c.Create(ctx, "assistance_logs", uuidN(3), logFields(e.teamA1.ID), "") // written offline
	st, err := c.Pull(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Resets == 0 { // every scope whose cursor predates the horizon
		t.Errorf("resets = 0, want the team scope at least")
	}
	if diff := cmp.Diff([]string{"applied", "applied", "applied"}, statusesOf(t, c)); diff != "" {
		t.Errorf("outbox (-want +got): the pending log must be pushed before the reset\n%s", diff)
	}
	fresh := openPhone(t, e, base, filepath.Join(t.TempDir(), "fresh.db"), "memberA1", nil)
	if _, err := fresh.Pull(ctx); err != nil {
		t.Fatal(err)
	}
	want, _ := fresh.Rows(ctx, "")
	got, _ := c.Rows(ctx, "")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("phone after reset differs from a fresh pull (-fresh +phone):\n%s", diff)
	}
}
