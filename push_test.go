package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"toso/store"
)

// lineWriter hands each "listening" log line's address to addr.
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadBytes('\n')
		if err != nil {
			w.buf.Write(line) // incomplete: keep for the next write
			return len(p), nil
		}
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" {
			w.addr <- rec.Addr
		}
	}
}

// TestServePushesThroughFCM runs `toso serve --push=fcm` against a fake FCM
// server given as the endpoint: an announcement published over HTTP
// reaches the member's device token, and the server stops cleanly.
func TestServePushesThroughFCM(t *testing.T) {
	const secret = "serve-push-test-secret-0123456789abcdef"
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
	_, err = st.CreateUser(ctx, store.System, store.NewUser{Phone: "0900000001", Name: "Admin", Role: store.RoleAdmin, Password: "password-admin"})
	if err != nil {
		t.Fatal(err)
	}
	member, err := st.CreateUser(ctx, store.System, store.NewUser{Phone: "0900000002", Name: "Member", Role: store.RoleMember, TeamID: team.ID, Password: "password-member"})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	if _, err := db.Exec(`INSERT INTO devices (id, user_id, platform, push_token, push_token_updated_at, last_seen_at, created_at)
		VALUES ('00000000-0000-4000-8000-000000000002', ?, 'android', 'member-token', ?2, ?2, ?2)`, member.ID, now); err != nil {
		t.Fatal(err)
	}
	db.Close()

	got := make(chan string, 10)
	fcm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Message struct{ Token string } `json:"message"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		got <- r.URL.Path + " " + req.Message.Token
		io.WriteString(w, `{"name": "projects/demo-project/messages/1"}`)
	}))
	defer fcm.Close()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stderr := &lineWriter{addr: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(runCtx, []string{"serve", "-db", path, "-addr", "127.0.0.1:0", "-jwt-secret", secret, "-access-log=false",
			"-push", "fcm", "-fcm-endpoint", fcm.URL + "/v1", "-fcm-project", "demo-project"},
			func(string) string { return "" }, io.Discard, stderr)
	}()
	var base string
	select {
	case addr := <-stderr.addr:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	}

	// Sign in as the admin, as the web client would.
	resp, err := http.Post(base+"/v1/auth/login", "application/json", strings.NewReader(
		`{"phone":"0900000001","password":"password-admin","device_id":"00000000-0000-4000-8000-000000000001","platform":"web"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	bearer := login.AccessToken
	if bearer == "" {
		t.Fatalf("admin login: %d", resp.StatusCode)
	}
	post := func(path, body string) map[string]any {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s: got %d %v", path, resp.StatusCode, m)
		}
		return m
	}
	an := post("/v1/announcements", fmt.Sprintf(`{"title": "Họp tổ", "body": "Thứ Hai 8 giờ", "priority": "urgent", "audience": {"area_ids": [%d]}}`, prov.ID))
	post(fmt.Sprintf("/v1/announcements/%v/publish", an["id"]), "")

	select {
	case req := <-got:
		if want := "/v1/projects/demo-project/messages:send member-token"; req != want {
			t.Errorf("fake FCM got %q, want %q", req, want)
		}
	case err := <-done:
		t.Fatalf("serve stopped before pushing: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}
