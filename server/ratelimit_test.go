package server

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"toso/mobileapi"
)

// Failures of one phone from one address back off progressively (5 free,
// then 1 s, 2 s, 4 s …), counted together however the phone is written.
func TestLoginThrottleBacksOffProgressively(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.Limits = mobileapi.Limits{} })
	e.clock.freeze()
	phone := e.users["memberA1"].Phone
	device := uuid.NewString()
	for i := range 5 {
		p := phone
		if i%2 == 1 {
			p = "+84 " + phone[1:] // the same phone written another way
		}
		wantError(t, "failure", e.authLoginAs(p, "password-wrong", device), 401, "invalid_credentials")
	}
	for i, wait := range []string{"1", "2", "4"} {
		r := e.authLogin("memberA1", device)
		wantError(t, "too soon", r, 429, "rate_limited")
		if got := r.Header.Get("Retry-After"); got != wait {
			t.Errorf("after %d failures: Retry-After %q, want %q", 5+i, got, wait)
		}
		e.clock.advance(time.Duration(1<<i) * time.Second)
		wantError(t, "failure", e.authLoginAs(phone, "password-wrong", device), 401, "invalid_credentials")
	}
	authPairOf(t, e.authLogin("memberA2", uuid.NewString())) // another phone is not slowed down
	e.clock.advance(8 * time.Second)
	authPairOf(t, e.authLogin("memberA1", device)) // waited out: the right password gets in
	wantError(t, "a failure after the success", e.authLoginAs(phone, "password-wrong", device), 401, "invalid_credentials")
}

func TestLoginThrottlePerIP(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.Limits = mobileapi.Limits{} })
	e.clock.freeze()
	for i := range 30 { // different phones: only the IP counts them all
		r := e.authLoginAs("bad-phone-"+itoa(int64(i)), "password", uuid.NewString())
		wantError(t, "attempt", r, 401, "invalid_credentials")
	}
	r := e.authLogin("memberA1", uuid.NewString())
	wantError(t, "31st attempt", r, 429, "rate_limited")
	if got, want := r.Header.Get("Retry-After"), "60"; got != want {
		t.Errorf("Retry-After = %q, want %q", got, want)
	}
	e.clock.advance(time.Minute)
	authPairOf(t, e.authLogin("memberA1", uuid.NewString()))
}

func TestRequestRateLimitPerDevice(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.Limits = mobileapi.Limits{} })
	e.clock.freeze()
	tok := e.token("memberA1")
	for i := range 40 {
		if got := e.meStatus(tok); got != 200 {
			t.Fatalf("request %d of the burst: got %d, want 200", i+1, got)
		}
	}
	r := e.do("GET", "/v1/me", tok, nil)
	wantError(t, "past the burst", r, 429, "rate_limited")
	if got, want := r.Header.Get("Retry-After"), "1"; got != want {
		t.Errorf("Retry-After = %q, want %q", got, want)
	}
	if got := e.meStatus(e.token("memberA2")); got != 200 {
		t.Errorf("another user's device: got %d, want 200", got)
	}
	e.clock.advance(50 * time.Millisecond) // one request's worth at 20/s
	if got := e.meStatus(tok); got != 200 {
		t.Errorf("after 50 ms: got %d, want 200", got)
	}
	if got := e.meStatus(tok); got != 429 {
		t.Errorf("second request after 50 ms: got %d, want 429", got)
	}
}
