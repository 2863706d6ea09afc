package notifications

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"toso/store"
)

// The receipts rollup counts pushes: sent (one device enough), failed
// (every device dead), no device.
func TestRollupAfterPush(t *testing.T) {
	f := newFixture(t, nil)
	fcm := newFakeFCM(t)
	// Users u0, u1, u2; devices round robin: u0 gets tokens 0 and 3, u1 token 1, u2 token 2.
	tokens := f.addMembers(t, 3, 4, f.clock.Now())
	if _, err := f.db.Exec(`UPDATE devices SET push_token = NULL WHERE push_token = ?`, tokens[2]); err != nil {
		t.Fatal(err)
	}
	dead := map[string]bool{tokens[0]: true, tokens[1]: true}
	fcm.setReply(func(tok string, _ int) fcmReply {
		if dead[tok] {
			return fcmError(404, "NOT_FOUND", "UNREGISTERED")
		}
		return okReply
	})
	an := f.publish(t, store.PriorityNormal, time.Time{})
	w := newTestWorker(f, fcm, t, Config{})
	step(t, w)

	got, err := f.st.ReceiptRollups(context.Background(), f.admin, an.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ReceiptRollup{{AreaID: f.team.AreaID, AreaName: "Thôn A1", Role: store.RoleMember,
		Recipients: 3, PushSent: 1, PushFailed: 1, NoDevice: 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rollup (-want +got):\n%s", diff)
	}
}

// A token the phone refreshed after publication replaces the snapshot;
// a token cleared meanwhile closes the row without a send.
func TestClaimUsesCurrentToken(t *testing.T) {
	f := newFixture(t, nil)
	fcm := newFakeFCM(t)
	tokens := f.addMembers(t, 2, 2, f.clock.Now())
	an := f.publish(t, store.PriorityNormal, time.Time{})
	if _, err := f.db.Exec(`UPDATE devices SET push_token = 'refreshed' WHERE push_token = ?`, tokens[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(`UPDATE devices SET push_token = NULL WHERE push_token = ?`, tokens[1]); err != nil {
		t.Fatal(err)
	}
	step(t, newTestWorker(f, fcm, t, Config{}))
	_, seen, _ := fcm.counts()
	if diff := cmp.Diff(map[string]int{"refreshed": 1}, seen); diff != "" {
		t.Errorf("tokens sent to (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{store.PushSent: 1, store.PushInvalid: 1}, f.states(t, an.ID)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

// The worker publishes scheduled announcements when due and pushes them in
// the same round; a retracted one is never pushed.
func TestWorkerPublishesScheduled(t *testing.T) {
	f := newFixture(t, nil)
	fcm := newFakeFCM(t)
	f.addMembers(t, 2, 2, f.clock.Now())
	ctx := context.Background()
	schedule := func() *store.Announcement {
		an, err := f.st.CreateAnnouncement(ctx, f.admin, store.NewAnnouncement{Title: "t", Body: "b",
			Audience: store.Audience{AreaIDs: []int64{f.area.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		if an, err = f.st.PublishAnnouncement(ctx, f.admin, an.ID, f.clock.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		return an
	}
	kept, retracted := schedule(), schedule()
	if _, err := f.st.RetractAnnouncement(ctx, f.admin, retracted.ID); err != nil {
		t.Fatal(err)
	}
	w := newTestWorker(f, fcm, t, Config{})
	if got := step(t, w); got != 0 {
		t.Errorf("before the time: claimed %d rows, want 0", got)
	}
	f.clock.Advance(time.Hour)
	if got := step(t, w); got != 2 {
		t.Errorf("at the time: claimed %d rows, want 2", got)
	}
	if diff := cmp.Diff(map[string]int{store.PushSent: 2}, f.states(t, kept.ID)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if total, _, _ := fcm.counts(); total != 2 {
		t.Errorf("fake FCM saw %d requests, want 2", total)
	}
}

// Mode auto without credentials logs instead of sending, and every row
// ends sent.
func TestLogSender(t *testing.T) {
	f := newFixture(t, nil)
	f.addMembers(t, 2, 3, f.clock.Now())
	an := f.publish(t, store.PriorityNormal, time.Time{})
	sender, mode, err := NewSender(context.Background(), SenderConfig{Mode: ModeAuto}, discardLog())
	if err != nil || mode != ModeLog {
		t.Fatalf("got mode %q, %v; want log", mode, err)
	}
	w := NewWorker(f.st, sender, discardLog(), Config{Now: f.clock.Now})
	if _, err := w.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{store.PushSent: 3}, f.states(t, an.ID)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}
