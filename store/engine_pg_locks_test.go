package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"testing"

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
