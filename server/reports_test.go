package server

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// reportFixture pushes a little activity: one citizen helped by teams A1
// and B1 (counted once, where first helped), another by A1 only, a session
// held by A2, and a log of A1 that is later deleted.
func reportFixture(t *testing.T) *testEnv {
	e := newTestEnv(t)
	const citizen, other = "038090001234", "038090005678"
	r := e.push("memberA1",
		logCreate(1, uuidN(1), "occurred_at", "2026-03-02T02:00:00Z", "citizen_id_number", citizen),
		logCreate(2, uuidN(2), "occurred_at", "2026-03-05T02:00:00Z", "citizen_id_number", other,
			"outcomes", []map[string]any{{"service": "payment_account", "result": "not_done", "barrier": "no_smartphone"}}),
		logCreate(3, uuidN(3), "occurred_at", "2026-03-06T02:00:00Z"),
		mut{"mid": 4, "table": "assistance_logs", "op": "delete", "id": uuidN(3)})
	for _, res := range r.Results {
		if res.Status != "applied" {
			t.Fatalf("push A1: %+v", r.Results)
		}
	}
	e.push("memberB1", logCreate(1, uuidN(11), "occurred_at", "2026-04-01T02:00:00Z", "citizen_id_number", citizen))
	e.push("memberA2", mut{"mid": 1, "table": "training_sessions", "op": "create", "id": uuidN(21), "fields": map[string]any{
		"status": "held", "held_at": "2026-03-10T01:00:00Z", "topics": []string{"binh_dan_hoc_vu_so"},
		"attendees": 12, "women": 7, "minority": 2, "elderly": 3}})
	return e
}

func reportPath(kind string, area int64, from, to string) string {
	return fmt.Sprintf("/v1/reports/%s?area_id=%d&from=%s&to=%s", kind, area, url.QueryEscape(from), url.QueryEscape(to))
}

func TestReportSummaryHTTP(t *testing.T) {
	e := reportFixture(t)
	r := e.do("GET", reportPath("summary", e.province.ID, "2026-01-01", "2026-12-31"), e.token("coordP"), nil)
	if r.Status != 200 {
		t.Fatalf("summary: %d %s", r.Status, r.Body)
	}
	body := r.JSON(t)
	totals := body["totals"].(map[string]any)
	got := []any{totals["logs"], totals["citizens"], totals["sessions"], totals["attendees"], totals["women"],
		totals["reached"].(map[string]any)["vneid_l2"], totals["barriers"].(map[string]any)["no_smartphone"]}
	want := []any{3.0, 2.0, 1.0, 12.0, 7.0, 1.0, 1.0}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("province totals logs, citizens, sessions, attendees, women, reached vneid_l2, barrier = %v, want %v", got, want)
	}
	// Commune B: its team helped a citizen first helped in A, so no new citizen.
	r = e.do("GET", reportPath("summary", e.communeB.ID, "2026-01-01", "2026-12-31"), e.token("coordB"), nil)
	if tb := r.JSON(t)["totals"].(map[string]any); tb["logs"] != 1.0 || tb["citizens"] != 0.0 {
		t.Errorf("commune B logs, citizens = %v, %v, want 1, 0", tb["logs"], tb["citizens"])
	}
	// Team A2 held a session; team B1 has been inactive since April (14 days).
	r = e.do("GET", reportPath("summary", e.province.ID, "2026-01-01", "2026-12-31"), e.token("admin"), nil)
	var inactive []string
	for _, x := range r.JSON(t)["inactive_teams"].([]any) {
		inactive = append(inactive, x.(map[string]any)["name"].(string))
	}
	if len(inactive) != 3 {
		t.Errorf("inactive teams = %v, want all three (the fixture's activity is months old)", inactive)
	}
}

func TestReportAuthorizationHTTP(t *testing.T) {
	e := reportFixture(t)
	cases := []struct {
		user   string
		area   int64
		status int
	}{
		{"coordA", e.communeA.ID, 200}, {"coordA", e.villageA1.ID, 200}, {"coordA", e.communeB.ID, 404},
		{"coordA", e.province.ID, 404}, {"memberA1", e.villageA1.ID, 200}, {"memberA1", e.communeA.ID, 403},
		{"memberA1", e.villageB1.ID, 404}, {"coordB", e.villageA1.ID, 404},
	}
	for _, c := range cases {
		for _, kind := range []string{"summary", "export.csv", "export.xlsx"} {
			r := e.do("GET", reportPath(kind, c.area, "2026-01-01", "2026-12-31"), e.token(c.user), nil)
			if r.Status != c.status {
				t.Errorf("%s %s of area %d: status %d, want %d", c.user, kind, c.area, r.Status, c.status)
			}
		}
	}
	// A member gets their team's figures only.
	r := e.do("GET", reportPath("summary", e.villageA1.ID, "2026-01-01", "2026-12-31"), e.token("memberA1"), nil)
	teams := r.JSON(t)["teams"].([]any)
	if len(teams) != 1 || teams[0].(map[string]any)["team_id"] != float64(e.teamA1.ID) {
		t.Errorf("member sees teams %v, want only their own", teams)
	}
	// Bad input names the fields and changes nothing.
	for _, q := range []string{"/v1/reports/summary?area_id=1", "/v1/reports/summary?area_id=1&from=2026-02-30&to=2026-03-01",
		"/v1/reports/summary?area_id=x&from=2026-01-01&to=2026-03-01"} {
		r := e.do("GET", q, e.token("admin"), nil)
		if r.Status != 422 && r.Status != 400 {
			t.Errorf("%s: status %d, want 422 or 400: %s", q, r.Status, r.Body)
		}
	}
	r = e.do("GET", reportPath("summary", e.province.ID, "2026-03-01", "2026-01-01"), e.token("admin"), nil)
	if r.Status != 422 || r.ErrorCode() != "validation_failed" {
		t.Errorf("to before from: %d %s, want 422 validation_failed", r.Status, r.Body)
	}
}

func TestReportExports(t *testing.T) {
	e := reportFixture(t)
	r := e.do("GET", reportPath("export.csv", e.province.ID, "2026-01-01", "2026-12-31"), e.token("coordP"), nil)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Header, 2 communes, 3 villages, the total.
	if got, want := len(recs), 1+2+3+1; got != want {
		t.Fatalf("csv has %d records, want %d:\n%s", got, want, r.Body)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	byVillage := map[string][]string{}
	for _, rec := range recs[1:] {
		byVillage[rec[col["Thôn/tổ dân phố (village)"]]] = rec
	}
	a1 := byVillage["Thôn A1"]
	if a1 == nil || a1[col["Xã/phường (commune)"]] != "Xã A" || a1[col["Người dân được hỗ trợ (citizens reached)"]] != "2" ||
		a1[col["VNeID mức 2 (level 2)"]] != "1" || a1[col["Thành viên (members)"]] != "2" || a1[col["Thành viên/100 dân (members per 100)"]] != "0.2" {
		t.Errorf("village A1 row = %v (columns %v)", a1, recs[0])
	}
	if a2 := byVillage["Thôn A2"]; a2 == nil || a2[col["Người tham dự (attendees)"]] != "12" || a2[col["Nữ (women)"]] != "7" {
		t.Errorf("village A2 row = %v", a2)
	}

	r = e.do("GET", reportPath("export.xlsx", e.communeA.ID, "2026-01-01", "2026-12-31"), e.token("coordA"), nil)
	if r.Status != 200 {
		t.Fatalf("xlsx: %d %s", r.Status, r.Body)
	}
	f, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	// Title, header, commune A, villages A1 and A2, the total.
	if got, want := len(rows), 2+3+1; got != want {
		t.Fatalf("xlsx has %d rows, want %d: %v", got, want, rows)
	}
	if last := rows[len(rows)-1]; !strings.Contains(last[0], "Xã A") || last[9] != "2" {
		t.Errorf("xlsx total row = %v, want Xã A with 2 citizens", last)
	}
}

func TestTargetsHTTP(t *testing.T) {
	e := reportFixture(t)
	create := func(user string, body map[string]any) response {
		return e.do("POST", "/v1/targets", e.token(user), body)
	}
	r := create("admin", map[string]any{"indicator": "vneid_l2_activated", "area_id": e.communeA.ID, "period": "year", "year": 2026, "goal": 100})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	parent := r.JSON(t)
	if parent["numerator"] != 1.0 {
		t.Errorf("commune A numerator = %v, want 1 (one citizen with VNeID level 2 first helped in A)", parent["numerator"])
	}
	id := int64(parent["id"].(float64))
	r = e.do("POST", fmt.Sprintf("/v1/targets/%d/allocate", id), e.token("coordA"), map[string]any{"method": "proportional"})
	if r.Status != 201 {
		t.Fatalf("allocate: %d %s", r.Status, r.Body)
	}
	items := r.JSON(t)["items"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["goal"] != 50.0 || items[1].(map[string]any)["goal"] != 50.0 {
		t.Errorf("allocated %v, want two children with goal 50 (equal populations)", items)
	}
	for _, c := range []struct {
		user   string
		body   map[string]any
		status int
	}{
		{"coordA", map[string]any{"indicator": "vneid_l2_activated", "area_id": e.communeA.ID, "period": "year", "year": 2027, "goal": 10}, 403},
		{"coordA", map[string]any{"indicator": "vneid_l2_activated", "area_id": e.villageB1.ID, "period": "year", "year": 2027, "goal": 10}, 404},
		{"memberA1", map[string]any{"indicator": "vneid_l2_activated", "area_id": e.villageA1.ID, "period": "year", "year": 2027, "goal": 10}, 403},
		{"coordA", map[string]any{"indicator": "vneid_l2_activated", "area_id": e.villageA1.ID, "period": "campaign", "goal": 10}, 422},
		{"coordA", map[string]any{"indicator": "nope", "area_id": e.villageA1.ID, "period": "year", "year": 2027, "goal": 10}, 422},
		{"coordA", map[string]any{"indicator": "vneid_l2_activated", "area_id": e.villageA1.ID, "period": "quarter", "year": 2027, "quarter": 2, "goal": 10}, 201},
	} {
		if r := create(c.user, c.body); r.Status != c.status {
			t.Errorf("%s creates %v: %d %s, want %d", c.user, c.body, r.Status, r.Body, c.status)
		}
	}
	r = e.do("GET", "/v1/targets", e.token("memberA1"), nil)
	for _, it := range r.JSON(t)["items"].([]any) {
		if it.(map[string]any)["area_id"] != float64(e.villageA1.ID) {
			t.Errorf("member sees target %v", it)
		}
	}
	if r := e.do("GET", "/v1/targets", e.token("memberB1"), nil); len(r.JSON(t)["items"].([]any)) != 0 {
		t.Errorf("member of B1 sees targets %s", r.Body)
	}
}

func TestReviewActionsHTTP(t *testing.T) {
	e := reportFixture(t)
	cases := []struct {
		user, path string
		status     int
	}{
		{"memberA1", "/v1/review/logs/" + uuidN(1) + "/lock", 403},
		{"coordB", "/v1/review/logs/" + uuidN(1) + "/lock", 404},
		{"coordA", "/v1/review/logs/" + uuidN(1) + "/lock", 204},
		{"coordB", "/v1/review/sessions/" + uuidN(21) + "/lock", 404},
		{"coordA", "/v1/review/sessions/" + uuidN(21) + "/lock", 204},
		{"coordA", "/v1/review/sessions/" + uuidN(99) + "/lock", 404},
	}
	for _, c := range cases {
		if r := e.do("POST", c.path, e.token(c.user), nil); r.Status != c.status {
			t.Errorf("%s POST %s: %d %s, want %d", c.user, c.path, r.Status, r.Body, c.status)
		}
	}
	// The author's edit of the locked log is refused, visibly.
	p := e.push("memberA1", mut{"mid": 5, "table": "assistance_logs", "op": "patch", "id": uuidN(1), "base_version": 1,
		"fields": map[string]any{"notes": "late edit"}})
	if p.Results[0].Code != "locked" {
		t.Errorf("patch of a locked log: %+v, want locked", p.Results[0])
	}
	// The lock reaches the phone through sync.
	pr := e.pull("memberA2", map[string]string{}, 500)
	found := false
	for _, c := range pr.Scopes[fmt.Sprintf("team:%d", e.teamA2.ID)].Changes {
		found = found || (c.Table == "training_sessions" && strings.Contains(string(c.Row), `"status":"locked"`))
	}
	if !found {
		t.Errorf("the locked session does not reach team A2's phone")
	}
	// Progress reports: the lead appends, a coordinator voids.
	e.push("leadA1", mut{"mid": 1, "table": "progress_reports", "op": "create", "id": uuidN(31),
		"fields": map[string]any{"indicator": "households_fibre", "as_of": "2026-03-01", "value": 12}})
	if r := e.do("POST", "/v1/review/progress/"+uuidN(31)+"/void", e.token("leadA1"), nil); r.Status != 403 {
		t.Errorf("lead voids: %d, want 403", r.Status)
	}
	sum := func() any {
		r := e.do("GET", reportPath("summary", e.villageA1.ID, "2026-01-01", "2026-12-31"), e.token("coordA"), nil)
		return r.JSON(t)["totals"].(map[string]any)["manual"].(map[string]any)["households_fibre"]
	}
	if got := sum(); got != 12.0 {
		t.Errorf("manual before void = %v, want 12", got)
	}
	if r := e.do("POST", "/v1/review/progress/"+uuidN(31)+"/void", e.token("coordA"), nil); r.Status != 204 {
		t.Errorf("coordinator voids: %d %s", r.Status, r.Body)
	}
	if got := sum(); got != nil {
		t.Errorf("manual after void = %v, want none", got)
	}
	trail, err := e.store.AuditTrail(t.Context(), "progress_reports", uuidN(31))
	if err != nil || len(trail) != 2 || trail[1].Action != "void" {
		t.Errorf("audit trail %+v, %v: want create then void", trail, err)
	}
}

func TestResolveConflictHTTP(t *testing.T) {
	e := newTestEnv(t)
	e.push("memberA1", mut{"mid": 1, "table": "training_sessions", "op": "create", "id": uuidN(41),
		"fields": map[string]any{"place": "Nhà văn hóa"}})
	e.push("leadA1", mut{"mid": 1, "table": "training_sessions", "op": "patch", "id": uuidN(41), "base_version": 0,
		"fields": map[string]any{"place": "Trường học"}})
	var conflict string
	if err := rawDB(t, e).QueryRow(`SELECT id FROM sync_conflicts`).Scan(&conflict); err != nil {
		t.Fatalf("no conflict recorded: %v", err)
	}
	for _, c := range []struct {
		user   string
		status int
	}{{"coordB", 404}, {"memberA2", 404}, {"memberA1", 403}, {"coordA", 204}} {
		r := e.do("POST", "/v1/review/conflicts/"+conflict+"/resolve", e.token(c.user), map[string]any{"resolution": "kept the school"})
		if r.Status != c.status {
			t.Errorf("%s resolves: %d %s, want %d", c.user, r.Status, r.Body, c.status)
		}
	}
	var resolved bool
	var note string
	rawDB(t, e).QueryRow(`SELECT resolved, resolution FROM sync_conflicts WHERE id = ?`, conflict).Scan(&resolved, &note)
	if !resolved || note != "kept the school" {
		t.Errorf("conflict resolved = %v, %q", resolved, note)
	}
}
