package webapp_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// js is prepended to the test's scripts: fill sets a field as a person
// would (the value, then input and change events); tick checks a box.
const js = `
const q = (s) => { const el = document.querySelector(s); if (!el) throw new Error('no ' + s); return el; };
const fill = (s, v) => { const el = q(s); el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); };
const tick = (s) => { const el = q(s); if (!el.checked) el.click(); };
`

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(c, actions...); err != nil {
		var page string
		_ = chromedp.Run(ctx, chromedp.Evaluate(`document.body ? document.body.innerText : ''`, &page))
		t.Fatalf("%s: %v\npage:\n%s", what, err, page)
	}
}

// script runs JavaScript with the helpers and returns its value in out (nil: ignored).
func script(src string, out any) chromedp.Action {
	return chromedp.Evaluate("(async () => {"+js+src+"})()", out, awaitPromise)
}

func offline(on bool) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		if on {
			return network.EmulateNetworkConditions(true, 0, -1, -1).Do(ctx)
		}
		return network.EmulateNetworkConditions(false, 0, -1, -1).Do(ctx)
	})
}

// TestOfflineFirst is the member web app's promise, in a real browser: a
// member signs in, loses the network, logs three citizens and a training
// session, reloads the page offline (the service worker starts the app,
// the OPFS database still holds the work), comes back online and syncs;
// the server then holds every record exactly once, the citizen's ID
// number became a citizen ref, and the phone keeps no copy of it.
func TestOfflineFirst(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	dir := shots(t)
	start := time.Now()

	run(t, ctx, "open and sign in", network.Enable(),
		chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(e.base+"/app/"),
		poll(`document.body.dataset.ready === 'true'`, 20*time.Second),
		chromedp.SendKeys("#phone", e.mem, chromedp.ByQuery),
		chromedp.SendKeys("#password", "demo-password", chromedp.ByQuery),
		chromedp.Click("#signin", chromedp.ByQuery),
		poll(`document.body.dataset.lastSync === 'ok' && !!document.querySelector('#new-log')`, 20*time.Second),
		// The service worker has cached the app and controls the page.
		poll(`navigator.serviceWorker.controller !== null`, 20*time.Second),
	)
	var storage, device string
	run(t, ctx, "storage", script(`location.hash = '#/sync'; await new Promise(r => setTimeout(r, 300));
		return q('#storage').textContent + '|' + q('#device-id').textContent;`, &storage))
	storage, device, _ = strings.Cut(storage, "|")
	if !strings.Contains(storage, "OPFS") {
		t.Fatalf("storage = %q, want the OPFS database", storage)
	}
	t.Logf("signed in and synced in %s, device %s", time.Since(start).Round(time.Millisecond), device)
	var nServices int
	run(t, ctx, "catalog", script(`return (await tosoDB.rows('services')).length`, &nServices))
	if nServices < 3 {
		t.Fatalf("services pulled = %d, want the catalog", nServices)
	}

	run(t, ctx, "go offline", offline(true), poll(`navigator.onLine === false`, 5*time.Second))

	// Three citizens: one with consent, a name and an ID number; one with a
	// service not done and its barrier; one partly done, with an ID number.
	citizens := []string{
		`tick('#svc-0'); fill('#age-band', '60_plus'); fill('#gender', 'female');
		 fill('#id-number', '038 090 001 234'); tick('#consent'); fill('#citizen-name', 'Nguyễn Thị Lan');`,
		`tick('#svc-0'); tick('#svc-1'); fill('#res-1', 'not_done'); fill('#bar-1', q('#bar-1').options[1].value);
		 fill('#age-band', '45_59'); fill('#gender', 'male');`,
		`tick('#svc-2'); fill('#res-2', 'partial'); fill('#id-number', '001203004567'); fill('#notes', 'Hẹn quay lại');`,
	}
	for i, c := range citizens {
		run(t, ctx, fmt.Sprintf("log citizen %d", i+1),
			script(`location.hash = '#/logs/new'; await new Promise(r => setTimeout(r, 50));`, nil),
			chromedp.WaitVisible("#save-log", chromedp.ByQuery),
			script(c+`q('#save-log').click();`, nil),
			poll(fmt.Sprintf(`document.querySelectorAll('#log-list li[data-state=pending]').length === %d`, i+1), 5*time.Second),
		)
	}
	// A training session with two attendees (one without consent: the
	// server keeps only a hash of the name to tell people apart).
	run(t, ctx, "record a session",
		script(`location.hash = '#/sessions/new'; await new Promise(r => setTimeout(r, 50));`, nil),
		chromedp.WaitVisible("#save-session", chromedp.ByQuery),
		script(`fill('#place', 'Nhà văn hóa thôn 2'); tick('#topic-0');
			q('#add-attendee').click(); fill('#att-name-0', 'Trần Văn Bình'); fill('#att-gender-0', 'male');
			q('#add-attendee').click(); fill('#att-name-1', 'Lò Thị Mai'); fill('#att-gender-1', 'female'); q('#att-consent-1').click();
			q('#save-session').click();`, nil),
		poll(`document.querySelectorAll('#session-list li[data-state=pending]').length === 1`, 5*time.Second),
		poll(`document.querySelector('#sync-status').dataset.pending === '6'`, 5*time.Second),
	)
	var ids []string // "table:id" of the six creates
	run(t, ctx, "outbox offline", script(`return (await tosoDB.outbox()).filter(e => e.op === 'create').map(e => e.tbl + ':' + e.id)`, &ids))
	if len(ids) != 6 {
		t.Fatalf("outbox creates = %v, want 6", ids)
	}
	logIDs := []any{}
	for _, id := range ids {
		if rid, ok := strings.CutPrefix(id, "assistance_logs:"); ok {
			logIDs = append(logIDs, rid)
		}
	}
	if n := e.count(`SELECT count(*) FROM assistance_logs WHERE id IN (?, ?, ?)`, logIDs...); n != 0 {
		t.Fatalf("the server has %d of the logs while the browser is offline, want 0", n)
	}
	var shot []byte
	run(t, ctx, "screenshot", chromedp.CaptureScreenshot(&shot))
	if err := os.WriteFile(filepath.Join(dir, "offline-sessions-360.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}

	// Reload without a network: the service worker serves the app, the
	// worker reopens the OPFS database, the six entries still wait.
	run(t, ctx, "reload offline",
		chromedp.Reload(),
		poll(`document.body.dataset.ready === 'true'`, 20*time.Second),
		script(`location.hash = '#/logs'; await new Promise(r => setTimeout(r, 100));`, nil),
		poll(`document.querySelectorAll('#log-list li[data-state=pending]').length === 3`, 10*time.Second),
		poll(`document.querySelector('#sync-status').dataset.pending === '6'`, 5*time.Second),
	)
	// Really offline: the API is out of reach, and the page came from the
	// service worker (a navigation it answered has a workerStart).
	var proof string
	run(t, ctx, "offline proof", script(`const api = await fetch('/healthz').then(() => 'reached', () => 'unreachable');
		const nav = performance.getEntriesByType('navigation')[0];
		return api + ' ' + (nav.workerStart > 0 ? 'from-sw' : 'from-network');`, &proof))
	if proof != "unreachable from-sw" {
		t.Fatalf("offline reload: %s, want the API unreachable and the page from the service worker", proof)
	}
	var idInOutbox bool
	run(t, ctx, "the ID number waits in the outbox", script(`return (await tosoDB.outbox()).some(e => e.fields && e.fields.citizen_id_number === '038090001234')`, &idInOutbox))
	if !idInOutbox {
		t.Fatal("the pending log lost its ID number before it was sent")
	}

	// Back online: the app syncs by itself.
	run(t, ctx, "back online", offline(false),
		poll(`document.querySelector('#sync-status').dataset.pending === '0' && document.body.dataset.lastSync === 'ok'`, 20*time.Second),
		poll(`document.querySelectorAll('#log-list li[data-state=synced]').length >= 3`, 10*time.Second),
	)
	run(t, ctx, "outbox after sync", script(`const o = await tosoDB.outbox();
		if (o.some(e => e.status !== 'applied')) throw new Error('not all applied: ' + JSON.stringify(o.map(e => [e.mid, e.status, e.code, e.message])));
		if (o.some(e => e.fields && ('citizen_id_number' in e.fields || 'citizen_phone' in e.fields))) throw new Error('an ID number stayed on the phone');`, nil))

	// Every record arrived exactly once.
	logs := e.query(`SELECT a.id, a.citizen_ref IS NOT NULL, COALESCE(a.citizen_name, ''), a.consent FROM assistance_logs a
		JOIN users u ON u.id = a.created_by WHERE u.phone = ? AND a.id IN (?, ?, ?)`, append([]any{e.mem}, logIDs...)...)
	if len(logs) != 3 {
		t.Fatalf("server logs of the member = %d, want 3", len(logs))
	}
	refs, names := 0, []string{}
	for _, l := range logs {
		if l[1].(int64) == 1 {
			refs++
		}
		if s := l[2].(string); s != "" {
			names = append(names, s)
		}
	}
	if refs != 2 || len(names) != 1 || names[0] != "Nguyễn Thị Lan" {
		t.Errorf("citizen refs = %d, names = %q; want 2 refs and the one consented name", refs, names)
	}
	for _, id := range ids {
		tbl, rid, _ := strings.Cut(id, ":")
		if tbl == "session_attendees" {
			continue // the server names attendees itself (section 4.3)
		}
		if n := e.count(`SELECT count(*) FROM `+tbl+` WHERE id = ?`, rid); n != 1 {
			t.Errorf("%s %s on the server %d times, want once", tbl, rid, n)
		}
	}
	sess := e.query(`SELECT s.id, s.place, s.status, s.attendees, s.women FROM training_sessions s
		JOIN users u ON u.id = s.created_by WHERE u.phone = ? AND s.place = 'Nhà văn hóa thôn 2'`, e.mem)
	if len(sess) != 1 || sess[0][1] != "Nhà văn hóa thôn 2" || sess[0][2] != "held" || sess[0][3] != int64(2) || sess[0][4] != int64(1) {
		t.Fatalf("server sessions of the member = %v, want one held at Nhà văn hóa thôn 2 with 2 attendees, 1 woman", sess)
	}
	att := e.query(`SELECT COALESCE(name, ''), consent FROM session_attendees WHERE session_id = ? ORDER BY consent`, sess[0][0])
	if len(att) != 2 || att[0][0] != "" || att[1][0] != "Trần Văn Bình" {
		t.Errorf("attendees = %v, want two, only the consenting one named", att)
	}
	if n := e.count(`SELECT count(*) FROM assistance_logs WHERE notes = 'Hẹn quay lại'`); n != 1 {
		t.Errorf("logs with the third citizen's note = %d, want 1", n)
	}
	t.Logf("offline round trip done in %s; screenshots in %s", time.Since(start).Round(time.Millisecond), dir)
}
