package server

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"toso/store"
)

// authPair is what login, refresh and password change hand back.
type authPair struct{ access, refresh string }

// authLogin logs fixture user key in on device with their password.
func (e *testEnv) authLogin(key, device string) response {
	e.t.Helper()
	return e.authLoginAs(e.users[key].Phone, "password-"+key, device)
}

func (e *testEnv) authLoginAs(phone, password, device string) response {
	e.t.Helper()
	return e.do("POST", "/v1/auth/login", "", map[string]any{
		"phone": phone, "password": password, "device_id": device, "platform": "android", "app_version": "1.0.0",
	}, "Accept-Language", "en")
}

func (e *testEnv) authRefresh(refresh, device string) response {
	e.t.Helper()
	return e.do("POST", "/v1/auth/refresh", "", map[string]any{"refresh_token": refresh, "device_id": device})
}

// authPairOf takes the tokens out of a 200 answer, or fails the test.
func authPairOf(t *testing.T, r response) authPair {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("got %d %s, want 200: %s", r.Status, r.ErrorCode(), r.Body)
	}
	m := r.JSON(t)
	p := authPair{access: m["access_token"].(string), refresh: m["refresh_token"].(string)}
	if p.access == "" || p.refresh == "" || m["token_type"] != "Bearer" {
		t.Fatalf("bad token answer: %s", r.Body)
	}
	return p
}

// meStatus is the status of GET /v1/me with the access token.
func (e *testEnv) meStatus(access string) int {
	e.t.Helper()
	return e.do("GET", "/v1/me", access, nil).Status
}

// wantError checks status and error code of an answer.
func wantError(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	if r.Status != status || r.ErrorCode() != code {
		t.Errorf("%s: got %d %q, want %d %q: %s", what, r.Status, r.ErrorCode(), status, code, r.Body)
	}
}

func TestLoginEachRole(t *testing.T) {
	e := newTestEnv(t)
	for key, u := range e.users {
		t.Run(key, func(t *testing.T) {
			r := e.authLogin(key, uuid.NewString())
			p := authPairOf(t, r)
			m := r.JSON(t)
			if got, want := m["expires_in"], float64(15*60); got != want {
				t.Errorf("expires_in = %v, want %v", got, want)
			}
			user := m["user"].(map[string]any)
			if got, want := int64(user["id"].(float64)), u.ID; got != want {
				t.Errorf("user.id = %d, want %d", got, want)
			}
			if got, want := user["role"], string(u.Role); got != want {
				t.Errorf("user.role = %v, want %v", got, want)
			}
			me := e.do("GET", "/v1/me", p.access, nil)
			if me.Status != 200 || int64(me.JSON(t)["id"].(float64)) != u.ID {
				t.Errorf("GET /v1/me: got %d %s, want 200 with id %d", me.Status, me.Body, u.ID)
			}
		})
	}
}

func TestLoginWrongPasswordAndUnknownPhoneAnswerAlike(t *testing.T) {
	e := newTestEnv(t)
	device := uuid.NewString()
	wrong := e.authLoginAs(e.users["memberA1"].Phone, "password-wrong", device)
	unknown := e.authLoginAs("0987654321", "password-memberA1", device)
	for name, r := range map[string]response{"wrong password": wrong, "unknown phone": unknown} {
		wantError(t, name, r, 401, "invalid_credentials")
	}
	msg := func(r response) any { return r.JSON(t)["error"].(map[string]any)["message"] }
	if msg(wrong) != msg(unknown) {
		t.Errorf("messages differ: %q vs %q", msg(wrong), msg(unknown))
	}
	// A failed login binds nothing: another user may take the device.
	authPairOf(t, e.authLogin("memberA2", device))
}

func TestLoginValidation(t *testing.T) {
	e := newTestEnv(t)
	r := e.do("POST", "/v1/auth/login", "", map[string]any{
		"phone": "0900000105", "password": "x", "device_id": "not-a-uuid", "platform": "symbian",
	}, "Accept-Language", "en")
	wantError(t, "bad device and platform", r, 422, "validation_failed")
	fields, _ := r.JSON(t)["error"].(map[string]any)["fields"].(map[string]any)
	for _, f := range []string{"device_id", "platform"} {
		if fields[f] == nil {
			t.Errorf("fields = %v, want %s named", fields, f)
		}
	}
}

func TestDeviceBoundToAnotherUserIsRefused(t *testing.T) {
	e := newTestEnv(t)
	device := uuid.NewString()
	authPairOf(t, e.authLogin("memberA1", device))
	wantError(t, "other user, same device", e.authLogin("memberA2", device), 409, "device_bound")
	wantError(t, "other user, same device in capitals", e.authLogin("memberA2", strings.ToUpper(device)), 409, "device_bound")
	authPairOf(t, e.authLogin("memberA1", device)) // the owner may log in again
	// The refused user's devices list stays empty.
	items := e.do("GET", "/v1/devices", e.token("memberA2"), nil).JSON(t)["items"].([]any)
	for _, it := range items {
		if it.(map[string]any)["id"] == device {
			t.Errorf("memberA2 lists device %s bound to memberA1", device)
		}
	}
}

func TestRefreshRotates(t *testing.T) {
	e := newTestEnv(t)
	e.clock.freeze()
	device := uuid.NewString()
	p1 := authPairOf(t, e.authLogin("leadA1", device))
	p2 := authPairOf(t, e.authRefresh(p1.refresh, device))
	if p2.refresh == p1.refresh {
		t.Fatal("refresh returned the same refresh token")
	}
	if got := e.meStatus(p2.access); got != 200 {
		t.Errorf("new access token: got %d, want 200", got)
	}
	e.clock.advance(store.RefreshGrace + time.Second)
	p3 := authPairOf(t, e.authRefresh(p2.refresh, device))
	// Past the grace window the first token is dead, and presenting it
	// counts as reuse.
	wantError(t, "spent token", e.authRefresh(p1.refresh, device), 401, "token_reused")
	wantError(t, "newest token after reuse", e.authRefresh(p3.refresh, device), 401, "unauthenticated")
	if got := e.meStatus(p3.access); got != 401 {
		t.Errorf("access token of a revoked chain: got %d, want 401", got)
	}
}

func TestRefreshReuseRevokesChain(t *testing.T) {
	tests := []struct {
		name  string
		prune bool // refresh once more, which deletes the spent token's row
	}{
		{"spent token still stored", false},
		{"spent token pruned by a later refresh", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.clock.freeze()
			device := uuid.NewString()
			p1 := authPairOf(t, e.authLogin("memberA1", device))
			newest := authPairOf(t, e.authRefresh(p1.refresh, device))
			e.clock.advance(store.RefreshGrace + time.Millisecond)
			if tt.prune {
				newest = authPairOf(t, e.authRefresh(newest.refresh, device))
			}
			wantError(t, "reuse", e.authRefresh(p1.refresh, device), 401, "token_reused")
			wantError(t, "newest token", e.authRefresh(newest.refresh, device), 401, "unauthenticated")
			if got := e.meStatus(newest.access); got != 401 {
				t.Errorf("newest access token: got %d, want 401", got)
			}
			// The user can still log in again.
			p := authPairOf(t, e.authLogin("memberA1", device))
			if got := e.meStatus(p.access); got != 200 {
				t.Errorf("after a new login: got %d, want 200", got)
			}
		})
	}
}

func TestRefreshGraceWindow(t *testing.T) {
	e := newTestEnv(t)
	e.clock.freeze()
	device := uuid.NewString()
	p1 := authPairOf(t, e.authLogin("memberA1", device))
	lost := authPairOf(t, e.authRefresh(p1.refresh, device)) // the answer the flaky link lost
	e.clock.advance(3 * time.Second)
	retry := authPairOf(t, e.authRefresh(p1.refresh, device)) // within the grace window: a new pair
	if got := e.meStatus(retry.access); got != 200 {
		t.Errorf("retried pair: got %d, want 200", got)
	}
	// The retry killed the successor it replaced. Had a thief sent the retry,
	// the real app now presents that successor: reuse, and the chain dies.
	wantError(t, "replaced successor", e.authRefresh(lost.refresh, device), 401, "token_reused")
	wantError(t, "retried pair after reuse", e.authRefresh(retry.refresh, device), 401, "unauthenticated")

	// Only once, and only from the same device.
	p1 = authPairOf(t, e.authLogin("memberA1", device))
	authPairOf(t, e.authRefresh(p1.refresh, device))
	wantError(t, "grace retry from another device", e.authRefresh(p1.refresh, uuid.NewString()), 401, "unauthenticated")
	p1 = authPairOf(t, e.authLogin("memberA1", device))
	authPairOf(t, e.authRefresh(p1.refresh, device))
	authPairOf(t, e.authRefresh(p1.refresh, device))
	wantError(t, "second grace retry", e.authRefresh(p1.refresh, device), 401, "token_reused")
}

func TestRefreshRefusals(t *testing.T) {
	e := newTestEnv(t)
	e.clock.freeze()
	device := uuid.NewString()
	p := authPairOf(t, e.authLogin("memberA1", device))
	wantError(t, "garbage", e.authRefresh("garbage", device), 401, "unauthenticated")
	wantError(t, "unknown token of no family", e.authRefresh(uuid.NewString()+"."+strings.Repeat("A", 43), device), 401, "unauthenticated")
	wantError(t, "missing device", e.do("POST", "/v1/auth/refresh", "", map[string]any{"refresh_token": p.refresh}), 422, "validation_failed")
	// Presented from another device, the token dies for its own device too.
	wantError(t, "other device", e.authRefresh(p.refresh, uuid.NewString()), 401, "unauthenticated")
	wantError(t, "own device after theft attempt", e.authRefresh(p.refresh, device), 401, "unauthenticated")

	p = authPairOf(t, e.authLogin("memberA1", device))
	e.clock.advance(61 * 24 * time.Hour)
	wantError(t, "expired", e.authRefresh(p.refresh, device), 401, "unauthenticated")
}

func TestLogout(t *testing.T) {
	e := newTestEnv(t)
	d1, d2 := uuid.NewString(), uuid.NewString()
	p1 := authPairOf(t, e.authLogin("coordA", d1))
	p2 := authPairOf(t, e.authLogin("coordA", d2))
	if r := e.do("POST", "/v1/auth/logout", p1.access, nil); r.Status != 204 {
		t.Fatalf("logout: got %d, want 204: %s", r.Status, r.Body)
	}
	if got := e.meStatus(p1.access); got != 401 {
		t.Errorf("access token after logout: got %d, want 401", got)
	}
	wantError(t, "refresh after logout", e.authRefresh(p1.refresh, d1), 401, "unauthenticated")
	if got := e.meStatus(p2.access); got != 200 {
		t.Errorf("the other device's session: got %d, want 200", got)
	}
	authPairOf(t, e.authRefresh(p2.refresh, d2))

	// A new login on a device ends the device's previous session.
	p3 := authPairOf(t, e.authLogin("coordA", d1))
	authPairOf(t, e.authLogin("coordA", d1))
	if got := e.meStatus(p3.access); got != 401 {
		t.Errorf("access token of a replaced session: got %d, want 401", got)
	}
	wantError(t, "refresh of a replaced session", e.authRefresh(p3.refresh, d1), 401, "unauthenticated")
}

func TestChangePassword(t *testing.T) {
	e := newTestEnv(t)
	d1, d2 := uuid.NewString(), uuid.NewString()
	p1 := authPairOf(t, e.authLogin("memberB1", d1))
	p2 := authPairOf(t, e.authLogin("memberB1", d2))
	change := func(access, old, new string) response {
		return e.do("POST", "/v1/auth/password", access, map[string]any{"old_password": old, "new_password": new})
	}
	wantError(t, "wrong old password", change(p1.access, "password-wrong", "new-password-1"), 401, "invalid_credentials")
	wantError(t, "too short", change(p1.access, "password-memberB1", "short"), 422, "validation_failed")
	if got := e.meStatus(p1.access); got != 200 {
		t.Fatalf("session after refused changes: got %d, want 200", got)
	}

	fresh := authPairOf(t, change(p1.access, "password-memberB1", "new-password-1"))
	if got := e.meStatus(fresh.access); got != 200 {
		t.Errorf("the pair handed back: got %d, want 200", got)
	}
	authPairOf(t, e.authRefresh(fresh.refresh, d1))
	for name, p := range map[string]authPair{"this device's old pair": p1, "other device": p2} {
		if got := e.meStatus(p.access); got != 401 {
			t.Errorf("%s access: got %d, want 401", name, got)
		}
	}
	wantError(t, "other device's refresh", e.authRefresh(p2.refresh, d2), 401, "unauthenticated")
	wantError(t, "old password", e.authLoginAs(e.users["memberB1"].Phone, "password-memberB1", d2), 401, "invalid_credentials")
	authPairOf(t, e.authLoginAs(e.users["memberB1"].Phone, "new-password-1", d2))
}

func TestDeactivatedUserIsShutOut(t *testing.T) {
	e := newTestEnv(t)
	device := uuid.NewString()
	p := authPairOf(t, e.authLogin("memberA2", device))
	id := e.users["memberA2"].ID
	r := e.do("PATCH", "/v1/users/"+itoa(id), e.token("coordA"), map[string]any{"active": false})
	if r.Status != 200 {
		t.Fatalf("deactivate: got %d: %s", r.Status, r.Body)
	}
	if got := e.meStatus(p.access); got != 401 {
		t.Errorf("access token of a deactivated user: got %d, want 401", got)
	}
	wantError(t, "refresh", e.authRefresh(p.refresh, device), 401, "unauthenticated")
	wantError(t, "login", e.authLogin("memberA2", device), 401, "invalid_credentials")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
