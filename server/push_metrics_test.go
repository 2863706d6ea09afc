package server

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"toso/notifications"
)

// The push worker's collectors, given in Config.Collectors, are served at
// /metrics beside the server's own.
func TestMetricsServePushCollectors(t *testing.T) {
	e := newTestEnv(t)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	w := notifications.NewWorker(e.store, nil, log, notifications.Config{})
	srv, err := New(Config{Addr: "127.0.0.1:0", JWTSecret: testSecret, Collectors: w.Collectors()}, e.store, log)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil)) // what main serves on --metrics-addr
	body := rec.Body.Bytes()
	for _, name := range []string{"toso_push_sent_total", "toso_push_tokens_invalidated_total", "toso_push_queue_depth",
		"toso_push_oldest_due_age_seconds", "toso_db_open_connections"} {
		if !strings.Contains(string(body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

// Sync pushes and pulls are counted by table, status and code; a table a
// phone made up is counted as "unknown".
func TestMetricsCountSync(t *testing.T) {
	e := newTestEnv(t)
	e.push("memberA1",
		logCreate(1, uuidN(1), "team_id", e.teamA1.ID),
		mut{"mid": 2, "table": "assistance_logs", "op": "create", "id": "not-a-uuid", "fields": map[string]any{}},
		mut{"mid": 3, "table": "x" + strings.Repeat("y", 30), "op": "create", "id": uuidN(3)},
	)
	e.pull("memberA1", map[string]string{}, 500)
	body := string(e.do("GET", "/metrics", testMetricsToken, nil).Body)
	for _, line := range []string{
		`toso_sync_mutations_total{code="",status="applied",table="assistance_logs"} 1`,
		`toso_sync_mutations_total{code="validation_failed",status="rejected",table="assistance_logs"} 1`,
		`toso_sync_mutations_total{code="validation_failed",status="rejected",table="unknown"} 1`,
		`toso_sync_pulled_rows_total{op="put",table="assistance_logs"} 1`,
	} {
		if !strings.Contains(body, line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}
