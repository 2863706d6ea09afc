package server

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"toso/store"
)

// Fixtures of the reports, targets and review rows of the matrix: a log of
// team A1 (uuidN(901)), a session of team A2 (uuidN(902)), a progress
// report of team A1 (uuidN(903)) and a sync conflict on a session of team
// A1, all pushed through sync; targets are made through the store.

// addReviewFixtures pushes the records the review rows act on.
func addReviewFixtures(e *testEnv) {
	e.t.Helper()
	e.push("memberA1", logCreate(1, uuidN(901), "occurred_at", "2026-03-02T02:00:00Z"))
	e.push("memberA2", mut{"mid": 1, "table": "training_sessions", "op": "create", "id": uuidN(902), "fields": map[string]any{
		"status": "held", "held_at": "2026-03-10T01:00:00Z", "topics": []string{"binh_dan_hoc_vu_so"}, "attendees": 5}})
	e.push("leadA1", mut{"mid": 1, "table": "progress_reports", "op": "create", "id": uuidN(903),
		"fields": map[string]any{"indicator": "households_fibre", "as_of": "2026-03-01", "value": 12}})
	e.push("memberA1", mut{"mid": 2, "table": "training_sessions", "op": "create", "id": uuidN(904),
		"fields": map[string]any{"place": "Nhà văn hóa"}})
	e.push("leadA1", mut{"mid": 2, "table": "training_sessions", "op": "patch", "id": uuidN(904), "base_version": 0,
		"fields": map[string]any{"place": "Trường học"}})
}

// conflictPath is the review path of the fixture's sync conflict.
func conflictPath(e *testEnv, _ string) string {
	var id string
	if err := rawDB(e.t, e).QueryRow(`SELECT id FROM sync_conflicts ORDER BY id LIMIT 1`).Scan(&id); err != nil {
		e.t.Fatalf("no sync conflict in the fixture: %v", err)
	}
	return "/v1/review/conflicts/" + id + "/resolve"
}

// newTarget makes a yearly target of area (by the system) and returns its id;
// year keeps each caller's target apart.
func newTarget(e *testEnv, area int64, year int) int64 {
	e.t.Helper()
	t, err := e.store.CreateTarget(context.Background(), store.System, store.NewTarget{Indicator: "vneid_l2_activated",
		AreaID: area, Period: "year", Year: year, Goal: 100})
	if err != nil {
		e.t.Fatalf("create target of area %d, %d: %v", area, year, err)
	}
	return t.ID
}

// fixtureTarget finds the fixture's 2026 target of area, making it on first use.
func fixtureTarget(area func(*testEnv) int64) func(*testEnv) int64 {
	return func(e *testEnv) int64 {
		ts, err := e.store.Targets(context.Background(), store.System, store.TargetFilter{AreaID: area(e), Limit: 500})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, t := range ts {
			if t.AreaID == area(e) && t.StartsOn == "2026-01-01" {
				return t.ID
			}
		}
		return newTarget(e, area(e), 2026)
	}
}

// roleYear is a year of each caller's own, for rows that create targets.
func roleYear(base int, as string) int { return base + slices.Index(roles[:], as) }

// freshTarget gives each caller a target of their own to delete or allocate.
func freshTarget(area func(*testEnv) int64, base int, suffix string) func(*testEnv, string) string {
	return func(e *testEnv, as string) string {
		return fmt.Sprintf("/v1/targets/%d%s", newTarget(e, area(e), roleYear(base, as)), suffix)
	}
}

func reportRows() []authzRow {
	const (
		ok = 200
		cr = 201
		no = 204
		un = 401
		fb = 403
		nf = 404
	)
	period := "&from=2026-01-01&to=2026-12-31"
	tA1, tB1 := fixtureTarget(idA1), fixtureTarget(idB1)
	targets := func(*testEnv) string { return "/v1/targets?limit=500" }
	//                anon admin coordP coordA coordB leadA1 memberA1 memberA2 memberB1
	return []authzRow{
		{name: "summary of commune A", method: "GET", path: fixed("/v1/reports/summary?area_id=%d"+period, idA),
			want: want{un, ok, ok, ok, nf, fb, fb, fb, nf}},
		{name: "summary of commune B", method: "GET", path: fixed("/v1/reports/summary?area_id=%d"+period, idB),
			want: want{un, ok, ok, nf, ok, nf, nf, nf, fb}},
		{name: "summary of village A1", method: "GET", path: fixed("/v1/reports/summary?area_id=%d"+period, idA1),
			want: want{un, ok, ok, ok, nf, ok, ok, nf, nf}},
		{name: "CSV export of commune A", method: "GET", path: fixed("/v1/reports/export.csv?area_id=%d"+period, idA),
			want: want{un, ok, ok, ok, nf, fb, fb, fb, nf}},
		{name: "XLSX export of commune B", method: "GET", path: fixed("/v1/reports/export.xlsx?area_id=%d"+period, idB),
			want: want{un, ok, ok, nf, ok, nf, nf, nf, fb}},
		{name: "periodic form of commune A", method: "GET", path: fixed("/v1/reports/periodic.xlsx?area_id=%d&period=2026-Q1", idA),
			want: want{un, ok, ok, ok, nf, fb, fb, fb, nf}},
		{name: "periodic form of village A1", method: "GET", path: fixed("/v1/reports/periodic.xlsx?area_id=%d&period=2026", idA1),
			want: want{un, ok, ok, ok, nf, fb, fb, nf, nf}},
		{name: "daily summary of commune A", method: "GET", path: fixed("/v1/reports/daily-summary?area_id=%d&day=2026-03-02", idA),
			want: want{un, ok, ok, ok, nf, fb, fb, fb, nf}},
		{name: "daily summary of team A1", method: "GET", path: fixed("/v1/reports/daily-summary?team_id=%d&day=2026-03-02", idTA1),
			want: want{un, ok, ok, ok, nf, ok, ok, nf, nf}},
		{name: "import completions into commune B", method: "POST", path: static("/v1/completions/import"),
			headers: []string{"Content-Type", "text/csv"},
			body: func(e *testEnv, as string) any {
				return []byte(fmt.Sprintf("Khóa học,Ngày hoàn thành,Mã xã,Số CCCD\nLàm quen với công nghệ số,2026-03-01,99002,0380900%05d\n",
					slices.Index(roles[:], as)))
			},
			reread: reread("/v1/reports/summary?area_id=%d"+period, idB),
			want:   want{un, ok, ok, 422, ok, fb, fb, fb, fb}},
		{name: "list targets", method: "GET", path: static("/v1/targets"), want: want{un, ok, ok, ok, ok, ok, ok, ok, ok}},
		{name: "get target of village A1", method: "GET", path: fixed("/v1/targets/%d", tA1), want: want{un, ok, ok, ok, nf, ok, ok, nf, nf}},
		{name: "get target of village B1", method: "GET", path: fixed("/v1/targets/%d", tB1), want: want{un, ok, ok, nf, ok, nf, nf, nf, ok}},
		{name: "create target of village A1", method: "POST", path: static("/v1/targets"),
			body: func(e *testEnv, as string) any {
				return map[string]any{"indicator": "vneid_l2_activated", "area_id": e.villageA1.ID, "period": "year", "year": roleYear(2001, as), "goal": 10}
			},
			want: want{un, cr, cr, cr, nf, fb, fb, nf, nf}, reread: targets},
		{name: "update target of village A1", method: "PATCH", path: fixed("/v1/targets/%d", tA1), body: same(map[string]any{"goal": 50}),
			want: want{un, ok, ok, ok, nf, fb, fb, nf, nf}, reread: reread("/v1/targets/%d", tA1)},
		{name: "update target of village B1", method: "PATCH", path: fixed("/v1/targets/%d", tB1), body: same(map[string]any{"goal": 60}),
			want: want{un, ok, ok, nf, ok, nf, nf, nf, fb}, reread: reread("/v1/targets/%d", tB1)},
		{name: "delete a target of village A1", method: "DELETE", path: freshTarget(idA1, 2020, ""),
			want: want{un, no, no, no, nf, fb, fb, nf, nf}, reread: targets},
		{name: "allocate a target of commune A", method: "POST", path: freshTarget(idA, 2040, "/allocate"),
			body: same(map[string]any{"method": "equal"}),
			want: want{un, cr, cr, cr, nf, nf, nf, nf, nf}, reread: targets},
		{name: "lock a log of team A1", method: "POST", path: static("/v1/review/logs/" + uuidN(901) + "/lock"),
			want: want{un, no, no, no, nf, fb, fb, nf, nf}},
		{name: "lock a session of team A2", method: "POST", path: static("/v1/review/sessions/" + uuidN(902) + "/lock"),
			want: want{un, no, no, no, nf, nf, nf, fb, nf}},
		{name: "void a progress report of team A1", method: "POST", path: static("/v1/review/progress/" + uuidN(903) + "/void"),
			want: want{un, no, no, no, nf, fb, fb, nf, nf}},
		{name: "resolve a conflict of team A1", method: "POST", path: conflictPath, body: same(map[string]any{"resolution": "kept the school"}),
			want: want{un, no, no, no, nf, fb, fb, nf, nf}},
	}
}

// reportExchanges are the conformance walk's requests to the reports,
// targets and review routes, one per documented status (addReviewFixtures
// must have run).
func reportExchanges(e *testEnv) []exchange {
	cA, cB, a1, b1 := e.communeA.ID, e.communeB.ID, e.villageA1.ID, e.villageB1.ID
	tA1 := fixtureTarget(idA1)(e)
	target := fmt.Sprintf("/v1/targets/%d", tA1)
	create := func(area int64, year int, as string, want int) exchange {
		return exchange{name: fmt.Sprintf("create target %d as %s", year, as), method: "POST", path: "/v1/targets", as: as, want: want,
			body: map[string]any{"indicator": "vneid_l2_activated", "area_id": area, "period": "year", "year": year, "goal": 10}}
	}
	var xs []exchange
	for _, kind := range []string{"summary", "export.csv", "export.xlsx"} {
		p := func(area any, from, to string) string {
			return fmt.Sprintf("/v1/reports/%s?area_id=%v&from=%s&to=%s", kind, area, from, to)
		}
		xs = append(xs,
			exchange{name: kind, method: "GET", path: p(cA, "2026-01-01", "2026-12-31"), as: "coordA", want: 200},
			exchange{name: kind + " malformed area", method: "GET", path: p("x", "2026-01-01", "2026-12-31"), as: "coordA", want: 400, invalid: true},
			exchange{name: kind + " of a commune by a member", method: "GET", path: p(cA, "2026-01-01", "2026-12-31"), as: "memberA1", want: 403},
			exchange{name: kind + " outside scope", method: "GET", path: p(cB, "2026-01-01", "2026-12-31"), as: "coordA", want: 404},
			exchange{name: kind + " to before from", method: "GET", path: p(cA, "2026-03-01", "2026-01-01"), as: "coordA", want: 422})
	}
	periodic := func(area any, period string) string {
		return fmt.Sprintf("/v1/reports/periodic.xlsx?area_id=%v&period=%s", area, period)
	}
	xs = append(xs,
		exchange{name: "periodic form", method: "GET", path: periodic(cA, "2026-03"), as: "coordA", want: 200},
		exchange{name: "periodic form of a quarter", method: "GET", path: periodic(cA, "2026-q1"), as: "coordP", want: 200},
		exchange{name: "periodic form malformed area", method: "GET", path: periodic("x", "2026"), as: "coordA", want: 400, invalid: true},
		exchange{name: "periodic form by a member", method: "GET", path: periodic(a1, "2026"), as: "memberA1", want: 403},
		exchange{name: "periodic form outside scope", method: "GET", path: periodic(cB, "2026"), as: "coordA", want: 404},
		exchange{name: "periodic form of month 13", method: "GET", path: periodic(cA, "2026-13"), as: "coordA", want: 422, invalid: true},
		exchange{name: "periodic form without a period", method: "GET", path: fmt.Sprintf("/v1/reports/periodic.xlsx?area_id=%d", cA),
			as: "coordA", want: 422, invalid: true},
		exchange{name: "daily summary", method: "GET", path: fmt.Sprintf("/v1/reports/daily-summary?area_id=%d&day=2026-03-02", cA), as: "coordA", want: 200},
		exchange{name: "daily summary of a team today", method: "GET", path: fmt.Sprintf("/v1/reports/daily-summary?team_id=%d", e.teamA1.ID),
			as: "leadA1", want: 200},
		exchange{name: "daily summary malformed team", method: "GET", path: "/v1/reports/daily-summary?team_id=x", as: "coordA", want: 400, invalid: true},
		exchange{name: "daily summary of an area by a member", method: "GET", path: fmt.Sprintf("/v1/reports/daily-summary?area_id=%d", a1),
			as: "memberA1", want: 403},
		exchange{name: "daily summary outside scope", method: "GET", path: fmt.Sprintf("/v1/reports/daily-summary?team_id=%d", e.teamB1.ID),
			as: "coordA", want: 404},
		exchange{name: "daily summary of neither", method: "GET", path: "/v1/reports/daily-summary?day=2026-03-02", as: "coordA", want: 422},
		exchange{name: "daily summary of a bad day", method: "GET", path: fmt.Sprintf("/v1/reports/daily-summary?area_id=%d&day=2026-02-30", cA),
			as: "coordA", want: 422},
	)
	completions := func(lines ...string) []byte {
		return []byte("Khóa học,Ngày hoàn thành,Mã xã,Số CCCD\n" + strings.Join(lines, "\n") + "\n")
	}
	csvType := []string{"Content-Type", "text/csv"}
	xs = append(xs,
		exchange{name: "import completions", method: "POST", path: "/v1/completions/import", as: "coordA", want: 200, headers: csvType,
			body: completions("Làm quen với công nghệ số,2026-03-01,99001,038090001234")},
		exchange{name: "import completions as a member", method: "POST", path: "/v1/completions/import", as: "memberA1", want: 403,
			headers: csvType, body: completions("Làm quen với công nghệ số,2026-03-01,99001,038090001234")},
		exchange{name: "import completions with bad rows", method: "POST", path: "/v1/completions/import", as: "coordA", want: 422,
			headers: csvType, body: completions("Làm quen với công nghệ số,2026-03-01,99002,038090001234", ",x,99001,12")},
		exchange{name: "import completions as an image", method: "POST", path: "/v1/completions/import", as: "coordA", want: 415,
			headers: []string{"Content-Type", "image/png"}, body: []byte("\x89PNG")},
	)
	return append(xs,
		exchange{name: "list targets", method: "GET", path: "/v1/targets?indicator=vneid_l2_activated&from=2026-01-01&to=2026-12-31", as: "coordA", want: 200},
		exchange{name: "list targets malformed limit", method: "GET", path: "/v1/targets?limit=ten", as: "coordA", want: 400, invalid: true},
		exchange{name: "list targets page too large", method: "GET", path: "/v1/targets?limit=501", as: "coordA", want: 422, invalid: true},
		exchange{name: "list targets of an unknown area", method: "GET", path: "/v1/targets?area_id=999999", as: "coordA", want: 404},
		exchange{name: "list targets of an area above a member's team", method: "GET", path: fmt.Sprintf("/v1/targets?area_id=%d", e.province.ID), as: "memberA1", want: 403},
		create(a1, 2030, "coordA", 201),
		create(a1, 2031, "memberA1", 403),
		create(b1, 2032, "coordA", 404),
		exchange{name: "create campaign without dates", method: "POST", path: "/v1/targets", as: "coordA", want: 422,
			body: map[string]any{"indicator": "vneid_l2_activated", "area_id": a1, "period": "campaign", "goal": 10}},
		exchange{name: "create target malformed", method: "POST", path: "/v1/targets", as: "coordA", want: 400, invalid: true,
			body: []byte(`{"goal": "ten"}`)},
		exchange{name: "get target", method: "GET", path: target, as: "memberA1", want: 200},
		exchange{name: "get target outside scope", method: "GET", path: target, as: "coordB", want: 404},
		exchange{name: "update target", method: "PATCH", path: target, as: "coordA", want: 200, body: map[string]any{"goal": 40, "name": "Năm 2026"}},
		exchange{name: "update target as member", method: "PATCH", path: target, as: "memberA1", want: 403, body: map[string]any{"goal": 41}},
		exchange{name: "update target outside scope", method: "PATCH", path: target, as: "coordB", want: 404, body: map[string]any{"goal": 42}},
		exchange{name: "update target negative goal", method: "PATCH", path: target, as: "coordA", want: 422, invalid: true, body: map[string]any{"goal": -1}},
		exchange{name: "update target malformed", method: "PATCH", path: target, as: "coordA", want: 400, invalid: true, body: []byte(`{"goal": "x"}`)},
		exchange{name: "delete target", method: "DELETE", path: fmt.Sprintf("/v1/targets/%d", newTarget(e, a1, 2033)), as: "coordA", want: 204},
		exchange{name: "delete target as member", method: "DELETE", path: target, as: "memberA1", want: 403},
		exchange{name: "delete target outside scope", method: "DELETE", path: target, as: "coordB", want: 404},
		exchange{name: "allocate target", method: "POST", path: fmt.Sprintf("/v1/targets/%d/allocate", newTarget(e, cA, 2034)), as: "coordA", want: 201,
			body: map[string]any{"method": "proportional"}},
		exchange{name: "allocate a village's target", method: "POST", path: target + "/allocate", as: "coordA", want: 422, body: map[string]any{"method": "equal"}},
		exchange{name: "allocate outside scope", method: "POST", path: target + "/allocate", as: "coordB", want: 404, body: map[string]any{"method": "equal"}},
		exchange{name: "allocate malformed", method: "POST", path: target + "/allocate", as: "coordA", want: 400, invalid: true, body: []byte(`{"method": 1}`)},
		exchange{name: "lock log", method: "POST", path: "/v1/review/logs/" + uuidN(901) + "/lock", as: "coordA", want: 204},
		exchange{name: "lock log as member", method: "POST", path: "/v1/review/logs/" + uuidN(901) + "/lock", as: "memberA1", want: 403},
		exchange{name: "lock log outside scope", method: "POST", path: "/v1/review/logs/" + uuidN(901) + "/lock", as: "coordB", want: 404},
		exchange{name: "lock log malformed", method: "POST", path: "/v1/review/logs/" + uuidN(901) + "/lock", as: "coordA", want: 400, invalid: true,
			body: []byte(`{"locked": "yes"}`)},
		exchange{name: "lock session", method: "POST", path: "/v1/review/sessions/" + uuidN(902) + "/lock", as: "coordA", want: 204},
		exchange{name: "lock session as member", method: "POST", path: "/v1/review/sessions/" + uuidN(902) + "/lock", as: "memberA2", want: 403},
		exchange{name: "lock session outside scope", method: "POST", path: "/v1/review/sessions/" + uuidN(902) + "/lock", as: "coordB", want: 404},
		exchange{name: "lock a planned session", method: "POST", path: "/v1/review/sessions/" + uuidN(904) + "/lock", as: "coordA", want: 409},
		exchange{name: "void progress", method: "POST", path: "/v1/review/progress/" + uuidN(903) + "/void", as: "coordA", want: 204},
		exchange{name: "void progress as lead", method: "POST", path: "/v1/review/progress/" + uuidN(903) + "/void", as: "leadA1", want: 403},
		exchange{name: "void progress outside scope", method: "POST", path: "/v1/review/progress/" + uuidN(903) + "/void", as: "coordB", want: 404},
		exchange{name: "void progress malformed", method: "POST", path: "/v1/review/progress/" + uuidN(903) + "/void", as: "coordA", want: 400, invalid: true,
			body: []byte(`{"void": "x"}`)},
		exchange{name: "resolve conflict", method: "POST", path: conflictPath(e, ""), as: "coordA", want: 204, body: map[string]any{"resolution": "kept"}},
		exchange{name: "resolve conflict as member", method: "POST", path: conflictPath(e, ""), as: "memberA1", want: 403},
		exchange{name: "resolve conflict outside scope", method: "POST", path: conflictPath(e, ""), as: "coordB", want: 404},
		exchange{name: "resolve conflict malformed", method: "POST", path: conflictPath(e, ""), as: "coordA", want: 400, invalid: true,
			body: []byte(`{"resolution": 5}`)},
		exchange{name: "resolve conflict note too long", method: "POST", path: conflictPath(e, ""), as: "coordA", want: 422, invalid: true,
			body: map[string]any{"resolution": strings.Repeat("x", 1001)}},
	)
}
