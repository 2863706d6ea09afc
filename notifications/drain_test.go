package notifications

import (
	"context"
	"flag"
	"testing"
	"time"

	"toso/store"
)

var (
	fullSize    = flag.Bool("push.full", false, "run TestDrainProvince at full size (25,000 users, 30,000 devices)")
	fcmLatency  = flag.Duration("push.latency", 0, "TestDrainProvince: the fake FCM server's answer time (real FCM: tens of ms)")
	concurrency = flag.Int("push.concurrency", 0, "TestDrainProvince: worker calls in flight (0: the default)")
)

// TestDrainProvince publishes to a province-wide audience and measures how
// long until the outbox is drained against the fake FCM server (the real
// SDK, one HTTP request per token, 50 at a time). Small by default; run
//
//	go test ./notifications -run TestDrainProvince -v -args -push.full [-push.latency 50ms] [-push.concurrency 4]
//
// for 25,000 users with 30,000 devices. It reports the time; it asserts
// only that every token was accepted exactly once.
func TestDrainProvince(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	users, devices, teams := 2_500, 3_000, 20
	if *fullSize {
		users, devices, teams = 25_000, 30_000, 200
	}
	f := newFixture(t, time.Now)
	fcm := newFakeFCM(t)
	fcm.latency = *fcmLatency
	f.addTeams(t, teams-1)
	tokens := f.addMembers(t, users, devices, time.Now())

	start := time.Now()
	an := f.publish(t, store.PriorityNormal, time.Time{})
	published := time.Since(start)

	ctx, cancel := context.WithCancel(context.Background())
	w := NewWorker(f.st, fcm.client(t), discardLog(), Config{PollInterval: 5 * time.Millisecond, Concurrency: *concurrency})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for {
		q, err := f.st.PushQueueStats(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if q.Depth == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	drained := time.Since(start)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	if an.Recipients != users {
		t.Errorf("resolved %d recipients, want %d", an.Recipients, users)
	}
	total, _, accepted := fcm.counts()
	if total != devices {
		t.Errorf("fake FCM saw %d requests, want %d", total, devices)
	}
	for _, tok := range tokens {
		if accepted[tok] != 1 {
			t.Fatalf("token %s accepted %d times, want 1", tok, accepted[tok])
		}
	}
	t.Logf("%d users, %d devices, FCM latency %s, %d calls in flight: publish (resolve receipts + outbox in one tx) %s; "+
		"drained %s after publish start (%.0f pushes/s, %d connections)",
		users, devices, *fcmLatency, w.cfg.Concurrency, published.Round(time.Millisecond), drained.Round(time.Millisecond),
		float64(devices)/drained.Seconds(), fcm.conns.Load())
}
