package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A push is either applied whole or not at all, and the phone is told
// which: a push whose context ends before it reaches the writer
// (the request's deadline, a shutdown) reports ErrUnavailable and commits
// nothing; once its transaction has started it runs to the end (a
// cancelled statement would make SQLite roll back the whole group of
// pushes it shares a transaction with) and reports its results. Either
// way the retry applies every mutation once. The context is cancelled from
// the store's clock, read once before the transaction and before each
// mutation inside it, so the cut lands at a chosen point, with no sleeping.
func TestPushCancelledMidwayIsAllOrNothing(t *testing.T) {
	for _, cut := range []int{1, 2, 7, 20} {
		var (
			mu     sync.Mutex
			calls  int
			cancel context.CancelFunc
		)
		base := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
		now := func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if cancel != nil && calls == cut {
				cancel()
			}
			return base
		}
		s, a := syncFixture(t, now)
		var muts []Mutation
		for i := int64(1); i <= 20; i++ {
			muts = append(muts, logMutation(i))
		}
		ctx, c := context.WithCancel(context.Background())
		mu.Lock()
		calls, cancel = 0, c
		mu.Unlock()
		res, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: muts, SoftDeadline: base.Add(time.Hour)})
		mu.Lock()
		cancel = nil
		mu.Unlock()
		c()
		counts := func() []int {
			var logs, results, lastMid int
			s.read.QueryRow(`SELECT count(*) FROM assistance_logs`).Scan(&logs)
			s.read.QueryRow(`SELECT count(*) FROM sync_results`).Scan(&results)
			s.read.QueryRow(`SELECT COALESCE((SELECT last_mid FROM devices WHERE id = ?), 0)`, a.DeviceID).Scan(&lastMid)
			return []int{logs, results, lastMid}
		}
		want := []int{20, 20, 20}
		if cut == 1 { // before the transaction: nothing happens
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("cut at clock reading %d: err = %v, want ErrUnavailable", cut, err)
			}
			want = []int{0, 0, 0}
		} else if err != nil || res.LastMid != 20 || len(res.Results) != 20 {
			t.Fatalf("cut at clock reading %d (inside the transaction): err = %v, %+v; want all 20 applied", cut, err, res)
		}
		if diff := cmp.Diff(want, counts()); diff != "" {
			t.Errorf("cut at clock reading %d: logs, results, last_mid after the push (-want +got):\n%s", cut, diff)
		}
		res, err = s.Push(context.Background(), a, PushRequest{DeviceID: a.DeviceID, Mutations: muts})
		if err != nil {
			t.Fatal(err)
		}
		if res.LastMid != 20 || len(res.Results) != 20 {
			t.Errorf("retry: last_mid %d, %d results; want 20, 20", res.LastMid, len(res.Results))
		}
		if diff := cmp.Diff([]int{20, 20, 20}, counts()); diff != "" {
			t.Errorf("cut at clock reading %d: logs, results, last_mid after the retry (-want +got):\n%s", cut, diff)
		}
	}
}
