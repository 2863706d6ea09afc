package main

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"toso/server"
	"toso/store"
)

func TestTrustedProxiesAreChecked(t *testing.T) {
	for _, tt := range []struct {
		value string
		ok    bool
	}{
		{"", true},
		{"127.0.0.1", true},
		{"10.0.0.0/8, 192.168.1.7, ::1", true},
		{"10.0.0.0/33", false},
		{"proxy.example", false},
	} {
		cfg := Config{TrustedProxies: tt.value}
		_, err := cfg.proxies()
		if (err == nil) != tt.ok {
			t.Errorf("--trusted-proxies %q: err = %v, want ok %v", tt.value, err, tt.ok)
		}
	}
}

// /metrics is served on its own (loopback) listener; when the default
// address is taken, serving goes on without it and says so.
func TestMetricsListener(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "toso.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	discard := slog.New(slog.NewJSONHandler(io.Discard, nil))
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", JWTSecret: strings.Repeat("s", 32)}, st, discard)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop, err := serveMetrics(Config{MetricsAddr: addr}, srv, log)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	stop()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "toso_db_open_connections") {
		t.Errorf("GET /metrics on %s: %d %.200s", addr, resp.StatusCode, body)
	}

	// An explicit address that is taken is an error; the default is not.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if _, err := serveMetrics(Config{MetricsAddr: busy.Addr().String()}, srv, log); err == nil {
		t.Error("a taken --metrics-addr was accepted")
	}
	hold, holdErr := net.Listen("tcp", defaultMetricsAddr) // taken by us, or already by someone else
	if holdErr == nil {
		defer hold.Close()
	}
	stop, err = serveMetrics(Config{MetricsAddr: defaultMetricsAddr}, srv, log)
	if err != nil {
		t.Fatalf("the default address taken: %v, want a warning", err)
	}
	stop()
	if !strings.Contains(logs.String(), "the default address is in use") {
		t.Errorf("no warning about the taken default address:\n%s", logs.String())
	}
}
