package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// twoProvinces opens two stores on one PostgreSQL database (two Toso
// processes) holding two provinces, each with a team and a member; it
// returns the stores and the members (their devices exist).
func twoProvinces(t *testing.T) (stores [2]*Store, members [2]Actor) {
	t.Helper()
	if !testPG() {
		t.Skip("TOSO_TEST_PG is not set: several writers are a PostgreSQL question (SQLite has one)")
	}
	ctx := context.Background()
	path := testDB(t, "toso.db")
	for i := range stores {
		s, err := Open(ctx, path, Options{CitizenKey: "k-0123456789abcdef0123456789abcdef"})
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	for i := range members {
		p, err := stores[0].CreateArea(ctx, System, NewArea{Level: "province", Name: fmt.Sprintf("P%d", i+1), Code: strconv.Itoa(97 - i)})
		if err != nil {
			t.Fatal(err)
		}
		v, err := stores[0].CreateArea(ctx, System, NewArea{ParentID: p.ID, Level: "village", Name: "V"})
		if err != nil {
			t.Fatal(err)
		}
		tm, err := stores[0].CreateTeam(ctx, System, NewTeam{AreaID: v.ID, Name: "T"})
		if err != nil {
			t.Fatal(err)
		}
		u, err := stores[0].CreateUser(ctx, System, NewUser{Phone: fmt.Sprintf("091111111%d", i), Name: "M", Role: RoleMember,
			TeamID: tm.ID, Password: "password-m"})
		if err != nil {
			t.Fatal(err)
		}
		a, err := stores[i].Actor(ctx, u.ID, fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i+1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stores[i].Push(ctx, a, PushRequest{DeviceID: a.DeviceID}); err != nil {
			t.Fatal(err)
		}
		members[i] = a
	}
	return stores, members
}

// TestProvincesWriteInParallelCursorsSafe: store 1 (a process) holds a
// write transaction of province 1 open after taking a seq for a change in
// member 1's team; meanwhile store 2 (another process) commits a push of
// province 2, which takes a later seq. Parallel: the push commits while the
// transaction is open (under one lock for all writes it would wait, then
// fail after the lock timeout). Safe: member 1's pull meanwhile does not
// move its cursor past the open transaction's seq, although a later seq
// is committed, and once the transaction commits the next pull brings its
// change (with the snapshot's seq as the cursor, as before the watermark,
// the change would be skipped for good).
func TestProvincesWriteInParallelCursorsSafe(t *testing.T) {
	stores, m := twoProvinces(t)
	ctx := context.Background()
	pull := func(s *Store, a Actor, cursor string) *ScopeChanges {
		t.Helper()
		scope := teamScope(a.TeamID)
		r, err := s.Pull(ctx, a, PullRequest{DeviceID: a.DeviceID, Cursors: map[string]string{scope: cursor}})
		if err != nil {
			t.Fatal(err)
		}
		return r.Scopes[scope]
	}
	c0 := pull(stores[1], m[0], "")
	for c0.HasMore {
		c0 = pull(stores[1], m[0], c0.Cursor)
	}

	held, release, done := make(chan int64), make(chan struct{}), make(chan error)
	go func() {
		done <- stores[0].provinceTx(ctx, 1, provinceOf(m[0]), func(ctx context.Context, tx *sql.Tx) error {
			v, err := nextSeq(ctx, tx)
			if err != nil {
				return err
			}
			// A change in member 1's team: a row's removal, taking seq v.
			if _, err := tx.ExecContext(ctx, `INSERT INTO tombstones (seq, scope, tbl, row_id, created_at)
				VALUES (?, ?, 'assistance_logs', 'held-row', '2026-12-05T00:00:00Z')`, v, teamScope(m[0].TeamID)); err != nil {
				return err
			}
			held <- v
			<-release
			return nil
		})
	}()
	v1 := <-held

	res, err := stores[1].Push(ctx, m[1], PushRequest{DeviceID: m[1].DeviceID, Mutations: []Mutation{logMutation(1)}})
	if err != nil {
		close(release)
		<-done
		t.Fatalf("province 2's push while province 1's transaction is open: %v (it waited for it)", err)
	}
	if len(res.Results) != 1 || res.Results[0].Version <= v1 {
		close(release)
		<-done
		t.Fatalf("province 2's push: %+v; want one result with a seq past the open transaction's %d", res.Results, v1)
	}
	v2 := res.Results[0].Version

	c1 := pull(stores[1], m[0], c0.Cursor)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cur, _, _, err := parseCursor(c1.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if cur >= v1 {
		t.Errorf("member 1's cursor while seq %d was uncommitted (and %d committed): %d, want below %d", v1, v2, cur, v1)
	}
	if c1.Digest != nil {
		t.Errorf("a digest came with a pull below the snapshot's seq: %+v", c1.Digest)
	}
	got := false
	for c := c1; ; {
		c = pull(stores[0], m[0], c.Cursor)
		for _, ch := range c.Changes {
			got = got || ch.Version == v1 && ch.ID == "held-row" && ch.Op == "del"
		}
		if !c.HasMore {
			break
		}
	}
	if !got {
		t.Errorf("member 1 never pulled the change of seq %d that committed after seq %d (cursor %s meanwhile)", v1, v2, c1.Cursor)
	}
}

// TestProvinceWritesFromTwoStores: pushes of two provinces and writes of
// all, from two stores at once, all finish (the locks are taken in one
// order), every seq is distinct, and every member pulls every log of its
// team.
func TestProvinceWritesFromTwoStores(t *testing.T) {
	stores, m := twoProvinces(t)
	ctx := context.Background()
	const n = 30
	errs := make(chan error, 4)
	versions := make(chan int64, 4*n)
	for i := range 2 {
		for j, s := range stores {
			go func() {
				a := m[i]
				if j == 1 {
					// the other store's device for the same member
					var err error
					if a, err = s.Actor(ctx, a.UserID, fmt.Sprintf("00000000-0000-4000-8000-0000000001%d%d", i, j)); err != nil {
						errs <- err
						return
					}
				}
				for k := range int64(n) {
					mut := logMutation(k + 1)
					mut.ID = fmt.Sprintf("01930000-0000-7000-8%03d-%012d", 10*i+j, k+1)
					r, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: []Mutation{mut}})
					if err != nil {
						errs <- err
						return
					}
					if len(r.Results) != 1 || r.Results[0].Status != StatusApplied {
						errs <- fmt.Errorf("push: %+v", r.Results)
						return
					}
					versions <- r.Results[0].Version
					if k%10 == 0 { // now and then a write of all provinces
						if _, err := s.CreateArea(ctx, System, NewArea{Level: "province", Name: fmt.Sprintf("X%d%d%d", i, j, k)}); err != nil {
							errs <- err
							return
						}
					}
				}
				errs <- nil
			}()
		}
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(versions)
	seen := map[int64]bool{}
	for v := range versions {
		if seen[v] {
			t.Errorf("seq %d given twice", v)
		}
		seen[v] = true
	}
	// Every member pulls every log of the team (nothing skipped).
	for i := range 2 {
		scope := teamScope(m[i].TeamID)
		cursor, logs := "", 0
		for {
			r, err := stores[1-i].Pull(ctx, m[i], PullRequest{DeviceID: m[i].DeviceID, Cursors: map[string]string{scope: cursor}})
			if err != nil {
				t.Fatal(err)
			}
			sc := r.Scopes[scope]
			for _, c := range sc.Changes {
				if c.Table == "assistance_logs" && c.Op == "put" {
					logs++
				}
			}
			cursor = sc.Cursor
			if !sc.HasMore {
				break
			}
		}
		if logs != 2*n {
			t.Errorf("member %d pulled %d logs, want %d", i+1, logs, 2*n)
		}
	}
}

// TestGroupLocks: a group takes the union of its jobs' province locks
// under the shared write lock (per-user jobs add none), and the lock of
// all provinces as soon as one job needs it.
func TestGroupLocks(t *testing.T) {
	for _, c := range []struct {
		name      string
		provinces []int64 // the jobs'
		want      writeLocks
	}{
		{"one push", []int64{7}, writeLocks{shared: true, provinces: []int64{7}}},
		{"pushes of two provinces", []int64{9, 7, 9}, writeLocks{shared: true, provinces: []int64{7, 9}}},
		{"per-user writes only", []int64{noProvince, noProvince}, writeLocks{shared: true}},
		{"per-user writes and pushes", []int64{noProvince, 9, noProvince, 7}, writeLocks{shared: true, provinces: []int64{7, 9}}},
		{"a write of all provinces", []int64{noProvince, 7, allProvinces}, writeLocks{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var jobs []*writeJob
			for _, p := range c.provinces {
				jobs = append(jobs, &writeJob{province: p})
			}
			if diff := cmp.Diff(c.want, groupLocks(jobs), cmp.AllowUnexported(writeLocks{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("locks (-want +got):\n%s", diff)
			}
		})
	}
}

// holdProvince holds a write transaction of the province open on s (a
// process) until the returned release is called; release returns the
// transaction's error.
func holdProvince(t *testing.T, s *Store, province int64) (release func() error) {
	t.Helper()
	return holdWrite(t, s, province, func(context.Context, *sql.Tx) error { return nil })
}

// holdWrite holds a write job of the province (or allProvinces, or
// noProvince) open on s after running fn in it, until the returned
// release is called; release returns the transaction's error.
func holdWrite(t *testing.T, s *Store, province int64, fn func(ctx context.Context, tx *sql.Tx) error) (release func() error) {
	t.Helper()
	held, rel, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.w.do(context.Background(), 1, false, province, func(ctx context.Context, tx *sql.Tx) error {
			if err := fn(ctx, tx); err != nil {
				return err
			}
			close(held)
			<-rel
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("hold a write of province %d: %v", province, err)
	}
	var once sync.Once
	var err error
	release = func() error {
		once.Do(func() {
			close(rel)
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { release() }) // a failed test too: Close waits for the writer
	return release
}

// waitForLockWaiter returns once a transaction of s's database waits for
// an advisory lock (a write blocked by the locks of another).
func waitForLockWaiter(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		if err := s.read.QueryRow(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no write waits for a lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// openSessions signs each actor in on its device through s.
func openSessions(t *testing.T, s *Store, actors [2]Actor) [2]*Session {
	t.Helper()
	var sessions [2]*Session
	for i, a := range actors {
		var err error
		if sessions[i], err = s.OpenSession(context.Background(), a.UserID, DeviceInfo{ID: a.DeviceID, Platform: "android", AppVersion: "1.0"}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	return sessions
}

// TestUserWritesBesideProvinces: while store 1 (a process) holds a write
// transaction of province 2 open, store 2 (another process) refreshes the
// tokens of members of both provinces, marks an announcement delivered,
// reads one in province 1, sets a push token and flushes device activity:
// none of them waits for province 2 (under the lock of all provinces each
// would wait, then fail after the lock timeout). A write of all provinces
// and a read receipt in province 2 (it takes a seq) do wait, and finish
// once province 2's transaction ends.
func TestUserWritesBesideProvinces(t *testing.T) {
	stores, m := twoProvinces(t)
	ctx := context.Background()
	sessions := openSessions(t, stores[0], m)
	u, err := stores[0].CreateUser(ctx, System, NewUser{Phone: "0911111119", Name: "A", Role: RoleAdmin, Password: "password-a"})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := stores[0].Actor(ctx, u.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	an, err := stores[0].CreateAnnouncement(ctx, admin, NewAnnouncement{Title: "T", Body: "B",
		Audience: Audience{AreaIDs: []int64{provinceOf(m[0]), provinceOf(m[1])}, Roles: []Role{RoleMember}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stores[0].PublishAnnouncement(ctx, admin, an.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}

	release := holdProvince(t, stores[0], provinceOf(m[1]))
	s := stores[1]
	for i, a := range m {
		if _, err := s.Refresh(ctx, sessions[i].RefreshToken, a.DeviceID, time.Hour); err != nil {
			t.Errorf("refresh of member %d while province 2 is held: %v", i+1, err)
		}
	}
	if _, err := s.MarkDelivered(ctx, m[0].UserID, []int64{an.ID}); err != nil {
		t.Errorf("mark delivered while province 2 is held: %v", err)
	}
	if _, err := s.MarkRead(ctx, m[0], an.ID, time.Time{}); err != nil {
		t.Errorf("member 1's read receipt while province 2 is held: %v", err)
	}
	if _, err := s.SetPushToken(ctx, m[0], m[0].DeviceID, "push-token-1"); err != nil {
		t.Errorf("set push token while province 2 is held: %v", err)
	}
	s.RecordDeviceActivity(m[0].DeviceID, ActivityPull, 0, "")
	if n, err := s.FlushDeviceActivity(ctx); err != nil || n != 1 {
		t.Errorf("flush device activity while province 2 is held: %d devices, %v; want 1", n, err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}

	// Waits, each while province 2 is held again.
	for _, w := range []struct {
		name  string
		write func() error
	}{
		{"a write of all provinces", func() error {
			_, err := s.CreateArea(ctx, System, NewArea{Level: "province", Name: "X"})
			return err
		}},
		{"member 2's read receipt", func() error {
			_, err := s.MarkRead(ctx, m[1], an.ID, time.Time{})
			return err
		}},
	} {
		release := holdProvince(t, stores[0], provinceOf(m[1]))
		done := make(chan error, 1)
		go func() { done <- w.write() }()
		waitForLockWaiter(t, s)
		select {
		case err := <-done:
			t.Errorf("%s finished while province 2 was held (%v), want it to wait", w.name, err)
		default:
		}
		if err := release(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Errorf("%s after province 2's transaction ended: %v", w.name, err)
		}
	}
}

// TestRefreshesOfOneSessionTakeTurns: refreshes run beside the writes of
// every province, but two of one session (a retry sent to another node, a
// thief) take turns across processes, so the second reads the family as
// the first left it: while store 1 holds the lock of session 1's family
// in an open transaction, store 2 refreshes session 2 and its refresh of
// session 1 waits until the transaction ends.
func TestRefreshesOfOneSessionTakeTurns(t *testing.T) {
	stores, m := twoProvinces(t)
	ctx := context.Background()
	sessions := openSessions(t, stores[0], m)
	release := holdWrite(t, stores[0], noProvince, func(ctx context.Context, tx *sql.Tx) error {
		return lockFamily(ctx, tx, sessions[0].ID)
	})
	s := stores[1]
	if _, err := s.Refresh(ctx, sessions[1].RefreshToken, m[1].DeviceID, time.Hour); err != nil {
		t.Fatalf("refresh of session 2 while session 1 is locked: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Refresh(ctx, sessions[0].RefreshToken, m[0].DeviceID, time.Hour)
		done <- err
	}()
	waitForLockWaiter(t, s)
	select {
	case err := <-done:
		t.Errorf("refresh of session 1 finished while its family was locked (%v), want it to wait", err)
	default:
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("refresh of session 1 after the lock was released: %v", err)
	}
}
