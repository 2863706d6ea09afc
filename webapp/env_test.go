package webapp_test

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"toso/demo"
	"toso/server"
	"toso/store"
	"toso/store/storetest"
)

var (
	shotsDir = flag.String("webapp.shots", "", "keep the browser tests' screenshots in this folder (default: a temporary folder)")
	chromium = flag.String("webapp.chromium", "/usr/bin/chromium", "the Chromium the browser tests drive")
)

// citizenKey is the server's key for citizen refs, kept across a restart
// as main keeps it in a key file: a ref made before a restore must equal
// the one made after.
const citizenKey = "webapp-test-citizen-key-0123456789abcdef"

// env is a real server (JSON API, dashboard, web app) on 127.0.0.1 over a
// small demo province, in a temporary SQLite file.
type env struct {
	t     *testing.T
	store *store.Store
	path  string
	base  string
	prov  *demo.Province
	lead  string // phones of the demo team lead and member (same team)
	mem   string
	admin string
	skew  atomic.Int64 // added to the server's clock: tokens expire when a test says so
	stop  func()       // stops the server (and closes the store)
}

func (e *env) now() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) }

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	path := storetest.DB(t, "toso.db") // PostgreSQL when TOSO_TEST_PG is set
	st, err := store.Open(ctx, path, store.Options{CitizenKey: citizenKey})
	if err != nil {
		t.Fatal(err)
	}
	p, err := demo.Build(ctx, st, demo.Options{Communes: 2, VillagesPerCommune: 2, Activity: demo.Activity})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: st, path: path, prov: p}
	e.base = "http://" + e.serve("127.0.0.1:0")
	t.Cleanup(func() { e.stop() })
	acc := demo.Accounts()
	e.admin, e.lead, e.mem = acc[0].Phone, acc[3].Phone, acc[4].Phone
	return e
}

// serve starts the server on addr over e.store and returns its address.
func (e *env) serve(addr string) string {
	e.t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(server.Config{Addr: addr, JWTSecret: strings.Repeat("s", 40), Now: e.now}, e.store, log)
	if err != nil {
		e.t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- srv.Run(runCtx, func(a net.Addr) { addrc <- a.String() }) }()
	e.stop = func() {
		cancel()
		<-done
		e.store.Close()
	}
	select {
	case a := <-addrc:
		return a
	case err := <-done:
		e.t.Fatalf("serve %s: %v", addr, err)
	}
	return ""
}

// backup copies the server's database as toso backup does.
func (e *env) backup() string {
	e.t.Helper()
	if storetest.PG() {
		// toso backup copies SQLite files; PostgreSQL is dumped by pg_dump
		// and restored by pg_restore, outside Toso, which then marks it
		// (MarkRestored, the step this test's restore shares with SQLite's).
		e.t.Skip("backs up and restores an SQLite file: on PostgreSQL that is pg_dump's and pg_restore's")
	}
	dest := filepath.Join(e.t.TempDir(), "backup.db")
	if err := e.store.Backup(context.Background(), dest); err != nil {
		e.t.Fatal(err)
	}
	return dest
}

// restore does what toso restore does with the server stopped (the copy
// replaces the database, its sequence jumps and every cursor resets), then
// serves again at the same address: the browser's origin, and with it its
// OPFS database, stays the same.
func (e *env) restore(backup string) {
	e.t.Helper()
	ctx := context.Background()
	e.stop()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(e.path + suffix)
	}
	b, err := os.ReadFile(backup)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(e.path, b, 0o600); err != nil {
		e.t.Fatal(err)
	}
	if e.store, err = store.Open(ctx, e.path, store.Options{CitizenKey: citizenKey}); err != nil {
		e.t.Fatal(err)
	}
	if _, _, err := e.store.MarkRestored(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.serve(strings.TrimPrefix(e.base, "http://"))
}

// query reads the server's database directly, on its own read-only
// connection: what arrived, not what an API chooses to show.
func (e *env) query(q string, args ...any) [][]any {
	e.t.Helper()
	db, err := store.OpenReader(e.path) // the store's SQL on either engine
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(q, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			e.t.Fatal(err)
		}
		for i, v := range vals {
			if b, ok := v.(bool); ok { // PostgreSQL's x IS NOT NULL; SQLite gives 1 or 0
				vals[i] = int64(0)
				if b {
					vals[i] = int64(1)
				}
			}
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// announce publishes an announcement to the whole province, as the admin.
func (e *env) announce(title, body string, ack bool) int64 {
	e.t.Helper()
	ctx := context.Background()
	a, err := e.store.Actor(ctx, e.count(`SELECT id FROM users WHERE phone = ?`, e.admin), "")
	if err != nil {
		e.t.Fatal(err)
	}
	an, err := e.store.CreateAnnouncement(ctx, a, store.NewAnnouncement{Title: title, Body: body, AckRequired: ack,
		Audience: store.Audience{AreaIDs: []int64{e.prov.ID}}})
	if err != nil {
		e.t.Fatal(err)
	}
	if an, err = e.store.PublishAnnouncement(ctx, a, an.ID, time.Time{}); err != nil {
		e.t.Fatal(err)
	}
	return an.ID
}

// target sets a yearly target on the area of the member's team.
func (e *env) target(name string, goal float64) {
	e.t.Helper()
	ctx := context.Background()
	a, err := e.store.Actor(ctx, e.count(`SELECT id FROM users WHERE phone = ?`, e.admin), "")
	if err != nil {
		e.t.Fatal(err)
	}
	area := e.count(`SELECT t.area_id FROM teams t JOIN users u ON u.team_id = t.id WHERE u.phone = ?`, e.mem)
	_, err = e.store.CreateTarget(ctx, a, store.NewTarget{Indicator: "vneid_l2_activated", AreaID: area, Period: "year",
		Year: time.Now().Year(), Name: name, Goal: goal})
	if err != nil {
		e.t.Fatal(err)
	}
}

// moveMember moves the demo member to another team, as the admin.
func (e *env) moveMember(team int64) {
	e.t.Helper()
	ctx := context.Background()
	a, err := e.store.Actor(ctx, e.count(`SELECT id FROM users WHERE phone = ?`, e.admin), "")
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.UpdateUser(ctx, a, e.count(`SELECT id FROM users WHERE phone = ?`, e.mem), store.UserPatch{TeamID: &team}); err != nil {
		e.t.Fatal(err)
	}
}

// lockSession locks a training session, as the admin would after review.
func (e *env) lockSession(id string) {
	e.t.Helper()
	ctx := context.Background()
	a, err := e.store.Actor(ctx, e.count(`SELECT id FROM users WHERE phone = ?`, e.admin), "")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.LockSession(ctx, a, id); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) count(q string, args ...any) int64 {
	e.t.Helper()
	r := e.query(q, args...)
	return r[0][0].(int64)
}

// newBrowser starts one headless Chromium with its own profile, sized like
// a 360 px phone. Without Chromium the test fails, unless -short.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(*chromium); err != nil {
		if testing.Short() {
			t.Skipf("no Chromium at %s (-short)", *chromium)
		}
		t.Fatalf("no Chromium at %s: apt-get install -y chromium (or -short to skip the browser tests)", *chromium)
	}
	profile, err := os.MkdirTemp("", "toso-webapp-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(*chromium), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(360, 780),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for Chromium to exit
		os.RemoveAll(profile)
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

func shots(t *testing.T) string {
	if *shotsDir != "" {
		if err := os.MkdirAll(*shotsDir, 0o755); err != nil {
			t.Fatal(err)
		}
		return *shotsDir
	}
	return t.TempDir()
}

// awaitPromise makes an Evaluate wait for the promise its expression returns.
func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

// poll waits until a JavaScript expression is truthy.
func poll(expr string, d time.Duration) chromedp.Action {
	return chromedp.Poll(expr, nil, chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(50*time.Millisecond))
}
