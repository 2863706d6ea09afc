package server

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestDevicesAreTheCallersOwn(t *testing.T) {
	e := newTestEnv(t)
	d1, d2, other := uuid.NewString(), uuid.NewString(), uuid.NewString()
	r := e.do("POST", "/v1/auth/login", "", map[string]any{
		"phone": e.users["memberA1"].Phone, "password": "password-memberA1", "device_id": d1,
		"platform": "ios", "app_version": "1.2.3", "push_token": "fcm-token-1",
	})
	p1 := authPairOf(t, r)
	authPairOf(t, e.authLogin("memberA1", d2))
	authPairOf(t, e.authLogin("memberA2", other))

	list := e.do("GET", "/v1/devices", p1.access, nil)
	if list.Status != 200 {
		t.Fatalf("list: got %d: %s", list.Status, list.Body)
	}
	got := map[string]map[string]any{}
	for _, it := range list.JSON(t)["items"].([]any) {
		d := it.(map[string]any)
		got[d["id"].(string)] = d
	}
	if len(got) != 2 || got[d1] == nil || got[d2] == nil {
		t.Fatalf("devices = %v, want exactly %s and %s", got, d1, d2)
	}
	if d := got[d1]; d["platform"] != "ios" || d["app_version"] != "1.2.3" || d["has_push_token"] != true || d["current"] != true {
		t.Errorf("device %s = %v, want ios 1.2.3 with a push token, current", d1, d)
	}
	if d := got[d2]; d["has_push_token"] != false || d["current"] != false {
		t.Errorf("device %s = %v, want no push token, not current", d2, d)
	}

	set := func(id, token string) response {
		return e.do("PUT", "/v1/devices/"+id+"/push-token", p1.access, map[string]any{"push_token": token})
	}
	if r := set(d2, "fcm-token-2"); r.Status != 200 || r.JSON(t)["has_push_token"] != true {
		t.Errorf("set own device's token: got %d %s", r.Status, r.Body)
	}
	if r := set(d1, ""); r.Status != 200 || r.JSON(t)["has_push_token"] != false {
		t.Errorf("clear own device's token: got %d %s", r.Status, r.Body)
	}
	wantError(t, "another user's device", set(other, "stolen"), 404, "not_found")
	wantError(t, "not a uuid", set("nope", "x"), 422, "validation_failed")
	otherList := e.do("GET", "/v1/devices", e.token("memberA2"), nil).JSON(t)["items"].([]any)
	for _, it := range otherList {
		if d := it.(map[string]any); d["id"] == other && d["has_push_token"] != false {
			t.Errorf("memberA2's device got a push token from memberA1: %v", d)
		}
	}
}

// pushOn pushes mutations from device with an access token.
func (e *testEnv) pushOn(access, device string, muts ...mut) pushResp {
	e.t.Helper()
	r := e.do("POST", "/v1/sync/push", access, map[string]any{
		"protocol": 1, "device_id": device, "schema_version": 1, "app_version": "1.0.0", "mutations": muts,
	})
	if r.Status != 200 {
		e.t.Fatalf("push: status %d, body %s", r.Status, r.Body)
	}
	var p pushResp
	if err := json.Unmarshal(r.Body, &p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// A lost phone: its owner is deactivated, or a coordinator unbinds it. The
// device id is then free for the next user, who starts its sync afresh
// (the old owner's stored push results are not theirs), and the old
// sessions and push token are gone.
func TestLostPhoneIsFreed(t *testing.T) {
	e := newTestEnv(t)
	phone := uuid.NewString()
	old := authPairOf(t, e.do("POST", "/v1/auth/login", "", map[string]any{
		"phone": e.users["memberA1"].Phone, "password": "password-memberA1", "device_id": phone,
		"platform": "android", "app_version": "1.0.0", "push_token": "fcm-lost-phone",
	}))
	first := e.pushOn(old.access, phone, logCreate(1, uuidN(1)))
	if first.Results[0].Status != "applied" {
		t.Fatalf("memberA1's push: %+v", first.Results)
	}

	// Deactivating the owner frees the phone.
	if r := e.do("PATCH", fmt.Sprintf("/v1/users/%d", e.users["memberA1"].ID), e.token("coordA"), map[string]any{"active": false}); r.Status != 200 {
		t.Fatalf("deactivate: %d %s", r.Status, r.Body)
	}
	next := authPairOf(t, e.authLogin("leadA1", phone)) // was 409 device_bound
	r := e.pushOn(next.access, phone, logCreate(1, uuidN(2)))
	var n int
	rawDB(t, e).QueryRow(`SELECT count(*) FROM assistance_logs WHERE id = ?`, uuidN(2)).Scan(&n)
	if r.LastMid != 1 || r.Results[0].Status != "applied" || r.Results[0].Version == first.Results[0].Version || n != 1 {
		t.Fatalf("the new owner's mid 1 got %+v (last_mid %d, %d rows), want its own log applied", r.Results, r.LastMid, n)
	}
	if got := e.meStatus(old.access); got != 401 {
		t.Errorf("the deactivated owner's token: got %d, want 401", got)
	}

	// A coordinator of the area lists the lead's devices and unbinds the phone.
	lead := e.users["leadA1"].ID
	list := e.do("GET", fmt.Sprintf("/v1/devices?user_id=%d", lead), e.token("coordA"), nil)
	if list.Status != 200 {
		t.Fatalf("list leadA1's devices: %d %s", list.Status, list.Body)
	}
	found := false
	for _, it := range list.JSON(t)["items"].([]any) {
		d := it.(map[string]any)
		found = found || (d["id"] == phone && num(d, "user_id") == lead)
	}
	if !found {
		t.Fatalf("leadA1's devices %s lack %s", list.Body, phone)
	}
	wantError(t, "coordB unbinds", e.do("DELETE", "/v1/devices/"+phone, e.token("coordB"), nil), 404, "not_found")
	wantError(t, "a teammate unbinds", e.do("DELETE", "/v1/devices/"+phone, e.token("memberA2"), nil), 404, "not_found")
	if r := e.do("DELETE", "/v1/devices/"+phone, e.token("coordA"), nil); r.Status != 204 {
		t.Fatalf("unbind: %d %s", r.Status, r.Body)
	}
	if got := e.meStatus(next.access); got != 401 {
		t.Errorf("the lead's token on the unbound phone: got %d, want 401", got)
	}
	wantError(t, "refresh on the unbound phone", e.authRefresh(next.refresh, phone), 401, "unauthenticated")
	wantError(t, "unbind twice", e.do("DELETE", "/v1/devices/"+phone, e.token("coordA"), nil), 404, "not_found")
	for _, it := range e.do("GET", fmt.Sprintf("/v1/devices?user_id=%d", lead), e.token("coordA"), nil).JSON(t)["items"].([]any) {
		if it.(map[string]any)["id"] == phone {
			t.Errorf("the unbound phone is still listed: %v", it)
		}
	}
	var token sql.NullString
	if err := rawDB(t, e).QueryRow(`SELECT push_token FROM devices WHERE id = ?`, phone).Scan(&token); err != nil || token.Valid {
		t.Errorf("push token after unbinding: %v %v, want NULL", token, err)
	}
	// The same lead comes back on it and carries on where the phone was.
	back := authPairOf(t, e.authLogin("leadA1", phone))
	if r := e.pushOn(back.access, phone, logCreate(2, uuidN(3))); r.LastMid != 2 || r.Results[0].Status != "applied" {
		t.Errorf("the owner back on the phone: %+v (last_mid %d), want mid 2 applied", r.Results, r.LastMid)
	}
}

// PUT …/push-token must name push_token: a missing or misspelled key is a
// 422, not a silent clear of the token.
func TestPushTokenNeedsItsKey(t *testing.T) {
	e := newTestEnv(t)
	tok, device := e.token("memberA1"), e.deviceOf("memberA1")
	put := func(body any) response { return e.do("PUT", "/v1/devices/"+device+"/push-token", tok, body) }
	if r := put(map[string]any{"push_token": "fcm-1"}); r.Status != 200 {
		t.Fatalf("set: %d %s", r.Status, r.Body)
	}
	for name, body := range map[string]any{"misspelled": map[string]any{"pushToken": ""}, "missing": map[string]any{}} {
		r := put(body)
		wantError(t, name, r, 422, "validation_failed")
		if !strings.Contains(string(r.Body), `"push_token"`) {
			t.Errorf("%s: the answer does not name push_token: %s", name, r.Body)
		}
	}
	if r := put(map[string]any{"push_token": ""}); r.Status != 200 || r.JSON(t)["has_push_token"] != false {
		t.Errorf("an explicit clear: %d %s", r.Status, r.Body)
	}
}
