package mobileapi

import (
	"math"
	"sync"
	"time"
)

// Limits are the API's throttles. Zero fields take DefaultLimits' values.
// They live in memory (Toso is one binary), each limiter remembering at most
// MaxKeys keys: when full it forgets expired keys first, then arbitrary ones,
// so a flood of new keys costs memory nobody can grow without bound.
type Limits struct {
	LoginPerIP       int           // login attempts per client IP per LoginIPWindow
	LoginIPWindow    time.Duration //
	LoginPerPhone    int           // failed logins per phone per LoginPhoneWindow; then locked until it ends
	LoginPhoneWindow time.Duration //
	// Authenticated requests per user and device, as a token bucket. Keyed
	// by user and device, not IP: phones share carrier NAT addresses.
	RequestsPerSecond float64
	RequestBurst      int
	MaxKeys           int // per limiter
}

// DefaultLimits: 30 login attempts a minute per IP; 5 failed logins per
// phone in 15 minutes lock it for the rest of the 15 minutes; 20 requests a
// second per device with bursts of 40 (a sync session is a few requests).
func DefaultLimits() Limits {
	return Limits{
		LoginPerIP: 30, LoginIPWindow: time.Minute,
		LoginPerPhone: 5, LoginPhoneWindow: 15 * time.Minute,
		RequestsPerSecond: 20, RequestBurst: 40,
		MaxKeys: 100_000,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.LoginPerIP <= 0 || l.LoginIPWindow <= 0 {
		l.LoginPerIP, l.LoginIPWindow = d.LoginPerIP, d.LoginIPWindow
	}
	if l.LoginPerPhone <= 0 || l.LoginPhoneWindow <= 0 {
		l.LoginPerPhone, l.LoginPhoneWindow = d.LoginPerPhone, d.LoginPhoneWindow
	}
	if l.RequestsPerSecond <= 0 || l.RequestBurst <= 0 {
		l.RequestsPerSecond, l.RequestBurst = d.RequestsPerSecond, d.RequestBurst
	}
	if l.MaxKeys <= 0 {
		l.MaxKeys = d.MaxKeys
	}
	return l
}

// windowLimiter allows limit events per key in fixed windows starting at a
// key's first event; once the limit is used up the key waits for the
// window's end.
type windowLimiter struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	max    int
	now    func() time.Time
	keys   map[string]windowCount
}

type windowCount struct {
	start time.Time
	n     int
}

func newWindowLimiter(limit int, window time.Duration, maxKeys int, now func() time.Time) *windowLimiter {
	return &windowLimiter{limit: limit, window: window, max: maxKeys, now: now, keys: map[string]windowCount{}}
}

// take counts one event for key. It returns 0 when the event is allowed,
// or how long until the key's window ends when the limit is used up (the
// refused event is not counted).
func (w *windowLimiter) take(key string) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	c, ok := w.keys[key]
	if !ok || now.Sub(c.start) >= w.window {
		if !ok {
			w.makeRoom(now)
		}
		c = windowCount{start: now}
	}
	if c.n >= w.limit {
		return c.start.Add(w.window).Sub(now)
	}
	c.n++
	w.keys[key] = c
	return 0
}

// reset forgets key (a successful login clears the phone's failures).
func (w *windowLimiter) reset(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.keys, key)
}

// makeRoom frees a tenth of the map when it is full: expired keys first.
func (w *windowLimiter) makeRoom(now time.Time) {
	if len(w.keys) < w.max {
		return
	}
	for k, c := range w.keys {
		if now.Sub(c.start) >= w.window {
			delete(w.keys, k)
		}
	}
	for k := range w.keys {
		if len(w.keys) < w.max-w.max/10 {
			break
		}
		delete(w.keys, k)
	}
}

// rateLimiter is a token bucket per key in its GCRA form: one time per key,
// the theoretical arrival time of the next request. A key may run up to
// burst requests ahead of its steady rate.
type rateLimiter struct {
	mu       sync.Mutex
	interval time.Duration // one request's worth of time
	ahead    time.Duration // burst × interval
	max      int
	now      func() time.Time
	tat      map[string]time.Time
}

func newRateLimiter(perSecond float64, burst, maxKeys int, now func() time.Time) *rateLimiter {
	interval := time.Duration(float64(time.Second) / perSecond)
	return &rateLimiter{interval: interval, ahead: time.Duration(burst) * interval, max: maxKeys, now: now,
		tat: map[string]time.Time{}}
}

// take admits one request for key, or returns how long to wait.
func (r *rateLimiter) take(key string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	tat, ok := r.tat[key]
	if !ok {
		r.makeRoom(now)
	}
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(r.interval)
	if limit := now.Add(r.ahead); next.After(limit) {
		return next.Sub(limit)
	}
	r.tat[key] = next
	return 0
}

func (r *rateLimiter) makeRoom(now time.Time) {
	if len(r.tat) < r.max {
		return
	}
	for k, t := range r.tat {
		if !t.After(now) { // a full bucket: nothing to remember
			delete(r.tat, k)
		}
	}
	for k := range r.tat {
		if len(r.tat) < r.max-r.max/10 {
			break
		}
		delete(r.tat, k)
	}
}

// rateLimited is the 429 answer, with Retry-After in whole seconds.
func rateLimited(wait time.Duration) *Problem {
	return &Problem{Status: 429, Code: "rate_limited", RetryAfter: max(1, int(math.Ceil(wait.Seconds())))}
}
