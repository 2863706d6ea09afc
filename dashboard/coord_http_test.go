package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"toso/store"
)

// The coordinator's tools (issue 14) over HTTP: sync health, the campaign
// leaderboard, conflicts, a team's records for review, announcements to
// teams with receipts per area, and allocation that asks before
// overwriting goals changed by hand.

var (
	staleTeamRE = regexp.MustCompile(`data-stale-team="(\d+)"`)
	deviceRE    = regexp.MustCompile(`data-device="([0-9a-f-]+)"`)
	rankRE      = regexp.MustCompile(`<tr data-team="(\d+)" data-rank="(\d+)"><td>\d+</td><td class="name"><a [^>]*>([^<]*)</a>(?: <small class="place">\(([^)]*)\)</small>)?</td><td>([\d.]+)</td><td>([\d.]+)</td>`)
)

// bigCommune is the demo commune with the most teams, and its
// coordinator's phone (commune A of the demo has a single village).
func (e *env) bigCommune() (int, string) {
	e.t.Helper()
	best := 0
	for i, c := range e.prov.Communes {
		if len(c.Villages) > len(e.prov.Communes[best].Villages) {
			best = i
		}
	}
	if len(e.prov.Communes[best].Villages) < 2 {
		e.t.Fatal("no demo commune has two teams")
	}
	u, err := e.store.User(context.Background(), store.System, e.prov.Communes[best].CoordinatorID)
	if err != nil {
		e.t.Fatal(err)
	}
	return best, u.Phone
}

// devicesOf are the phones of a user (the demo's members each pushed from one).
func (e *env) devicesOf(userID int64) []string {
	e.t.Helper()
	ds, err := e.store.Devices(context.Background(), store.Actor{UserID: userID})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func TestSyncHealthPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ci, coord := e.bigCommune()
	a := e.prov.Communes[ci]
	// Only the first village's lead has synced since the server recorded
	// activity, from an app that says 9.9.9.
	fresh := a.Villages[0]
	phones := e.devicesOf(fresh.LeadID)
	if len(phones) == 0 {
		t.Fatal("the demo lead has no phone")
	}
	e.store.RecordDeviceActivity(phones[0], store.ActivityPush, 2, "9.9.9")
	if _, err := e.store.FlushDeviceActivity(ctx); err != nil {
		t.Fatal(err)
	}
	c := e.login(coord)
	status, body := e.get(c, "/sync")
	if status != 200 {
		t.Fatalf("GET /sync: %d\n%s", status, body)
	}
	stale := map[string]bool{}
	for _, m := range staleTeamRE.FindAllStringSubmatch(body, -1) {
		stale[m[1]] = true
	}
	for _, v := range a.Villages {
		if got, want := stale[itoa(v.TeamID)], v.TeamID != fresh.TeamID; got != want {
			t.Errorf("team of %s listed as not synced for 3 days: %v, want %v", v.Name, got, want)
		}
	}
	if got := figures(body)["stale"]; got != itoa(int64(len(a.Villages)-1)) {
		t.Errorf("stale teams figure: %q, want %d", got, len(a.Villages)-1)
	}
	all := len(deviceRE.FindAllString(body, -1))
	if all == 0 {
		t.Fatal("the commune's sync health lists no phones")
	}
	_, filtered := e.get(c, "/sync?below=9.0.0")
	if got := deviceRE.FindAllStringSubmatch(filtered, -1); len(got) != all-1 || strings.Contains(filtered, `data-device="`+phones[0]+`"`) {
		t.Errorf("phones below 9.0.0: %d, want %d (all but the one on 9.9.9)", len(got), all-1)
	}
	if status, body := e.get(c, "/sync?below=abc"); status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="below-err"`) {
		t.Errorf("a version that is not one: %d, want 422 naming the field", status)
	}
	if status, _ := e.get(c, "/sync?area="+itoa(e.prov.Communes[(ci+1)%len(e.prov.Communes)].ID)); status != http.StatusNotFound {
		t.Errorf("a commune coordinator on another commune's sync health: %d, want 404", status)
	}
	// The province: one line per commune, every team stale but one.
	_, prov := e.get(e.login(e.coordP), "/sync?area="+itoa(e.prov.ID))
	for _, cm := range e.prov.Communes {
		if !strings.Contains(prov, `data-sync-area="`+itoa(cm.ID)+`"`) {
			t.Errorf("the province's sync health has no line for %s", cm.Name)
		}
	}
}

func TestLeaderboardPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ci, coord := e.bigCommune()
	a := e.prov.Communes[ci]
	today := store.Today(time.Now())
	start := time.Now().AddDate(0, -2, 0).Format(time.DateOnly)
	end := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	if _, err := e.store.CreateTarget(ctx, store.System, store.NewTarget{Indicator: "vneid_l2_activated", AreaID: a.ID, Period: "campaign",
		Name: "Chiến dịch thử", StartsOn: start, EndsOn: end, Goal: 300}); err != nil {
		t.Fatal(err)
	}
	c := e.login(coord)
	status, body := e.get(c, "/leaderboard")
	if status != 200 {
		t.Fatalf("GET /leaderboard: %d\n%s", status, body)
	}
	if !strings.Contains(body, `data-ranked-from="`+start+`" data-ranked-to="`+today+`"`) {
		t.Errorf("the running campaign is not chosen by default, or its period is not %s – %s", start, today)
	}
	// The API's summary over the same days gives each team's figures.
	var sum struct {
		Teams []struct {
			TeamID   int64   `json:"team_id"`
			Citizens float64 `json:"citizens"`
			Logs     float64 `json:"logs"`
		} `json:"teams"`
	}
	q := url.Values{"area_id": {itoa(a.ID)}, "from": {start}, "to": {today}}
	if st := e.api(coord, "GET", "/v1/reports/summary?"+q.Encode(), nil, &sum); st != 200 {
		t.Fatalf("summary: %d", st)
	}
	api := map[string][2]string{}
	for _, tm := range sum.Teams {
		api[itoa(tm.TeamID)] = [2]string{viNumber(tm.Citizens), viNumber(tm.Logs)}
	}
	rows := rankRE.FindAllStringSubmatch(body, -1)
	if len(rows) != len(a.Villages) {
		t.Fatalf("leaderboard rows: %d, want the commune's %d teams\n%s", len(rows), len(a.Villages), body)
	}
	num := func(s string) float64 { v, _ := strconv.ParseFloat(strings.ReplaceAll(s, ".", ""), 64); return v }
	for i, r := range rows {
		if got, want := [2]string{r[5], r[6]}, api[r[1]]; got != want {
			t.Errorf("team %s: citizens and logs %v on the page, %v in the API", r[1], got, want)
		}
		if r[4] == "" || !strings.Contains(r[4], a.Name) {
			t.Errorf("team %s: place %q beside its name, want its village and %s", r[3], r[4], a.Name)
		}
		if i == 0 {
			if r[2] != "1" {
				t.Errorf("the first row's rank is %s", r[2])
			}
			continue
		}
		p := rows[i-1]
		pc, pl, cc, cl := num(p[5]), num(p[6]), num(r[5]), num(r[6])
		switch {
		case pc < cc || (pc == cc && pl < cl):
			t.Errorf("row %d (%v citizens, %v logs) ranked below row %d (%v, %v)", i, cc, cl, i-1, pc, pl)
		case pc == cc && pl == cl && r[2] != p[2]:
			t.Errorf("rows %d and %d tie on both but are ranked %s and %s", i-1, i, p[2], r[2])
		case (pc != cc || pl != cl) && r[2] != itoa(int64(i+1)):
			t.Errorf("row %d ranked %s, want %d (competition ranking)", i, r[2], i+1)
		}
	}
	if status, _ := e.get(c, "/leaderboard?campaign=2020-01-01|2020-02-01|Không%20có"); status != http.StatusNotFound {
		t.Errorf("an unknown campaign: %d, want 404", status)
	}
	if _, body := e.get(c, "/leaderboard?campaign=-&from=2026-01-01&to=2026-01-31"); !strings.Contains(body, `data-ranked-from="2026-01-01" data-ranked-to="2026-01-31"`) {
		t.Errorf("the leaderboard of a chosen period does not rank that period")
	}
}

// makeConflict has the lead and a member of commune ci's first team edit a
// session's place from the same version; the member's push raises a
// conflict.
func (e *env) makeConflict(ci int) string {
	e.t.Helper()
	ctx := context.Background()
	vil := e.prov.Communes[ci].Villages[0]
	actor := func(id int64, dev string) store.Actor {
		a, err := e.store.Actor(ctx, id, dev)
		if err != nil {
			e.t.Fatal(err)
		}
		return a
	}
	lead, member := actor(vil.LeadID, fmt.Sprintf("0f000000-0000-4000-8000-%012d", vil.LeadID)), actor(vil.MemberIDs[0], fmt.Sprintf("0f000000-0000-4000-8000-%012d", vil.MemberIDs[0]))
	id := fmt.Sprintf("0f000000-0000-7000-8000-%012d", vil.TeamID)
	push := func(a store.Actor, m store.Mutation) store.Result {
		m.Mid = 1
		var last int64
		if dm, err := e.store.DeviceLastMid(ctx, a, a.DeviceID); err == nil {
			last = dm
		}
		m.Mid = last + 1
		res, err := e.store.Push(ctx, a, store.PushRequest{DeviceID: a.DeviceID, Mutations: []store.Mutation{m}})
		if err != nil {
			e.t.Fatal(err)
		}
		return res.Results[0]
	}
	place := func(p string) map[string]json.RawMessage {
		b, _ := json.Marshal(p)
		return map[string]json.RawMessage{"place": b}
	}
	r := push(lead, store.Mutation{Table: "training_sessions", Op: "create", ID: id, Fields: place("Nhà văn hóa")})
	push(lead, store.Mutation{Table: "training_sessions", Op: "patch", ID: id, BaseVersion: r.Version, Fields: place("Trường học")})
	m := push(member, store.Mutation{Table: "training_sessions", Op: "patch", ID: id, BaseVersion: r.Version, Fields: place("Sân đình")})
	if m.ConflictID == "" {
		e.t.Fatalf("no conflict: %+v", m)
	}
	return m.ConflictID
}

func TestConflictsPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.makeConflict(0)
	c := e.login(e.coordA)
	status, body := e.get(c, "/conflicts")
	if status != 200 || !strings.Contains(body, `data-conflict="`+id+`"`) || !strings.Contains(body, "Trường học") || !strings.Contains(body, "Sân đình") {
		t.Fatalf("GET /conflicts: %d, want the conflict with both values\n%s", status, body)
	}
	token := e.csrf(c, "/conflicts")
	// Coordinator B may not resolve it: nothing changes.
	cb := e.login(e.coordB)
	if st, _, _ := e.post(cb, "/conflicts/"+id+"/resolve", url.Values{"_csrf": {e.csrf(cb, "/conflicts")}, "resolution": {"x"}}); st != http.StatusNotFound {
		t.Errorf("coordinator B resolves commune A's conflict: %d, want 404", st)
	}
	open := func() int {
		cs, err := e.store.Conflicts(ctx, store.System, store.ConflictFilter{AreaID: e.prov.ID})
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}
	if n := open(); n != 1 {
		t.Fatalf("open conflicts after a refused resolution: %d, want 1", n)
	}
	if st, _, body := e.post(c, "/conflicts/"+id+"/resolve", url.Values{"_csrf": {token}, "resolution": {strings.Repeat("x", 1001)}}); st != http.StatusUnprocessableEntity ||
		!strings.Contains(body, `id="r`+id+`-err"`) {
		t.Errorf("a note too long: %d, want 422 naming the field", st)
	}
	if st, loc, _ := e.post(c, "/conflicts/"+id+"/resolve", url.Values{"_csrf": {token}, "resolution": {"giữ trường học"}}); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/conflicts") {
		t.Fatalf("resolve: %d %q, want 303 back to the list", st, loc)
	}
	if n := open(); n != 0 {
		t.Errorf("open conflicts after resolving: %d", n)
	}
	if _, body := e.get(c, "/conflicts?status=resolved"); !strings.Contains(body, "giữ trường học") {
		t.Errorf("the resolved list does not show the note")
	}
}

var logRowRE = regexp.MustCompile(`<tr data-log="([0-9a-f-]+)"( data-locked)?>`)

func TestTeamReviewPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vil := e.prov.Communes[0].Villages[0]
	c := e.login(e.coordA)
	today := store.Today(time.Now())
	q := url.Values{"from": {today[:4] + "-01-01"}, "to": {today}}.Encode()
	path := fmt.Sprintf("/teams/%d/logs?%s", vil.TeamID, q)
	status, body := e.get(c, path)
	if status != 200 {
		t.Fatalf("GET %s: %d", path, status)
	}
	logs, err := e.store.TeamLogs(ctx, store.System, vil.TeamID, today[:4]+"-01-01", today, 300)
	if err != nil {
		t.Fatal(err)
	}
	rows := logRowRE.FindAllStringSubmatch(body, -1)
	if len(rows) != len(logs) || len(rows) == 0 {
		t.Fatalf("log rows: %d, want %d (and some)", len(rows), len(logs))
	}
	var target string
	for _, r := range rows {
		if r[2] == "" {
			target = r[1]
			break
		}
	}
	token := e.csrf(c, path)
	lockPath := fmt.Sprintf("/teams/%d/logs/%s/lock?%s", vil.TeamID, target, q)
	locked := func() bool {
		ls, _ := e.store.TeamLogs(ctx, store.System, vil.TeamID, today[:4]+"-01-01", today, 300)
		for _, l := range ls {
			if l.ID == target {
				return l.Locked
			}
		}
		t.Fatalf("log %s gone", target)
		return false
	}
	cb := e.login(e.coordB)
	if st, _, _ := e.post(cb, lockPath, url.Values{"_csrf": {e.csrf(cb, "/")}, "locked": {"1"}}); st != http.StatusNotFound || locked() {
		t.Errorf("coordinator B locks commune A's log: %d (locked %v), want 404 and unlocked", st, locked())
	}
	if st, loc, _ := e.post(c, lockPath, url.Values{"_csrf": {token}, "locked": {"1"}}); st != http.StatusSeeOther || loc != fmt.Sprintf("/teams/%d/logs?%s", vil.TeamID, q) || !locked() {
		t.Errorf("lock: %d %q, locked %v; want 303 back to the review and the log locked", st, loc, locked())
	}
	if _, body := e.get(c, path); !strings.Contains(body, `<tr data-log="`+target+`" data-locked>`) {
		t.Errorf("the review page does not show the log locked")
	}
	if st, _, _ := e.post(c, lockPath, url.Values{"_csrf": {token}, "locked": {"0"}}); st != http.StatusSeeOther || locked() {
		t.Errorf("unlock: %d, locked %v", st, locked())
	}
	if status, _ := e.get(c, fmt.Sprintf("/teams/%d/logs", e.prov.Communes[1].Villages[0].TeamID)); status != http.StatusNotFound {
		t.Errorf("coordinator A reviews commune B's team: %d, want 404", status)
	}
}
