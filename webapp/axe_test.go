package webapp_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeViolations runs axe-core (the copy the dashboard's tests vendor,
// dashboard/testdata/axe) on the page: WCAG 2.x A and AA and the best
// practices, each violation as "rule (impact): the first elements".
func axeViolations(ctx context.Context, axe string) ([]string, error) {
	var out []string
	err := chromedp.Run(ctx,
		chromedp.Evaluate(axe, nil),
		chromedp.Evaluate(`axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v =>
			v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')))`,
			&out, awaitPromise))
	return out, err
}

// TestAccessibility opens every screen of the web app on a 360 px phone,
// in Vietnamese and in English, with the forms' optional parts shown (a
// service's result and barrier, the consented name, an attendee), and
// runs axe-core on each: no violation. A second tab waits for the
// database and says so.
func TestAccessibility(t *testing.T) {
	b, err := os.ReadFile("../dashboard/testdata/axe/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	axe := string(b)
	e := newEnv(t)
	e.target("VNeID mức 2 năm nay", 120)
	e.announce("Họp tổ thứ Sáu", "Mang theo danh sách người dân cần hỗ trợ VNeID.", true)
	ctx := newBrowser(t)
	run(t, ctx, "open", chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(e.base+"/app/"), poll(`document.body.dataset.ready === 'true'`, 20*time.Second))
	check := func(name string) {
		t.Helper()
		vs, err := axeViolations(ctx, axe)
		if err != nil {
			t.Fatalf("%s: axe: %v", name, err)
		}
		if len(vs) > 0 {
			t.Errorf("%s: %d axe violations:\n  %s", name, len(vs), strings.Join(vs, "\n  "))
		}
	}
	check("login")
	signIn(t, ctx, e, e.lead)
	screens := []struct{ hash, ready, prepare string }{
		{"#/logs", "#new-log", ""},
		{"#/logs/new", "#log-form", `tick('#svc-0'); fill('#res-0', 'not_done'); tick('#consent');`},
		{"#/sessions", "#session-list", ""},
		{"#/sessions/new", "#session-form", `q('#add-attendee').click();`},
		{"#/targets", "#target-list", ""},
		{"#/inbox", "#inbox-list", ""},
		{"#/sync", "#sync-now", ""},
	}
	defer func() {
		if t.Failed() {
			return
		}
		// A second tab waits for the database and says so. (The hand-over
		// itself is TestSecondTab's. Axe on the waiting tab is not run: a
		// second tab attached through DevTools stops answering in headless
		// Chromium once its database worker starts, cause not found.)
		tab, cancel := chromedp.NewContext(ctx)
		defer cancel()
		run(t, tab, "second tab", chromedp.EmulateViewport(360, 740), chromedp.Navigate(e.base+"/app/"),
			poll(`!!document.querySelector('#waiting')`, 10*time.Second))
	}()
	for _, lang := range []string{"vi", "en"} {
		if lang == "en" {
			run(t, ctx, "English", script(`q('#lang').click(); await until('html[lang=en]');`, nil))
		}
		for _, s := range screens {
			run(t, ctx, s.hash, script(`await go('`+s.hash+`', '`+s.ready+`');`+s.prepare, nil))
			check(lang + " " + s.hash)
		}
	}
}
