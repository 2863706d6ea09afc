package server

import (
	"context"
	"fmt"
	"testing"

	"toso/store"
)

// Matrix rows and conformance exchanges of the coordinator's tools (issue
// 14): sync health, the conflict list, receipts per area and the people
// who have not acknowledged. A coordinator sees only their area, a lead
// only their team, a member nothing of others.

// ackAnnouncementID is "Matrix Ack", published by coordA to commune A with
// acknowledgement required, made on first use.
func ackAnnouncementID(e *testEnv) int64 {
	e.t.Helper()
	for _, it := range e.do("GET", "/v1/announcements?limit=500", e.token("admin"), nil).JSON(e.t)["items"].([]any) {
		if m := it.(map[string]any); m["title"] == "Matrix Ack" {
			return num(m, "id")
		}
	}
	r := e.do("POST", "/v1/announcements", e.token("coordA"), map[string]any{"title": "Matrix Ack", "body": "Xác nhận đã đọc",
		"ack_required": true, "audience": map[string]any{"area_ids": []int64{e.communeA.ID}}})
	if r.Status != 201 {
		e.t.Fatalf("create Matrix Ack: got %d: %s", r.Status, r.Body)
	}
	id := num(r.JSON(e.t), "id")
	if r := e.do("POST", fmt.Sprintf("/v1/announcements/%d/publish", id), e.token("coordA"), nil); r.Status != 200 {
		e.t.Fatalf("publish Matrix Ack: got %d: %s", r.Status, r.Body)
	}
	return id
}

// seesTeam reports whether as may read the team (GET /v1/teams/{id}).
func seesTeam(e *testEnv, as string, id int64) bool {
	return e.do("GET", fmt.Sprintf("/v1/teams/%d", id), e.token(as), nil).Status == 200
}

// checkSyncHealth: every team listed is one the caller may see, and a
// member sees their own phones only.
func checkSyncHealth(t *testing.T, e *testEnv, as string, r response) {
	t.Helper()
	for _, it := range r.JSON(t)["items"].([]any) {
		team := it.(map[string]any)
		if id := num(team, "team_id"); !seesTeam(e, as, id) {
			t.Errorf("%s's sync health lists team %v, which they may not see", as, team["team_name"])
		}
		if u := e.users[as]; u.Role.InTeam() && num(team, "team_id") != u.TeamID {
			t.Errorf("%s's sync health lists team %v, not their own", as, team["team_name"])
		}
		for _, d := range team["devices"].([]any) {
			if u := d.(map[string]any)["user_name"]; e.users[as].Role == store.RoleMember && u != as {
				t.Errorf("member %s's sync health lists %v's phone", as, u)
			}
		}
	}
}

// checkConflicts: every conflict listed is of a team the caller may see,
// and a member sees only those they lost.
func checkConflicts(t *testing.T, e *testEnv, as string, r response) {
	t.Helper()
	for _, it := range r.JSON(t)["items"].([]any) {
		c := it.(map[string]any)
		if !seesTeam(e, as, num(c, "team_id")) {
			t.Errorf("%s's conflicts list one of team %v, which they may not see", as, c["team_name"])
		}
		if e.users[as].Role == store.RoleMember && c["lost_by_name"] != as {
			t.Errorf("member %s's conflicts list one lost by %v", as, c["lost_by_name"])
		}
	}
}

func coordRows() []authzRow {
	const (
		ok = 200
		un = 401
		fb = 403
		nf = 404
		iv = 422
	)
	ack := func(e *testEnv, _ string) string {
		return fmt.Sprintf("/v1/announcements/%d/unacknowledged", ackAnnouncementID(e))
	}
	//                anon admin coordP coordA coordB leadA1 memberA1 memberA2 memberB1
	return []authzRow{
		{name: "sync health of commune A", method: "GET", path: fixed("/v1/sync-health?area_id=%d", idA),
			want: want{un, ok, ok, ok, nf, fb, fb, fb, nf}, check: checkSyncHealth},
		{name: "sync health of village A1", method: "GET", path: fixed("/v1/sync-health?area_id=%d", idA1),
			want: want{un, ok, ok, ok, nf, ok, ok, nf, nf}, check: checkSyncHealth},
		{name: "sync health of one's own scope", method: "GET", path: static("/v1/sync-health"),
			want: want{un, iv, ok, ok, ok, ok, ok, ok, ok}, check: checkSyncHealth},
		{name: "conflicts of commune A", method: "GET", path: fixed("/v1/review/conflicts?status=all&area_id=%d", idA),
			want: want{un, ok, ok, ok, nf, fb, fb, fb, nf}, check: checkConflicts},
		{name: "conflicts of village A1", method: "GET", path: fixed("/v1/review/conflicts?status=all&area_id=%d", idA1),
			want: want{un, ok, ok, ok, nf, ok, ok, nf, nf}, check: checkConflicts},
		{name: "receipts of announcement A by area", method: "GET", path: announcementPath("Matrix A", "/receipts/areas"), onlyIfMounted: true,
			want: want{un, ok, ok, ok, nf, nf, nf, nf, nf}},
		{name: "who has not acknowledged Matrix Ack", method: "GET", path: ack, onlyIfMounted: true,
			want: want{un, ok, ok, ok, nf, nf, nf, nf, nf}},
	}
}

// coordExchanges are the conformance walk's requests to the coordinator's
// tools, one per documented status (addReviewFixtures must have run).
func coordExchanges(e *testEnv) []exchange {
	cA, cB, a1 := e.communeA.ID, e.communeB.ID, e.villageA1.ID
	health := func(q string) string { return "/v1/sync-health?" + q }
	conflicts := func(q string) string { return "/v1/review/conflicts?" + q }
	plain := announcementID(e, "Matrix A")
	withAck := ackAnnouncementID(e)
	areas := func(id int64, q string) string { return fmt.Sprintf("/v1/announcements/%d/receipts/areas?%s", id, q) }
	unacked := func(id int64, q string) string { return fmt.Sprintf("/v1/announcements/%d/unacknowledged?%s", id, q) }
	// A target of commune A allocated equally, then one child's goal changed by hand.
	parent := newTarget(e, cA, 2028) // before village A1 ends (an exchange gives it valid_to 2030-12-31)
	kids, err := e.store.AllocateTarget(context.Background(), store.System, parent, store.AllocateEqual, false)
	if err != nil || len(kids) == 0 {
		e.t.Fatalf("allocate the fixture target: %v (%d children)", err, len(kids))
	}
	goal := kids[0].Goal + 7
	if _, err := e.store.UpdateTarget(context.Background(), store.System, kids[0].ID, store.TargetPatch{Goal: &goal}); err != nil {
		e.t.Fatal(err)
	}
	allocate := fmt.Sprintf("/v1/targets/%d/allocate", parent)
	return []exchange{
		{name: "sync health", method: "GET", path: health(fmt.Sprintf("area_id=%d", cA)), as: "coordA", want: 200},
		{name: "sync health filtered", method: "GET", path: health(fmt.Sprintf("area_id=%d&app_version_below=2.0.0&stale_days=5&only_stale=true&limit=1", cA)), as: "coordA", want: 200},
		{name: "sync health of one's own team", method: "GET", path: health(""), as: "leadA1", want: 200},
		{name: "sync health malformed limit", method: "GET", path: health("limit=ten"), as: "coordA", want: 400, invalid: true},
		{name: "sync health of a commune by a member", method: "GET", path: health(fmt.Sprintf("area_id=%d", cA)), as: "memberA1", want: 403},
		{name: "sync health outside scope", method: "GET", path: health(fmt.Sprintf("area_id=%d", cB)), as: "coordA", want: 404},
		{name: "sync health bad version", method: "GET", path: health("app_version_below=1.x"), as: "coordA", want: 422, invalid: true},
		{name: "sync health without an area as admin", method: "GET", path: health(""), as: "admin", want: 422},

		{name: "conflicts", method: "GET", path: conflicts(fmt.Sprintf("area_id=%d&status=all", cA)), as: "coordA", want: 200},
		{name: "conflicts of one's own team", method: "GET", path: conflicts("after=0&limit=10"), as: "leadA1", want: 200},
		{name: "conflicts malformed limit", method: "GET", path: conflicts("limit=x"), as: "coordA", want: 400, invalid: true},
		{name: "conflicts of a commune by a member", method: "GET", path: conflicts(fmt.Sprintf("area_id=%d", cA)), as: "memberA1", want: 403},
		{name: "conflicts outside scope", method: "GET", path: conflicts(fmt.Sprintf("area_id=%d", cB)), as: "coordA", want: 404},
		{name: "conflicts unknown status", method: "GET", path: conflicts("status=maybe"), as: "coordA", want: 422, invalid: true},

		{name: "receipts by area", method: "GET", path: areas(plain, ""), as: "coordA", want: 200},
		{name: "receipts of a village, leads only", method: "GET", path: areas(plain, fmt.Sprintf("area_id=%d&role=team_lead", a1)), as: "admin", want: 200},
		{name: "receipts by area malformed", method: "GET", path: areas(plain, "area_id=x"), as: "coordA", want: 400, invalid: true},
		{name: "receipts by area not visible", method: "GET", path: areas(plain, ""), as: "coordB", want: 404},
		{name: "receipts of an area outside scope", method: "GET", path: areas(plain, fmt.Sprintf("area_id=%d", cB)), as: "coordA", want: 404},
		{name: "receipts by area unknown role", method: "GET", path: areas(plain, "role=king"), as: "coordA", want: 422, invalid: true},

		{name: "unacknowledged", method: "GET", path: unacked(withAck, "limit=2"), as: "coordA", want: 200},
		{name: "unacknowledged malformed", method: "GET", path: unacked(withAck, "after=x"), as: "coordA", want: 400, invalid: true},
		{name: "unacknowledged not visible", method: "GET", path: unacked(withAck, ""), as: "coordB", want: 404},
		{name: "unacknowledged without ack", method: "GET", path: unacked(plain, ""), as: "coordA", want: 409},
		{name: "unacknowledged page too large", method: "GET", path: unacked(withAck, "limit=501"), as: "coordA", want: 422, invalid: true},

		{name: "allocate over a goal changed by hand", method: "POST", path: allocate, as: "coordA", want: 409, body: map[string]any{"method": "equal"}},
		{name: "allocate replacing it", method: "POST", path: allocate, as: "coordA", want: 201, body: map[string]any{"method": "equal", "replace": true}},
	}
}
