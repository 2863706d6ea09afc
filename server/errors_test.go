package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestErrorEnvelopeLanguage(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name, lang, wantCode, wantMsgPart string
		wantStatus                        int
		body                              []byte
	}{
		{"vietnamese by default", "", "validation_failed", "không hợp lệ", 422, []byte(`{"area_id": 0}`)},
		{"english on request", "en-US,en;q=0.9", "validation_failed", "invalid", 422, []byte(`{"area_id": 0}`)},
		{"malformed json", "en", "bad_request", "malformed", 400, []byte(`{"area_id": `)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/v1/teams", e.token("admin"), tt.body, "Accept-Language", tt.lang)
			if r.Status != tt.wantStatus || r.ErrorCode() != tt.wantCode {
				t.Fatalf("got %d %s, want %d %s: %s", r.Status, r.ErrorCode(), tt.wantStatus, tt.wantCode, r.Body)
			}
			errObj := r.JSON(t)["error"].(map[string]any)
			if msg := errObj["message"].(string); !strings.Contains(msg, tt.wantMsgPart) {
				t.Errorf("message %q does not contain %q", msg, tt.wantMsgPart)
			}
			if errObj["request_id"] == "" {
				t.Error("no request_id")
			}
			if tt.wantCode == "validation_failed" {
				fields, _ := errObj["fields"].(map[string]any)
				if fields["area_id"] == nil || fields["name"] == nil {
					t.Errorf("fields = %v, want area_id and name named", fields)
				}
			}
		})
	}
}

func TestOversizedBodyIsRejected(t *testing.T) {
	e := newTestEnv(t)
	// The body limit is enforced by fasthttp while reading, so this needs a
	// real connection (app.Test fails before any handler runs).
	base := e.listen()
	// A client announcing 2 MiB gets the answer before sending it.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/teams HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nAccept-Language: en\r\nContent-Length: %d\r\n\r\n{\"name\":\"",
		e.token("admin"), 2<<20)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := response{Status: resp.StatusCode, Body: b}
	if r.Status != 413 || r.ErrorCode() != "too_large" {
		t.Fatalf("got %d %s, want 413 too_large: %s", r.Status, r.ErrorCode(), b)
	}
	teams := e.do("GET", "/v1/teams", e.token("admin"), nil).JSON(t)["items"].([]any)
	if len(teams) != 3 {
		t.Errorf("got %d teams after a rejected create, want 3", len(teams))
	}
}

// TestStoreExplanationsAreTranslated: the store's own reason for a 409 or
// 422 reaches the client in its language, values kept: a phone already
// registered names its holder (the admin sees every user) in fields.phone.
func TestStoreExplanationsAreTranslated(t *testing.T) {
	e := newTestEnv(t)
	body := map[string]any{"phone": "0900000105", "name": "Trùng số", "role": "member", "team_id": e.teamA1.ID, "password": "password-dup-1"}
	for _, tc := range []struct{ lang, message, field string }{
		{"", "Dữ liệu bị trùng hoặc xung đột với dữ liệu đã có.", "đã được đăng ký (người dùng 6, memberA1)"},
		{"en", "This conflicts with existing data.", "already registered (user 6, memberA1)"},
	} {
		r := e.do("POST", "/v1/users", e.token("admin"), body, "Accept-Language", tc.lang)
		if r.Status != 409 {
			t.Fatalf("a second user with phone 0900000105: %d %s, want 409", r.Status, r.Body)
		}
		errObj := r.JSON(t)["error"].(map[string]any)
		fields, _ := errObj["fields"].(map[string]any)
		if errObj["message"] != tc.message || fields["phone"] != tc.field {
			t.Errorf("lang %q: message %q, fields %v, want %q and phone %q", tc.lang, errObj["message"], fields, tc.message, tc.field)
		}
	}
	// A quarter target without its quarter: the validator's rule, in Vietnamese.
	r := e.do("POST", "/v1/targets", e.token("admin"), map[string]any{"indicator": "vneid_l2_activated",
		"area_id": e.villageA1.ID, "period": "quarter", "year": 2026, "goal": 10})
	fields, _ := r.JSON(t)["error"].(map[string]any)["fields"].(map[string]any)
	if q, _ := fields["quarter"].(string); r.Status != 422 || strings.Contains(q, "Error:Field") || !strings.Contains(q, "không được bỏ trống") {
		t.Errorf("a quarter target without quarter: %d, fields %v", r.Status, fields)
	}
}
