package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"toso/mobileapi"
	"toso/store"
	"toso/store/storetest"
)

const (
	testSecret       = "test-secret-test-secret-test-secret-0123"
	testMetricsToken = "test-metrics-token-test-metrics-token-01"
)

// testEnv is a real server on a real SQLite file with a small tree:
//
//	province P
//	├── commune A ── villages A1 (team TA1), A2 (team TA2)
//	└── commune B ── village B1 (team TB1)
//
// and one user of each role: admin, coordinators of P, A and B, a lead and
// a member of TA1, a member of TA2 and of TB1.
type testEnv struct {
	t      testing.TB
	store  *store.Store
	srv    *Server
	tokens *mobileapi.Tokens
	// api is the OpenAPI document: every exchange through do is checked
	// against it.
	api   *contract
	clock *testClock

	mu       sync.Mutex
	sessions map[string]*store.Session // e.token's session per fixture user

	province, communeA, communeB, villageA1, villageA2, villageB1 *store.Area
	teamA1, teamA2, teamB1                                        *store.Team
	users                                                         map[string]*store.User // by fixture name
}

// newTestEnv builds the env. The throttles are off (tests send requests
// much faster than phones do) unless an option sets cfg.Limits; opts may
// change the server's configuration.
func newTestEnv(t testing.TB, opts ...func(*Config)) *testEnv {
	t.Helper()
	return newTestEnvWith(t, store.Options{}, opts...)
}

// newTestEnvWith is newTestEnv on a store opened with so (its clock is the
// env's).
func newTestEnvWith(t testing.TB, so store.Options, opts ...func(*Config)) *testEnv {
	t.Helper()
	ctx := context.Background()
	clock := &testClock{}
	so.Now = clock.now
	st, err := store.Open(ctx, storetest.DB(t, "toso.db"), so) // PostgreSQL when TOSO_TEST_PG is set
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	cfg := Config{Addr: "127.0.0.1:0", JWTSecret: testSecret, Now: clock.now, MetricsToken: testMetricsToken, Limits: mobileapi.Limits{
		LoginPerIP: 1 << 30, LoginIPWindow: time.Second, LoginPerPhone: 1 << 30, LoginPhoneWindow: time.Second,
		RequestsPerSecond: 1e6, RequestBurst: 1 << 30,
	}}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := mobileapi.NewTokens(testSecret, time.Hour, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, store: st, srv: srv, tokens: tokens, api: loadContract(t), clock: clock,
		sessions: map[string]*store.Session{}, users: map[string]*store.User{}}
	area := func(parent *store.Area, level, name, code string) *store.Area {
		var pid int64
		if parent != nil {
			pid = parent.ID
		}
		a, err := st.CreateArea(ctx, store.System, store.NewArea{ParentID: pid, Level: level, Name: name, Code: code, Population: 1000, Adults: 700, WorkingAge: 600, Households: 250})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	e.province = area(nil, "province", "Tỉnh Thử", "99")
	e.communeA = area(e.province, "commune", "Xã A", "99001")
	e.communeB = area(e.province, "commune", "Xã B", "99002")
	e.villageA1 = area(e.communeA, "village", "Thôn A1", "")
	e.villageA2 = area(e.communeA, "village", "Thôn A2", "")
	e.villageB1 = area(e.communeB, "village", "Thôn B1", "")
	team := func(a *store.Area, name string) *store.Team {
		tm, err := st.CreateTeam(ctx, store.System, store.NewTeam{AreaID: a.ID, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	e.teamA1, e.teamA2, e.teamB1 = team(e.villageA1, "Tổ A1"), team(e.villageA2, "Tổ A2"), team(e.villageB1, "Tổ B1")
	user := func(key, phone string, role store.Role, teamID, areaID int64) {
		u, err := st.CreateUser(ctx, store.System, store.NewUser{Phone: phone, Name: key, Role: role, TeamID: teamID, AreaID: areaID, Password: "password-" + key})
		if err != nil {
			t.Fatal(err)
		}
		e.users[key] = u
	}
	user("admin", "0900000100", store.RoleAdmin, 0, 0)
	user("coordP", "0900000101", store.RoleCoordinator, 0, e.province.ID)
	user("coordA", "0900000102", store.RoleCoordinator, 0, e.communeA.ID)
	user("coordB", "0900000103", store.RoleCoordinator, 0, e.communeB.ID)
	user("leadA1", "0900000104", store.RoleTeamLead, e.teamA1.ID, 0)
	user("memberA1", "0900000105", store.RoleMember, e.teamA1.ID, 0)
	user("memberA2", "0900000106", store.RoleMember, e.teamA2.ID, 0)
	user("memberB1", "0900000107", store.RoleMember, e.teamB1.ID, 0)
	return e
}

// token returns an access token for the fixture user key, in a session
// opened (without a password) on the user's fixture device. The session is
// reused while it lives; once it has ended (logout, password change,
// deactivation) the next call opens a new one, which ends the tokens given
// out before, like a new login on that phone would.
func (e *testEnv) token(key string) string {
	e.t.Helper()
	u, ok := e.users[key]
	if !ok {
		e.t.Fatalf("no fixture user %q", key)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	sess, ok := e.sessions[key]
	if ok {
		_, err := e.store.SessionActor(context.Background(), u.ID, sess.DeviceID, sess.ID)
		ok = err == nil
	}
	if !ok {
		var err error
		sess, err = e.store.OpenSession(context.Background(), u.ID,
			store.DeviceInfo{ID: e.deviceID(key), Platform: "android"}, time.Hour)
		if err != nil {
			e.t.Fatal(err)
		}
		e.sessions[key] = sess
	}
	tok, err := e.tokens.Issue(u.ID, sess.DeviceID, sess.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// deviceID is the fixture device of user key.
func (e *testEnv) deviceID(key string) string {
	return "00000000-0000-4000-8000-" + fmtID(e.users[key].ID)
}

// testClock is real time plus an offset that tests move forward, or, once
// frozen, a fixed time that only advance moves: expiry and throttling are
// tested without sleeping and without depending on how fast the machine is.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
	frozen bool
	at     time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		return c.at
	}
	return time.Now().Add(c.offset)
}

func (c *testClock) freeze() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen {
		c.frozen, c.at = true, time.Now().Add(c.offset)
	}
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
	c.at = c.at.Add(d)
}

func fmtID(id int64) string {
	b, _ := json.Marshal(id)
	s := string(b)
	for len(s) < 12 {
		s = "0" + s
	}
	return s
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
	// RequestErr says why the request did not conform to the OpenAPI
	// document, or is nil when it did.
	RequestErr error
}

// JSON decodes the body into a generic map (or fails the test).
func (r response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	return m
}

// ErrorCode is error.code of an error envelope, or "".
func (r response) ErrorCode() string {
	var env struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(r.Body, &env)
	return env.Error.Code
}

// do sends one request through the real app. body may be nil, a []byte or
// a value to marshal as JSON. token may be "".
//
// Every exchange is checked against the OpenAPI document: the answer must
// be one the document describes, and a request the document rules out must
// not succeed. response.RequestErr tells whether the request conformed.
func (e *testEnv) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var (
		rd  io.Reader
		raw []byte
	)
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		raw = j
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.srv.App().Test(req, fiber.TestConfig{Timeout: 30 * time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	reqErr, respErr := e.api.check(req, raw, r)
	if respErr != nil {
		e.t.Errorf("the answer does not match openapi.json: %v", respErr)
	}
	if reqErr != nil && r.Status < 400 {
		e.t.Errorf("%s %s answered %d to a request openapi.json rules out: %v", method, path, r.Status, reqErr)
	}
	r.RequestErr = reqErr
	if reqErr == nil && respErr == nil {
		if op := e.api.operationOf(method, path); op != "" {
			record(op, raw, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	}
	return r
}

// listen serves the app on a real loopback port until the test ends and
// returns its base URL.
func (e *testEnv) listen() string {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- e.srv.Run(ctx, func(a net.Addr) { addrc <- a.String() }) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("server stopped: %v", err)
		}
	})
	select {
	case addr := <-addrc:
		return "http://" + addr
	case err := <-done:
		e.t.Fatalf("server did not start: %v", err)
	}
	return ""
}
