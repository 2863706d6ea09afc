package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"toso/store"
)

// The forms the walk found wanting: an announcement to chosen teams (shown
// as such) with its receipts per area, allocation that asks before
// overwriting goals changed by hand, percent targets with "%", and age
// bands by label.

func TestAnnouncementToTeamsAndReceiptsPerArea(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ci, coord := e.bigCommune()
	a := e.prov.Communes[ci]
	team := a.Villages[1]
	c := e.login(coord)
	token := e.csrf(c, "/announcements")
	_, page := e.get(c, "/announcements")
	if !strings.Contains(page, `name="team_id" value="`+itoa(team.TeamID)+`"`) {
		t.Fatalf("the compose form offers no choice of team %d", team.TeamID)
	}
	form := url.Values{"_csrf": {token}, "title": {"Chỉ một tổ"}, "body": {"Nội dung"}, "priority": {"normal"}, "area_id": {itoa(a.ID)},
		"team_id": {itoa(team.TeamID)}, "ack": {"on"}, "action": {"save"}}
	st, loc, _ := e.post(c, "/announcements", form)
	if st != http.StatusSeeOther {
		t.Fatalf("save: %d", st)
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(strings.SplitN(loc, "?", 2)[0], "/announcements/"), 10, 64)
	an, err := e.store.Announcement(ctx, store.System, id)
	if err != nil || len(an.Audience.TeamIDs) != 1 || an.Audience.TeamIDs[0] != team.TeamID {
		t.Fatalf("the saved audience: %+v %v, want team %d only", an, err, team.TeamID)
	}
	if st, _, _ := e.post(c, fmt.Sprintf("/announcements/%d/publish", id), url.Values{"_csrf": {token}}); st != http.StatusSeeOther {
		t.Fatalf("publish: %d", st)
	}
	_, body := e.get(c, fmt.Sprintf("/announcements/%d", id))
	tm, err := e.store.Team(ctx, store.System, team.TeamID)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`<span data-audience-teams>[^<]*` + regexp.QuoteMeta(tm.Name) + ` \(` + regexp.QuoteMeta(team.Name)).MatchString(body) {
		t.Errorf("the audience line does not name the team and its village")
	}
	tree, err := e.store.ReceiptsByArea(ctx, store.System, id, a.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if tree.Total.Recipients != 1+len(team.MemberIDs) {
		t.Errorf("recipients: %d, want the team's %d", tree.Total.Recipients, 1+len(team.MemberIDs))
	}
	if !strings.Contains(body, fmt.Sprintf(`data-receipts-recipients="%d"`, tree.Total.Recipients)) ||
		!strings.Contains(body, `data-receipt-area="`+itoa(team.ID)+`"`) {
		t.Errorf("the receipts table does not show the total and the team's village")
	}
	if got := len(regexp.MustCompile(`data-pending-user="`).FindAllString(body, -1)); got != tree.Total.Recipients {
		t.Errorf("people who have not acknowledged: %d listed, want %d", got, tree.Total.Recipients)
	}
	// Drill into the village, then count team leads only.
	_, down := e.get(c, fmt.Sprintf("/announcements/%d?node=%d&role=team_lead", id, team.ID))
	if !strings.Contains(down, `data-receipts-recipients="1"`) {
		t.Errorf("team leads in the village: want 1 recipient")
	}
	if status, _ := e.get(c, fmt.Sprintf("/announcements/%d?node=%d", id, e.prov.Communes[(ci+1)%len(e.prov.Communes)].ID)); status != http.StatusNotFound {
		t.Errorf("drilling into another commune: %d, want 404", status)
	}
}

var changedRE = regexp.MustCompile(`data-changed="(\d+)"`)

func TestAllocationAsksBeforeReplacing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ci, coord := e.bigCommune()
	a := e.prov.Communes[ci]
	parent, err := e.store.CreateTarget(ctx, store.System, store.NewTarget{Indicator: "vneid_l2_activated", AreaID: a.ID, Period: "year", Year: 2026, Goal: 400})
	if err != nil {
		t.Fatal(err)
	}
	c := e.login(coord)
	q := "?area=" + itoa(a.ID)
	token := e.csrf(c, "/targets"+q)
	alloc := fmt.Sprintf("/targets/%d/allocate%s", parent.ID, q)
	if st, _, _ := e.post(c, alloc, url.Values{"_csrf": {token}, "method": {"proportional"}}); st != http.StatusSeeOther {
		t.Fatalf("allocate: %d", st)
	}
	kids := func() map[int64]float64 {
		ts, err := e.store.Targets(ctx, store.System, store.TargetFilter{AreaID: a.ID, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]float64{}
		for _, tg := range ts {
			if tg.ParentID == parent.ID {
				out[tg.ID] = tg.Goal
			}
		}
		return out
	}
	first := kids()
	sum := 0.0
	var edited int64
	for id, g := range first {
		sum += g
		edited = id
	}
	if sum != 400 {
		t.Errorf("allocated goals %v sum to %v, want 400", first, sum)
	}
	if st, _, _ := e.post(c, fmt.Sprintf("/targets/%d%s", edited, q), url.Values{"_csrf": {token}, "goal": {"999"}}); st != http.StatusSeeOther {
		t.Fatalf("edit a child goal: %d", st)
	}
	before := kids()
	st, _, body := e.post(c, alloc, url.Values{"_csrf": {token}, "method": {"equal"}})
	if st != http.StatusConflict {
		t.Fatalf("allocating over a goal changed by hand: %d, want 409 with the question", st)
	}
	if m := changedRE.FindAllStringSubmatch(body, -1); len(m) != 1 || m[0][1] != itoa(edited) {
		t.Errorf("the page lists %v as changed by hand, want only %d", m, edited)
	}
	if after := kids(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the question changed goals: %v → %v", before, after)
	}
	if st, _, _ := e.post(c, alloc, url.Values{"_csrf": {token}, "method": {"equal"}, "replace": {"1"}}); st != http.StatusSeeOther {
		t.Fatalf("replace: %d", st)
	}
	sum = 0
	for _, g := range kids() {
		sum += g
	}
	if sum != 400 || kids()[edited] == 999 {
		t.Errorf("after replacing: goals %v, want the equal split of 400", kids())
	}
	// A percent target below the commune shows its goal and value with "%".
	if _, err := e.store.CreateTarget(ctx, store.System, store.NewTarget{Indicator: "payment_accounts", AreaID: a.Villages[0].ID, Period: "year", Year: 2026, Goal: 70}); err != nil {
		t.Fatal(err)
	}
	_, body = e.get(c, "/targets"+q+"&from=2026-01-01&to=2026-12-31")
	if !regexp.MustCompile(`<td>70%</td><td>[\d,]+% \(`).MatchString(body) {
		t.Errorf("the percent target below the commune does not show 70%% and its value with %%")
	}
}

func TestTrainingShowsAgeLabels(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sessions, err := e.store.TrainingSessions(ctx, store.System, store.TrainingFilter{AreaID: e.prov.ID, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	c := e.login(e.coordP)
	seen := 0
	for _, s := range sessions {
		_, att, err := e.store.TrainingSessionAttendees(ctx, store.System, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		withAge := false
		for _, a := range att {
			withAge = withAge || a.AgeBand != ""
		}
		if !withAge {
			continue
		}
		seen++
		_, body := e.get(c, "/trainings/"+s.ID)
		if m := regexp.MustCompile(`<td>(under_15|\d\d_\d\d|60_plus)</td>`).FindString(body); m != "" {
			t.Errorf("session %s shows the age-band code %s", s.ID, m)
		}
		if !regexp.MustCompile(`tuổi</td>`).MatchString(body) {
			t.Errorf("session %s shows no age label", s.ID)
		}
		if seen == 3 {
			break
		}
	}
	if seen == 0 {
		t.Fatal("no demo session has attendees with an age band: the check would prove nothing")
	}
}
