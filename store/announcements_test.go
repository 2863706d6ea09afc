package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// annEnv is a store with a province P, communes A and B, a village and a
// team in each, and users: admin, coordinators of P and A, two members in
// A's team (one with two devices, one with a stale token) and one in B's.
type annEnv struct {
	s                 *Store
	clock             *time.Time
	p, a, b, va, vb   *Area
	ta, tb            *Team
	admin, coordP     Actor
	coordA            Actor
	memberA, member2A Actor
	memberB           Actor
}

func newAnnEnv(t *testing.T) *annEnv {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	e := &annEnv{clock: &now}
	s, err := Open(ctx, testDB(t, "toso.db"), Options{Now: func() time.Time { return *e.clock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e.s = s
	area := func(parent *Area, level, name string) *Area {
		var pid int64
		if parent != nil {
			pid = parent.ID
		}
		a, err := s.CreateArea(ctx, System, NewArea{ParentID: pid, Level: level, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	e.p = area(nil, "province", "P")
	e.a, e.b = area(e.p, "commune", "A"), area(e.p, "commune", "B")
	e.va, e.vb = area(e.a, "village", "VA"), area(e.b, "village", "VB")
	team := func(a *Area) *Team {
		tm, err := s.CreateTeam(ctx, System, NewTeam{AreaID: a.ID, Name: "T" + a.Name})
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	e.ta, e.tb = team(e.va), team(e.vb)
	n := 0
	user := func(role Role, teamID, areaID int64, tokens ...string) Actor {
		n++
		id := insertTestUser(t, s, fmt.Sprintf("09000001%02d", n), role, teamID, areaID)
		for i, tok := range tokens {
			seen := now
			if tok == "stale" {
				seen = now.Add(-TokenStaleAfter - time.Hour)
			}
			insertTestDevice(t, s, fmt.Sprintf("00000000-0000-4000-8000-%08d%04d", id, i), id, tok+fmt.Sprint(id, i), seen)
		}
		a, err := s.Actor(ctx, id, "")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	e.admin = user(RoleAdmin, 0, 0)
	e.coordP = user(RoleCoordinator, 0, e.p.ID, "tok")
	e.coordA = user(RoleCoordinator, 0, e.a.ID)
	e.memberA = user(RoleMember, e.ta.ID, 0, "tok", "tok")
	e.member2A = user(RoleTeamLead, e.ta.ID, 0, "stale")
	e.memberB = user(RoleMember, e.tb.ID, 0, "tok")
	return e
}

// insertTestUser writes a user directly (hashing passwords would make big
// fixtures slow).
func insertTestUser(t testing.TB, s *Store, phone string, role Role, teamID, areaID int64) int64 {
	t.Helper()
	var id int64
	now := ts(s.now())
	err := s.write.QueryRow(`INSERT INTO users (phone, name, role, team_id, area_id, password_hash, version, password_changed_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'x', 1, ?, ?, ?) RETURNING id`, phone, "u"+phone, role, nullInt(teamID), nullInt(areaID), now, now, now).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func insertTestDevice(t testing.TB, s *Store, id string, userID int64, token string, seen time.Time) {
	t.Helper()
	_, err := s.write.Exec(`INSERT INTO devices (id, user_id, platform, push_token, push_token_updated_at, last_seen_at, created_at)
		VALUES (?, ?, 'android', ?, ?, ?, ?)`, id, userID, token, ts(seen), ts(seen), ts(seen))
	if err != nil {
		t.Fatal(err)
	}
}

func TestAnnouncementAuthorization(t *testing.T) {
	e := newAnnEnv(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		actor Actor
		aud   Audience
		want  error
	}{
		{"admin anywhere", e.admin, Audience{AreaIDs: []int64{e.p.ID}}, nil},
		{"province coordinator in scope", e.coordP, Audience{AreaIDs: []int64{e.b.ID}}, nil},
		{"commune coordinator own root", e.coordA, Audience{AreaIDs: []int64{e.a.ID}}, nil},
		{"commune coordinator outside", e.coordA, Audience{AreaIDs: []int64{e.b.ID}}, ErrForbidden},
		{"commune coordinator above", e.coordA, Audience{AreaIDs: []int64{e.p.ID}}, ErrForbidden},
		{"commune coordinator team outside", e.coordA, Audience{AreaIDs: []int64{e.a.ID}, TeamIDs: []int64{e.tb.ID}}, ErrForbidden},
		{"member cannot create", e.memberA, Audience{AreaIDs: []int64{e.va.ID}}, ErrForbidden},
		{"no area", e.admin, Audience{}, ErrInvalid},
		{"bad role", e.admin, Audience{AreaIDs: []int64{e.p.ID}, Roles: []Role{"king"}}, ErrInvalid},
		{"unknown area", e.admin, Audience{AreaIDs: []int64{999}}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.s.CreateAnnouncement(ctx, tt.actor, NewAnnouncement{Title: "t", Body: "b", Audience: tt.aud})
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	// A province coordinator's announcement is visible to the commune
	// coordinator (overlap) but not manageable by them.
	an, err := e.s.CreateAnnouncement(ctx, e.coordP, NewAnnouncement{Title: "t", Body: "b", Audience: Audience{AreaIDs: []int64{e.p.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Announcement(ctx, e.coordA, an.ID); err != nil {
		t.Errorf("coordA sees province announcement: got %v, want nil", err)
	}
	if _, err := e.s.PublishAnnouncement(ctx, e.coordA, an.ID, time.Time{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("coordA publishes province announcement: got %v, want ErrForbidden", err)
	}
	if _, err := e.s.Announcement(ctx, e.memberA, an.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("member reads announcement as author side: got %v, want ErrNotFound", err)
	}
	if _, err := e.s.RetractAnnouncement(ctx, e.memberA, an.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("member retracts: got %v, want ErrNotFound", err)
	}
}

func TestPublishResolvesRecipients(t *testing.T) {
	e := newAnnEnv(t)
	ctx := context.Background()
	aud := Audience{AreaIDs: []int64{e.a.ID, e.va.ID}, Roles: []Role{RoleMember, RoleTeamLead}}
	preview, err := e.s.PreviewAudience(ctx, e.coordA, aud)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(AudienceCount{Users: 2, Devices: 2, NoDevice: 1}, preview); diff != "" {
		t.Errorf("preview (-want +got):\n%s", diff)
	}
	an, err := e.s.CreateAnnouncement(ctx, e.coordA, NewAnnouncement{Title: "VNeID", Body: "Monday", Priority: PriorityUrgent, AckRequired: true, Audience: aud})
	if err != nil {
		t.Fatal(err)
	}
	an, err = e.s.PublishAnnouncement(ctx, e.coordA, an.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if an.Status != AnnouncementPublished || an.Recipients != 2 {
		t.Errorf("got status %s recipients %d, want published 2", an.Status, an.Recipients)
	}
	rows, err := e.s.PushOutbox(ctx, an.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("got %d outbox rows, want 2 (memberA's two fresh devices): %+v", len(rows), rows)
	}
	for _, r := range rows {
		if r.UserID != e.memberA.UserID || r.State != PushPending {
			t.Errorf("outbox row %+v: want pending for user %d", r, e.memberA.UserID)
		}
	}
	// Versions: the announcement and each receipt take distinct seq values.
	changes, err := e.s.UserAnnouncementChanges(ctx, e.memberA.UserID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Receipt.Version <= changes[0].Announcement.Version {
		t.Fatalf("got changes %+v, want one item with the receipt after the announcement", changes)
	}
	changes2, _ := e.s.UserAnnouncementChanges(ctx, e.member2A.UserID, 0, 100)
	if len(changes2) != 1 || changes2[0].Receipt.Version == changes[0].Receipt.Version {
		t.Errorf("got receipt versions %+v and %+v, want distinct", changes, changes2)
	}
	if again, _ := e.s.UserAnnouncementChanges(ctx, e.memberA.UserID, changes[0].Version(), 100); len(again) != 0 {
		t.Errorf("after cursor: got %d changes, want 0", len(again))
	}
	if _, err := e.s.PublishAnnouncement(ctx, e.coordA, an.ID, time.Time{}); !errors.Is(err, ErrConflict) {
		t.Errorf("publish twice: got %v, want ErrConflict", err)
	}

	// Read, then ack earlier: earliest wins; the receipts roll up.
	*e.clock = e.clock.Add(time.Hour)
	if _, err := e.s.MarkRead(ctx, e.memberA, an.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	r, err := e.s.MarkAcked(ctx, e.memberA, an.ID, e.clock.Add(-30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if want := e.clock.Add(-30 * time.Minute); !r.ReadAt.Equal(want) || !r.AckedAt.Equal(want) || !r.DeliveredAt.Equal(want) {
		t.Errorf("got receipt %+v, want delivered, read and acked at %s", r, want)
	}
	if _, err := e.s.MarkRead(ctx, e.memberB, an.ID, time.Time{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("non-recipient reads: got %v, want ErrNotFound", err)
	}
	roll, err := e.s.ReceiptRollups(ctx, e.coordA, an.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []ReceiptRollup{
		{AreaID: e.va.ID, AreaName: "VA", Role: RoleMember, Recipients: 1, Delivered: 1, Read: 1, Acknowledged: 1},
		{AreaID: e.va.ID, AreaName: "VA", Role: RoleTeamLead, Recipients: 1, NoDevice: 1},
	}
	if diff := cmp.Diff(want, roll); diff != "" {
		t.Errorf("rollup (-want +got):\n%s", diff)
	}

	// Retract: pending pushes are cancelled, the inbox empties.
	if _, err := e.s.RetractAnnouncement(ctx, e.coordA, an.ID); err != nil {
		t.Fatal(err)
	}
	rows, _ = e.s.PushOutbox(ctx, an.ID)
	for _, r := range rows {
		if r.State != PushCancelled {
			t.Errorf("after retract: row %d is %s, want cancelled", r.ID, r.State)
		}
	}
	inbox, err := e.s.Inbox(ctx, e.memberA, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(inbox) != 0 {
		t.Errorf("inbox after retract: got %d items, want 0", len(inbox))
	}
}

func TestScheduledPublish(t *testing.T) {
	e := newAnnEnv(t)
	ctx := context.Background()
	an, err := e.s.CreateAnnouncement(ctx, e.admin, NewAnnouncement{Title: "t", Body: "b", Audience: Audience{AreaIDs: []int64{e.p.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	at := e.clock.Add(2 * time.Hour)
	an, err = e.s.PublishAnnouncement(ctx, e.admin, an.ID, at)
	if err != nil {
		t.Fatal(err)
	}
	if an.Status != AnnouncementScheduled || !an.PublishAt.Equal(at) {
		t.Fatalf("got %s at %s, want scheduled at %s", an.Status, an.PublishAt, at)
	}
	if n, err := e.s.PublishDue(ctx); err != nil || n != 0 {
		t.Fatalf("before time: got %d, %v; want 0", n, err)
	}
	*e.clock = at
	if n, err := e.s.PublishDue(ctx); err != nil || n != 1 {
		t.Fatalf("at time: got %d, %v; want 1", n, err)
	}
	an, _ = e.s.Announcement(ctx, e.admin, an.ID)
	// coordP, coordA, memberA, member2A, memberB (admins sit nowhere).
	if an.Status != AnnouncementPublished || an.Recipients != 5 {
		t.Errorf("got %s with %d recipients, want published with 5", an.Status, an.Recipients)
	}
}

func TestPruneTokens(t *testing.T) {
	e := newAnnEnv(t)
	ctx := context.Background()
	if n, err := e.s.PruneTokens(ctx); err != nil || n != 0 {
		t.Fatalf("got %d, %v; want 0 pruned", n, err)
	}
	*e.clock = e.clock.Add(TokenDeadAfter - 24*time.Hour)
	// Only the stale token (seen 60 days before the start) is past 270 days.
	if n, err := e.s.PruneTokens(ctx); err != nil || n != 1 {
		t.Fatalf("got %d, %v; want 1 pruned", n, err)
	}
}

func TestAnnouncementExpiry(t *testing.T) {
	e := newAnnEnv(t)
	ctx := context.Background()
	aud := Audience{AreaIDs: []int64{e.p.ID}}
	tests := []struct {
		name    string
		expires time.Time
		want    error
	}{
		{"default", time.Time{}, nil},
		{"in a week", e.clock.Add(7 * 24 * time.Hour), nil},
		{"past", e.clock.Add(-time.Minute), ErrInvalid},
		{"now", *e.clock, ErrInvalid},
		{"over a year", e.clock.Add(MaxAnnouncementLife + time.Minute), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.s.CreateAnnouncement(ctx, e.admin, NewAnnouncement{Title: "t", Body: "b", Audience: aud, ExpiresAt: tt.expires})
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	// Scheduling at or after the expiry is refused; publishing after it too.
	an, err := e.s.CreateAnnouncement(ctx, e.admin, NewAnnouncement{Title: "t", Body: "b", Audience: aud, ExpiresAt: e.clock.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.PublishAnnouncement(ctx, e.admin, an.ID, e.clock.Add(time.Hour)); !errors.Is(err, ErrInvalid) {
		t.Errorf("schedule at expiry: got %v, want ErrInvalid", err)
	}
	*e.clock = e.clock.Add(time.Hour)
	if _, err := e.s.PublishAnnouncement(ctx, e.admin, an.ID, time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("publish after expiry: got %v, want ErrInvalid", err)
	}
}
