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
	resp, err := srv.App().Test(httptest.NewRequest("GET", "/metrics", nil))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	for _, name := range []string{"toso_push_sent_total", "toso_push_tokens_invalidated_total", "toso_push_queue_depth",
		"toso_push_oldest_due_age_seconds", "toso_db_open_connections"} {
		if !strings.Contains(string(body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}
