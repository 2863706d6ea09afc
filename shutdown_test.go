package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"toso/store"
)

// TestGracefulShutdownUnderLoad stops `toso serve` (SIGTERM's context)
// while pushes are inside their handlers: the listener closes at once, the
// pushes in flight finish and get their results, the push worker stops and
// serve returns cleanly, and the database holds every answered mutation
// once and nothing else.
//
// The pushes are held in flight without timing: the test holds SQLite's
// write lock from its own connection, so they wait in the server's writer
// (seen in /metrics) until the test lets go, after shutdown began.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	const phones, batch = 4, 200
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "toso.db")
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prov, err := st.CreateArea(ctx, store.System, store.NewArea{Level: "province", Name: "P"})
	if err != nil {
		t.Fatal(err)
	}
	village, err := st.CreateArea(ctx, store.System, store.NewArea{ParentID: prov.ID, Level: "village", Name: "V"})
	if err != nil {
		t.Fatal(err)
	}
	team, err := st.CreateTeam(ctx, store.System, store.NewTeam{AreaID: village.ID, Name: "T"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range phones {
		_, err := st.CreateUser(ctx, store.System, store.NewUser{Phone: fmt.Sprintf("09000000%02d", i), Name: "M", Role: store.RoleMember, TeamID: team.ID, Password: "password-member"})
		if err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	stderr := &lockedLog{}
	lines := &lineWriter{addr: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(runCtx, []string{"serve", "-db", path, "-addr", "127.0.0.1:0", "-access-log=false", "-push", "log",
			"-login-per-ip", "1000", "-shutdown-timeout", "30s",
			"-metrics-addr", "off", "-metrics-token", metricsToken}, func(string) string { return "" }, io.Discard, io.MultiWriter(lines, stderr))
	}()
	var base string
	select {
	case addr := <-lines.addr:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	}
	// One keep-alive-free client per phone: a closed listener must show.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	post := func(path, token string, body any) (int, []byte, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		return resp.StatusCode, out, err
	}
	tokens := make([]string, phones)
	device := func(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1) }
	for i := range phones {
		status, body, err := post("/v1/auth/login", "", map[string]string{"phone": fmt.Sprintf("09000000%02d", i),
			"password": "password-member", "device_id": device(i), "platform": "android", "app_version": "1.0.0"})
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		json.Unmarshal(body, &tr)
		if err != nil || status != 200 || tr.AccessToken == "" {
			t.Fatalf("login %d: %d %s %v", i, status, body, err)
		}
		tokens[i] = tr.AccessToken
	}

	// Hold the write lock, then send the pushes.
	lockDB, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer lockDB.Close()
	lock, err := lockDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		status int
		body   []byte
		err    error
	}
	answers := make([]answer, phones)
	var (
		wg       sync.WaitGroup
		finished atomic.Int32
	)
	for i := range phones {
		muts := make([]map[string]any, batch)
		for m := range batch {
			muts[m] = map[string]any{"mid": m + 1, "table": "assistance_logs", "op": "create",
				"id": fmt.Sprintf("01930000-0000-7000-8%03d-%012d", i, m), "fields": map[string]any{
					"occurred_at": "2026-11-20T09:12:00Z", "outcomes": []map[string]any{{"service": "vneid_l2", "result": "done"}}}}
		}
		wg.Go(func() {
			s, b, err := post("/v1/sync/push", tokens[i], map[string]any{"protocol": 1, "device_id": device(i),
				"schema_version": 1, "app_version": "1.0.0", "mutations": muts})
			answers[i] = answer{s, b, err}
			finished.Add(1)
		})
	}
	// Every push waits for the writer: the group it runs in waits for
	// the lock.
	for writeWaiting(t, base) < phones {
		if finished.Load() > 0 { // answered while the lock is held: not a push in flight
			wg.Wait()
			t.Fatalf("a push returned before the write lock was released: %+v", answers)
		}
		time.Sleep(time.Millisecond)
	}

	stop() // what SIGTERM does
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			break
		}
		c.Close()
		if i > 10_000 {
			t.Fatal("the listener is still open long after shutdown began")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := lock.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	lock.Close()
	wg.Wait()
	if err := <-done; err != nil {
		t.Errorf("serve returned %v, want nil", err)
	}

	answered := 0
	for i, a := range answers {
		if a.err != nil || a.status != 200 {
			t.Errorf("push %d in flight at shutdown: status %d, err %v: %s", i, a.status, a.err, a.body)
			continue
		}
		var p struct {
			LastMid int64 `json:"last_mid"`
			Results []struct {
				Status string `json:"status"`
			} `json:"results"`
		}
		json.Unmarshal(a.body, &p)
		applied := 0
		for _, r := range p.Results {
			if r.Status == "applied" {
				applied++
			}
		}
		// A push that waited for the writer past its soft deadline stops
		// early with retry_after (SYNC.md): then its answer covers the mids
		// up to last_mid. Either way every mutation it answered is applied,
		// and nothing past last_mid is.
		if applied != len(p.Results) || int64(applied) != p.LastMid || p.LastMid > batch {
			t.Errorf("push %d: last_mid %d, %d of %d results applied; want every result up to last_mid applied", i, p.LastMid, applied, len(p.Results))
		}
		answered += int(p.LastMid)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var logs, results, lastMids int
	var integrity string
	db.QueryRow(`SELECT count(*) FROM assistance_logs`).Scan(&logs)
	db.QueryRow(`SELECT count(*) FROM sync_results`).Scan(&results)
	db.QueryRow(`SELECT COALESCE(sum(last_mid), 0) FROM devices`).Scan(&lastMids)
	db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity)
	if got, want := fmt.Sprint(logs, results, lastMids, integrity), fmt.Sprint(answered, answered, answered, "ok"); got != want {
		t.Errorf("logs, stored results, sum of last_mid, integrity = %s, want %s", got, want)
	}
	var shutting int
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if strings.Contains(l, `"msg":"shutting down"`) {
			shutting++
		}
		if strings.Contains(l, `"level":"ERROR"`) {
			t.Errorf("error logged: %s", l)
		}
	}
	if shutting != 1 {
		t.Errorf("%d \"shutting down\" lines, want 1", shutting)
	}
}

// metricsToken lets the test read /metrics on the main listener.
const metricsToken = "metrics-token-metrics-token-0123456789"

// writeWaiting reads how many writes wait for the writer or run, from
// /metrics.
func writeWaiting(t *testing.T, base string) int {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `toso_write_waiting `); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
	}
	t.Fatal("no toso_write_waiting in /metrics")
	return 0
}

type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
