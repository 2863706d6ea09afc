package notifications

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"firebase.google.com/go/v4/messaging"

	"toso/store"
	"toso/store/storetest"
)

// fakeFCM is an FCM HTTP v1 server on 127.0.0.1: the real firebase-admin-go
// client talks to it. reply decides each request's answer from the token
// and how many times that token was seen before.
type fakeFCM struct {
	srv *httptest.Server

	mu       sync.Mutex
	reply    func(token string, seen int) fcmReply
	seen     map[string]int    // requests per token
	accepted map[string]int    // 200 answers per token
	messages []json.RawMessage // every request's message, in arrival order
	onReq    func(total int)   // called after each request with the running total
	total    int
	conns    atomic.Int64  // connections opened by the client
	latency  time.Duration // how long each answer takes
}

type fcmReply struct {
	status int
	body   string
	header map[string]string
}

var okReply = fcmReply{status: 200}

// fcmError is an FCM v1 error body; code "" leaves out the FcmError detail
// (as for a malformed payload).
func fcmError(status int, grpcStatus, code string) fcmReply {
	details := `[]`
	if code != "" {
		details = fmt.Sprintf(`[{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": %q}]`, code)
	} else {
		details = `[{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": "message.data", "description": "Invalid value"}]}]`
	}
	return fcmReply{status: status, body: fmt.Sprintf(`{"error": {"code": %d, "message": "fake %s", "status": %q, "details": %s}}`,
		status, grpcStatus, grpcStatus, details)}
}

func newFakeFCM(t testing.TB) *fakeFCM {
	f := &fakeFCM{seen: map[string]int{}, accepted: map[string]int{}, reply: func(string, int) fcmReply { return okReply }}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeFCM) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/projects/demo-project/messages:send" {
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var req struct {
		Message json.RawMessage `json:"message"`
	}
	var msg struct {
		Token string `json:"token"`
	}
	if json.Unmarshal(b, &req) != nil || json.Unmarshal(req.Message, &msg) != nil || msg.Token == "" {
		http.Error(w, "bad request body", http.StatusBadRequest)
		return
	}
	time.Sleep(f.latency)
	f.mu.Lock()
	rep := f.reply(msg.Token, f.seen[msg.Token])
	f.seen[msg.Token]++
	if rep.status == 200 {
		f.accepted[msg.Token]++
	}
	f.messages = append(f.messages, req.Message)
	f.total++
	total, onReq := f.total, f.onReq
	f.mu.Unlock()
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	if rep.status == 200 {
		fmt.Fprintf(w, `{"name": "projects/demo-project/messages/%s-%d"}`, msg.Token, total)
	} else {
		io.WriteString(w, rep.body)
	}
	if onReq != nil {
		onReq(total)
	}
}

func (f *fakeFCM) setReply(fn func(token string, seen int) fcmReply) {
	f.mu.Lock()
	f.reply = fn
	f.mu.Unlock()
}

func (f *fakeFCM) counts() (total int, seen, accepted map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen, accepted = map[string]int{}, map[string]int{}
	for k, v := range f.seen {
		seen[k] = v
	}
	for k, v := range f.accepted {
		accepted[k] = v
	}
	return f.total, seen, accepted
}

// client is the real firebase-admin-go messaging client pointed at f.
func (f *fakeFCM) client(t testing.TB) *messaging.Client {
	t.Helper()
	c, err := NewFCMClient(context.Background(), SenderConfig{Endpoint: f.srv.URL + "/v1", ProjectID: "demo-project"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// clock is an injected clock that only moves when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a real store on a temp file with one province, commune,
// village and team, an admin, and users with devices added in bulk.
type fixture struct {
	st    *store.Store
	db    *sql.DB // a second connection for seeding rows in bulk
	clock *clock
	admin store.Actor
	area  *store.Area
	team  *store.Team   // the first of teams
	teams []*store.Team // members are spread over these
}

func newFixture(t testing.TB, now func() time.Time) *fixture {
	t.Helper()
	ctx := context.Background()
	path := storetest.DB(t, "toso.db")
	c := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	if now == nil {
		now = c.Now
	}
	st, err := store.Open(ctx, path, store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, err := store.OpenWriter(path) // the store's SQL on either engine
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{st: st, db: db, clock: c}
	prov, err := st.CreateArea(ctx, store.System, store.NewArea{Level: "province", Name: "Tỉnh Thử"})
	if err != nil {
		t.Fatal(err)
	}
	commune, err := st.CreateArea(ctx, store.System, store.NewArea{ParentID: prov.ID, Level: "commune", Name: "Xã A"})
	if err != nil {
		t.Fatal(err)
	}
	village, err := st.CreateArea(ctx, store.System, store.NewArea{ParentID: commune.ID, Level: "village", Name: "Thôn A1"})
	if err != nil {
		t.Fatal(err)
	}
	f.area = prov
	f.team, err = st.CreateTeam(ctx, store.System, store.NewTeam{AreaID: village.ID, Name: "Tổ A1"})
	if err != nil {
		t.Fatal(err)
	}
	f.teams = []*store.Team{f.team}
	var adminID int64
	ts := now().UTC().Format("2006-01-02T15:04:05.000Z")
	if err := db.QueryRow(`INSERT INTO users (phone, name, role, password_hash, version, password_changed_at, created_at, updated_at)
		VALUES ('0900000001', 'admin', 'admin', 'x', 1, ?1, ?1, ?1) RETURNING id`, ts).Scan(&adminID); err != nil {
		t.Fatal(err)
	}
	if f.admin, err = st.Actor(ctx, adminID, ""); err != nil {
		t.Fatal(err)
	}
	return f
}

// addTeams adds n more communes, each with a village and its team.
func (f *fixture) addTeams(t testing.TB, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		c, err := f.st.CreateArea(ctx, store.System, store.NewArea{ParentID: f.area.ID, Level: "commune", Name: fmt.Sprintf("Xã %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		v, err := f.st.CreateArea(ctx, store.System, store.NewArea{ParentID: c.ID, Level: "village", Name: fmt.Sprintf("Thôn %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		tm, err := f.st.CreateTeam(ctx, store.System, store.NewTeam{AreaID: v.ID, Name: fmt.Sprintf("Tổ %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		f.teams = append(f.teams, tm)
	}
}

// addMembers adds users members of the fixture's teams and devices device rows
// spread over them (round robin), each with token "tok-<n>", seen now.
// It returns the tokens.
func (f *fixture) addMembers(t testing.TB, users, devices int, now time.Time) []string {
	t.Helper()
	tx, err := f.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	ts := now.UTC().Format("2006-01-02T15:04:05.000Z")
	// The database numbers the users (PostgreSQL's identity counter does
	// not move for ids given to it); phones and names follow a counter.
	var first int64
	if err := tx.QueryRow(`SELECT COALESCE(max(id), 0) + 1 FROM users`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, users)
	for i := range users {
		n := first + int64(i)
		if err := tx.QueryRow(`INSERT INTO users (phone, name, role, team_id, password_hash, version, password_changed_at, created_at, updated_at)
			VALUES (?, ?, 'member', ?, 'x', 1, ?4, ?4, ?4) RETURNING id`, fmt.Sprintf("09%08d", n), fmt.Sprintf("Member %d", n),
			f.teams[i%len(f.teams)].ID, ts).Scan(&ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	tokens := make([]string, devices)
	for i := range devices {
		tokens[i] = fmt.Sprintf("tok-%d-%d", first, i)
		if _, err := tx.Exec(`INSERT INTO devices (id, user_id, platform, push_token, push_token_updated_at, last_seen_at, created_at)
			VALUES (?, ?, 'android', ?, ?4, ?4, ?4)`,
			fmt.Sprintf("00000000-0000-4000-8000-%012d", first*100000+int64(i)), ids[i%users], tokens[i], ts); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return tokens
}

// publish creates and publishes an announcement to the whole province.
func (f *fixture) publish(t testing.TB, priority string, expires time.Time) *store.Announcement {
	t.Helper()
	ctx := context.Background()
	an, err := f.st.CreateAnnouncement(ctx, f.admin, store.NewAnnouncement{
		Title: "Chiến dịch VNeID", Body: "Bắt đầu từ thứ Hai.", Priority: priority, ExpiresAt: expires,
		Audience: store.Audience{AreaIDs: []int64{f.area.ID}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if an, err = f.st.PublishAnnouncement(ctx, f.admin, an.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	return an
}

// states counts an announcement's outbox rows by state.
func (f *fixture) states(t testing.TB, id int64) map[string]int {
	t.Helper()
	rows, err := f.st.PushOutbox(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, r := range rows {
		m[r.State]++
	}
	return m
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
