package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"toso/store"
)

// These tests drive the real server over HTTP without a browser: sessions,
// CSRF, the policy, and the figures against the JSON API.

func TestPagesShowTheAPIFigures(t *testing.T) {
	e := newEnv(t)
	c := e.login(e.coordA)
	area := e.prov.Communes[0].ID
	today := store.Today(timeNow())
	from := today[:4] + "-01-01"
	want := e.summary(e.coordA, area, from, today)
	if want.Totals.Logs == 0 {
		t.Fatal("the demo commune has no logs: the comparison would prove nothing")
	}
	for _, path := range []string{"/", "/areas"} {
		status, body := e.get(c, path)
		if status != 200 {
			t.Fatalf("GET %s: got %d, want 200", path, status)
		}
		got := figures(body)
		for k, v := range map[string]float64{"citizens": want.Totals.Citizens, "logs": want.Totals.Logs,
			"sessions": want.Totals.Sessions, "members": float64(want.Members)} {
			if got[k] != viNumber(v) {
				t.Errorf("GET %s figure %s: got %q, want %q (API)", path, k, got[k], viNumber(v))
			}
		}
	}
	for _, path := range []string{"/barriers", "/trainings", "/announcements", "/targets", "/downloads",
		fmt.Sprintf("/teams/%d", e.prov.Communes[0].Villages[0].TeamID), "/?lang=en"} {
		if status, body := e.get(c, path); status != 200 {
			t.Errorf("GET %s: got %d, want 200\n%s", path, status, body)
		}
	}
	status, body := e.get(c, "/downloads/report.csv?"+url.Values{"area": {itoa(area)}, "from": {from}, "to": {today}}.Encode())
	// The file follows the dashboard's language (English since "/?lang=en").
	if status != 200 || !strings.Contains(body, "\nTotal,") {
		t.Errorf("CSV download: got %d, %.200q", status, body)
	}
}

func TestSessionsAndRefusals(t *testing.T) {
	e := newEnv(t)
	anon := e.client()
	if status, _, _ := e.post(anon, "/targets", url.Values{"goal": {"5"}}); status != http.StatusForbidden {
		t.Errorf("POST without a session: got %d, want 403", status)
	}
	resp, err := anon.Get(e.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("GET / without a session: got %d %q, want 303 /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A login form without its token changes nothing.
	if status, _, _ := e.post(e.client(), "/login", url.Values{"phone": {e.coordA}, "password": {"demo-password"}}); status != http.StatusForbidden {
		t.Errorf("login without CSRF: got %d, want 403", status)
	}
	// Wrong password.
	c := e.client()
	if status, _, _ := e.post(c, "/login", url.Values{"_csrf": {e.csrf(c, "/login")}, "phone": {e.coordA}, "password": {"nope-nope"}}); status != http.StatusUnauthorized {
		t.Errorf("wrong password: got %d, want 401", status)
	}
	// A team lead is refused and gets no session.
	c = e.client()
	status, _, body := e.post(c, "/login", url.Values{"_csrf": {e.csrf(c, "/login")}, "phone": {e.lead}, "password": {"demo-password"}})
	if status != http.StatusForbidden || !strings.Contains(body, "ứng dụng Tổ Số") {
		t.Errorf("team lead login: got %d, want 403 with the explanation", status)
	}
	if status, _ := e.get(c, "/"); status != http.StatusSeeOther {
		t.Errorf("team lead after a refused login: GET / got %d, want 303", status)
	}
	// Logout ends the store session: the old cookie opens nothing.
	c = e.login(e.coordA)
	u, _ := url.Parse(e.base)
	old := c.Jar.Cookies(u)
	token := e.csrf(c, "/")
	if status, loc, _ := e.post(c, "/logout", url.Values{"_csrf": {token}}); status != http.StatusSeeOther || loc != "/login" {
		t.Errorf("logout: got %d %q, want 303 /login", status, loc)
	}
	replay := e.client()
	replay.Jar.SetCookies(u, old)
	if status, _ := e.get(replay, "/"); status != http.StatusSeeOther {
		t.Errorf("the cookie of a logged-out session: got %d, want 303 to the login page", status)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	c := e.login(e.coordA)
	ctx := context.Background()
	village := e.prov.Communes[0].Villages[0].ID
	form := url.Values{"indicator": {"vneid_l2_activated"}, "area_id": {itoa(village)}, "period": {"year"},
		"year": {"2026"}, "goal": {"120"}}
	count := func() int {
		ts, err := e.store.Targets(ctx, store.System, store.TargetFilter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		return len(ts)
	}
	anns := func() int {
		as, err := e.store.Announcements(ctx, store.System, store.AnnouncementFilter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		return len(as)
	}
	before, beforeAnn := count(), anns()
	good := e.csrf(c, "/targets")
	other := e.login(e.coordP)
	otherToken := e.csrf(other, "/targets")
	for name, token := range map[string]string{"no token": "", "wrong token": good[:len(good)-2] + "xx",
		"another session's token": otherToken} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		if token != "" {
			f.Set("_csrf", token)
		}
		if status, _, _ := e.post(c, "/targets", f); status != http.StatusForbidden {
			t.Errorf("%s: POST /targets got %d, want 403", name, status)
		}
		f.Set("title", "t")
		f.Set("body", "b")
		f.Set("action", "save")
		if status, _, _ := e.post(c, "/announcements", f); status != http.StatusForbidden {
			t.Errorf("%s: POST /announcements got %d, want 403", name, status)
		}
	}
	if got := count(); got != before {
		t.Errorf("targets after refused posts: got %d, want %d", got, before)
	}
	if got := anns(); got != beforeAnn {
		t.Errorf("announcements after refused posts: got %d, want %d", got, beforeAnn)
	}
	form.Set("_csrf", good)
	if status, loc, body := e.post(c, "/targets", form); status != http.StatusSeeOther {
		t.Fatalf("POST /targets with the token: got %d %q\n%s", status, loc, body)
	}
	if got := count(); got != before+1 {
		t.Errorf("targets after a good post: got %d, want %d", got, before+1)
	}
}

func TestCoordinatorStaysInTheirCommune(t *testing.T) {
	e := newEnv(t)
	c := e.login(e.coordA)
	b := e.prov.Communes[1]
	sessions, err := e.store.TrainingSessions(context.Background(), store.System, store.TrainingFilter{AreaID: b.ID, Limit: 1})
	if err != nil || len(sessions) == 0 {
		t.Fatalf("commune B sessions: %v, %d", err, len(sessions))
	}
	q := "?area=" + itoa(b.ID)
	for _, path := range []string{"/" + q, "/areas" + q, "/barriers" + q, "/trainings" + q, "/targets" + q, "/announcements" + q,
		"/downloads" + q, "/downloads/report.xlsx" + q, fmt.Sprintf("/teams/%d", b.Villages[0].TeamID),
		"/trainings/" + sessions[0].ID} {
		status, body := e.get(c, path)
		if status != http.StatusNotFound {
			t.Errorf("coordinator A GET %s: got %d, want 404", path, status)
		}
		if strings.Contains(body, b.Name) {
			t.Errorf("coordinator A GET %s shows commune B's name", path)
		}
	}
	// Writing into commune B with a valid token is refused and changes nothing.
	token := e.csrf(c, "/targets")
	status, _, _ := e.post(c, "/targets", url.Values{"_csrf": {token}, "indicator": {"vneid_l2_activated"},
		"area_id": {itoa(b.Villages[0].ID)}, "period": {"year"}, "year": {"2026"}, "goal": {"10"}})
	if status != http.StatusNotFound && status != http.StatusForbidden {
		t.Errorf("coordinator A creating a target in commune B: got %d, want 403 or 404", status)
	}
	ts, _ := e.store.Targets(context.Background(), store.System, store.TargetFilter{AreaID: b.Villages[0].ID})
	if len(ts) != 0 {
		t.Errorf("targets in commune B's village: got %d, want 0", len(ts))
	}
	// Commune B's own coordinator sees it.
	if status, _ := e.get(e.login(e.coordB), "/"+q); status != 200 {
		t.Errorf("coordinator B GET /%s: got %d, want 200", q, status)
	}
}

// A coordinator changes a target's goal, deletes a target and retracts an
// announcement of their commune from the pages; the same forms aimed at
// commune B's target and announcement are refused and change nothing.
func TestEditDeleteRetract(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.prov.Communes[0], e.prov.Communes[1]
	type target struct {
		ID   int64   `json:"id"`
		Goal float64 `json:"goal"`
	}
	newTarget := func(phone string, area int64) target {
		var tg target
		if st := e.api(phone, "POST", "/v1/targets", map[string]any{"indicator": "vneid_l2_activated", "area_id": area,
			"period": "year", "year": 2026, "goal": 100}, &tg); st != http.StatusCreated {
			t.Fatalf("create target in %d: %d", area, st)
		}
		return tg
	}
	type ann struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	newAnn := func(phone string, area int64) ann {
		var an ann
		if st := e.api(phone, "POST", "/v1/announcements", map[string]any{"title": "Họp tổ", "body": "Tối nay",
			"audience": map[string]any{"area_ids": []int64{area}}}, &an); st != http.StatusCreated {
			t.Fatalf("create announcement in %d: %d", area, st)
		}
		if st := e.api(phone, "POST", fmt.Sprintf("/v1/announcements/%d/publish", an.ID), map[string]any{}, &an); st != http.StatusOK {
			t.Fatalf("publish announcement %d: %d", an.ID, st)
		}
		return an
	}
	// A coordinator sets the targets of the areas below their own.
	mine, theirs := newTarget(e.coordA, a.Villages[0].ID), newTarget(e.coordB, b.Villages[0].ID)
	myAnn, theirAnn := newAnn(e.coordA, a.ID), newAnn(e.coordB, b.ID)
	goal := func(id int64) float64 {
		tg, err := e.store.Target(ctx, store.System, id)
		if err != nil {
			return -1
		}
		return tg.Goal
	}
	status := func(id int64) string {
		an, err := e.store.Announcement(ctx, store.System, id)
		if err != nil {
			t.Fatal(err)
		}
		return an.Status
	}

	c := e.login(e.coordA)
	token := e.csrf(c, "/targets")
	q := "?area=" + itoa(a.Villages[0].ID)
	// Refused: commune B's target and announcement, with a valid token.
	for _, p := range []struct{ path string }{{fmt.Sprintf("/targets/%d", theirs.ID)}, {fmt.Sprintf("/targets/%d/delete", theirs.ID)},
		{fmt.Sprintf("/announcements/%d/retract", theirAnn.ID)}} {
		st, _, _ := e.post(c, p.path+q, url.Values{"_csrf": {token}, "goal": {"5"}})
		if st != http.StatusNotFound && st != http.StatusForbidden {
			t.Errorf("coordinator A POST %s: got %d, want 403 or 404", p.path, st)
		}
	}
	if g := goal(theirs.ID); g != 100 {
		t.Errorf("commune B's target after refused posts: goal %v, want 100", g)
	}
	if s := status(theirAnn.ID); s != store.AnnouncementPublished {
		t.Errorf("commune B's announcement after a refused retraction: %s", s)
	}
	// A bad goal is answered on the page, naming the field, and changes nothing.
	st, _, body := e.post(c, fmt.Sprintf("/targets/%d", mine.ID)+q, url.Values{"_csrf": {token}, "goal": {"-3"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="g`+itoa(mine.ID)+`-err"`) {
		t.Errorf("a negative goal: got %d, want 422 with the field's error", st)
	}
	// Allowed: a goal typed the Vietnamese way, then a delete.
	// The page's forms keep the area and period in their action, so the
	// answer comes back to the same page.
	if _, body := e.get(c, "/targets"+q); !strings.Contains(body, fmt.Sprintf(`action="/targets/%d?area=%d&amp;from=`, mine.ID, a.Villages[0].ID)) {
		t.Errorf("the goal form's action does not carry the page's area and period")
	}
	if st, loc, _ := e.post(c, fmt.Sprintf("/targets/%d", mine.ID)+q, url.Values{"_csrf": {token}, "goal": {"1.250"}}); st != http.StatusSeeOther ||
		loc != "/targets"+q {
		t.Fatalf("change goal: got %d %s, want 303 to /targets%s", st, loc, q)
	}
	if g := goal(mine.ID); g != 1250 {
		t.Errorf("goal after the change: %v, want 1250", g)
	}
	if _, body := e.get(c, "/targets"+q); !strings.Contains(body, `value="1.250"`) {
		t.Errorf("the targets page does not show the new goal 1.250")
	}
	if st, _, _ := e.post(c, fmt.Sprintf("/targets/%d/delete", mine.ID)+q, url.Values{"_csrf": {token}}); st != http.StatusSeeOther {
		t.Fatalf("delete target: got %d", st)
	}
	if g := goal(mine.ID); g != -1 {
		t.Errorf("target %d still there after delete (goal %v)", mine.ID, g)
	}
	if st, _, _ := e.post(c, fmt.Sprintf("/announcements/%d/retract", myAnn.ID)+q, url.Values{"_csrf": {token}}); st != http.StatusSeeOther {
		t.Fatalf("retract: got %d", st)
	}
	if s := status(myAnn.ID); s != store.AnnouncementRetracted {
		t.Errorf("announcement after retraction: %s, want retracted", s)
	}
}

// The province's area page counts each commune's active teams (teams sit
// in villages, two levels down).
func TestProvinceCountsTeamsPerCommune(t *testing.T) {
	e := newEnv(t)
	_, body := e.get(e.login(e.coordP), "/areas?area="+itoa(e.prov.ID))
	row := regexp.MustCompile(`<tr data-area="(\d+)"><td>.*?</td><td>([\d.]+)</td>`)
	got := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(body, -1) {
		got[m[1]] = m[2]
	}
	for _, c := range e.prov.Communes {
		want := 0
		for _, v := range c.Villages {
			if v.TeamID != 0 {
				want++
			}
		}
		if want == 0 {
			t.Fatalf("commune %s has no teams: the check would prove nothing", c.Name)
		}
		if got[itoa(c.ID)] != itoa(int64(want)) {
			t.Errorf("commune %s: %q teams on the province page, want %d", c.Name, got[itoa(c.ID)], want)
		}
	}
}

// TestFavicon: /favicon.ico (where browsers look without being told) is an
// icon, and the pages name the SVG one.
func TestFavicon(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ path, typ, head string }{
		{"/favicon.ico", "image/x-icon", "\x00\x00\x01\x00"},
		{"/static/favicon.svg", "image/svg+xml", "<svg"},
	} {
		resp, err := e.client().Get(e.base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.typ || !strings.HasPrefix(string(b), tc.head) {
			t.Errorf("GET %s: %d %q %.8q, want 200 %s starting %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), b, tc.typ, tc.head)
		}
	}
	if _, body := e.get(e.login(e.coordA), "/"); !strings.Contains(body, `<link rel="icon" href="/static/favicon.svg"`) {
		t.Errorf("the overview does not name the favicon")
	}
}

// TestSearchBoxFoldsDiacritics: the area page's search box finds teams and
// people under the area typed without accents or case, and the team page's
// narrows its members the same way.
func TestSearchBoxFoldsDiacritics(t *testing.T) {
	e := newEnv(t)
	c := e.login(e.coordA)
	commune := e.prov.Communes[0]
	team, err := e.store.Team(context.Background(), store.System, commune.Villages[0].TeamID)
	if err != nil {
		t.Fatal(err)
	}
	lead, err := e.store.User(context.Background(), store.System, commune.Villages[0].LeadID)
	if err != nil {
		t.Fatal(err)
	}
	q := strings.ToUpper(store.Fold(lead.Name)) // "NGUYEN VAN HUNG" for "Nguyễn Văn Hùng"
	status, body := e.get(c, "/areas?"+url.Values{"area": {itoa(commune.ID)}, "q": {q}}.Encode())
	if status != 200 || !strings.Contains(body, fmt.Sprintf(`data-result-user="%d"`, lead.ID)) {
		t.Errorf("area search %q: %d, the lead %q (%d) not among the results", q, status, lead.Name, lead.ID)
	}
	teamQ := store.Fold(team.Name)
	if _, body := e.get(c, "/areas?"+url.Values{"area": {itoa(commune.ID)}, "q": {teamQ}}.Encode()); !strings.Contains(body, fmt.Sprintf(`data-result-team="%d"`, team.ID)) {
		t.Errorf("area search %q: team %q (%d) not among the results", teamQ, team.Name, team.ID)
	}
	if _, body := e.get(c, "/areas?"+url.Values{"area": {itoa(commune.ID)}, "q": {"zzzz no such name"}}.Encode()); !strings.Contains(body, "Không tìm thấy tên nào khớp.") {
		t.Errorf("a search that finds nothing does not say so")
	}
	// Another commune's people are outside the coordinator's search.
	other, err := e.store.User(context.Background(), store.System, e.prov.Communes[1].Villages[0].LeadID)
	if err != nil {
		t.Fatal(err)
	}
	if _, body := e.get(c, "/areas?"+url.Values{"area": {itoa(commune.ID)}, "q": {other.Name}}.Encode()); strings.Contains(body, fmt.Sprintf(`data-result-user="%d"`, other.ID)) {
		t.Errorf("the search of commune %d found %q of another commune", commune.ID, other.Name)
	}

	_, body = e.get(c, fmt.Sprintf("/teams/%d?", team.ID)+url.Values{"q": {store.Fold(lead.Name)}}.Encode())
	if rows := strings.Count(body, "data-user="); rows != 1 || !strings.Contains(body, fmt.Sprintf(`data-user="%d"`, lead.ID)) {
		t.Errorf("team page narrowed to %q: %d member rows, want the lead's only", store.Fold(lead.Name), rows)
	}
}
