package server

import (
	"fmt"
	"strings"
	"testing"
)

// Weak passwords are refused wherever a password is set (creating a user,
// an admin's reset, changing one's own), with the field named and the
// reason in Vietnamese by default.
func TestWeakPasswordsAreRefused(t *testing.T) {
	e := newTestEnv(t)
	create := func(password, role string, lang ...string) response {
		body := map[string]any{"phone": "0911000001", "name": "Người Mới", "role": role, "password": password}
		if role == "coordinator" {
			body["area_id"] = e.villageA1.ID
		} else {
			body["team_id"] = e.teamA1.ID
		}
		return e.do("POST", "/v1/users", e.token("coordA"), body, lang...)
	}
	for _, tt := range []struct{ password, role, vi string }{
		{"12345678", "member", "phổ biến"},
		{"password", "member", "phổ biến"},
		{"aaaaaaaa", "member", "lặp lại"},
		{"k7#Qm2vX", "member", ""}, // fine for a member …
		{"135724680", "coordinator", "ít nhất 10"},
		{"abcdefghijk", "coordinator", "dãy đơn giản"},
		{"0911000001", "member", "số điện thoại"},
	} {
		r := create(tt.password, tt.role)
		if tt.vi == "" {
			if r.Status != 201 {
				t.Errorf("%q for a %s: got %d %s, want 201", tt.password, tt.role, r.Status, r.Body)
			}
			e.do("PATCH", fmt.Sprintf("/v1/users/%d", num(r.JSON(t), "id")), e.token("coordA"), map[string]any{"active": false})
			continue
		}
		wantError(t, tt.password, r, 422, "validation_failed")
		fields, _ := r.JSON(t)["error"].(map[string]any)["fields"].(map[string]any)
		if reason, _ := fields["password"].(string); !strings.Contains(reason, tt.vi) {
			t.Errorf("%q for a %s: fields %v, want password: …%s…", tt.password, tt.role, fields, tt.vi)
		}
	}
	r := create("12345678", "member", "Accept-Language", "en")
	if !strings.Contains(string(r.Body), "most common passwords") {
		t.Errorf("in English: %s", r.Body)
	}
	reset := e.do("PATCH", fmt.Sprintf("/v1/users/%d", e.users["memberA1"].ID), e.token("coordA"), map[string]any{"password": "11111111"})
	wantError(t, "a reset to 11111111", reset, 422, "validation_failed")
	change := e.do("POST", "/v1/auth/password", e.token("coordA"), map[string]any{"old_password": "password-coordA", "new_password": "qwertyuiop"})
	wantError(t, "a change to qwertyuiop", change, 422, "validation_failed")
	if got := e.meStatus(e.token("coordA")); got != 200 {
		t.Errorf("the refused change ended the session: %d", got)
	}
}

// A coordinator creating or importing a user whose phone is registered
// outside the coordinator's area learns only that the number cannot be
// used, not that (or by whom) it is registered; inside the area the
// holder is named.
func TestPhoneOutsideScopeIsNotRevealed(t *testing.T) {
	e := newTestEnv(t)
	create := func(phone string) response {
		return e.do("POST", "/v1/users", e.token("coordA"), map[string]any{"phone": phone, "name": "Người Mới",
			"role": "member", "team_id": e.teamA1.ID, "password": "k7#Qm2vX-new"}, "Accept-Language", "en")
	}
	outside, inside := e.users["memberB1"], e.users["memberA2"]
	r := create(outside.Phone)
	wantError(t, "a phone registered in commune B", r, 409, "conflict")
	for _, leak := range []string{"registered", "memberB1", "user ", "Xã B"} {
		if strings.Contains(string(r.Body), leak) {
			t.Errorf("the answer about commune B's number reveals %q: %s", leak, r.Body)
		}
	}
	if !strings.Contains(string(r.Body), `"phone"`) {
		t.Errorf("the answer does not name the phone field: %s", r.Body)
	}
	r = create(inside.Phone)
	wantError(t, "a phone registered in commune A", r, 409, "conflict")
	if !strings.Contains(string(r.Body), "already registered") || !strings.Contains(string(r.Body), "memberA2") {
		t.Errorf("inside the area the holder should be named: %s", r.Body)
	}
	imp := e.do("POST", "/v1/users/import", e.token("coordA"),
		[]byte("phone,name,role,team\n"+outside.Phone+",Người Mới,member,Tổ A1\n"), "Content-Type", "text/csv", "Accept-Language", "en")
	if imp.Status != 422 || strings.Contains(string(imp.Body), "registered") || strings.Contains(string(imp.Body), "memberB1") {
		t.Errorf("import of commune B's number: %d %s, want 422 without revealing it", imp.Status, imp.Body)
	}
}
