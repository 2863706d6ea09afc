package server

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"toso/store"
	"toso/store/storetest"
)

// Issue 7's Fiber point: a client that gives up on a push (its own timeout,
// a dropped connection) cannot stop the server, which goes on and commits:
// Fiber never cancels c.Context() on a disconnect, and Toso installs no
// timeout middleware that would answer 408 while the handler runs. What
// keeps the phone right is the per-device mid: its retry is answered from
// the stored results and applies nothing twice. (The other direction, "told
// it failed, yet committed", cannot happen: a push answers an error only
// when store.Push returned one, and store's
// TestPushCancelledMidwayCommitsNothing shows that then nothing committed.)
func TestPushAbandonedByClientIsCommittedOnceAndRetried(t *testing.T) {
	e := newTestEnv(t)
	base := e.listen()
	ctx := context.Background()
	token := e.token("memberA1") // opens the session: a write, so before the lock
	// The periodic jobs write at start (the login's device activity, the
	// campaign ranks): let them, so that the writer below waits for the push
	// only. (Under -cpu 1 they used to start late, wait for the lock in the
	// push's place, and the client gave up before the push arrived.)
	<-e.srv.jobsRan
	if _, err := e.store.FlushDeviceActivity(ctx); err != nil {
		t.Fatal(err)
	}
	// The test holds writers off as another process would: SQLite's write
	// lock, or on PostgreSQL the advisory lock every write takes.
	driver, dsn := "sqlite", "file:"+e.store.Path()+"?_pragma=busy_timeout(10000)"
	lockSQL, unlockSQL := `BEGIN IMMEDIATE`, `ROLLBACK`
	if storetest.PG() {
		driver, dsn = "pgx", e.store.Path()
		lockSQL = fmt.Sprintf(`SELECT pg_advisory_lock(%d)`, store.PGWriteLock)
		unlockSQL = fmt.Sprintf(`SELECT pg_advisory_unlock(%d)`, store.PGWriteLock)
	}
	lockDB, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer lockDB.Close()
	lock, err := lockDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(ctx, lockSQL); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"protocol": 1, "device_id": e.deviceOf("memberA1"), "schema_version": 1, "app_version": "1.0.0",
		"mutations": []mut{logCreate(1, uuidN(1)), logCreate(2, uuidN(2)), logCreate(3, uuidN(3))}})
	send := func(ctx context.Context) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/sync/push", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		return http.DefaultClient.Do(req)
	}
	clientCtx, giveUp := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		resp, err := send(clientCtx)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	// The push is inside the server when it waits for the writer, which
	// holds the write connection (waiting for the lock the test holds).
	// (InUse alone is not enough: the writer's statement cache takes the
	// connection for a moment after the session's write.)
	for e.store.WriterStats().Waiting == 0 || e.store.WriteStats().InUse == 0 {
		time.Sleep(time.Millisecond)
	}
	giveUp()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("the abandoned push: err = %v, want context.Canceled", err)
	}
	if _, err := lock.ExecContext(ctx, unlockSQL); err != nil {
		t.Fatal(err)
	}
	lock.Close()
	db := rawDB(t, e)
	lastMid := func() int64 {
		var n int64
		db.QueryRow(`SELECT COALESCE((SELECT last_mid FROM devices WHERE id = ?), 0)`, e.deviceOf("memberA1")).Scan(&n)
		return n
	}
	// The server goes on without the client and commits.
	for i := 0; lastMid() != 3; i++ {
		if i > 30_000 {
			t.Fatalf("the abandoned push never committed: last_mid %d", lastMid())
		}
		time.Sleep(time.Millisecond)
	}
	stored := map[int64]pushResult{}
	rows, err := db.Query(`SELECT mid, result FROM sync_results WHERE device_id = ?`, e.deviceOf("memberA1"))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var mid int64
		var raw []byte
		rows.Scan(&mid, &raw)
		var r pushResult
		json.Unmarshal(raw, &r)
		stored[mid] = r
	}
	rows.Close()

	// The phone retries the same mids: the stored results come back.
	resp, err := send(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p pushResp
	json.NewDecoder(resp.Body).Decode(&p)
	if resp.StatusCode != 200 || len(p.Results) != 3 {
		t.Fatalf("retry: status %d, %d results", resp.StatusCode, len(p.Results))
	}
	for _, r := range p.Results {
		r.Retryable = nil
		if diff := cmp.Diff(stored[r.Mid], r); diff != "" || r.Status != "applied" {
			t.Errorf("retry of mid %d (-stored +answered):\n%s", r.Mid, diff)
		}
	}
	if got, want := countRows(t, e, `SELECT count(*) FROM assistance_logs`), 3; got != want {
		t.Errorf("logs = %d, want %d", got, want)
	}
}
