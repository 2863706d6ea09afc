package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
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
	if status != 200 || !strings.Contains(body, "TỔNG (TOTAL)") {
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
