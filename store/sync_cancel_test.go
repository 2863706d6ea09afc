package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A push whose context ends in the middle of its write transaction (the
// request's deadline, a shutdown) reports ErrUnavailable and commits
// nothing: a phone told the push failed can never find it applied. The
// retry applies every mutation once. The context is cancelled from the
// store's clock, which the push reads before each mutation, so the cut
// lands inside the transaction at a chosen mutation, with no sleeping.
func TestPushCancelledMidwayCommitsNothing(t *testing.T) {
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
		_, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: muts, SoftDeadline: base.Add(time.Hour)})
		mu.Lock()
		cancel = nil
		mu.Unlock()
		c()
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("cut at clock reading %d: err = %v, want ErrUnavailable", cut, err)
		}
		counts := func() []int {
			var logs, results, lastMid int
			s.read.QueryRow(`SELECT count(*) FROM assistance_logs`).Scan(&logs)
			s.read.QueryRow(`SELECT count(*) FROM sync_results`).Scan(&results)
			s.read.QueryRow(`SELECT COALESCE((SELECT last_mid FROM devices WHERE id = ?), 0)`, a.DeviceID).Scan(&lastMid)
			return []int{logs, results, lastMid}
		}
		if diff := cmp.Diff([]int{0, 0, 0}, counts()); diff != "" {
			t.Errorf("cut at clock reading %d: logs, results, last_mid after a failed push (-want +got):\n%s", cut, diff)
		}
		res, err := s.Push(context.Background(), a, PushRequest{DeviceID: a.DeviceID, Mutations: muts})
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
