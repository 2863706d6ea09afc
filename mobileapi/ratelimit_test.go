package mobileapi

import (
	"strconv"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestWindowLimiter(t *testing.T) {
	c := &fakeClock{t: time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)}
	w := newWindowLimiter(3, time.Minute, 100, c.now)
	for i := range 3 {
		if got := w.take("k"); got != 0 {
			t.Fatalf("attempt %d: got wait %v, want 0", i+1, got)
		}
	}
	c.t = c.t.Add(20 * time.Second)
	if got, want := w.take("k"), 40*time.Second; got != want {
		t.Errorf("4th attempt: got wait %v, want %v", got, want)
	}
	if got := w.take("other"); got != 0 {
		t.Errorf("another key: got wait %v, want 0", got)
	}
	c.t = c.t.Add(40 * time.Second)
	if got := w.take("k"); got != 0 {
		t.Errorf("next window: got wait %v, want 0", got)
	}
	w.take("k")
	w.take("k")
	w.reset("k")
	if got := w.take("k"); got != 0 {
		t.Errorf("after reset: got wait %v, want 0", got)
	}
}

func TestLimitersStayBounded(t *testing.T) {
	c := &fakeClock{t: time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)}
	w := newWindowLimiter(1, time.Minute, 100, c.now)
	r := newRateLimiter(1, 1, 100, c.now)
	for i := range 10_000 {
		w.take(strconv.Itoa(i))
		r.take(strconv.Itoa(i))
	}
	if len(w.keys) > 100 || len(r.tat) > 100 {
		t.Fatalf("got %d and %d keys, want at most 100", len(w.keys), len(r.tat))
	}
	// Expired keys go first: a key locked in the current window survives
	// a flood of new keys once the old ones have expired.
	c.t = c.t.Add(time.Hour)
	w.take("victim")
	if got := w.take("victim"); got == 0 {
		t.Fatal("victim not locked")
	}
	for i := range 98 {
		w.take("new" + strconv.Itoa(i))
	}
	if got := w.take("victim"); got == 0 {
		t.Errorf("victim's lock was evicted while expired keys remained")
	}
}

func TestRateLimiter(t *testing.T) {
	c := &fakeClock{t: time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)}
	r := newRateLimiter(20, 40, 100, c.now)
	for i := range 40 {
		if got := r.take("u/d"); got != 0 {
			t.Fatalf("request %d of the burst: got wait %v, want 0", i+1, got)
		}
	}
	if got, want := r.take("u/d"), 50*time.Millisecond; got != want {
		t.Errorf("past the burst: got wait %v, want %v", got, want)
	}
	c.t = c.t.Add(time.Second) // 20 requests' worth
	for i := range 20 {
		if got := r.take("u/d"); got != 0 {
			t.Fatalf("refilled request %d: got wait %v, want 0", i+1, got)
		}
	}
	if got := r.take("u/d"); got == 0 {
		t.Error("the 21st request after one second was admitted")
	}
	if got, want := rateLimited(50*time.Millisecond).RetryAfter, 1; got != want {
		t.Errorf("Retry-After for 50 ms = %d, want %d", got, want)
	}
	if got, want := rateLimited(61*time.Second+200*time.Millisecond).RetryAfter, 62; got != want {
		t.Errorf("Retry-After for 61.2 s = %d, want %d", got, want)
	}
}

// BenchmarkRateLimiter is the per-request throttle under contention from
// every core (10,000 devices).
func BenchmarkRateLimiter(b *testing.B) {
	r := newRateLimiter(20, 40, 100_000, time.Now)
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = strconv.Itoa(i) + "/00000000-0000-4000-8000-000000000000"
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r.take(keys[i%len(keys)])
			i += 7
		}
	})
}

func TestBackoff(t *testing.T) {
	c := &fakeClock{t: time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)}
	b := newBackoff(3, 5, time.Second, 15*time.Minute, 100, c.now)
	for i := range 3 {
		if got := b.attempt("k"); got != 0 {
			t.Fatalf("free attempt %d: got wait %v, want 0", i+1, got)
		}
	}
	// Past the free failures each attempt waits twice as long after the
	// last one: 1 s, 2 s, 4 s …, at most 15 minutes.
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		if got := b.attempt("k"); got != want {
			t.Fatalf("attempt %d right after a failure: got wait %v, want %v", i+4, got, want)
		}
		c.t = c.t.Add(want)
		if got := b.attempt("k"); got != 0 {
			t.Fatalf("attempt %d after %v: got wait %v, want 0", i+4, want, got)
		}
	}
	for range 40 {
		if w := b.attempt("k"); w > 0 {
			c.t = c.t.Add(w) // wait it out, and fail again
		}
	}
	if got := b.attempt("k"); got != 15*time.Minute {
		t.Errorf("after many failures: got wait %v, want the 15 minute cap", got)
	}
	if got := b.attempt("other"); got != 0 {
		t.Errorf("another key: got wait %v, want 0", got)
	}
	// A key refused is not counted; one of several keys waiting refuses all.
	if got := b.attempt("other", "k"); got == 0 {
		t.Error("a waiting key among several let the attempt through")
	}
	b.reset("k")
	if got := b.attempt("k"); got != 0 {
		t.Errorf("after reset: got wait %v, want 0", got)
	}
	// "all:" keys have the ceiling: 5 free failures.
	for i := range 5 {
		if got := b.attempt("all:p"); got != 0 {
			t.Fatalf("ceiling attempt %d: got wait %v, want 0", i+1, got)
		}
	}
	if got := b.attempt("all:p"); got != time.Second {
		t.Errorf("past the ceiling: got wait %v, want 1s", got)
	}
	// A key quiet for four times the cap is forgotten.
	c.t = c.t.Add(time.Hour)
	for i := range 3 {
		if got := b.attempt("all:p"); got != 0 && i < 3 {
			t.Fatalf("after a quiet 15 minutes, attempt %d: got wait %v, want 0", i+1, got)
		}
	}
}
