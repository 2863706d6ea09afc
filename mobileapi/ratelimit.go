package mobileapi

import (
	"math"
	"strings"
	"sync"
	"time"
)

// Limits are the API's throttles. Zero fields take DefaultLimits' values.
// They live in memory (Toso is one binary), each limiter remembering at most
// MaxKeys keys: when full it forgets expired keys first, then arbitrary ones,
// so a flood of new keys costs memory nobody can grow without bound.
type Limits struct {
	LoginPerIP    int           // login attempts per client IP per LoginIPWindow (not for a device bound to the account)
	LoginIPWindow time.Duration //
	// LoginPerPhone failed logins are free per (phone, client address) and
	// per (phone, device bound to that account); after them each further
	// attempt waits twice as long as the one before (1 s, 2 s, 4 s …) up to
	// LoginPhoneWindow, and a key is forgotten once four LoginPhoneWindows
	// pass without a failure. A success clears the phone's keys. A stranger's
	// failures therefore never lock the owner out: the owner's address, or
	// their bound device, has keys of its own. Unbound devices also share a
	// per-phone key that allows LoginPhoneCeiling failures (NIST 800-63B's
	// "at most 100") before the same backoff.
	LoginPerPhone     int
	LoginPhoneWindow  time.Duration
	LoginPhoneCeiling int
	// Authenticated requests per user and device, as a token bucket. Keyed
	// by user and device, not IP: phones share carrier NAT addresses.
	RequestsPerSecond float64
	RequestBurst      int
	MaxKeys           int // per limiter
}

// DefaultLimits: 30 login attempts a minute per IP; 5 free failures per
// (phone, address) and (phone, bound device), then a backoff from 1 s
// doubling up to 15 minutes; 100 failures per phone from unbound devices;
// 20 requests a second per device with bursts of 40 (a sync session is a
// few requests).
func DefaultLimits() Limits {
	return Limits{
		LoginPerIP: 30, LoginIPWindow: time.Minute,
		LoginPerPhone: 5, LoginPhoneWindow: 15 * time.Minute, LoginPhoneCeiling: 100,
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
	if l.LoginPhoneCeiling <= 0 {
		l.LoginPhoneCeiling = max(d.LoginPhoneCeiling, l.LoginPerPhone)
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

// backoff counts failures per key and makes each attempt past the free
// ones wait twice as long as the one before, from base up to max, after
// the key's last failure. An attempt counts as a failure when it starts
// (so concurrent guesses cannot slip past the count) and a success forgets
// the key. A key with no failure for 4 × max is forgotten.
type backoff struct {
	mu        sync.Mutex
	free      int
	ceiling   int // the free failures of keys that start with "all:"
	base, max time.Duration
	maxKeys   int
	now       func() time.Time
	keys      map[string]failures
}

type failures struct {
	n    int
	last time.Time
}

func newBackoff(free, ceiling int, base, max time.Duration, maxKeys int, now func() time.Time) *backoff {
	return &backoff{free: free, ceiling: ceiling, base: base, max: max, maxKeys: maxKeys, now: now, keys: map[string]failures{}}
}

// waitLocked is how long key must still wait at now.
func (b *backoff) waitLocked(key string, now time.Time) time.Duration {
	free := b.free
	if strings.HasPrefix(key, "all:") {
		free = b.ceiling
	}
	f, ok := b.keys[key]
	if !ok || f.n < free {
		return 0
	}
	if now.Sub(f.last) >= b.forget() {
		delete(b.keys, key)
		return 0
	}
	d := b.max
	if shift := f.n - free; shift < 30 {
		d = min(b.base<<shift, b.max)
	}
	return max(0, f.last.Add(d).Sub(now))
}

// attempt counts an attempt for every key, or returns the longest wait
// among them (and counts nothing) when one must still wait.
func (b *backoff) attempt(keys ...string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	var wait time.Duration
	for _, k := range keys {
		wait = max(wait, b.waitLocked(k, now))
	}
	if wait > 0 {
		return wait
	}
	for _, k := range keys {
		f, ok := b.keys[k]
		if !ok {
			b.makeRoom(now)
		} else if now.Sub(f.last) >= b.forget() {
			f = failures{}
		}
		b.keys[k] = failures{n: f.n + 1, last: now}
	}
	return 0
}

// forget is how long a key is kept after its last failure: four times the
// longest wait, so waiting out the cap does not buy a fresh set of free
// failures.
func (b *backoff) forget() time.Duration { return 4 * b.max }

// reset forgets keys (a success).
func (b *backoff) reset(keys ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range keys {
		delete(b.keys, k)
	}
}

// makeRoom frees a tenth of the map when it is full: forgotten keys first.
func (b *backoff) makeRoom(now time.Time) {
	if len(b.keys) < b.maxKeys {
		return
	}
	for k, f := range b.keys {
		if now.Sub(f.last) >= b.forget() {
			delete(b.keys, k)
		}
	}
	for k := range b.keys {
		if len(b.keys) < b.maxKeys-b.maxKeys/10 {
			break
		}
		delete(b.keys, k)
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
