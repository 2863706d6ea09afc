package server

import (
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
