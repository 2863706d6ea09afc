package server

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func announcementBody(title string, areaIDs ...int64) map[string]any {
	return map[string]any{"title": title, "body": "Chiến dịch VNeID bắt đầu thứ Hai.", "priority": "high",
		"ack_required": true, "audience": map[string]any{"area_ids": areaIDs}}
}

func TestAnnouncementAuthorizationHTTP(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name   string
		user   string
		body   any
		status int
		code   string
	}{
		{"admin anywhere", "admin", announcementBody("a", e.province.ID), 201, ""},
		{"province coordinator, a commune", "coordP", announcementBody("a", e.communeB.ID), 201, ""},
		{"commune coordinator, own commune", "coordA", announcementBody("a", e.communeA.ID), 201, ""},
		{"commune coordinator, other commune", "coordA", announcementBody("a", e.communeB.ID), 403, "forbidden"},
		{"commune coordinator, the province", "coordA", announcementBody("a", e.province.ID), 403, "forbidden"},
		{"commune coordinator, other commune's team", "coordA", map[string]any{"title": "a", "body": "b",
			"audience": map[string]any{"area_ids": []int64{e.communeA.ID}, "team_ids": []int64{e.teamB1.ID}}}, 403, "forbidden"},
		{"team lead", "leadA1", announcementBody("a", e.villageA1.ID), 403, "forbidden"},
		{"member", "memberA1", announcementBody("a", e.villageA1.ID), 403, "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/v1/announcements", e.token(tt.user), tt.body)
			if r.Status != tt.status || r.ErrorCode() != tt.code {
				t.Errorf("got %d %q, want %d %q (%s)", r.Status, r.ErrorCode(), tt.status, tt.code, r.Body)
			}
		})
	}
}

func TestAnnouncementValidationHTTP(t *testing.T) {
	e := newTestEnv(t)
	r := e.do("POST", "/v1/announcements", e.token("admin"), map[string]any{
		"body": "b", "priority": "loud", "audience": map[string]any{"area_ids": []int64{}, "roles": []string{"king"}},
	}, "Accept-Language", "en")
	var env struct {
		Error struct {
			Code   string            `json:"code"`
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &env); err != nil {
		t.Fatal(err)
	}
	var fields []string
	for f := range env.Error.Fields {
		fields = append(fields, f)
	}
	want := []string{"audience.area_ids", "audience.roles[0]", "priority", "title"}
	if r.Status != 422 || env.Error.Code != "validation_failed" ||
		!cmp.Equal(want, fields, cmpopts.SortSlices(func(a, b string) bool { return a < b })) {
		t.Errorf("got %d %s fields %v, want 422 validation_failed fields %v", r.Status, env.Error.Code, fields, want)
	}
	list := e.do("GET", "/v1/announcements", e.token("admin"), nil).JSON(t)
	if items := list["items"].([]any); len(items) != 0 {
		t.Errorf("a refused create stored %d announcements, want 0", len(items))
	}
}

func TestAnnouncementLifecycleHTTP(t *testing.T) {
	e := newTestEnv(t)
	coordA, memberA1, memberB1 := e.token("coordA"), e.token("memberA1"), e.token("memberB1")

	preview := e.do("POST", "/v1/announcements/preview", coordA, map[string]any{
		"audience": map[string]any{"area_ids": []int64{e.communeA.ID}, "roles": []string{"member", "team_lead"}}})
	if diff := cmp.Diff(map[string]any{"users": 3.0, "devices": 0.0, "no_device": 3.0}, preview.JSON(t)); diff != "" {
		t.Errorf("preview (-want +got):\n%s", diff)
	}

	created := e.do("POST", "/v1/announcements", coordA, announcementBody("Tập huấn", e.communeA.ID))
	if created.Status != 201 {
		t.Fatalf("create: got %d %s", created.Status, created.Body)
	}
	id := int64(created.JSON(t)["id"].(float64))
	path := fmt.Sprintf("/v1/announcements/%d", id)

	// Not in any inbox before publication; other coordinators cannot see it.
	if items := e.do("GET", "/v1/inbox", memberA1, nil).JSON(t)["items"].([]any); len(items) != 0 {
		t.Errorf("inbox before publish: got %d items, want 0", len(items))
	}
	if r := e.do("GET", path, e.token("coordB"), nil); r.Status != 404 {
		t.Errorf("coordB reads coordA's announcement: got %d, want 404", r.Status)
	}
	if r := e.do("GET", "/v1/announcements", memberA1, nil); r.Status != 403 {
		t.Errorf("member lists announcements: got %d, want 403", r.Status)
	}

	pub := e.do("POST", path+"/publish", coordA, nil)
	if pub.Status != 200 || pub.JSON(t)["status"] != "published" || pub.JSON(t)["recipients"] != 4.0 {
		t.Fatalf("publish: got %d %s, want published to 4 (coordA, leadA1, memberA1, memberA2)", pub.Status, pub.Body)
	}
	if r := e.do("POST", path+"/publish", coordA, nil); r.Status != 409 {
		t.Errorf("publish twice: got %d, want 409", r.Status)
	}

	inbox := e.do("GET", "/v1/inbox", memberA1, nil).JSON(t)["items"].([]any)
	if len(inbox) != 1 || inbox[0].(map[string]any)["title"] != "Tập huấn" || inbox[0].(map[string]any)["delivered_at"] == nil {
		t.Fatalf("memberA1 inbox: got %v, want the announcement, delivered", inbox)
	}
	if items := e.do("GET", "/v1/inbox", memberB1, nil).JSON(t)["items"].([]any); len(items) != 0 {
		t.Errorf("memberB1 inbox: got %d items, want 0", len(items))
	}
	if r := e.do("POST", path+"/read", memberB1, nil); r.Status != 404 {
		t.Errorf("non-recipient marks read: got %d, want 404", r.Status)
	}
	ack := e.do("POST", path+"/ack", memberA1, nil).JSON(t)
	if ack["read_at"] == nil || ack["acked_at"] == nil {
		t.Errorf("ack: got %v, want read_at and acked_at set", ack)
	}
	if r := e.do("POST", path+"/read", e.token("memberA2"), nil); r.Status != 200 {
		t.Errorf("memberA2 reads: got %d %s", r.Status, r.Body)
	}

	receipts := e.do("GET", path+"/receipts", coordA, nil)
	var rr struct {
		Total map[string]any `json:"total"`
	}
	if err := json.Unmarshal(receipts.Body, &rr); err != nil {
		t.Fatal(err)
	}
	wantTotal := map[string]any{"area_id": 0.0, "area_name": "", "role": "", "recipients": 4.0, "delivered": 2.0, "read": 2.0,
		"acknowledged": 1.0, "push_sent": 0.0, "push_failed": 0.0, "no_device": 4.0}
	if diff := cmp.Diff(wantTotal, rr.Total); diff != "" {
		t.Errorf("receipts total (-want +got):\n%s", diff)
	}
	if r := e.do("GET", path+"/receipts", e.token("coordB"), nil); r.Status != 404 {
		t.Errorf("coordB reads receipts: got %d, want 404", r.Status)
	}
	if r := e.do("POST", path+"/retract", e.token("leadA1"), nil); r.Status != 404 {
		t.Errorf("lead retracts: got %d, want 404", r.Status)
	}

	if r := e.do("POST", path+"/retract", coordA, nil); r.Status != 200 || r.JSON(t)["status"] != "retracted" {
		t.Fatalf("retract: got %d %s", r.Status, r.Body)
	}
	if items := e.do("GET", "/v1/inbox", memberA1, nil).JSON(t)["items"].([]any); len(items) != 0 {
		t.Errorf("inbox after retract: got %d items, want 0", len(items))
	}
}
