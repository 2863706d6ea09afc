package dashboard_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"toso/demo"
	"toso/server"
	"toso/store"
	"toso/store/storetest"
)

// env is a real server (JSON API and dashboard) on 127.0.0.1 over a small
// demo province with activity, in a temporary SQLite file.
type env struct {
	t     *testing.T
	store *store.Store
	prov  *demo.Province
	base  string
	// phones of the accounts the tests use
	admin, coordP, coordA, coordB, lead string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, storetest.DB(t, "toso.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, err := demo.Build(ctx, st, demo.Options{Communes: 3, VillagesPerCommune: 3, Activity: demo.Activity})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", JWTSecret: strings.Repeat("s", 40)}, st, log)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- srv.Run(runCtx, func(a net.Addr) { addrc <- a.String() }) }()
	t.Cleanup(func() { cancel(); <-done })
	e := &env{t: t, store: st, prov: p, base: "http://" + <-addrc}
	acc := demo.Accounts()
	e.admin, e.coordP, e.coordA, e.lead = acc[0].Phone, acc[1].Phone, acc[2].Phone, acc[3].Phone
	u, err := st.User(ctx, store.System, p.Communes[1].CoordinatorID)
	if err != nil {
		t.Fatal(err)
	}
	e.coordB = u.Phone
	return e
}

// browser is an HTTP client with its own cookie jar that does not follow
// redirects, so tests see each 303.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// get fetches a page and returns status and body.
func (e *env) get(c *http.Client, path string) (int, string) {
	e.t.Helper()
	resp, err := c.Get(e.base + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post sends a form and returns status, Location and body.
func (e *env) post(c *http.Client, path string, form url.Values) (int, string, string) {
	e.t.Helper()
	resp, err := c.PostForm(e.base+path, form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// csrf is the token of the forms on a page.
func (e *env) csrf(c *http.Client, path string) string {
	e.t.Helper()
	_, body := e.get(c, path)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

// login signs in through the form and returns the client.
func (e *env) login(phone string) *http.Client {
	e.t.Helper()
	c := e.client()
	status, loc, body := e.post(c, "/login", url.Values{"_csrf": {e.csrf(c, "/login")}, "phone": {phone}, "password": {demo.Password}})
	if status != http.StatusSeeOther || loc != "/" {
		e.t.Fatalf("login %s: got %d %q, want 303 to /\n%s", phone, status, loc, body)
	}
	return c
}

// api calls the JSON API as phone (logging in with a fresh device) and
// decodes the answer into out.
func (e *env) api(phone, method, path string, body any, out any) int {
	e.t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	e.apiCall("", http.MethodPost, "/v1/auth/login", map[string]string{"phone": phone, "password": demo.Password,
		"device_id": uuid.NewString(), "platform": "android"}, &tok)
	return e.apiCall(tok.AccessToken, method, path, body, out)
}

func (e *env) apiCall(token, method, path string, body any, out any) int {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, e.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			e.t.Fatalf("%s %s: %d, decode: %v", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode
}

// text is the body of a GET through the JSON API as user phone.
func (e *env) text(phone, path string) string {
	e.t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	e.apiCall("", http.MethodPost, "/v1/auth/login", map[string]string{"phone": phone, "password": demo.Password,
		"device_id": uuid.NewString(), "platform": "android"}, &tok)
	req, _ := http.NewRequest(http.MethodGet, e.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		e.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// summary is the part of GET /v1/reports/summary the tests compare.
type summary struct {
	Totals struct {
		Citizens, Logs, Sessions, Attendees float64
	} `json:"totals"`
	Members int `json:"members"`
}

func (e *env) summary(phone string, area int64, from, to string) summary {
	e.t.Helper()
	var s summary
	q := url.Values{"area_id": {itoa(area)}, "from": {from}, "to": {to}}
	if code := e.api(phone, http.MethodGet, "/v1/reports/summary?"+q.Encode(), nil, &s); code != 200 {
		e.t.Fatalf("summary: got %d", code)
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// viNumber writes a whole number the Vietnamese way: 1.234.567.
func viNumber(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	return b.String()
}

var figureRE = regexp.MustCompile(`data-figure="([a-z0-9]+)">([^<]*)<`)

// figures reads the key figures a page shows.
func figures(body string) map[string]string {
	out := map[string]string{}
	for _, m := range figureRE.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

func timeNow() time.Time { return time.Now() }
