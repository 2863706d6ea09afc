package dashboard_test

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"toso/store"
)

var (
	shotsDir = flag.String("dashboard.shots", "", "keep the browser tests' screenshots in this folder (default: a temporary folder)")
	chromium = flag.String("dashboard.chromium", "/usr/bin/chromium", "the Chromium the browser tests drive")
)

// newBrowser starts one headless Chromium for a test's subtests. Without
// Chromium the test fails (CI installs it), unless -short.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(*chromium); err != nil {
		if testing.Short() {
			t.Skipf("no Chromium at %s (-short)", *chromium)
		}
		t.Fatalf("no Chromium at %s: apt-get install -y chromium (or -short to skip the browser tests)", *chromium)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(*chromium), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
	}
	profile, err := os.MkdirTemp("", "toso-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts = append(opts, chromedp.UserDataDir(profile), chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for Chromium to exit
		os.RemoveAll(profile)
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

func shots(t *testing.T) string {
	if *shotsDir != "" {
		if err := os.MkdirAll(*shotsDir, 0o755); err != nil {
			t.Fatal(err)
		}
		return *shotsDir
	}
	dir, err := os.MkdirTemp("", "toso-dashboard-shots-")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowser drives the dashboard in headless Chromium: sign in, open
// every page (checking the figures against the JSON API), submit forms,
// see a forged form refused, switch language, and a phone-sized screen.
// Screenshots go to a folder it prints.
func TestBrowser(t *testing.T) {
	bctx := newBrowser(t)
	e := newEnv(t)
	dir := shots(t)
	t.Logf("screenshots in %s", dir)
	run := func(t *testing.T, name string, actions ...chromedp.Action) {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
		defer cancel()
		var png []byte
		actions = append(actions, chromedp.FullScreenshot(&png, 100))
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	area := e.prov.Communes[0].ID
	today := store.Today(time.Now())
	from := today[:4] + "-01-01"
	want := e.summary(e.coordA, area, from, today)

	t.Run("login", func(t *testing.T) {
		var title string
		run(t, "01-login", chromedp.Navigate(e.base+"/login"), chromedp.WaitVisible(`#phone`),
			chromedp.SendKeys(`#phone`, e.coordA), chromedp.SendKeys(`#password`, "demo-password"),
			chromedp.Submit(`#password`), chromedp.WaitVisible(`dl.figures`), chromedp.Title(&title))
		if !strings.Contains(title, "Tổng quan") {
			t.Errorf("title after login: got %q, want the overview", title)
		}
	})
	t.Run("overview figures match the API", func(t *testing.T) {
		got := map[string]string{}
		var citizens, logs, sessions, members string
		run(t, "02-overview", chromedp.Navigate(e.base+"/"), chromedp.WaitVisible(`svg.chart`),
			chromedp.Text(`[data-figure="citizens"]`, &citizens), chromedp.Text(`[data-figure="logs"]`, &logs),
			chromedp.Text(`[data-figure="sessions"]`, &sessions), chromedp.Text(`[data-figure="members"]`, &members))
		got["citizens"], got["logs"], got["sessions"], got["members"] = citizens, logs, sessions, members
		for k, v := range map[string]float64{"citizens": want.Totals.Citizens, "logs": want.Totals.Logs,
			"sessions": want.Totals.Sessions, "members": float64(want.Members)} {
			if got[k] != viNumber(v) {
				t.Errorf("figure %s: got %q, want %q (API)", k, got[k], viNumber(v))
			}
		}
	})
	t.Run("daily summary: the API's text, copied by the button", func(t *testing.T) {
		var text, state string
		run(t, "02b-daily", chromedp.Navigate(e.base+"/"), chromedp.WaitVisible(`#daily-text`),
			chromedp.Value(`#daily-text`, &text), chromedp.Click(`button[data-copy="daily-text"]`),
			chromedp.WaitVisible(`button[data-state="copied"]`), chromedp.Text(`button[data-copy="daily-text"]`, &state))
		api := e.text(e.coordA, fmt.Sprintf("/v1/reports/daily-summary?area_id=%d&day=%s", area, today))
		if text != api || !strings.Contains(text, "Hỗ trợ người dân") {
			t.Errorf("daily summary on the overview:\n%s\nwant the API's:\n%s", text, api)
		}
		if state != "Đã sao chép" {
			t.Errorf("the copy button says %q after a click, want Đã sao chép (did copy.js run under the CSP?)", state)
		}
	})
	for i, p := range []struct{ name, path, wait string }{
		{"areas", "/areas", `table`},
		{"team", fmt.Sprintf("/teams/%d", e.prov.Communes[0].Villages[0].TeamID), `table`},
		{"barriers", "/barriers", `main`},
		{"trainings", "/trainings", `main`},
		{"targets", "/targets", `main`},
		{"downloads", "/downloads", `.downloads`},
		{"province", "/areas?area=" + itoa(e.prov.ID), `main`},
	} {
		t.Run(p.name, func(t *testing.T) {
			var h1 string
			run(t, fmt.Sprintf("%02d-%s", i+3, p.name), chromedp.Navigate(e.base+p.path), chromedp.WaitVisible(p.wait),
				chromedp.Text(`h1`, &h1))
			if p.name == "province" {
				if !strings.Contains(h1, "Không tìm thấy") && !strings.Contains(h1, "Không thể") {
					t.Errorf("commune coordinator on the province page: h1 %q, want a refusal", h1)
				}
				return
			}
			if strings.Contains(h1, "Không thể") {
				t.Errorf("%s: error page %q", p.path, h1)
			}
		})
	}
	t.Run("announcement: preview, save, publish", func(t *testing.T) {
		var users, status string
		run(t, "10-announcement-preview", chromedp.Navigate(e.base+"/announcements"), chromedp.WaitVisible(`#title`),
			chromedp.SendKeys(`#title`, "Họp tổ tháng 12"), chromedp.SendKeys(`#body`, "Mời các tổ trưởng họp lúc 8 giờ."),
			chromedp.Click(`input[name="role_team_lead"]`), chromedp.Click(`button[value="preview"]`),
			chromedp.WaitVisible(`[data-preview-users]`), chromedp.AttributeValue(`[data-preview-users]`, "data-preview-users", &users, nil))
		var api struct {
			Users int `json:"users"`
		}
		e.api(e.coordA, "POST", "/v1/announcements/preview", map[string]any{"audience": map[string]any{
			"area_ids": []int64{area}, "roles": []string{"team_lead"}}}, &api)
		if users != itoa(int64(api.Users)) || api.Users == 0 {
			t.Errorf("preview users: got %q, want %d (API)", users, api.Users)
		}
		run(t, "11-announcement-published", chromedp.Click(`button[value="save"]`), chromedp.WaitVisible(`form[action*="/publish"] button`),
			chromedp.Click(`form[action*="/publish"] button`), chromedp.WaitVisible(`[data-receipts-recipients]`),
			chromedp.AttributeValue(`[data-receipts-recipients]`, "data-receipts-recipients", &status, nil))
		if status != itoa(int64(api.Users)) {
			t.Errorf("recipients after publishing: got %q, want %d", status, api.Users)
		}
		var meta string
		run(t, "11b-announcement-retracted", chromedp.Click(`form[action*="/retract"] button`), chromedp.WaitNotPresent(`form[action*="/retract"]`),
			chromedp.Text(`.card .meta`, &meta))
		if !strings.HasPrefix(meta, "Đã thu hồi") {
			t.Errorf("announcement after retracting: status line %q, want it to start with Đã thu hồi", meta)
		}
	})
	t.Run("target form", func(t *testing.T) {
		before, _ := e.store.Targets(context.Background(), store.System, store.TargetFilter{AreaID: e.prov.Communes[0].Villages[0].ID})
		run(t, "12-target-created", chromedp.Navigate(e.base+"/targets"), chromedp.WaitVisible(`#goal`),
			chromedp.SetValue(`#tarea`, itoa(e.prov.Communes[0].Villages[0].ID)), chromedp.SendKeys(`#goal`, "1.500"),
			chromedp.Submit(`#goal`), chromedp.WaitVisible(`#below`))
		after, _ := e.store.Targets(context.Background(), store.System, store.TargetFilter{AreaID: e.prov.Communes[0].Villages[0].ID})
		if len(after) != len(before)+1 || after[len(after)-1].Goal != 1500 {
			t.Fatalf("targets of the village: got %d (last %+v), want %d with goal 1500", len(after), after[len(after)-1], len(before)+1)
		}
		// Open the village (the link in the table below), change the goal, then delete the target.
		id := after[len(after)-1].ID
		edit := fmt.Sprintf(`#g%d`, id)
		run(t, "12b-target-edited", chromedp.Click(fmt.Sprintf(`tr[data-target="%d"] a`, id)), chromedp.WaitVisible(edit),
			chromedp.SetValue(edit, "2.000"), chromedp.Submit(edit), chromedp.WaitVisible(fmt.Sprintf(`li[data-target="%d"]`, id)))
		if tg, err := e.store.Target(context.Background(), store.System, id); err != nil || tg.Goal != 2000 {
			t.Errorf("target after editing its goal: %+v %v, want goal 2000", tg, err)
		}
		run(t, "12c-target-deleted", chromedp.Click(fmt.Sprintf(`form[action^="/targets/%d/delete"] button`, id)),
			chromedp.WaitNotPresent(fmt.Sprintf(`li[data-target="%d"]`, id)))
		if _, err := e.store.Target(context.Background(), store.System, id); err == nil {
			t.Errorf("target %d still there after deleting it", id)
		}
	})
	t.Run("forged form refused", func(t *testing.T) {
		before, _ := e.store.Targets(context.Background(), store.System, store.TargetFilter{Limit: 500})
		var msg string
		run(t, "13-csrf-refused", chromedp.Navigate(e.base+"/targets"), chromedp.WaitVisible(`#goal`),
			chromedp.SetValue(`form[action^="/targets?"] input[name="_csrf"]`, "forged"), chromedp.SendKeys(`#goal`, "77"),
			chromedp.Submit(`#goal`), chromedp.WaitVisible(`.alert`), chromedp.Text(`.alert`, &msg))
		if !strings.Contains(msg, "Biểu mẫu") {
			t.Errorf("forged form: got %q, want the CSRF refusal", msg)
		}
		after, _ := e.store.Targets(context.Background(), store.System, store.TargetFilter{Limit: 500})
		if len(after) != len(before) {
			t.Errorf("targets after a forged form: got %d, want %d", len(after), len(before))
		}
	})
	t.Run("english and a phone screen", func(t *testing.T) {
		var h1 string
		run(t, "14-english", chromedp.Navigate(e.base+"/?lang=en"), chromedp.WaitVisible(`svg.chart`), chromedp.Text(`h1`, &h1))
		if !strings.HasPrefix(h1, "Overview") {
			t.Errorf("English overview h1: got %q", h1)
		}
		// A phone (375 CSS pixels, the narrowest common screen): no page may
		// scroll sideways.
		var wide string
		// (Wide tables scroll inside their .scroll box, which is fine.)
		const overflow = `(() => { const w = document.documentElement.clientWidth; return [...document.querySelectorAll('body *')]
			.filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > w + 1)
			.slice(0, 3).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + '>' + w).join(', ') })()`
		run(t, "15-phone", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulateTouch), chromedp.Navigate(e.base+"/?lang=vi"),
			chromedp.WaitVisible(`svg.chart`), chromedp.Evaluate(overflow, &wide))
		if wide != "" {
			t.Errorf("overview on a phone: wider than the screen: %s", wide)
		}
		run(t, "16-phone-targets", chromedp.Navigate(e.base+"/targets?"+url.Values{"lang": {"vi"}}.Encode()), chromedp.WaitVisible(`main`),
			chromedp.Evaluate(overflow, &wide))
		if wide != "" {
			t.Errorf("targets on a phone: wider than the screen: %s", wide)
		}
		run(t, "17-phone-announcements", chromedp.Navigate(e.base+"/announcements?lang=vi"), chromedp.WaitVisible(`main`),
			chromedp.Evaluate(overflow, &wide))
		if wide != "" {
			t.Errorf("announcements on a phone: wider than the screen: %s", wide)
		}
		if err := chromedp.Run(bctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatal(err)
		}
	})
}
