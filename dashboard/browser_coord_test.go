package dashboard_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"toso/store"
)

// overflowJS names the first elements wider than the screen (outside the
// .scroll boxes, which scroll on their own): "" when none.
const overflowJS = `(() => { const w = document.documentElement.clientWidth; return [...document.querySelectorAll('body *')]
	.filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > w + 1)
	.slice(0, 3).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + '>' + w).join(', ') })()`

// TestBrowserCoordinatorTools clicks through the coordinator's new pages in
// headless Chromium, at 1280 and at 375 CSS pixels, and fails when a page
// scrolls sideways: sync health (with its version filter), the campaign
// leaderboard, conflicts (resolving one), a team's review (locking a
// log), an announcement to one team (its receipts drilled into) and the
// allocation question.
func TestBrowserCoordinatorTools(t *testing.T) {
	bctx := newBrowser(t)
	e := newEnv(t)
	ctx := context.Background()
	dir := shots(t)
	t.Logf("screenshots in %s", dir)
	ci, coord := e.bigCommune()
	a := e.prov.Communes[ci]
	conflict := e.makeConflict(ci)
	start := time.Now().AddDate(0, -1, 0).Format(time.DateOnly)
	end := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	if _, err := e.store.CreateTarget(ctx, store.System, store.NewTarget{Indicator: "vneid_l2_activated", AreaID: a.ID, Period: "campaign",
		Name: "Chiến dịch tháng", StartsOn: start, EndsOn: end, Goal: 300}); err != nil {
		t.Fatal(err)
	}
	parent, err := e.store.CreateTarget(ctx, store.System, store.NewTarget{Indicator: "vneid_l2_activated", AreaID: a.ID, Period: "year", Year: 2026, Goal: 400})
	if err != nil {
		t.Fatal(err)
	}
	kids, err := e.store.AllocateTarget(ctx, store.System, parent.ID, store.AllocateEqual, false)
	if err != nil || len(kids) == 0 {
		t.Fatalf("allocate: %v", err)
	}
	hand := kids[0].Goal + 10
	if _, err := e.store.UpdateTarget(ctx, store.System, kids[0].ID, store.TargetPatch{Goal: &hand}); err != nil {
		t.Fatal(err)
	}
	shot := func(t *testing.T, name string, actions ...chromedp.Action) {
		t.Helper()
		cctx, cancel := context.WithTimeout(bctx, 60*time.Second)
		defer cancel()
		var png []byte
		var wide string
		actions = append(actions, chromedp.Evaluate(overflowJS, &wide), chromedp.FullScreenshot(&png, 100))
		if err := chromedp.Run(cctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		if wide != "" {
			t.Errorf("%s: wider than the screen: %s", name, wide)
		}
	}
	var h1 string
	shot(t, "c00-login", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(e.base+"/login"), chromedp.WaitVisible(`#phone`),
		chromedp.SendKeys(`#phone`, coord), chromedp.SendKeys(`#password`, "demo-password"), chromedp.Submit(`#password`),
		chromedp.WaitVisible(`dl.figures`))
	q := "?area=" + itoa(a.ID)
	for _, w := range []struct {
		name          string
		width, height int64
	}{{"wide", 1280, 900}, {"phone", 375, 812}} {
		t.Run(w.name, func(t *testing.T) {
			view := chromedp.EmulateViewport(w.width, w.height)
			if w.width < 600 {
				view = chromedp.EmulateViewport(w.width, w.height, chromedp.EmulateMobile, chromedp.EmulateTouch)
			}
			p := func(n string) string { return w.name + "-" + n }
			shot(t, p("01-sync"), view, chromedp.Navigate(e.base+"/sync"+q), chromedp.WaitVisible(`#below`),
				chromedp.SendKeys(`#below`, "9.0.0"), chromedp.Submit(`#below`), chromedp.WaitVisible(`#clear`), chromedp.Text(`h1`, &h1))
			if !strings.HasPrefix(h1, "Tình trạng đồng bộ") {
				t.Errorf("sync page h1: %q", h1)
			}
			var ranked string
			shot(t, p("02-leaderboard"), chromedp.Navigate(e.base+"/leaderboard"+q), chromedp.WaitVisible(`#campaign`),
				chromedp.Submit(`#campaign`), chromedp.WaitVisible(`table.ranking`),
				chromedp.AttributeValue(`[data-ranked-from]`, "data-ranked-from", &ranked, nil))
			if ranked != start {
				t.Errorf("the leaderboard ranks from %q, want the campaign's start %s", ranked, start)
			}
			shot(t, p("03-conflicts"), chromedp.Navigate(e.base+"/conflicts?status=all&area="+itoa(a.ID)),
				chromedp.WaitVisible(`[data-conflict]`))
			shot(t, p("04-review"), chromedp.Navigate(e.base+fmt.Sprintf("/teams/%d/logs", a.Villages[0].TeamID)), chromedp.WaitVisible(`main`))
			shot(t, p("05-announcements"), chromedp.Navigate(e.base+"/announcements"+q), chromedp.WaitVisible(`#title`))
			shot(t, p("06-targets-question"), chromedp.Navigate(e.base+"/targets"+q), chromedp.WaitVisible(`#m`+itoa(parent.ID)),
				chromedp.Submit(`#m`+itoa(parent.ID)), chromedp.WaitVisible(`.confirm`))
		})
	}
	// The actions, at 1280 px: resolve the conflict, lock a log, send to one team and drill into its receipts.
	if err := chromedp.Run(bctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	shot(t, "c10-resolved", chromedp.Navigate(e.base+"/conflicts?area="+itoa(a.ID)), chromedp.WaitVisible(`#r`+conflict),
		chromedp.SendKeys(`#r`+conflict, "Giữ trường học"), chromedp.Submit(`#r`+conflict), chromedp.WaitNotPresent(`[data-conflict="`+conflict+`"]`))
	if cs, _ := e.store.Conflicts(ctx, store.System, store.ConflictFilter{AreaID: e.prov.ID, Status: "resolved"}); len(cs) != 1 || cs[0].Resolution != "Giữ trường học" {
		t.Errorf("resolved conflicts after the click: %+v", cs)
	}
	// Waits for the clicked row itself to come back locked: the page held
	// locked rows before the click, and a wait for any of them could catch
	// one of the page the click leaves and wait on it forever (it timed out
	// now and then on PostgreSQL, where the lock's answer comes later).
	var clicked string
	shot(t, "c11-locked", chromedp.Navigate(e.base+fmt.Sprintf("/teams/%d/logs", a.Villages[0].TeamID)),
		chromedp.WaitVisible(`tr[data-log]:not([data-locked]) button.primary`),
		chromedp.AttributeValue(`tr[data-log]:not([data-locked])`, "data-log", &clicked, nil),
		chromedp.Click(`tr[data-log]:not([data-locked]) button.primary`),
		chromedp.ActionFunc(func(ctx context.Context) error {
			return chromedp.WaitVisible(`tr[data-log="` + clicked + `"][data-locked]`).Do(ctx)
		}))
	team := a.Villages[1]
	var recipients string
	shot(t, "c12-announcement-to-a-team", chromedp.Navigate(e.base+"/announcements"+q), chromedp.WaitVisible(`#title`),
		chromedp.SendKeys(`#title`, "Họp riêng một tổ"), chromedp.SendKeys(`#body`, "Mời tổ họp."), chromedp.Click(`input[name="ack"]`),
		chromedp.Click(`input[name="team_id"][value="`+itoa(team.TeamID)+`"]`), chromedp.Click(`button[value="save"]`),
		chromedp.WaitVisible(`form[action*="/publish"] button`), chromedp.Click(`form[action*="/publish"] button`),
		chromedp.WaitVisible(`[data-audience-teams]`), chromedp.Click(`tr[data-receipt-area="`+itoa(team.ID)+`"] a`),
		chromedp.WaitVisible(`[data-pending-user]`), chromedp.AttributeValue(`[data-receipts-recipients]`, "data-receipts-recipients", &recipients, nil))
	if recipients != itoa(int64(1+len(team.MemberIDs))) {
		t.Errorf("recipients in the team's village: %q, want %d", recipients, 1+len(team.MemberIDs))
	}
}
