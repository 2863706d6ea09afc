package dashboard_test

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// axe-core 4.14.1 from the npm package, vendored with its licence
// (testdata/axe/README.md): CI runs it without npm.
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// axeViolations runs axe-core's default rules (WCAG 2.x A and AA and the
// best practices) on the page the browser shows and lists each violation
// as "rule (impact): the first elements".
func axeViolations(ctx context.Context) ([]string, error) {
	var out []string
	err := chromedp.Run(ctx,
		chromedp.Evaluate(axeSource, nil),
		chromedp.Evaluate(`axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v =>
			v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')))`,
			&out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	return out, err
}

// TestBrowserAccessibility opens every page of the dashboard in Chromium,
// on a desktop screen and on a 375 px phone, and runs axe-core on each: no
// violation. On the phone it also checks what axe cannot see: the charts'
// legends stay readable (HTML text, not SVG text scaled down to ~4 px) and
// a target's status pill stays one line.
func TestBrowserAccessibility(t *testing.T) {
	bctx := newBrowser(t)
	e := newEnv(t)
	login, cancel := context.WithTimeout(bctx, time.Minute)
	err := chromedp.Run(login, chromedp.Navigate(e.base+"/login"), chromedp.WaitVisible(`#phone`),
		chromedp.SendKeys(`#phone`, e.coordA), chromedp.SendKeys(`#password`, "demo-password"),
		chromedp.Submit(`#password`), chromedp.WaitVisible(`dl.figures`))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	commune := e.prov.Communes[0]
	pages := []string{"/", "/areas", fmt.Sprintf("/teams/%d", commune.Villages[0].TeamID), "/barriers", "/trainings",
		"/targets", "/announcements", "/downloads", "/?lang=en", fmt.Sprintf("/areas?area=%d&q=nguyen", commune.ID)}
	for _, screen := range []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 900}, {"phone", 375, 812}} {
		for _, path := range pages {
			t.Run(screen.name+path, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(bctx, time.Minute)
				defer cancel()
				opts := []chromedp.EmulateViewportOption{}
				if screen.name == "phone" {
					opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
				}
				if err := chromedp.Run(ctx, chromedp.EmulateViewport(screen.w, screen.h, opts...),
					chromedp.Navigate(e.base+path), chromedp.WaitVisible(`main`)); err != nil {
					t.Fatal(err)
				}
				vs, err := axeViolations(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range vs {
					t.Errorf("axe: %s", v)
				}
				if screen.name != "phone" {
					return
				}
				var small, tall string
				err = chromedp.Run(ctx,
					chromedp.Evaluate(`[...document.querySelectorAll('ul.legend li, svg.chart text')]
						.filter(e => e.getBoundingClientRect().height > 0 && parseFloat(getComputedStyle(e).fontSize) * (e.closest('svg') ? e.closest('svg').getBoundingClientRect().width / e.closest('svg').viewBox.baseVal.width : 1) < 10)
						.slice(0, 3).map(e => e.textContent.trim().slice(0, 30)).join(', ')`, &small),
					chromedp.Evaluate(`[...document.querySelectorAll('.status')]
						.filter(e => e.getClientRects().length > 1 || e.getBoundingClientRect().height > 2 * parseFloat(getComputedStyle(e).fontSize) * 1.6)
						.slice(0, 3).map(e => e.textContent + ' ' + Math.round(e.getBoundingClientRect().height) + 'px').join(', ')`, &tall))
				if err != nil {
					t.Fatal(err)
				}
				if small != "" {
					t.Errorf("text rendered under 10 px on a phone: %s", small)
				}
				if tall != "" {
					t.Errorf("status pills wrapped on a phone: %s", strings.TrimSpace(tall))
				}
			})
		}
	}
	if err := chromedp.Run(bctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
}
