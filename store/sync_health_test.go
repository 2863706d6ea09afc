package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// healthWorld is a store with a clock the test moves, a commune with two
// villages and a team on each, and users of every role:
//
//	province P ── commune A ── village A1 (team T1: m1, m2, lead1)
//	           │            └─ village A2 (team T2: m3, and m4 who never signs in)
//	           └─ commune B ── village B1 (team T3: m5)
type healthWorld struct {
	t      *testing.T
	s      *Store
	ctx    context.Context
	mu     sync.Mutex
	now    time.Time
	areas  map[string]*Area
	teams  map[string]*Team
	actors map[string]Actor
	mids   map[string]int64
}

func (w *healthWorld) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *healthWorld) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

func newHealthWorld(t *testing.T) *healthWorld {
	t.Helper()
	w := &healthWorld{t: t, ctx: context.Background(), now: time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC),
		areas: map[string]*Area{}, teams: map[string]*Team{}, actors: map[string]Actor{}, mids: map[string]int64{}}
	s, err := Open(w.ctx, testDB(t, "toso.db"), Options{Now: w.clock, CitizenKey: "k-0123456789abcdef0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	w.s = s
	for _, a := range []struct{ key, parent, level string }{{"P", "", "province"}, {"A", "P", "commune"}, {"A1", "A", "village"},
		{"A2", "A", "village"}, {"B", "P", "commune"}, {"B1", "B", "village"}} {
		n := NewArea{Level: a.level, Name: "Địa bàn " + a.key, Population: 1000}
		if a.parent != "" {
			n.ParentID = w.areas[a.parent].ID
		}
		if w.areas[a.key], err = s.CreateArea(w.ctx, System, n); err != nil {
			t.Fatal(err)
		}
	}
	for _, tm := range []struct{ key, area string }{{"T1", "A1"}, {"T2", "A2"}, {"T3", "B1"}} {
		if w.teams[tm.key], err = s.CreateTeam(w.ctx, System, NewTeam{AreaID: w.areas[tm.area].ID, Name: "Tổ " + tm.key}); err != nil {
			t.Fatal(err)
		}
	}
	for i, u := range []struct {
		key  string
		role Role
		team string
		area string
	}{{"m1", RoleMember, "T1", ""}, {"m2", RoleMember, "T1", ""}, {"lead1", RoleTeamLead, "T1", ""}, {"m3", RoleMember, "T2", ""},
		{"m4", RoleMember, "T2", ""}, {"m5", RoleMember, "T3", ""}, {"coordA", RoleCoordinator, "", "A"}, {"coordB", RoleCoordinator, "", "B"}} {
		n := NewUser{Phone: fmt.Sprintf("09%08d", i+1), Name: u.key, Role: u.role, Password: "password-" + u.key}
		if u.team != "" {
			n.TeamID = w.teams[u.team].ID
		} else {
			n.AreaID = w.areas[u.area].ID
		}
		usr, err := s.CreateUser(w.ctx, System, n)
		if err != nil {
			t.Fatal(err)
		}
		if w.actors[u.key], err = s.Actor(w.ctx, usr.ID, fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// push sends mutations as the user (registering their device) and returns the results.
func (w *healthWorld) push(key string, ms ...Mutation) []Result {
	w.t.Helper()
	a := w.actors[key]
	for i := range ms {
		w.mids[key]++
		ms[i].Mid = w.mids[key]
	}
	resp, err := w.s.Push(w.ctx, a, PushRequest{DeviceID: a.DeviceID, AppVersion: "1.2.0", Mutations: ms})
	if err != nil {
		w.t.Fatalf("push as %s: %v", key, err)
	}
	return resp.Results
}

func (w *healthWorld) flush() int {
	w.t.Helper()
	n, err := w.s.FlushDeviceActivity(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

// health is the sync health of area key as actor, every page.
func (w *healthWorld) health(actor, area string, f SyncHealthFilter) map[string]TeamHealth {
	w.t.Helper()
	f.AreaID = w.areas[area].ID
	f.Limit = 1 // one team a page: the pages must join up
	out := map[string]TeamHealth{}
	for {
		p, err := w.s.SyncHealth(w.ctx, w.actors[actor], f)
		if err != nil {
			w.t.Fatalf("sync health of %s as %s: %v", area, actor, err)
		}
		for _, t := range p.Teams {
			if _, dup := out[t.TeamName]; dup {
				w.t.Fatalf("team %s on two pages", t.TeamName)
			}
			out[t.TeamName] = t
		}
		if p.Next == 0 {
			return out
		}
		f.After = p.Next
	}
}

func device(t TeamHealth, user string) *DeviceHealth {
	for i := range t.Devices {
		if t.Devices[i].UserName == user {
			return &t.Devices[i]
		}
	}
	return nil
}

// What the handlers record reaches the table only at a flush, in one
// transaction; times never move back; a device the database does not
// know is skipped; a pending count travels with its time.
func TestDeviceActivityFlush(t *testing.T) {
	w := newHealthWorld(t)
	w.push("m1") // registers m1's phone
	dev := w.actors["m1"].DeviceID
	t0 := w.clock()
	w.s.RecordDeviceActivity(dev, ActivityPush, 5, "")
	w.s.RecordDeviceActivity("ffffffff-0000-4000-8000-000000000000", ActivityPull, 1, "") // no such device
	row := func() (push, pull, login sql.NullString, pending sql.NullInt64) {
		t.Helper()
		err := w.s.read.QueryRow(`SELECT last_push_at, last_pull_at, last_login_at, pending_mutations FROM device_activity WHERE device_id = ?`, dev).
			Scan(&push, &pull, &login, &pending)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		return
	}
	if push, _, _, _ := row(); push.Valid {
		t.Fatalf("activity written before a flush: last_push_at %v", push.String)
	}
	if n := w.flush(); n != 2 {
		t.Errorf("first flush: %d devices, want 2 (one of them unknown and skipped)", n)
	}
	push, pull, login, pending := row()
	if push.String != ts(t0) || pull.Valid || login.Valid || pending.Int64 != 5 {
		t.Errorf("after the first flush: push %v pull %v login %v pending %v, want push %s, pending 5", push, pull, login, pending, ts(t0))
	}
	var n int
	if err := w.s.read.QueryRow(`SELECT count(*) FROM device_activity`).Scan(&n); err != nil || n != 1 {
		t.Errorf("device_activity rows: %d (%v), want 1: the unknown device is skipped", n, err)
	}
	if n := w.flush(); n != 0 {
		t.Errorf("a flush with nothing recorded wrote %d devices", n)
	}
	w.advance(time.Hour)
	t1 := w.clock()
	w.s.RecordDeviceActivity(dev, ActivityPull, 0, "")
	w.s.RecordDeviceActivity(dev, ActivityLogin, -1, "") // not a report of the outbox
	w.flush()
	push, pull, login, pending = row()
	if push.String != ts(t0) || pull.String != ts(t1) || login.String != ts(t1) || pending.Int64 != 0 {
		t.Errorf("after the second flush: push %v pull %v login %v pending %v, want %s %s %s 0", push, pull, login, pending, ts(t0), ts(t1), ts(t1))
	}
	// A late flush of older activity (a clock that went back) changes nothing.
	w.advance(-30 * time.Minute)
	w.s.RecordDeviceActivity(dev, ActivityPush, 9, "")
	w.s.RecordDeviceActivity(dev, ActivityPull, 9, "")
	w.flush()
	push2, pull2, _, pending2 := row()
	if push2.String != ts(t1.Add(-30*time.Minute)) || pull2.String != ts(t1) || pending2.Int64 != 0 {
		t.Errorf("after an older report: push %v pull %v pending %v, want push %s (later than before), pull %s and pending 0 kept",
			push2, pull2, pending2, ts(t1.Add(-30*time.Minute)), ts(t1))
	}
}

// A flush that fails keeps what it held for the next one.
func TestDeviceActivityFlushFailureKeepsTheBatch(t *testing.T) {
	w := newHealthWorld(t)
	w.push("m1")
	dev := w.actors["m1"].DeviceID
	w.s.RecordDeviceActivity(dev, ActivityPull, 4, "")
	ctx, cancel := context.WithCancel(w.ctx)
	cancel()
	if _, err := w.s.FlushDeviceActivity(ctx); err == nil {
		t.Fatal("a flush with a cancelled context succeeded")
	}
	if n := w.flush(); n != 1 {
		t.Fatalf("the flush after a failed one wrote %d devices, want 1", n)
	}
	var pending int
	if err := w.s.read.QueryRow(`SELECT pending_mutations FROM device_activity WHERE device_id = ?`, dev).Scan(&pending); err != nil || pending != 4 {
		t.Errorf("pending after the retried flush: %d (%v), want 4", pending, err)
	}
}

// Sync health puts together the recorded activity, the rejections of the
// last 7 days by code, open conflicts, push token state and staleness,
// filters by app version, and shows each caller only their reach.
func TestSyncHealth(t *testing.T) {
	w := newHealthWorld(t)
	s := w.s
	// m1 pushes a good log and two bad ones, and a session whose place m2
	// and m1 then both change from the same version: m1's value loses.
	sess := "01950000-0000-7000-8000-000000000001"
	res := w.push("m1",
		Mutation{Table: "assistance_logs", Op: "create", ID: "01950000-0000-7000-8000-000000000010",
			Fields: fields("occurred_at", "2026-11-01T02:00:00Z", "outcomes", []map[string]string{{"service": "vneid_l2", "result": "done"}})},
		Mutation{Table: "assistance_logs", Op: "create", ID: "01950000-0000-7000-8000-000000000011", Fields: fields("occurred_at", "yesterday")},
		Mutation{Table: "target_progress", Op: "patch", ID: "01950000-0000-7000-8000-000000000099", Fields: fields("goal", 3)},
		Mutation{Table: "training_sessions", Op: "create", ID: sess, Fields: fields("place", "Nhà văn hóa")})
	if res[1].Code != CodeValidation || res[2].Code != CodeReadOnly {
		t.Fatalf("fixture pushes: %+v, want validation_failed and read_only rejections", res)
	}
	w.push("m2", Mutation{Table: "training_sessions", Op: "patch", ID: sess, BaseVersion: res[3].Version, Fields: fields("place", "Trường học")})
	if r := w.push("m1", Mutation{Table: "training_sessions", Op: "patch", ID: sess, BaseVersion: res[3].Version, Fields: fields("place", "Sân đình")}); r[0].Status != StatusMerged {
		t.Fatalf("m1's late patch: %+v, want merged with a conflict", r[0])
	}
	w.push("m3")
	w.push("m5")
	if _, err := s.SetPushToken(w.ctx, w.actors["m1"], w.actors["m1"].DeviceID, "fcm-m1"); err != nil {
		t.Fatal(err)
	}
	// An old rejection, then the clock moves 8 days: it falls out of the window.
	w.push("m3", Mutation{Table: "target_progress", Op: "patch", ID: "01950000-0000-7000-8000-000000000098", Fields: fields("goal", 3)})
	w.advance(8 * 24 * time.Hour)
	w.push("m3", Mutation{Table: "assistance_logs", Op: "create", ID: "bad-id", Fields: fields("occurred_at", "2026-11-01T02:00:00Z")})
	w.push("m1", Mutation{Table: "assistance_logs", Op: "create", ID: "bad-id-1", Fields: fields("occurred_at", "2026-11-01T02:00:00Z")},
		Mutation{Table: "assistance_logs", Op: "create", ID: "bad-id-2", Fields: fields("occurred_at", "2026-11-01T02:00:00Z")},
		Mutation{Table: "target_progress", Op: "patch", ID: "01950000-0000-7000-8000-000000000097", Fields: fields("goal", 3)})
	now := w.clock()
	w.s.RecordDeviceActivity(w.actors["m1"].DeviceID, ActivityPush, 2, "")
	w.s.RecordDeviceActivity(w.actors["m1"].DeviceID, ActivityPull, 0, "")
	w.s.RecordDeviceActivity(w.actors["m1"].DeviceID, ActivityLogin, -1, "")
	w.s.RecordDeviceActivity(w.actors["m3"].DeviceID, ActivityPush, -1, "")
	w.flush()
	// T3's only phone synced 4 days before now: stale at 3 days, not at 5.
	w.advance(-4 * 24 * time.Hour)
	w.s.RecordDeviceActivity(w.actors["m5"].DeviceID, ActivityPull, 0, "")
	w.flush()
	w.advance(4 * 24 * time.Hour)

	got := w.health("coordA", "A", SyncHealthFilter{})
	if len(got) != 2 {
		t.Fatalf("coordA's sync health of commune A: teams %v, want T1 and T2", keys(got))
	}
	t1, t2 := got["Tổ T1"], got["Tổ T2"]
	m1 := device(t1, "m1")
	if m1 == nil {
		t.Fatalf("T1's devices: %+v, want m1's phone", t1.Devices)
	}
	wantM1 := DeviceHealth{DeviceID: w.actors["m1"].DeviceID, UserID: w.actors["m1"].UserID, UserName: "m1", Role: RoleMember,
		Platform: "android", AppVersion: "1.2.0", LastPushAt: Truncate(now), LastPullAt: Truncate(now), LastLoginAt: Truncate(now),
		PushToken: TokenFresh, Pending: 0, PendingAt: Truncate(now),
		Rejected: map[string]int{CodeValidation: 2, CodeReadOnly: 1}, ConflictsOpen: 1} // the first two are 8 days old
	m1.LastSeenAt = time.Time{} // set by pushes; checked below
	if diff := cmp.Diff(wantM1, *m1); diff != "" {
		t.Errorf("m1's phone (-want +got):\n%s", diff)
	}
	if t1.Stale || t1.LastSyncBy != "m1" || !t1.LastSync.Equal(Truncate(now)) {
		t.Errorf("T1: stale %v, last sync %v by %q, want fresh, %v by m1", t1.Stale, t1.LastSync, t1.LastSyncBy, now)
	}
	if lead := device(t1, "lead1"); lead == nil || lead.DeviceID != "" || lead.PushToken != TokenNone {
		t.Errorf("the lead who never signed in: %+v, want an entry without a phone", lead)
	}
	if m2 := device(t1, "m2"); m2 == nil || m2.LastSync() != (time.Time{}) || m2.ConflictsOpen != 0 || m2.PushToken != TokenNone {
		t.Errorf("m2's phone (pushed, never recorded, won the race): %+v", m2)
	}
	m3 := device(t2, "m3")
	if m3 == nil || !cmp.Equal(m3.Rejected, map[string]int{CodeValidation: 1}) || m3.PendingAt != (time.Time{}) {
		t.Errorf("m3's phone: %+v, want one validation_failed in the window (the read_only is 8 days old) and no pending report", m3)
	}
	if t2.Stale {
		t.Errorf("T2 stale although m3 pushed now")
	}
	if m4 := device(t2, "m4"); m4 == nil || m4.DeviceID != "" {
		t.Errorf("m4, who never signed in: %+v", m4)
	}

	// Staleness of commune B's team: 4 days silent.
	if b := w.health("coordB", "B", SyncHealthFilter{}); !b["Tổ T3"].Stale || b["Tổ T3"].LastSyncBy != "m5" {
		t.Errorf("T3 after 4 silent days: %+v, want stale, last by m5", b["Tổ T3"])
	}
	if b := w.health("coordB", "B", SyncHealthFilter{StaleDays: 5}); b["Tổ T3"].Stale {
		t.Errorf("T3 after 4 silent days is stale at 5 days")
	}
	if b := w.health("coordB", "B", SyncHealthFilter{OnlyStale: true, StaleDays: 5}); len(b) != 0 {
		t.Errorf("only stale teams at 5 days: %v, want none", keys(b))
	}

	// Version filter: only phones below it, and their teams.
	// m3's app was updated: its next push says so (devices.app_version
	// changes only at login).
	w.s.RecordDeviceActivity(w.actors["m3"].DeviceID, ActivityPush, -1, "1.10.0")
	w.flush()
	if v := device(w.health("coordA", "A2", SyncHealthFilter{})["Tổ T2"], "m3").AppVersion; v != "1.10.0" {
		t.Errorf("m3's app version after a push from 1.10.0: %q", v)
	}
	old := w.health("coordA", "A", SyncHealthFilter{AppVersionBelow: "1.9.0"})
	if len(old) != 1 || len(old["Tổ T1"].Devices) != 2 {
		t.Errorf("phones below 1.9.0 in commune A: %+v, want T1 with m1's and m2's (m3 runs 1.10.0)", old)
	}

	// Reach: a lead sees their team, a member their own phone, a
	// coordinator nothing outside their area.
	lead := w.health("lead1", "A1", SyncHealthFilter{})
	if len(lead) != 1 || len(lead["Tổ T1"].Devices) != 3 {
		t.Errorf("the lead's sync health: %+v, want T1 with its three members", lead)
	}
	member := w.health("m2", "A1", SyncHealthFilter{})
	if len(member) != 1 || len(member["Tổ T1"].Devices) != 1 || member["Tổ T1"].Devices[0].UserName != "m2" {
		t.Errorf("m2's sync health: %+v, want only m2's own phone", member)
	}
	for _, c := range []struct {
		actor, area string
		want        error
	}{{"coordA", "B", ErrNotFound}, {"m2", "A", ErrForbidden}, {"lead1", "A2", ErrNotFound}, {"m5", "A1", ErrNotFound}} {
		_, err := s.SyncHealth(w.ctx, w.actors[c.actor], SyncHealthFilter{AreaID: w.areas[c.area].ID})
		if !errors.Is(err, c.want) {
			t.Errorf("%s asks for the sync health of %s: %v, want %v", c.actor, c.area, err, c.want)
		}
	}
	if _, err := s.SyncHealth(w.ctx, System, SyncHealthFilter{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("an admin without an area: %v, want ErrInvalid", err)
	}
	if _, err := s.SyncHealth(w.ctx, w.actors["coordA"], SyncHealthFilter{AppVersionBelow: "one"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a version that is not a version: %v, want ErrInvalid", err)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestVersionBelow(t *testing.T) {
	for _, c := range []struct {
		v, min string
		want   bool
	}{
		{"1.2.0", "1.4.0", true}, {"1.4.0", "1.4.0", false}, {"1.10.0", "1.9.2", false}, {"1.9.2", "1.10.0", true},
		{"1.4", "1.4.0", false}, {"1.3.9", "1.4", true}, {"1.4.0-beta", "1.4.0", false}, {"", "0.0.1", true},
		{"unknown", "1.0.0", true}, {"2", "1.99.99", false},
	} {
		if got := VersionBelow(c.v, c.min); got != c.want {
			t.Errorf("VersionBelow(%q, %q) = %v, want %v", c.v, c.min, got, c.want)
		}
	}
}
