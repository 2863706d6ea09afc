package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"toso/mobileapi"
)

// apiLogin posts a login from client and returns the status and
// Retry-After.
func apiLogin(t *testing.T, c *http.Client, base, phone, password, device string) (int, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"phone": phone, "password": password, "device_id": device,
		"platform": "android", "app_version": "1.0.0"})
	resp, err := c.Post(base+"/v1/auth/login", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// dashLogin signs in through the dashboard's form from client (with its
// cookie jar: the login nonce and the browser's device id) and returns
// the status.
func dashLogin(t *testing.T, c *http.Client, base, phone, password string) int {
	t.Helper()
	resp, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the login page")
	}
	resp, err = c.PostForm(base+"/login", url.Values{"_csrf": {string(m[1])}, "phone": {phone}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// A stranger cannot lock anyone out: failures count per (phone, client
// address) and per (phone, bound device), so the stranger's address backs
// off while the owner, from another address or on a device already bound
// to the account, gets in, through the API and the dashboard alike. The
// clients are real connections from distinct loopback addresses.
func TestStrangerCannotLockOutTheAdmin(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.Limits = mobileapi.Limits{} })
	e.clock.freeze()
	base := e.listen()
	admin, pw := e.users["admin"].Phone, "password-admin"
	owner, stranger := fromLoopback("127.0.0.2"), fromLoopback("127.0.0.3")
	bound := uuid.NewString()
	if st, _ := apiLogin(t, owner, base, admin, pw, bound); st != 200 {
		t.Fatalf("the admin's first login: %d", st)
	}

	// The stranger guesses until refused, and keeps trying (every other
	// phone would share the stranger's per-address limit of 30 a minute).
	refused := 0
	for i := range 20 {
		st, _ := apiLogin(t, stranger, base, admin, "guess-"+strconv.Itoa(i), uuid.NewString())
		if st == 429 {
			refused++
		} else if st != 401 {
			t.Fatalf("guess %d: %d, want 401 or 429", i, st)
		}
	}
	if refused == 0 {
		t.Fatal("20 wrong guesses from one address were never slowed down")
	}
	if st, _ := apiLogin(t, stranger, base, admin, pw, uuid.NewString()); st != 429 {
		t.Errorf("the right password from the stranger's address on a new device: %d, want 429", st)
	}

	// The owner: from their own address on a new device, and from the
	// stranger's very address on the device bound to the account.
	if st, _ := apiLogin(t, owner, base, admin, pw, uuid.NewString()); st != 200 {
		t.Errorf("the admin from another address: %d, want 200", st)
	}
	if st, _ := apiLogin(t, stranger, base, admin, pw, bound); st != 200 {
		t.Errorf("the admin on the bound device from the stranger's address: %d, want 200", st)
	}

	// The dashboard's form counts the same: the stranger's browser is
	// slowed down, the admin's browser gets in (its first sign-in binds
	// the browser, so after the stranger's guesses it is a bound device).
	jar := func() *http.Client {
		c := fromLoopback("127.0.0.2")
		c.Jar, _ = cookiejar.New(nil)
		return c
	}
	adminBrowser := jar()
	if st := dashLogin(t, adminBrowser, base, admin, pw); st != http.StatusSeeOther {
		t.Fatalf("the admin's browser: %d, want 303", st)
	}
	strangerBrowser := fromLoopback("127.0.0.4")
	strangerBrowser.Jar, _ = cookiejar.New(nil)
	for i := range 20 {
		dashLogin(t, strangerBrowser, base, admin, "guess-"+strconv.Itoa(i))
	}
	if st := dashLogin(t, strangerBrowser, base, admin, pw); st != http.StatusTooManyRequests {
		t.Errorf("the right password in the stranger's browser: %d, want 429", st)
	}
	// The admin signs in again in the same browser (its device cookie kept,
	// its session cookie gone).
	u, _ := url.Parse(base)
	again := jar()
	for _, ck := range adminBrowser.Jar.Cookies(u) {
		if ck.Name == "toso_device" {
			again.Jar.SetCookies(u, []*http.Cookie{ck})
		}
	}
	if st := dashLogin(t, again, base, admin, pw); st != http.StatusSeeOther {
		t.Errorf("the admin's browser after the stranger's guesses: %d, want 303", st)
	}
	e.clock.advance(time.Hour + time.Second) // the stranger's keys are forgotten
	if st, _ := apiLogin(t, stranger, base, admin, pw, uuid.NewString()); st != 200 {
		t.Errorf("an hour later from the stranger's address: %d, want 200", st)
	}
}
