package server

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"toso/phone"
)

// The inbox through sync: a published announcement reaches the recipient's
// phone in its user: scope, opening and acknowledging it travel back in a
// push, and a retraction removes it from every phone.
func TestSyncInboxReadAckRetract(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	base := e.listen()
	coordA := e.token("coordA")

	created := e.do("POST", "/v1/announcements", coordA, announcementBody("Chiến dịch VNeID", e.communeA.ID))
	if created.Status != 201 {
		t.Fatalf("create: got %d %s", created.Status, created.Body)
	}
	id := int64(created.JSON(t)["id"].(float64))
	sid := strconv.FormatInt(id, 10)
	path := fmt.Sprintf("/v1/announcements/%d", id)
	pub := e.do("POST", path+"/publish", coordA, nil)
	if pub.Status != 200 {
		t.Fatalf("publish: got %d %s", pub.Status, pub.Body)
	}
	publishedAt, err := time.Parse(time.RFC3339, pub.JSON(t)["published_at"].(string))
	if err != nil {
		t.Fatal(err)
	}

	a1 := openPhone(t, e, base, filepath.Join(t.TempDir(), "a1.db"), "memberA1", nil)
	b1 := openPhone(t, e, base, filepath.Join(t.TempDir(), "b1.db"), "memberB1", nil)
	for _, c := range []*phone.Client{a1, b1} {
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	inbox, err := a1.Inbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(inbox) != 1 || inbox[0].ID != sid || inbox[0].Title != "Chiến dịch VNeID" || !inbox[0].AckRequired ||
		inbox[0].ReadAt != "" {
		t.Fatalf("memberA1 inbox after sync = %+v, want the announcement, unread", inbox)
	}
	if got := countRows(t, e, `SELECT count(*) FROM announcement_receipts WHERE announcement_id = ? AND user_id = ?
		AND delivered_at IS NOT NULL`, id, e.users["memberA1"].ID); got != 1 {
		t.Errorf("memberA1 receipt delivered after the pull: got %d rows, want 1", got)
	}
	if got, _ := b1.Inbox(ctx); len(got) != 0 {
		t.Errorf("memberB1 (commune B) inbox = %+v, want empty", got)
	}

	// Opened offline, acknowledged a moment later; both travel in one
	// push and keep the phone's times (they lie between publication and
	// the server's now, so no clamping applies).
	readAt := publishedAt
	if _, err := a1.MarkRead(ctx, sid, readAt); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.Acknowledge(ctx, sid, readAt.Add(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	// memberB1 is not a recipient: a crafted receipt is refused, visibly.
	if _, err := b1.MarkRead(ctx, sid, readAt); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*phone.Client{a1, b1} {
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"applied", "applied"}, statusesOf(t, a1)); diff != "" {
		t.Errorf("memberA1 outbox (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"rejected/not_found"}, statusesOf(t, b1)); diff != "" {
		t.Errorf("memberB1 outbox (-want +got):\n%s", diff)
	}
	var gotRead, gotAck string
	if err := rawDB(t, e).QueryRow(`SELECT read_at, acked_at FROM announcement_receipts WHERE announcement_id = ? AND user_id = ?`,
		id, e.users["memberA1"].ID).Scan(&gotRead, &gotAck); err != nil {
		t.Fatal(err)
	}
	wantRead, wantAck := readAt.Format("2006-01-02T15:04:05.000Z"), readAt.Add(time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	if gotRead != wantRead || gotAck != wantAck {
		t.Errorf("server receipt read, acked = %s, %s; want %s, %s (the phone's times)", gotRead, gotAck, wantRead, wantAck)
	}
	inbox, _ = a1.Inbox(ctx)
	if len(inbox) != 1 || inbox[0].ReadAt != wantRead || inbox[0].AckedAt != wantAck {
		t.Errorf("memberA1 inbox after the ack = %+v, want read and acked at the phone's times", inbox)
	}

	// The coordinator sees it in the receipts roll-up.
	total := e.do("GET", path+"/receipts", coordA, nil).JSON(t)["total"].(map[string]any)
	if total["delivered"] != 1.0 || total["read"] != 1.0 || total["acknowledged"] != 1.0 {
		t.Errorf("receipts total = %v, want delivered, read and acknowledged 1", total)
	}

	// Retracted: gone from the phone at its next pull, and a late ack is
	// answered `deleted`.
	if _, err := a1.Acknowledge(ctx, sid, readAt); err != nil {
		t.Fatal(err)
	}
	if r := e.do("POST", path+"/retract", coordA, nil); r.Status != 200 {
		t.Fatalf("retract: got %d %s", r.Status, r.Body)
	}
	if err := a1.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := a1.Inbox(ctx); len(got) != 0 {
		t.Errorf("memberA1 inbox after the retraction = %+v, want empty", got)
	}
	if diff := cmp.Diff([]string{"applied", "applied", "rejected/deleted"}, statusesOf(t, a1)); diff != "" {
		t.Errorf("memberA1 outbox after the retraction (-want +got):\n%s", diff)
	}
	user := "user:" + fmtID(e.users["memberA1"].ID)
	local, err := a1.Digest(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if local.Count != 0 {
		t.Errorf("memberA1 %s digest count = %d, want 0", user, local.Count)
	}
}

// Receipt patches are validated like every other mutation.
func TestSyncReceiptValidation(t *testing.T) {
	e := newTestEnv(t)
	coordA := e.token("coordA")
	id := int64(e.do("POST", "/v1/announcements", coordA, announcementBody("Họp tổ", e.communeA.ID)).JSON(t)["id"].(float64))
	if r := e.do("POST", fmt.Sprintf("/v1/announcements/%d/publish", id), coordA, nil); r.Status != 200 {
		t.Fatalf("publish: got %d %s", r.Status, r.Body)
	}
	sid := strconv.FormatInt(id, 10)
	res := e.push("memberA1",
		mut{"mid": 1, "table": "announcement_receipts", "op": "create", "id": sid, "fields": map[string]any{"read_at": "2026-11-20T09:00:00Z"}},
		mut{"mid": 2, "table": "announcement_receipts", "op": "patch", "id": "0" + sid, "fields": map[string]any{"read_at": "2026-11-20T09:00:00Z"}},
		mut{"mid": 3, "table": "announcement_receipts", "op": "patch", "id": sid, "fields": map[string]any{}},
		mut{"mid": 4, "table": "announcement_receipts", "op": "patch", "id": sid, "fields": map[string]any{"read_at": "yesterday"}},
		mut{"mid": 5, "table": "announcement_receipts", "op": "patch", "id": sid, "fields": map[string]any{"read_at": ""}},
		mut{"mid": 6, "table": "announcement_receipts", "op": "patch", "id": sid, "fields": map[string]any{"user_id": 1, "read_at": "2026-11-20T09:00:00Z"}},
		mut{"mid": 7, "table": "announcement_receipts", "op": "patch", "id": "999999", "fields": map[string]any{"read_at": "2026-11-20T09:00:00Z"}},
		mut{"mid": 8, "table": "announcement_receipts", "op": "patch", "id": sid, "fields": map[string]any{"read_at": "2099-01-01T00:00:00Z"}},
	)
	var got []string
	for _, r := range res.Results {
		got = append(got, r.Status+"/"+r.Code)
	}
	want := []string{"rejected/read_only", "rejected/validation_failed", "rejected/validation_failed",
		"rejected/validation_failed", "rejected/validation_failed", "rejected/validation_failed", "rejected/not_found", "applied/"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	// A time ahead of the server is clamped to the server's now, not kept.
	var readAt string
	if err := rawDB(t, e).QueryRow(`SELECT read_at FROM announcement_receipts WHERE announcement_id = ? AND user_id = ?`,
		id, e.users["memberA1"].ID).Scan(&readAt); err != nil {
		t.Fatal(err)
	}
	if readAt >= "2099" {
		t.Errorf("read_at = %s, want clamped to the server's now", readAt)
	}
}
