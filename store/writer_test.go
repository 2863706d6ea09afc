package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// queueUp holds the writer while fns start (one goroutine each), until all
// of them wait for it, then lets it go: they run as one group.
func queueUp(t *testing.T, s *Store, fns ...func()) {
	t.Helper()
	s.w.gate.Lock()
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Go(fn)
	}
	for deadline := time.Now().Add(10 * time.Second); s.WriterStats().Waiting < int64(len(fns)) || len(s.w.jobs) < len(fns)-1; {
		if time.Now().After(deadline) {
			s.w.gate.Unlock()
			t.Fatalf("%d writes waiting for the writer, want %d", s.WriterStats().Waiting, len(fns))
		}
		time.Sleep(time.Millisecond)
	}
	s.w.gate.Unlock()
	wg.Wait()
}

// Two pushes of one team on one day share a group; one of them fails after
// writing its logs (its results cannot be stored). Its writes are taken
// back (the group's transaction rolls back and the other push runs again
// without it): the other's logs commit, the rollups count them alone, the
// digests match the rows, and the failed push applies in full on retry.
func TestGroupCommitIsolatesAFailingPush(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC) }
	s, a := syncFixture(t, now)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, System, NewUser{Phone: "0922222222", Name: "M2", Role: RoleMember, TeamID: a.TeamID, Password: "password-m2"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Actor(ctx, u.ID, "00000000-0000-4000-8000-000000000002")
	if err != nil {
		t.Fatal(err)
	}
	batch := func(prefix int, n int64) []Mutation {
		var ms []Mutation
		for i := int64(1); i <= n; i++ {
			ms = append(ms, Mutation{Mid: i, Table: "assistance_logs", Op: "create",
				ID: fmt.Sprintf("01930000-0000-7000-8%03d-%012d", prefix, i),
				Fields: map[string]json.RawMessage{
					"occurred_at":       json.RawMessage(`"2026-11-20T03:00:00Z"`),
					"citizen_id_number": json.RawMessage(fmt.Sprintf(`"0380900%02d%03d"`, prefix, i)),
					"outcomes":          json.RawMessage(`[{"service":"vneid_l2","result":"done"}]`),
				}})
		}
		return ms
	}
	// B's device first pushes nothing (so it exists), then a stray stored
	// result for its mid 3 makes storing B's results fail, after its logs
	// are written.
	if _, err := s.Push(ctx, b, PushRequest{DeviceID: b.DeviceID}); err != nil {
		t.Fatal(err)
	}
	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sync_results (device_id, mid, result, created_at) VALUES (?, 3, '{}', '')`, b.DeviceID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	before := s.WriterStats()
	var resA, resB *PushResponse
	var errA, errB error
	queueUp(t, s,
		func() { resA, errA = s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: batch(1, 5)}) },
		func() { resB, errB = s.Push(ctx, b, PushRequest{DeviceID: b.DeviceID, Mutations: batch(2, 5)}) })
	after := s.WriterStats()
	if g, j := after.Groups-before.Groups, after.Jobs-before.Jobs; g != 1 || j != 2 {
		t.Fatalf("the two pushes ran in %d groups as %d jobs, want 1 group of 2", g, j)
	}
	if errA != nil || resA.LastMid != 5 {
		t.Fatalf("push A: %v, %+v; want 5 applied", errA, resA)
	}
	if errB == nil {
		t.Fatalf("push B: %+v, want an error (its results cannot be stored)", resB)
	}
	report := func() Figures {
		t.Helper()
		r, err := s.Report(ctx, System, ReportQuery{AreaID: a.AreaID, From: "2026-11-20", To: "2026-11-20"})
		if err != nil {
			t.Fatal(err)
		}
		return r.Totals
	}
	if f := report(); f.Logs != 5 || f.Citizens != 5 || f.Reached["vneid_l2"] != 5 {
		t.Errorf("after the group: logs %v, citizens %v, reached %v; want 5 each (push A only)", f.Logs, f.Citizens, f.Reached["vneid_l2"])
	}
	var logs, lastB int
	s.read.QueryRow(`SELECT count(*) FROM assistance_logs`).Scan(&logs)
	s.read.QueryRow(`SELECT last_mid FROM devices WHERE id = ?`, b.DeviceID).Scan(&lastB)
	if logs != 5 || lastB != 0 {
		t.Errorf("after the group: %d logs, B's last_mid %d; want 5, 0", logs, lastB)
	}
	checkDigestsMatchScan(t, s, "after the group")

	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sync_results WHERE device_id = ? AND mid = 3`, b.DeviceID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	resB, errB = s.Push(ctx, b, PushRequest{DeviceID: b.DeviceID, Mutations: batch(2, 5)})
	if errB != nil || resB.LastMid != 5 {
		t.Fatalf("push B again: %v, %+v", errB, resB)
	}
	if f := report(); f.Logs != 10 || f.Citizens != 10 {
		t.Errorf("after the retry: logs %v, citizens %v; want 10", f.Logs, f.Citizens)
	}
	checkDigestsMatchScan(t, s, "after the retry")
}

// A mid the server has processed, sent again: the same content gets the
// stored result; other content under it is refused (mid_reused), never
// answered with the first mutation's result, and writes nothing.
func TestMidReused(t *testing.T) {
	s, a := syncFixture(t, nil)
	ctx := context.Background()
	first, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: []Mutation{logMutation(1)}})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: []Mutation{logMutation(1)}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first.Results, again.Results); diff != "" {
		t.Errorf("the same mutation again (-first +again):\n%s", diff)
	}
	for name, m := range map[string]Mutation{
		"other fields": func() Mutation {
			m := logMutation(1)
			m.Fields["notes"] = json.RawMessage(`"another visit"`)
			return m
		}(),
		"another row": func() Mutation { m := logMutation(2); m.Mid = 1; return m }(),
		"another op":  {Mid: 1, Table: "assistance_logs", Op: "delete", ID: logMutation(1).ID},
	} {
		res, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: []Mutation{m}})
		if err != nil {
			t.Fatal(err)
		}
		want := []Result{{Mid: 1, Status: StatusRejected, Code: CodeMidReused}}
		if diff := cmp.Diff(want, res.Results); diff != "" {
			t.Errorf("%s under a used mid (-want +got):\n%s", name, diff)
		}
	}
	var logs, deleted int
	s.read.QueryRow(`SELECT count(*), COALESCE(sum(deleted), 0) FROM assistance_logs`).Scan(&logs, &deleted)
	if logs != 1 || deleted != 0 {
		t.Errorf("%d logs (%d deleted) after the reused mids, want 1 (0)", logs, deleted)
	}
	// Spacing is not content: the hash compares compact JSON.
	m := logMutation(1)
	m.Fields["outcomes"] = json.RawMessage("[ {\"service\": \"vneid_l1\", \"result\": \"done\"} ]")
	res, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: []Mutation{m}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first.Results, res.Results); diff != "" {
		t.Errorf("the same mutation, spaced differently (-first +again):\n%s", diff)
	}
}

// A patch whose base_version is newer than the row cannot come from a
// phone that saw the row: it is refused, naming base_version, and the row
// keeps its values; a patch on the current version applies.
func TestBaseVersionFromTheFuture(t *testing.T) {
	s, a := syncFixture(t, nil)
	ctx := context.Background()
	id := "01930000-0000-7000-8000-000000000077"
	res, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: []Mutation{{Mid: 1, Table: "training_sessions",
		Op: "create", ID: id, Fields: map[string]json.RawMessage{"place": json.RawMessage(`"Nhà văn hóa"`)}}}})
	if err != nil {
		t.Fatal(err)
	}
	v := res.Results[0].Version
	patch := func(mid, base int64, place string) Result {
		t.Helper()
		res, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: []Mutation{{Mid: mid, Table: "training_sessions",
			Op: "patch", ID: id, BaseVersion: base, Fields: map[string]json.RawMessage{"place": json.RawMessage(`"` + place + `"`)}}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Results[0]
	}
	got := patch(2, v+100, "Trường học")
	want := Result{Mid: 2, Status: StatusRejected, Code: CodeValidation, Fields: map[string]string{"base_version": "is newer than the row's version"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("a base_version from the future (-want +got):\n%s", diff)
	}
	var place string
	s.read.QueryRow(`SELECT place FROM training_sessions WHERE id = ?`, id).Scan(&place)
	if place != "Nhà văn hóa" {
		t.Errorf("place = %q after the refused patch, want it unchanged", place)
	}
	if got := patch(3, v, "Trường học"); got.Status != StatusApplied {
		t.Errorf("a patch on the current version: %+v, want applied", got)
	}
	res, err = s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: []Mutation{logMutation(4)}})
	if err != nil {
		t.Fatal(err)
	}
	res, err = s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: []Mutation{{Mid: 5, Table: "assistance_logs", Op: "patch",
		ID: logMutation(4).ID, BaseVersion: res.Results[0].Version + 1000, Fields: map[string]json.RawMessage{"notes": json.RawMessage(`"x"`)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Results[0]; got.Status != StatusRejected || got.Fields["base_version"] == "" {
		t.Errorf("a log patch from the future: %+v, want rejected naming base_version", got)
	}
}

// A write queued behind a busy writer whose caller gives up is taken back:
// it never runs.
func TestAbandonedQueuedWriteNeverRuns(t *testing.T) {
	s, _ := syncFixture(t, nil)
	s.w.gate.Lock()
	blocker := make(chan error, 1)
	go func() {
		blocker <- s.tx(context.Background(), func(ctx context.Context, tx *sql.Tx) error { return nil })
	}()
	for s.WriterStats().Waiting < 1 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Bool
	done := make(chan error, 1)
	go func() {
		done <- s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error { ran.Store(true); return nil })
	}()
	for len(s.w.jobs) < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	err := <-done
	s.w.gate.Unlock()
	if err := <-blocker; err != nil {
		t.Fatal(err)
	}
	if !errors.Is(err, context.Canceled) || ran.Load() {
		t.Errorf("abandoned write: err %v, ran %v; want context.Canceled and not run", err, ran.Load())
	}
	if err := s.tx(context.Background(), func(ctx context.Context, tx *sql.Tx) error { return nil }); err != nil {
		t.Errorf("a write after the abandoned one: %v", err)
	}
}

// A group whose second write fails and whose third was abandoned: the
// failing write changes nothing, the abandoned one never runs, the others
// commit once (they run again after the rollback), and nothing is closed
// twice.
func TestGroupWithAFailingAndAnAbandonedWrite(t *testing.T) {
	s, _ := syncFixture(t, nil)
	ctx := context.Background()
	runs := map[string]*atomic.Int32{"a": {}, "b": {}, "x": {}, "c": {}}
	write := func(key string, fail bool) func(ctx context.Context, tx *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			runs[key].Add(1)
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, 'v')
				ON CONFLICT (key) DO UPDATE SET value = settings.value || 'v'`, "t."+key); err != nil {
				return err
			}
			if fail {
				return errors.New("refused after writing")
			}
			return nil
		}
	}
	xctx, cancel := context.WithCancel(ctx)
	errs := make(map[string]error)
	var mu sync.Mutex
	set := func(k string, err error) { mu.Lock(); errs[k] = err; mu.Unlock() }
	s.w.gate.Lock()
	var wg sync.WaitGroup
	wg.Go(func() { set("a", s.tx(ctx, write("a", false))) })
	for len(s.w.jobs) > 0 || s.WriterStats().Waiting < 1 {
		time.Sleep(time.Millisecond)
	}
	for _, k := range []string{"b", "x", "c"} {
		c := ctx
		if k == "x" {
			c = xctx
		}
		n := len(s.w.jobs)
		wg.Go(func() { set(k, s.tx(c, write(k, k == "b"))) })
		for len(s.w.jobs) == n {
			time.Sleep(time.Millisecond)
		}
	}
	cancel()
	for s.WriterStats().Waiting > 3 {
		time.Sleep(time.Millisecond)
	}
	s.w.gate.Unlock()
	wg.Wait()
	if errs["a"] != nil || errs["c"] != nil || errs["b"] == nil || !errors.Is(errs["x"], context.Canceled) {
		t.Fatalf("errors: %v; want a and c nil, b refused, x cancelled", errs)
	}
	for key, want := range map[string]string{"a": "v", "c": "v"} {
		var v string
		if err := s.read.QueryRow(`SELECT value FROM settings WHERE key = ?`, "t."+key).Scan(&v); err != nil || v != want {
			t.Errorf("setting %s = %q (%v), want %q: committed once", key, v, err, want)
		}
	}
	var n int
	s.read.QueryRow(`SELECT count(*) FROM settings WHERE key IN ('t.b', 't.x')`).Scan(&n)
	if n != 0 || runs["x"].Load() != 0 {
		t.Errorf("%d settings of b and x, x ran %d times; want none and never", n, runs["x"].Load())
	}
	if runs["a"].Load() != 2 || runs["c"].Load() != 1 {
		t.Errorf("a ran %d times, c %d; want 2 (again after b's rollback) and 1", runs["a"].Load(), runs["c"].Load())
	}
}

// TestCheckpointsBesideTheWriter: the writer never checkpoints
// (wal_autocheckpoint=0), so the database file grows only if the
// checkpointer copies the log into it after commits.
func TestCheckpointsBesideTheWriter(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if s.pg {
		t.Skip("PostgreSQL checkpoints by itself")
	}
	path := s.Path()
	var auto int
	if err := s.write.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("writer's wal_autocheckpoint = %d (%v), want 0", auto, err)
	}
	s.ckpt.checkpoint() // the migrations' log copied: the file's size is settled
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	blob := strings.Repeat("x", 3000)
	for i := range 200 {
		if err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)`, fmt.Sprintf("ckpt-%d", i), blob)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		after, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if after.Size() >= before.Size()+200*3000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes before 600 KB of commits, %d after: nothing checkpointed", before.Size(), after.Size())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
