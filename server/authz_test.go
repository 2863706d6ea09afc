package server

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"toso/store"
)

// The authorization matrix: every endpoint, called by every role, on objects
// inside and outside the caller's scope, with the exact status expected.
//
// The fixture tree (see harness_test.go):
//
//	province P ── commune A ── village A1 (team TA1: leadA1, memberA1)
//	           │            └─ village A2 (team TA2: memberA2)
//	           └─ commune B ── village B1 (team TB1: memberB1)
//
// coordP, coordA and coordB coordinate P, A and B. Objects outside the
// caller's reach answer 404 (their existence is not revealed), objects the
// caller may see but not change answer 403. A write that is refused must
// change nothing: each write row names what to re-read, and the test
// compares it before and after.

// roles are the matrix columns, in the order of want; "anon" sends no token.
// Rows run them from the right (see TestAuthorizationMatrix).
var roles = [...]string{"anon", "admin", "coordP", "coordA", "coordB", "leadA1", "memberA1", "memberA2", "memberB1"}

// want is the expected status for each role, in the order of roles.
type want [len(roles)]int

type authzRow struct {
	name   string
	method string
	// path and body may depend on the caller (their own id, a unique phone).
	path func(e *testEnv, as string) string
	body func(e *testEnv, as string) any
	want want
	// reread is what must not change when the request is refused (read
	// as admin before and after); "" for reads.
	reread func(e *testEnv) string
	// check, if set, looks at a successful answer (lists: exactly what
	// the caller may see).
	check func(t *testing.T, e *testEnv, as string, r response)
	// onlyIfMounted marks rows of routes built on other branches.
	onlyIfMounted bool
	// headers are extra request headers (name, value, ...), e.g. a file's
	// Content-Type.
	headers []string
}

func fixed(format string, ids ...func(e *testEnv) int64) func(e *testEnv, as string) string {
	return func(e *testEnv, _ string) string {
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id(e)
		}
		return fmt.Sprintf(format, args...)
	}
}

func static(path string) func(*testEnv, string) string {
	return func(*testEnv, string) string { return path }
}

func same(v any) func(*testEnv, string) any { return func(*testEnv, string) any { return v } }

func reread(format string, ids ...func(e *testEnv) int64) func(e *testEnv) string {
	p := fixed(format, ids...)
	return func(e *testEnv) string { return p(e, "admin") }
}

// Fixture ids.
func idP(e *testEnv) int64   { return e.province.ID }
func idA(e *testEnv) int64   { return e.communeA.ID }
func idB(e *testEnv) int64   { return e.communeB.ID }
func idA1(e *testEnv) int64  { return e.villageA1.ID }
func idB1(e *testEnv) int64  { return e.villageB1.ID }
func idTA1(e *testEnv) int64 { return e.teamA1.ID }
func idTB1(e *testEnv) int64 { return e.teamB1.ID }
func user(key string) func(e *testEnv) int64 {
	return func(e *testEnv) int64 { return e.users[key].ID }
}

// phoneFor gives each role its own phone number for create rows, so that a
// successful create by one role does not turn the next into a conflict.
func phoneFor(salt int, as string) string {
	return fmt.Sprintf("09%02d%06d", salt, slices.Index(roles[:], as))
}

func authzRows() []authzRow {
	const (
		ok = 200
		cr = 201
		no = 204
		un = 401
		fb = 403
		nf = 404
	)
	//                anon admin coordP coordA coordB leadA1 memberA1 memberA2 memberB1
	return []authzRow{
		{name: "healthz", method: "GET", path: static("/healthz"), want: want{ok, ok, ok, ok, ok, ok, ok, ok, ok}},
		{name: "readyz", method: "GET", path: static("/readyz"), want: want{ok, ok, ok, ok, ok, ok, ok, ok, ok}},
		// Not on the main listener without a metrics token (main serves it
		// on --metrics-addr): nobody's access token opens it.
		{name: "metrics", method: "GET", path: static("/metrics"), want: want{nf, nf, nf, nf, nf, nf, nf, nf, nf}},
		{name: "openapi", method: "GET", path: static("/openapi.json"), want: want{ok, ok, ok, ok, ok, ok, ok, ok, ok}},
		{name: "me", method: "GET", path: static("/v1/me"), want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}, check: checkMe},

		// Areas: reads.
		{name: "list areas", method: "GET", path: static("/v1/areas"), want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}, check: checkAreaList},
		{name: "list areas under commune B", method: "GET", path: fixed("/v1/areas?parent_id=%d", idB),
			want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}, check: checkAreaList},
		{name: "list areas by level", method: "GET", path: static("/v1/areas?level=village&limit=500"),
			want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}, check: checkAreaList},
		{name: "get village A1", method: "GET", path: fixed("/v1/areas/%d", idA1), want: want{un, ok, ok, ok, nf, ok, ok, nf, nf}},
		{name: "get village B1", method: "GET", path: fixed("/v1/areas/%d", idB1), want: want{un, ok, ok, nf, ok, nf, nf, nf, ok}},
		{name: "get province", method: "GET", path: fixed("/v1/areas/%d", idP), want: want{un, ok, ok, nf, nf, ok, ok, ok, ok}},
		{name: "lineage of village A1", method: "GET", path: fixed("/v1/areas/%d/lineage", idA1), want: want{un, ok, ok, ok, nf, ok, ok, nf, nf}},
		{name: "lineage of village B1", method: "GET", path: fixed("/v1/areas/%d/lineage", idB1), want: want{un, ok, ok, nf, ok, nf, nf, nf, ok}},

		// Teams: reads.
		{name: "list teams", method: "GET", path: static("/v1/teams"), want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}, check: checkTeamList},
		{name: "list teams in commune B", method: "GET", path: fixed("/v1/teams?area_id=%d", idB),
			want: want{un, ok, ok, nf, ok, nf, nf, nf, ok}, check: checkTeamList},
		{name: "list teams in province", method: "GET", path: fixed("/v1/teams?area_id=%d", idP),
			want: want{un, ok, ok, nf, nf, ok, ok, ok, ok}, check: checkTeamList},
		{name: "get team A1", method: "GET", path: fixed("/v1/teams/%d", idTA1), want: want{un, ok, ok, ok, nf, ok, ok, nf, nf}},
		{name: "get team B1", method: "GET", path: fixed("/v1/teams/%d", idTB1), want: want{un, ok, ok, nf, ok, nf, nf, nf, ok}},

		// Users: reads.
		{name: "list users", method: "GET", path: static("/v1/users"), want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}, check: checkUserList},
		{name: "list users of team B1", method: "GET", path: fixed("/v1/users?team_id=%d", idTB1),
			want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}, check: checkUserList},
		{name: "list users in commune B", method: "GET", path: fixed("/v1/users?area_id=%d", idB),
			want: want{un, ok, ok, nf, ok, nf, nf, nf, ok}, check: checkUserList},
		{name: "list coordinators", method: "GET", path: static("/v1/users?role=coordinator"),
			want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}, check: checkUserList},
		{name: "list admins", method: "GET", path: static("/v1/users?role=admin"),
			want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}, check: checkUserList},
		{name: "get memberA1", method: "GET", path: fixed("/v1/users/%d", user("memberA1")), want: want{un, ok, ok, ok, nf, ok, ok, nf, nf}},
		{name: "get memberB1", method: "GET", path: fixed("/v1/users/%d", user("memberB1")), want: want{un, ok, ok, nf, ok, nf, nf, nf, ok}},
		{name: "get coordA", method: "GET", path: fixed("/v1/users/%d", user("coordA")), want: want{un, ok, ok, ok, nf, nf, nf, nf, nf}},
		{name: "get admin", method: "GET", path: fixed("/v1/users/%d", user("admin")), want: want{un, ok, nf, nf, nf, nf, nf, nf, nf}},
		{name: "get yourself", method: "GET", path: func(e *testEnv, as string) string { return selfPath(e, as) },
			want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}},

		// Areas: writes.
		{name: "create village in commune A", method: "POST", path: static("/v1/areas"),
			body: func(e *testEnv, as string) any {
				return map[string]any{"parent_id": e.communeA.ID, "level": "village", "name": "Thôn mới " + as}
			},
			want:   want{un, cr, cr, cr, nf, fb, fb, fb, nf},
			reread: reread("/v1/areas?parent_id=%d", idA)},
		{name: "create province", method: "POST", path: static("/v1/areas"),
			body: func(e *testEnv, as string) any {
				return map[string]any{"level": "province", "name": "Tỉnh mới " + as}
			},
			want:   want{un, cr, fb, fb, fb, fb, fb, fb, fb},
			reread: reread("/v1/areas?level=province")},
		{name: "update village A1", method: "PATCH", path: fixed("/v1/areas/%d", idA1), body: same(map[string]any{"households": 321}),
			want: want{un, ok, ok, ok, nf, fb, fb, nf, nf}, reread: reread("/v1/areas/%d", idA1)},
		{name: "update village B1", method: "PATCH", path: fixed("/v1/areas/%d", idB1), body: same(map[string]any{"households": 123}),
			want: want{un, ok, ok, nf, ok, nf, nf, nf, fb}, reread: reread("/v1/areas/%d", idB1)},
		{name: "update commune A", method: "PATCH", path: fixed("/v1/areas/%d", idA), body: same(map[string]any{"population": 5000}),
			want: want{un, ok, ok, fb, nf, fb, fb, fb, nf}, reread: reread("/v1/areas/%d", idA)},
		{name: "update province", method: "PATCH", path: fixed("/v1/areas/%d", idP), body: same(map[string]any{"population": 90000}),
			want: want{un, ok, fb, nf, nf, fb, fb, fb, fb}, reread: reread("/v1/areas/%d", idP)},
		{name: "add lineage", method: "POST", path: static("/v1/areas/lineage"),
			body: func(e *testEnv, as string) any {
				return map[string]any{"old_area_id": e.villageA2.ID, "new_area_id": e.villageA1.ID, "share": 0.5, "effective_on": "2025-07-01"}
			},
			want: want{un, cr, fb, fb, fb, fb, fb, fb, fb}, reread: reread("/v1/areas/%d/lineage", idA1)},

		// Teams: writes.
		{name: "create team in village A1", method: "POST", path: static("/v1/teams"),
			body: func(e *testEnv, as string) any {
				return map[string]any{"area_id": e.villageA1.ID, "name": "Tổ mới " + as}
			},
			want:   want{un, cr, cr, cr, nf, fb, fb, nf, nf},
			reread: reread("/v1/teams?limit=500")},
		{name: "create team in commune B", method: "POST", path: static("/v1/teams"),
			body: func(e *testEnv, as string) any {
				return map[string]any{"area_id": e.communeB.ID, "name": "Tổ xã B " + as}
			},
			want:   want{un, cr, cr, nf, cr, nf, nf, nf, fb},
			reread: reread("/v1/teams?limit=500")},
		{name: "update team A1", method: "PATCH", path: fixed("/v1/teams/%d", idTA1), body: same(map[string]any{"founding_decision": "QĐ 1"}),
			want: want{un, ok, ok, ok, nf, fb, fb, nf, nf}, reread: reread("/v1/teams/%d", idTA1)},
		{name: "update team B1", method: "PATCH", path: fixed("/v1/teams/%d", idTB1), body: same(map[string]any{"founding_decision": "QĐ 2"}),
			want: want{un, ok, ok, nf, ok, nf, nf, nf, fb}, reread: reread("/v1/teams/%d", idTB1)},
		{name: "move team A1 to village B1", method: "PATCH", path: fixed("/v1/teams/%d", idTA1),
			body: func(e *testEnv, as string) any { return map[string]any{"area_id": e.villageB1.ID} },
			want: want{un, ok, ok, nf, nf, fb, fb, nf, nf}, reread: reread("/v1/teams/%d", idTA1)},
		{name: "move team A1 back to village A1", method: "PATCH", path: fixed("/v1/teams/%d", idTA1),
			body: func(e *testEnv, as string) any { return map[string]any{"area_id": e.villageA1.ID} },
			// Team A1 is in village B1 now: coordB sees it but not village A1.
			want: want{un, ok, ok, nf, nf, fb, fb, nf, nf}, reread: reread("/v1/teams/%d", idTA1)},

		// Users: writes.
		{name: "create member of team A1", method: "POST", path: static("/v1/users"),
			body: func(e *testEnv, as string) any {
				return map[string]any{"phone": phoneFor(11, as), "name": "Thành viên " + as, "role": "member", "team_id": e.teamA1.ID, "password": "password-new"}
			},
			want: want{un, cr, cr, cr, nf, fb, fb, nf, nf}, reread: reread("/v1/users?limit=500")},
		{name: "create member of team B1", method: "POST", path: static("/v1/users"),
			body: func(e *testEnv, as string) any {
				return map[string]any{"phone": phoneFor(12, as), "name": "Thành viên B " + as, "role": "member", "team_id": e.teamB1.ID, "password": "password-new"}
			},
			want: want{un, cr, cr, nf, cr, nf, nf, nf, fb}, reread: reread("/v1/users?limit=500")},
		{name: "create coordinator of commune A", method: "POST", path: static("/v1/users"),
			body: func(e *testEnv, as string) any {
				return map[string]any{"phone": phoneFor(13, as), "name": "Điều phối " + as, "role": "coordinator", "area_id": e.communeA.ID, "password": "password-new"}
			},
			// coordA may not create a coordinator at their own level.
			want: want{un, cr, cr, fb, nf, fb, fb, fb, nf}, reread: reread("/v1/users?limit=500")},
		{name: "create coordinator of village A1", method: "POST", path: static("/v1/users"),
			body: func(e *testEnv, as string) any {
				return map[string]any{"phone": phoneFor(14, as), "name": "Điều phối thôn " + as, "role": "coordinator", "area_id": e.villageA1.ID, "password": "password-new"}
			},
			want: want{un, cr, cr, cr, nf, fb, fb, nf, nf}, reread: reread("/v1/users?limit=500")},
		{name: "create coordinator of the province", method: "POST", path: static("/v1/users"),
			body: func(e *testEnv, as string) any {
				return map[string]any{"phone": phoneFor(15, as), "name": "Điều phối tỉnh " + as, "role": "coordinator", "area_id": e.province.ID, "password": "password-new"}
			},
			want: want{un, cr, fb, nf, nf, fb, fb, fb, fb}, reread: reread("/v1/users?limit=500")},
		{name: "create admin", method: "POST", path: static("/v1/users"),
			body: func(e *testEnv, as string) any {
				return map[string]any{"phone": phoneFor(16, as), "name": "Quản trị " + as, "role": "admin", "password": "password-new"}
			},
			want: want{un, cr, fb, fb, fb, fb, fb, fb, fb}, reread: reread("/v1/users?limit=500")},
		{name: "rename memberA1", method: "PATCH", path: fixed("/v1/users/%d", user("memberA1")), body: same(map[string]any{"name": "memberA1"}),
			want: want{un, ok, ok, ok, nf, fb, fb, nf, nf}, reread: reread("/v1/users/%d", user("memberA1"))},
		{name: "rename memberB1", method: "PATCH", path: fixed("/v1/users/%d", user("memberB1")), body: same(map[string]any{"name": "memberB1"}),
			want: want{un, ok, ok, nf, ok, nf, nf, nf, fb}, reread: reread("/v1/users/%d", user("memberB1"))},
		{name: "move memberA2 to team B1", method: "PATCH", path: fixed("/v1/users/%d", user("memberA2")),
			body: func(e *testEnv, as string) any { return map[string]any{"team_id": e.teamB1.ID} },
			want: want{un, ok, ok, nf, nf, nf, nf, fb, nf}, reread: reread("/v1/users/%d", user("memberA2"))},
		{name: "move memberA2 back to team A2", method: "PATCH", path: fixed("/v1/users/%d", user("memberA2")),
			body: func(e *testEnv, as string) any { return map[string]any{"team_id": e.teamA2.ID} },
			// memberA2 is in team B1 now: memberB1 sees them, coordB does not see team A2.
			want: want{un, ok, ok, nf, nf, nf, nf, fb, fb}, reread: reread("/v1/users/%d", user("memberA2"))},
		{name: "make memberA1 an admin", method: "PATCH", path: fixed("/v1/users/%d", user("memberA1")), body: same(map[string]any{"role": "admin"}),
			want: want{un, ok, fb, fb, nf, fb, fb, nf, nf}, reread: reread("/v1/users/%d", user("memberA1"))},
		{name: "make memberA1 a member again", method: "PATCH", path: fixed("/v1/users/%d", user("memberA1")),
			body: func(e *testEnv, as string) any { return map[string]any{"role": "member", "team_id": e.teamA1.ID} },
			// memberA1 is an admin now: only admins see them, and nobody changes their own role.
			want: want{un, ok, nf, nf, nf, nf, fb, nf, nf}, reread: reread("/v1/users/%d", user("memberA1"))},
		{name: "rename coordA", method: "PATCH", path: fixed("/v1/users/%d", user("coordA")), body: same(map[string]any{"name": "coordA"}),
			want: want{un, ok, ok, fb, nf, nf, nf, nf, nf}, reread: reread("/v1/users/%d", user("coordA"))},
		{name: "widen coordA to the province", method: "PATCH", path: fixed("/v1/users/%d", user("coordA")),
			body: func(e *testEnv, as string) any { return map[string]any{"area_id": e.province.ID} },
			want: want{un, ok, fb, fb, nf, nf, nf, nf, nf}, reread: reread("/v1/users/%d", user("coordA"))},
		{name: "narrow coordA back to commune A", method: "PATCH", path: fixed("/v1/users/%d", user("coordA")),
			body: func(e *testEnv, as string) any { return map[string]any{"area_id": e.communeA.ID} },
			want: want{un, ok, fb, fb, nf, nf, nf, nf, nf}, reread: reread("/v1/users/%d", user("coordA"))},
		{name: "reset spare's password", method: "PATCH", path: fixed("/v1/users/%d", user("spare")), body: same(map[string]any{"password": "password-spare"}),
			want: want{un, ok, ok, nf, ok, nf, nf, nf, fb}, reread: reread("/v1/users/%d", user("spare"))},
		{name: "deactivate spare", method: "PATCH", path: fixed("/v1/users/%d", user("spare")), body: same(map[string]any{"active": false}),
			want: want{un, ok, ok, nf, ok, nf, nf, nf, fb}, reread: reread("/v1/users/%d", user("spare"))},
		{name: "reset the admin's password", method: "PATCH", path: fixed("/v1/users/%d", user("admin")), body: same(map[string]any{"password": "password-admin"}),
			// The admin may; its row stops before the admin so that the
			// admin's session (which a reset ends) lives on for the rest.
			want: want{un, 0, nf, nf, nf, nf, nf, nf, nf}, reread: reread("/v1/users/%d", user("admin"))},
		{name: "promote yourself", method: "PATCH", path: func(e *testEnv, as string) string { return selfPath(e, as) },
			body: same(map[string]any{"role": "admin"}),
			want: want{un, fb, fb, fb, fb, fb, fb, fb, fb}, reread: func(e *testEnv) string { return "/v1/users?limit=500" }},
		{name: "deactivate yourself", method: "PATCH", path: func(e *testEnv, as string) string { return selfPath(e, as) },
			body: same(map[string]any{"active": false}),
			want: want{un, fb, fb, fb, fb, fb, fb, fb, fb}, reread: func(e *testEnv) string { return "/v1/users?limit=500" }},

		// Auth, devices and sync (written on other branches: these rows run
		// once the routes are mounted). Every token here is the fixture
		// user's on their fixture device (matrixDevice).
		{name: "login", method: "POST", path: static("/v1/auth/login"), onlyIfMounted: true,
			body: func(e *testEnv, as string) any {
				// anon tries the admin's phone with a wrong password.
				who, pw := as, "password-"+as
				if as == "anon" {
					who, pw = "admin", "wrong-password"
				}
				return map[string]any{"phone": e.users[who].Phone, "password": pw, "device_id": loginDevice(e, who),
					"platform": "android", "app_version": "1.0.0"}
			},
			want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}},
		{name: "login on another user's device", method: "POST", path: static("/v1/auth/login"), onlyIfMounted: true,
			body: func(e *testEnv, as string) any {
				if as == "anon" {
					as = "memberA1"
				}
				return map[string]any{"phone": e.users[as].Phone, "password": "password-" + as, "device_id": loginDevice(e, "memberB1"),
					"platform": "android", "app_version": "1.0.0"}
			},
			want: want{409, 409, 409, 409, 409, 409, 409, 409, ok}},
		{name: "refresh with a forged token", method: "POST", path: static("/v1/auth/refresh"), onlyIfMounted: true,
			body: func(e *testEnv, as string) any {
				return map[string]any{"refresh_token": "forged-refresh-token", "device_id": matrixDevice(e, "admin")}
			},
			want: want{un, un, un, un, un, un, un, un, un}},
		{name: "list own devices", method: "GET", path: static("/v1/devices"), onlyIfMounted: true,
			want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}, check: checkDevices},
		{name: "list memberA1's devices", method: "GET", onlyIfMounted: true,
			path: func(e *testEnv, as string) string {
				return fmt.Sprintf("/v1/devices?user_id=%d", e.users["memberA1"].ID)
			},
			want: want{un, ok, ok, ok, nf, fb, ok, nf, nf}},
		{name: "unbind a device of memberB1", method: "DELETE", onlyIfMounted: true,
			// Each caller gets a device of memberB1's of its own to unbind.
			path:   func(e *testEnv, as string) string { return "/v1/devices/" + spareDevice(e, "memberB1", as) },
			reread: func(e *testEnv) string { return fmt.Sprintf("/v1/devices?user_id=%d", e.users["memberB1"].ID) },
			want:   want{un, no, no, nf, no, nf, nf, nf, no}},
		{name: "set own push token", method: "PUT", onlyIfMounted: true,
			path: func(e *testEnv, as string) string {
				if as == "anon" {
					as = "admin"
				}
				return "/v1/devices/" + matrixDevice(e, as) + "/push-token"
			},
			body: same(map[string]any{"push_token": "fcm-token"}),
			want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}},
		{name: "set memberB1's push token", method: "PUT", onlyIfMounted: true,
			path: func(e *testEnv, as string) string {
				return "/v1/devices/" + matrixDevice(e, "memberB1") + "/push-token"
			},
			body: same(map[string]any{"push_token": "stolen"}),
			want: want{un, nf, nf, nf, nf, nf, nf, nf, ok}},
		{name: "push nothing", method: "POST", path: static("/v1/sync/push"), onlyIfMounted: true,
			body: func(e *testEnv, as string) any { return syncBody(as, e, as, "mutations", []any{}) },
			want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}},
		{name: "push as memberB1's device", method: "POST", path: static("/v1/sync/push"), onlyIfMounted: true,
			body: func(e *testEnv, as string) any { return syncBody(as, e, "memberB1", "mutations", []any{}) },
			want: want{un, fb, fb, fb, fb, fb, fb, fb, ok}},
		{name: "pull", method: "POST", path: static("/v1/sync/pull"), onlyIfMounted: true,
			body: func(e *testEnv, as string) any { return syncBody(as, e, as, "cursors", map[string]any{}) },
			want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}},
		{name: "pull as memberB1's device", method: "POST", path: static("/v1/sync/pull"), onlyIfMounted: true,
			body: func(e *testEnv, as string) any { return syncBody(as, e, "memberB1", "cursors", map[string]any{}) },
			want: want{un, fb, fb, fb, fb, fb, fb, fb, ok}},
		// Announcements (push branch): "Matrix A" is published by coordA to
		// commune A, reaching coordA, leadA1, memberA1 and memberA2.
		{name: "list announcements", method: "GET", path: static("/v1/announcements"), onlyIfMounted: true,
			want: want{un, ok, ok, ok, ok, fb, fb, fb, fb}},
		{name: "announce to commune A", method: "POST", path: static("/v1/announcements"), onlyIfMounted: true,
			body: func(e *testEnv, as string) any {
				return map[string]any{"title": "Tin " + as, "body": "Nội dung", "audience": map[string]any{"area_ids": []int64{e.communeA.ID}}}
			},
			want: want{un, cr, cr, cr, fb, fb, fb, fb, fb}, reread: func(*testEnv) string { return "/v1/announcements?limit=500" }},
		{name: "preview an audience in commune A", method: "POST", path: static("/v1/announcements/preview"), onlyIfMounted: true,
			body: func(e *testEnv, as string) any {
				return map[string]any{"audience": map[string]any{"area_ids": []int64{e.communeA.ID}}}
			},
			want: want{un, ok, ok, ok, fb, fb, fb, fb, fb}},
		{name: "get announcement A", method: "GET", path: announcementPath("Matrix A", ""), onlyIfMounted: true,
			want: want{un, ok, ok, ok, nf, nf, nf, nf, nf}},
		{name: "receipts of announcement A", method: "GET", path: announcementPath("Matrix A", "/receipts"), onlyIfMounted: true,
			want: want{un, ok, ok, ok, nf, nf, nf, nf, nf}},
		{name: "publish announcement A again", method: "POST", path: announcementPath("Matrix A", "/publish"), onlyIfMounted: true,
			want: want{un, 409, 409, 409, nf, nf, nf, nf, nf}, reread: announcementReread("Matrix A")},
		{name: "read announcement A", method: "POST", path: announcementPath("Matrix A", "/read"), onlyIfMounted: true,
			want: want{un, nf, nf, ok, nf, ok, ok, ok, nf}},
		{name: "acknowledge announcement A", method: "POST", path: announcementPath("Matrix A", "/ack"), onlyIfMounted: true,
			want: want{un, nf, nf, ok, nf, ok, ok, ok, nf}},
		{name: "inbox", method: "GET", path: static("/v1/inbox"), onlyIfMounted: true,
			want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}},
		{name: "retract an announcement to commune A", method: "POST", onlyIfMounted: true,
			// Each caller gets an announcement of their own to retract.
			path: func(e *testEnv, as string) string { return announcementPath("Retract "+as, "/retract")(e, as) },
			want: want{un, ok, ok, ok, nf, nf, nf, nf, nf}},
		// The province coordinator's draft to commune A: the commune
		// coordinator sees it (its audience is theirs) but may neither
		// publish nor retract it; only the author, someone above them, or an
		// admin may.
		{name: "publish coordP's draft to commune A", method: "POST", onlyIfMounted: true,
			path: func(e *testEnv, as string) string {
				return fmt.Sprintf("/v1/announcements/%d/publish", draftBy(e, "coordP", "Draft P for "+as, false))
			},
			want: want{un, ok, ok, fb, nf, nf, nf, nf, nf}},
		{name: "retract coordP's announcement to commune A", method: "POST", onlyIfMounted: true,
			path: func(e *testEnv, as string) string {
				return fmt.Sprintf("/v1/announcements/%d/retract", draftBy(e, "coordP", "Published P for "+as, true))
			},
			want: want{un, ok, ok, fb, nf, nf, nf, nf, nf}},

		// Imports: a file, all or nothing, each row through the policy.
		{name: "import a member into team B1", method: "POST", path: static("/v1/users/import"), headers: []string{"Content-Type", "text/csv"},
			body: func(e *testEnv, as string) any {
				return []byte("phone,name,role,team,area_code\n" + phoneFor(41, as) + ",Người Mới,member,Tổ B1,99002\n")
			},
			reread: reread("/v1/users?team_id=%d", idTB1),
			want:   want{un, ok, ok, 422, ok, fb, fb, fb, fb}},
		{name: "import a village into commune B", method: "POST", path: static("/v1/areas/import"), headers: []string{"Content-Type", "text/csv"},
			body: func(e *testEnv, as string) any {
				return []byte("province_code,province_name,commune_code,commune_name,village_name\n99,Tỉnh Thử,99002,Xã B,Thôn mới " + as + "\n")
			},
			reread: reread("/v1/areas?parent_id=%d", idB),
			want:   want{un, ok, ok, 422, ok, fb, fb, fb, fb}},

		// Ending sessions comes last: the fixture tokens die with them.
		{name: "change password with a wrong old one", method: "POST", path: static("/v1/auth/password"), onlyIfMounted: true,
			body: same(map[string]any{"old_password": "not-my-password", "new_password": "a-new-password"}),
			want: want{un, un, un, un, un, un, un, un, un}},
		{name: "logout", method: "POST", path: static("/v1/auth/logout"), onlyIfMounted: true,
			want: want{un, no, no, no, no, no, no, no, no}},
	}
}

// allRows is the matrix: authzRows with reportRows before the rows that
// end sessions (the last two).
func allRows() []authzRow {
	rows := authzRows()
	return slices.Concat(rows[:len(rows)-2], reportRows(), coordRows(), rows[len(rows)-2:])
}

// loginDevice is a second device of each fixture user, for logins (a login
// on the fixture device would end the session of the fixture tokens).
func loginDevice(e *testEnv, as string) string {
	return "00000000-0000-4000-9000-" + fmtID(e.users[as].ID)
}

// announcementPath is the path of the announcement titled title (plus
// suffix), published by coordA to commune A on first use.
func announcementPath(title, suffix string) func(e *testEnv, as string) string {
	return func(e *testEnv, _ string) string {
		return fmt.Sprintf("/v1/announcements/%d%s", announcementID(e, title), suffix)
	}
}

func announcementReread(title string) func(e *testEnv) string {
	return func(e *testEnv) string { return fmt.Sprintf("/v1/announcements/%d", announcementID(e, title)) }
}

// announcementID finds the announcement by title, or has coordA publish
// it to commune A. Where announcements are not mounted it is 1.
func announcementID(e *testEnv, title string) int64 {
	e.t.Helper()
	if !e.mounted("POST", "/v1/announcements") {
		return 1
	}
	for _, it := range e.do("GET", "/v1/announcements?limit=500", e.token("admin"), nil).JSON(e.t)["items"].([]any) {
		if m := it.(map[string]any); m["title"] == title {
			return num(m, "id")
		}
	}
	r := e.do("POST", "/v1/announcements", e.token("coordA"), map[string]any{"title": title, "body": "Nội dung",
		"audience": map[string]any{"area_ids": []int64{e.communeA.ID}}})
	if r.Status != 201 {
		e.t.Fatalf("create announcement %q: got %d: %s", title, r.Status, r.Body)
	}
	id := num(r.JSON(e.t), "id")
	if r := e.do("POST", fmt.Sprintf("/v1/announcements/%d/publish", id), e.token("coordA"), nil); r.Status != 200 {
		e.t.Fatalf("publish announcement %q: got %d: %s", title, r.Status, r.Body)
	}
	return id
}

// matrixDevice is the device id of the fixture user's tokens.
func matrixDevice(e *testEnv, as string) string {
	return "00000000-0000-4000-8000-" + fmtID(e.users[as].ID)
}

// syncBody is a push or pull envelope naming device's fixture device, with
// one more member (mutations or cursors). anon uses the admin's.
func syncBody(as string, e *testEnv, device, key string, v any) map[string]any {
	if as == "anon" && device == "anon" {
		device = "admin"
	}
	return map[string]any{"protocol": 1, "device_id": matrixDevice(e, device), "schema_version": 1, "app_version": "1.0.0", key: v}
}

// checkDevices: a user's device list holds none of the other fixture
// users' devices.
func checkDevices(t *testing.T, e *testEnv, as string, r response) {
	for _, it := range r.JSON(t)["items"].([]any) {
		id := it.(map[string]any)["id"]
		for _, other := range roles[1:] {
			if other != as && id == matrixDevice(e, other) {
				t.Errorf("%s's devices list %s's device %s", as, other, id)
			}
		}
	}
}

// selfPath is the caller's own user path (anon gets the admin's, which it
// must not reach either).
func selfPath(e *testEnv, as string) string {
	if as == "anon" {
		as = "admin"
	}
	return fmt.Sprintf("/v1/users/%d", e.users[as].ID)
}

// TestAuthorizationMatrix runs each row from the least to the most
// privileged caller (members first, admin last), so every refusal is
// checked against the fixture as it was, and a row whose successful writes
// move something is followed by one that moves it back.
func TestAuthorizationMatrix(t *testing.T) {
	e := newTestEnv(t)
	addSpare(e)
	addReviewFixtures(e)
	for _, row := range allRows() {
		t.Run(row.name, func(t *testing.T) {
			if u, _ := url.Parse(row.path(e, "admin")); row.onlyIfMounted && !e.mounted(row.method, pathTemplate(e, row.method, u.Path)) {
				t.Skipf("%s %s is not mounted yet", row.method, u.Path)
			}
			for i := len(roles) - 1; i >= 0; i-- {
				as := roles[i]
				if row.want[i] == 0 {
					continue // not run for this role; see the row
				}
				path := row.path(e, as)
				var body any
				if row.body != nil {
					body = row.body(e, as)
				}
				var before []byte
				if row.reread != nil {
					b := e.do("GET", row.reread(e), e.token("admin"), nil)
					if b.Status != 200 {
						t.Fatalf("re-read %s as admin: got %d: %s", row.reread(e), b.Status, b.Body)
					}
					before = b.Body
				}
				token := ""
				if as != "anon" {
					token = e.token(as)
				}
				r := e.do(row.method, path, token, body, row.headers...)
				if r.Status != row.want[i] {
					t.Errorf("%s %s as %s: got %d, want %d: %s", row.method, path, as, r.Status, row.want[i], truncate(r.Body, 200))
					continue
				}
				if r.Status >= 400 && row.reread != nil {
					after := e.do("GET", row.reread(e), e.token("admin"), nil).Body
					if !bytes.Equal(before, after) {
						t.Errorf("%s %s as %s was refused (%d) but changed %s:\nbefore %s\nafter  %s",
							row.method, path, as, r.Status, row.reread(e), before, after)
					}
				}
				if r.Status < 300 && row.check != nil {
					row.check(t, e, as, r)
				}
			}
		})
	}
}

// pathTemplate is the document's path template for a concrete path.
func pathTemplate(e *testEnv, method, path string) string {
	_, tmpl, _ := strings.Cut(e.api.operationOf(method, path), " ")
	return tmpl
}

// TestEveryRouteIsInTheMatrix fails when a route is added without a row in
// the authorization matrix.
func TestEveryRouteIsInTheMatrix(t *testing.T) {
	e := newTestEnv(t)
	addSpare(e)
	addReviewFixtures(e)
	inMatrix := map[string]bool{}
	for _, row := range allRows() {
		u, _ := url.Parse(row.path(e, "admin"))
		inMatrix[e.api.operationOf(row.method, u.Path)] = true
	}
	for _, op := range appOperations(e) {
		if !inMatrix[op.String()] {
			t.Errorf("%s has no row in the authorization matrix (server/authz_test.go)", op)
		}
	}
}

// addSpare adds "spare", a member of team B1 whom rows may deactivate or
// whose password they may reset without ending a fixture user's session.
func addSpare(e *testEnv) {
	e.t.Helper()
	u, err := e.store.CreateUser(context.Background(), store.System, store.NewUser{Phone: "0900000199", Name: "spare",
		Role: store.RoleMember, TeamID: e.teamB1.ID, Password: "password-spare"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.users["spare"] = u
}

// visibleAreas is what each role may see of the fixture tree, by name.
var visibleAreas = map[string][]string{
	"admin":    {"Tỉnh Thử", "Xã A", "Xã B", "Thôn A1", "Thôn A2", "Thôn B1"},
	"coordP":   {"Tỉnh Thử", "Xã A", "Xã B", "Thôn A1", "Thôn A2", "Thôn B1"},
	"coordA":   {"Xã A", "Thôn A1", "Thôn A2"},
	"coordB":   {"Xã B", "Thôn B1"},
	"leadA1":   {"Tỉnh Thử", "Xã A", "Thôn A1"},
	"memberA1": {"Tỉnh Thử", "Xã A", "Thôn A1"},
	"memberA2": {"Tỉnh Thử", "Xã A", "Thôn A2"},
	"memberB1": {"Tỉnh Thử", "Xã B", "Thôn B1"},
}

var visibleTeams = map[string][]string{
	"admin":    {"Tổ A1", "Tổ A2", "Tổ B1"},
	"coordP":   {"Tổ A1", "Tổ A2", "Tổ B1"},
	"coordA":   {"Tổ A1", "Tổ A2"},
	"coordB":   {"Tổ B1"},
	"leadA1":   {"Tổ A1"},
	"memberA1": {"Tổ A1"},
	"memberA2": {"Tổ A2"},
	"memberB1": {"Tổ B1"},
}

// visibleUsers: users are named after their fixture key.
var visibleUsers = map[string][]string{
	"admin":    {"admin", "coordP", "coordA", "coordB", "leadA1", "memberA1", "memberA2", "memberB1", "spare"},
	"coordP":   {"coordP", "coordA", "coordB", "leadA1", "memberA1", "memberA2", "memberB1", "spare"},
	"coordA":   {"coordA", "leadA1", "memberA1", "memberA2"},
	"coordB":   {"coordB", "memberB1", "spare"},
	"leadA1":   {"leadA1", "memberA1"},
	"memberA1": {"leadA1", "memberA1"},
	"memberA2": {"memberA2"},
	"memberB1": {"memberB1", "spare"},
}

// names returns the "name" of each item of a list answer.
func names(t *testing.T, r response) []string {
	t.Helper()
	var out []string
	for _, it := range r.JSON(t)["items"].([]any) {
		out = append(out, it.(map[string]any)["name"].(string))
	}
	return out
}

// checkList checks that every item of a list answer is visible to the
// caller, and that an unfiltered list shows all of them.
func checkList(t *testing.T, as, what string, got, visible []string, unfiltered bool) {
	t.Helper()
	for _, n := range got {
		if !slices.Contains(visible, n) {
			t.Errorf("%s's list of %s leaks %q (visible: %v)", as, what, n, visible)
		}
	}
	if unfiltered {
		g, w := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(visible))
		if !slices.Equal(g, w) {
			t.Errorf("%s's list of %s: got %v, want %v", as, what, g, w)
		}
	}
}

func checkAreaList(t *testing.T, e *testEnv, as string, r response) {
	checkList(t, as, "areas", names(t, r), visibleAreas[as], false)
}

func checkTeamList(t *testing.T, e *testEnv, as string, r response) {
	checkList(t, as, "teams", names(t, r), visibleTeams[as], false)
}

func checkUserList(t *testing.T, e *testEnv, as string, r response) {
	checkList(t, as, "users", names(t, r), visibleUsers[as], false)
}

func checkMe(t *testing.T, e *testEnv, as string, r response) {
	if got := r.JSON(t)["name"]; got != as {
		t.Errorf("GET /v1/me as %s: got %v", as, got)
	}
}

// TestListsShowExactlyTheScope: with no filter, each role's lists hold
// exactly what it may see; filters pointing outside the scope give 404 or
// an empty page, never the data.
func TestListsShowExactlyTheScope(t *testing.T) {
	e := newTestEnv(t)
	addSpare(e)
	for _, as := range roles[1:] {
		tok := e.token(as)
		get := func(path string) response {
			t.Helper()
			r := e.do("GET", path, tok, nil)
			if r.Status != 200 {
				t.Fatalf("GET %s as %s: got %d, want 200: %s", path, as, r.Status, r.Body)
			}
			return r
		}
		checkList(t, as, "areas", names(t, get("/v1/areas")), visibleAreas[as], true)
		checkList(t, as, "teams", names(t, get("/v1/teams")), visibleTeams[as], true)
		checkList(t, as, "users", names(t, get("/v1/users")), visibleUsers[as], true)
	}
	outside := []struct {
		as, path string
	}{
		{"coordA", fmt.Sprintf("/v1/areas?parent_id=%d", e.communeB.ID)},
		{"coordA", fmt.Sprintf("/v1/teams?area_id=%d", e.communeB.ID)},
		{"coordA", fmt.Sprintf("/v1/users?area_id=%d", e.communeB.ID)},
		{"coordA", fmt.Sprintf("/v1/users?team_id=%d", e.teamB1.ID)},
		{"coordA", "/v1/users?role=admin"},
		{"coordB", fmt.Sprintf("/v1/teams?area_id=%d", e.province.ID)},
		{"memberA1", fmt.Sprintf("/v1/users?team_id=%d", e.teamA2.ID)},
		{"memberA1", fmt.Sprintf("/v1/users?area_id=%d", e.communeB.ID)},
		{"memberA1", fmt.Sprintf("/v1/teams?area_id=%d", e.villageA2.ID)},
		{"memberA1", fmt.Sprintf("/v1/areas?parent_id=%d", e.communeB.ID)},
		{"memberA1", "/v1/users?role=coordinator"},
		{"leadA1", fmt.Sprintf("/v1/users?area_id=%d", e.villageA2.ID)},
	}
	for _, o := range outside {
		r := e.do("GET", o.path, e.token(o.as), nil)
		switch {
		case r.Status == 404:
		case r.Status == 200 && len(r.JSON(t)["items"].([]any)) == 0:
		default:
			t.Errorf("GET %s as %s: got %d %s, want 404 or an empty page", o.path, o.as, r.Status, truncate(r.Body, 300))
		}
	}
}
