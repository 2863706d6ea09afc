package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"toso/mobileapi"
	"toso/store"
	"toso/store/storetest"
)

// BenchmarkPushEngines is BenchmarkPushPhones on both engines in one run
// (issue 17): each round, the same 8 × 200 new logs are pushed over HTTP
// to a Toso server on SQLite, to one Toso server on PostgreSQL, and to two
// Toso servers sharing a second PostgreSQL database (the phones alternate
// between them), then inserted with plain SQL into one SQLite table (the
// baseline of the write-path issue). Every target starts from the same
// generated province (-toso.logs, -toso.teams): the SQLite cache of the
// sync benchmarks, copied into a PostgreSQL template database once.
//
// PostgreSQL comes from TOSO_TEST_PG; the benchmark is meaningless on the
// test cluster of scripts/pg-test.sh, which runs with fsync off. A durable
// cluster (fsync and synchronous_commit on, as in production):
//
//	PGTEST_DURABLE=1 PGTEST_DIR=/tmp/toso-pgbench PGTEST_PORT=55462 scripts/pg-test.sh
//	TOSO_TEST_PG=postgres://postgres@127.0.0.1:55462/postgres?sslmode=disable \
//	  go test ./server -run '^$' -bench BenchmarkPushEngines -benchtime 20x -toso.logs 1000000 -toso.teams 5000
func BenchmarkPushEngines(b *testing.B) {
	if !storetest.PG() {
		b.Skip("needs PostgreSQL: set " + storetest.PGEnv)
	}
	lite, _ := openBench(b)
	tmpl := pgBenchTemplate(b)
	pg1 := openPGBench(b, tmpl)
	pg2url := pgBenchCopy(b, tmpl)
	pg2a, pg2b := openPGURL(b, pg2url), openPGURL(b, pg2url)

	targets := []*pushTarget{
		{name: "sqlite", nodes: []string{startBenchServer(b, lite)}, stores: []*store.Store{lite}},
		{name: "pg1", nodes: []string{startBenchServer(b, pg1)}, stores: []*store.Store{pg1}},
		{name: "pg2", nodes: []string{startBenchServer(b, pg2a), startBenchServer(b, pg2b)}, stores: []*store.Store{pg2a, pg2b}},
	}
	runPushRounds(b, targets)
}

// pushTarget is one engine's servers and what the rounds measured.
type pushTarget struct {
	name   string
	nodes  []string       // base URLs; phone i pushes to nodes[i%len]
	stores []*store.Store // stores[i] serves nodes[i]
	tokens []string       // per phone
	d      []time.Duration
	wall   time.Duration
}

// signIn opens a session for each phone on the store its node serves and
// keeps its access token.
func (t *pushTarget) signIn(b *testing.B, phones []*benchPusher) {
	ctx := context.Background()
	tokens, err := mobileapi.NewTokens(testSecret, 24*time.Hour, nil)
	if err != nil {
		b.Fatal(err)
	}
	t.tokens = make([]string, len(phones))
	for i, p := range phones {
		sess, err := t.stores[i%len(t.stores)].OpenSession(ctx, p.uid, store.DeviceInfo{ID: p.device, Platform: "android"}, 24*time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if t.tokens[i], err = tokens.Issue(p.uid, sess.DeviceID, sess.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// round pushes every phone's body at once and waits for all answers.
func (t *pushTarget) round(client *http.Client, bodies [][]byte) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	t0 := time.Now()
	for i := range bodies {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", t.nodes[i%len(t.nodes)]+"/v1/sync/push", bytes.NewReader(bodies[i]))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+t.tokens[i])
			s0 := time.Now()
			resp, err := client.Do(req)
			var out []byte
			if err == nil {
				out, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || bytes.Contains(out, []byte(`"rejected"`)) {
					err = fmt.Errorf("%s push: %d %.300s", t.name, resp.StatusCode, out)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			t.d = append(t.d, time.Since(s0))
			if err != nil && failed == nil {
				failed = err
			}
		})
	}
	wg.Wait()
	t.wall += time.Since(t0)
	return failed
}

// startBenchServer serves st on a loopback port with the limits out of
// the way, until the benchmark ends; it returns the base URL.
func startBenchServer(b *testing.B, st *store.Store) string {
	cfg := Config{Addr: "127.0.0.1:0", JWTSecret: testSecret, Limits: mobileapi.Limits{
		LoginPerIP: 1 << 30, LoginIPWindow: time.Second, LoginPerPhone: 1 << 30, LoginPhoneWindow: time.Second,
		RequestsPerSecond: 1e6, RequestBurst: 1 << 30}}
	srv, err := New(cfg, st, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- srv.Run(ctx, func(a net.Addr) { addrc <- a.String() }) }()
	b.Cleanup(func() { stop(); <-done })
	return "http://" + <-addrc
}

// pgBenchTemplate returns the name of a PostgreSQL database holding the
// generated province of the SQLite cache (benchDB), made once per shape and
// kept between runs: the rows the generator writes are copied with COPY,
// then the store rebuilds the derived tables on PostgreSQL.
func pgBenchTemplate(b *testing.B) string {
	b.Helper()
	name := fmt.Sprintf("toso_bench_%d_%d_v%d_s%d", *benchLogs, *benchTeams, benchGenVersion, store.LatestSchema())
	admin := pgAdmin(b)
	defer admin.Close()
	var exists bool
	if err := admin.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if exists {
		return name
	}
	start := time.Now()
	src := benchDB(b) // a copy of the SQLite cache
	tmp := name + "_tmp"
	if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + tmp + ` WITH (FORCE)`); err != nil {
		b.Fatal(err)
	}
	if _, err := admin.Exec(`CREATE DATABASE ` + tmp); err != nil {
		b.Fatal(err)
	}
	if err := copyBenchToPG(src, pgURL(b, tmp)); err != nil {
		b.Fatal(err)
	}
	if _, err := admin.Exec(`ALTER DATABASE ` + tmp + ` RENAME TO ` + name); err != nil {
		b.Fatal(err)
	}
	b.Logf("made PostgreSQL template %s in %s", name, time.Since(start).Round(time.Second))
	return name
}

// copyBenchToPG gives the PostgreSQL database at dst the schema, copies the
// generator's tables and seq from the SQLite database at src, and rebuilds.
func copyBenchToPG(src, dst string) error {
	ctx := context.Background()
	st, err := store.Open(ctx, dst, store.Options{})
	if err != nil {
		return err
	}
	st.Close()
	lite, err := sql.Open("sqlite", "file:"+src+"?mode=ro")
	if err != nil {
		return err
	}
	defer lite.Close()
	conn, err := pgx.Connect(ctx, dst)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, table := range []string{"areas", "teams", "users", "assistance_logs"} {
		rows, err := lite.QueryContext(ctx, `SELECT * FROM `+table)
		if err != nil {
			return err
		}
		cols, _ := rows.Columns()
		n, err := conn.CopyFrom(ctx, pgx.Identifier{table}, cols, &sqlRowSource{rows: rows, vals: make([]any, len(cols))})
		rows.Close()
		if err != nil {
			return fmt.Errorf("copy %s: %w", table, err)
		}
		slog.Info("copied into PostgreSQL", "table", table, "rows", n)
		if table != "assistance_logs" {
			if _, err := conn.Exec(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', 'id'), (SELECT max(id) FROM `+table+`))`); err != nil {
				return fmt.Errorf("identity of %s: %w", table, err)
			}
		}
	}
	var seq int64
	if err := lite.QueryRowContext(ctx, `SELECT value FROM seq`).Scan(&seq); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `UPDATE seq SET value = $1`, seq); err != nil {
		return err
	}
	if st, err = store.Open(ctx, dst, store.Options{}); err != nil {
		return err
	}
	defer st.Close()
	if err := st.RebuildRollups(ctx); err != nil {
		return err
	}
	// Statistics now, as autovacuum would soon after a bulk load: the
	// copies made from the template start with them.
	_, err = conn.Exec(ctx, `ANALYZE`)
	return err
}

// sqlRowSource feeds database/sql rows to pgx's CopyFrom.
type sqlRowSource struct {
	rows *sql.Rows
	vals []any
	err  error
}

func (s *sqlRowSource) Next() bool { return s.err == nil && s.rows.Next() }

func (s *sqlRowSource) Values() ([]any, error) {
	ptrs := make([]any, len(s.vals))
	for i := range s.vals {
		ptrs[i] = &s.vals[i]
	}
	if s.err = s.rows.Scan(ptrs...); s.err != nil {
		return nil, s.err
	}
	return s.vals, nil
}

func (s *sqlRowSource) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.rows.Err()
}

// pgBenchCopy makes a throwaway database from the template, dropped when
// the benchmark ends, and returns its URL.
func pgBenchCopy(b *testing.B, tmpl string) string {
	b.Helper()
	admin := pgAdmin(b)
	defer admin.Close()
	r := make([]byte, 6)
	rand.Read(r)
	name := "toso_b_" + hex.EncodeToString(r)
	if _, err := admin.Exec(`CREATE DATABASE ` + name + ` TEMPLATE ` + tmpl); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		admin := pgAdmin(b)
		defer admin.Close()
		admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
	})
	return pgURL(b, name)
}

func openPGBench(b *testing.B, tmpl string) *store.Store { return openPGURL(b, pgBenchCopy(b, tmpl)) }

func openPGURL(b *testing.B, u string) *store.Store {
	b.Helper()
	st, err := store.Open(context.Background(), u, store.Options{ReadConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func pgAdmin(b *testing.B) *sql.DB {
	b.Helper()
	db, err := sql.Open("pgx", os.Getenv(storetest.PGEnv))
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// pgURL is TOSO_TEST_PG with its database replaced by name.
func pgURL(b *testing.B, name string) string {
	u, err := url.Parse(os.Getenv(storetest.PGEnv))
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + strings.TrimPrefix(name, "/")
	return u.String()
}
