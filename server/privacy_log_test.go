package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"toso/mobileapi"
)

// TestRawNumbersNeverLogged sends known citizen ID-card and phone numbers
// through the real app with its real slog logger (JSON, debug level, the
// access log on), on the good path and on every bad-input path a phone or
// a typo can take: rejected mutations, numbers where strings belong,
// malformed bodies, unknown tables, a login with the number, a query
// string. Then it reads the log output, every response body, the database
// file and its WAL, and fails if any raw number (in any of the spellings
// sent) appears.
func TestRawNumbersNeverLogged(t *testing.T) {
	e := newTestEnv(t)
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := New(Config{Addr: "127.0.0.1:0", JWTSecret: testSecret, Now: e.clock.now, AccessLog: true, Limits: mobileapi.Limits{
		LoginPerIP: 1 << 30, LoginIPWindow: time.Second, LoginPerPhone: 1 << 30, LoginPhoneWindow: time.Second,
		RequestsPerSecond: 1e6, RequestBurst: 1 << 30,
	}}, e.store, log)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	const (
		idCard   = "079203001234" // 12 digits
		idShort  = "79203001234"  // the same without its leading 0 (a number in JSON)
		phoneNum = "0987654321"
		phoneNo0 = "987654321"
	)
	secrets := []string{idCard, idShort, phoneNum, phoneNo0, "+84987654321", "098 765 4321", "0987.654.321"}
	token := e.token("memberA1")
	var bodies [][]byte
	keep := func(r response) { bodies = append(bodies, r.Body) }
	session := uuidN(70)
	mid := int64(0)
	next := func() int64 { mid++; return mid }
	pushes := [][]mut{
		{logCreate(next(), uuidN(71), "citizen_id_number", idCard, "consent", true)},
		{logCreate(next(), uuidN(72), "citizen_phone", "+84987654321")},
		{logCreate(next(), uuidN(73), "citizen_phone", "098 765 4321")},
		{logCreate(next(), uuidN(74), "citizen_phone", "0987.654.321", "citizen_id_number", idCard)},
		// Bad input: rejected, and the raw value must not come back or be logged.
		{logCreate(next(), uuidN(75), "citizen_id_number", idCard+"9")},
		{logCreate(next(), uuidN(76), "citizen_id_number", 79203001234)},
		{logCreate(next(), uuidN(77), "citizen_phone", 987654321)},
		{logCreate(next(), uuidN(78), "citizen_id_number", []string{idCard}, "occurred_at", "not a time")},
		{{"mid": next(), "table": "citizens_" + idCard, "op": "create", "id": uuidN(79), "fields": map[string]any{"citizen_id_number": idCard}}},
		{{"mid": next(), "table": "assistance_logs", "op": "create", "id": idCard, "fields": map[string]any{"citizen_phone": phoneNum}}},
		{{"mid": next(), "table": "training_sessions", "op": "create", "id": session, "fields": map[string]any{"place": "Nhà văn hóa"}}},
		{{"mid": next(), "table": "session_attendees", "op": "create", "id": uuidN(80), "fields": map[string]any{"session_id": session, "citizen_id_number": idCard, "citizen_phone": phoneNum}}},
		{{"mid": next(), "table": "session_attendees", "op": "create", "id": uuidN(81), "fields": map[string]any{"session_id": session, "citizen_phone": 987654321}}},
		// Numbers typed into free text are masked before storage.
		{logCreate(next(), uuidN(86), "consent", true, "notes", "CCCD "+idCard+", gọi 098 765 4321",
			"citizen_name", "Chị Lan 0987.654.321")},
		{{"mid": next(), "table": "training_sessions", "op": "patch", "id": session, "fields": map[string]any{
			"place": "Nhà ông Ba, " + phoneNum, "notes": "liên hệ +84987654321"}}},
		{{"mid": next(), "table": "session_attendees", "op": "create", "id": uuidN(87), "fields": map[string]any{
			"session_id": session, "name": "Anh Nam " + idCard, "consent": true}}},
	}
	for _, muts := range pushes {
		r := send(t, e, "POST", "/v1/sync/push", token, map[string]any{"protocol": 1, "device_id": e.deviceOf("memberA1"),
			"schema_version": 1, "app_version": "1.0.0", "mutations": muts})
		if r.Status != 200 {
			t.Fatalf("push: %d %s", r.Status, r.Body)
		}
		keep(r)
	}
	envelope := func(mutations string) []byte {
		return []byte(`{"protocol":1,"device_id":"` + e.deviceOf("memberA1") + `","schema_version":1,"app_version":"1.0.0","mutations":` + mutations + `}`)
	}
	for _, raw := range [][]byte{
		envelope(`[{"mid":` + fmt.Sprint(next()) + `,"table":"assistance_logs","op":"create","id":"` + uuidN(82) + `","fields":{"citizen_id_number":"` + idCard + `"` + `]}`), // malformed
		envelope(`[{"mid":"` + idCard + `","table":"assistance_logs"}]`),
		envelope(`[{"mid":` + idShort + `,"table":"assistance_logs","op":"create","id":"` + uuidN(83) + `"}]`), // a mid gap
		envelope(`{"citizen_id_number":` + idShort + `}`),
		[]byte(`{"protocol":1,"device_id":"` + idCard + `","schema_version":1,"mutations":[]}`),
		[]byte(`{"protocol":` + idShort + `}`),
	} {
		keep(send(t, e, "POST", "/v1/sync/push", token, raw))
	}
	for _, body := range []any{
		map[string]any{"phone": phoneNum, "password": "wrong-password", "device_id": uuidN(84), "platform": "android"},
		map[string]any{"phone": 987654321, "password": "x", "device_id": uuidN(85)},
		[]byte(`{"phone":"` + phoneNum + `","password":`),
		map[string]any{"phone": idCard, "password": "password-memberA1", "device_id": idCard},
	} {
		keep(send(t, e, "POST", "/v1/auth/login", "", body))
	}
	keep(send(t, e, "GET", "/v1/users?q="+phoneNum+"&limit="+idCard, e.token("coordA"), nil))
	keep(send(t, e, "POST", "/v1/users", e.token("coordA"), map[string]any{"phone": "0911222333", "name": "Nguyễn Văn " + idCard,
		"role": "member", "team_id": e.teamA1.ID, "password": "k7#Qm2vX-new"}))
	keep(send(t, e, "GET", "/v1/areas/"+idCard, e.token("coordA"), nil))
	// A scope name the phone made up comes back to it in scopes_removed:
	// its own bytes, so only the log is checked for this one.
	send(t, e, "POST", "/v1/sync/pull", token, map[string]any{"protocol": 1, "device_id": e.deviceOf("memberA1"), "schema_version": 1,
		"cursors": map[string]string{"team:" + idCard: idCard}})
	keep(send(t, e, "POST", "/v1/sync/pull", token, map[string]any{"protocol": 1, "device_id": e.deviceOf("memberA1"), "schema_version": 1}))

	sources := map[string][]byte{"log output": logs.Bytes()}
	for i, b := range bodies {
		sources[fmt.Sprintf("response %d", i)] = b
	}
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(e.store.Path() + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		sources["database file"+suffix] = b
	}
	for name, b := range sources {
		for _, s := range secrets {
			if i := bytes.Index(b, []byte(s)); i >= 0 {
				t.Errorf("%s contains %q: …%s…", name, s, b[max(0, i-80):min(len(b), i+len(s)+40)])
			}
		}
	}
	// The scan must have had something to scan: one access log line per
	// request, debug level on, the citizens counted.
	if n := strings.Count(logs.String(), `"msg":"request"`); n < len(bodies) {
		t.Errorf("%d access log lines for %d requests", n, len(bodies))
	}
	if got, want := countRows(t, e, `SELECT count(DISTINCT citizen_ref) FROM assistance_logs WHERE citizen_ref IS NOT NULL`), 2; got != want {
		t.Errorf("distinct citizen refs = %d, want %d (the ID card and the phone)", got, want)
	}
}

// send is e.do without the OpenAPI check: these requests break the
// document on purpose (a number for a UUID, an unknown table).
func send(t *testing.T, e *testEnv, method, path, token string, body any) response {
	t.Helper()
	raw, ok := body.([]byte)
	if !ok && body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.srv.App().Test(req, fiber.TestConfig{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b.Bytes()...)
}

func (s *syncBuffer) String() string { return string(s.Bytes()) }
