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
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// js is prepended to the test's scripts: fill sets a field as a person
// would (the value, then input and change events); tick checks a box.
const js = `
const q = (s) => { const el = document.querySelector(s); if (!el) throw new Error('no ' + s); return el; };
const fill = (s, v) => { const el = q(s); el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); };
const tick = (s) => { const el = q(s); if (!el.checked) el.click(); };
const until = async (s) => { for (let i = 0; i < 200; i++) { const el = document.querySelector(s); if (el) return el; await new Promise(r => setTimeout(r, 25)); } throw new Error('no ' + s); };
const go = async (hash, s) => { location.hash = hash; await until(s); };
`

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(c, actions...); err != nil {
		var text string
		dump, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = chromedp.Run(dump, chromedp.Evaluate(`document.body ? document.body.innerText : ''`, &text))
		t.Fatalf("%s: %v\npage:\n%s", what, err, text)
	}
}

// script runs JavaScript with the helpers and returns its value in out (nil: ignored).
func script(src string, out any, opts ...chromedp.EvaluateOption) chromedp.Action {
	return chromedp.Evaluate("(async () => {"+js+src+"})()", out, append([]chromedp.EvaluateOption{awaitPromise}, opts...)...)
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
// number became a citizen ref, and the phone keeps no copy of it. On the
// way the access token expires (refreshed), and at the end the member
// moves to another team (scopes removed and added, the catalog reset).
func TestOfflineFirst(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	dir := shots(t)
	start := time.Now()

	refreshes := make(chan struct{}, 100)
	chromedp.ListenTarget(ctx, func(ev any) {
		if r, ok := ev.(*network.EventResponseReceived); ok && strings.HasSuffix(r.Response.URL, "/v1/auth/refresh") && r.Response.Status == 200 {
			refreshes <- struct{}{}
		}
	})
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
	// Chromium finds nothing that stops it installing the app (manifest,
	// icons, a service worker that answers offline, a secure origin).
	var installErrs []string
	run(t, ctx, "installable", chromedp.ActionFunc(func(ctx context.Context) error {
		errs, err := page.GetInstallabilityErrors().Do(ctx)
		for _, e := range errs {
			installErrs = append(installErrs, e.ErrorID)
		}
		return err
	}))
	if len(installErrs) > 0 {
		t.Errorf("installability errors: %v", installErrs)
	}
	var storage, device string
	run(t, ctx, "storage", script(`await go('#/sync', '#storage');
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
		var form []byte
		run(t, ctx, fmt.Sprintf("log citizen %d", i+1),
			script(`await go('#/logs/new', '#log-form')`, nil),
			chromedp.WaitVisible("#save-log", chromedp.ByQuery),
			script(c, nil), chromedp.FullScreenshot(&form, 100),
			script(`q('#save-log').click();`, nil),
			poll(fmt.Sprintf(`document.querySelectorAll('#log-list li[data-state=pending]').length === %d`, i+1), 5*time.Second),
		)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("log-form-%d-360.png", i+1)), form, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A training session with two attendees (one without consent: the
	// server keeps only a hash of the name to tell people apart).
	run(t, ctx, "record a session",
		script(`await go('#/sessions/new', '#session-form')`, nil),
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
	reload := time.Now()
	run(t, ctx, "reload offline",
		chromedp.Reload(),
		poll(`document.body.dataset.ready === 'true'`, 20*time.Second),
		chromedp.ActionFunc(func(context.Context) error {
			t.Logf("offline reload: the app and its database ready in %s", time.Since(reload).Round(time.Millisecond))
			return nil
		}),
		script(`await go('#/logs', '#new-log')`, nil),
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

	// Back online, 20 minutes later on the server's clock: the access token
	// has expired, the app refreshes it and syncs by itself.
	e.skew.Store(int64(20 * time.Minute))
	run(t, ctx, "back online", offline(false),
		poll(`document.querySelector('#sync-status').dataset.pending === '0' && document.body.dataset.lastSync === 'ok'`, 20*time.Second),
		poll(`document.querySelectorAll('#log-list li[data-state=synced]').length >= 3`, 10*time.Second),
	)
	run(t, ctx, "outbox after sync", script(`const o = await tosoDB.outbox();
		if (o.some(e => e.status !== 'applied')) throw new Error('not all applied: ' + JSON.stringify(o.map(e => [e.mid, e.status, e.code, e.message])));
		if (o.some(e => e.fields && ('citizen_id_number' in e.fields || 'citizen_phone' in e.fields))) throw new Error('an ID number stayed on the phone');`, nil))

	if len(refreshes) == 0 {
		t.Error("no token refresh: the access token expired while offline")
	}
	var mismatches string
	run(t, ctx, "digests", script(`return (await tosoDB.meta(['digest_mismatches'])).digest_mismatches`, &mismatches))
	if mismatches != "" {
		t.Errorf("digest mismatches = %s, want none (the app's FNV-1a sum must equal the server's)", mismatches)
	}

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

	// The member moves to another team: the next pull removes the old
	// team's scope (its rows and cursor go) and adds the new one.
	oldTeam := e.count(`SELECT team_id FROM users WHERE phone = ?`, e.mem)
	newTeam := e.count(`SELECT min(id) FROM teams WHERE id != ? AND active = 1`, oldTeam)
	e.moveMember(newTeam)
	var scopes, resets string
	run(t, ctx, "scope change", syncAndWait(), script(`const c = await tosoDB.cursors();
		const rows = await tosoDB.rows('assistance_logs');
		return Object.keys(c).filter(s => s.startsWith('team:')).join(',') + '|' + [...new Set(rows.map(r => r.scope))].join(',');`, &scopes),
		script(`return (await tosoDB.meta(['resets'])).resets`, &resets))
	want := fmt.Sprintf("team:%d|team:%d", newTeam, newTeam)
	if strings.HasSuffix(scopes, "|") {
		want = fmt.Sprintf("team:%d|", newTeam) // a team without logs yet
	}
	if scopes != want {
		t.Errorf("team cursors | scopes of the local logs = %q, want %q", scopes, want)
	}
	// The catalog depends on where the user sits: the server resets it, and
	// the app rebuilds it.
	var services int
	run(t, ctx, "catalog rebuilt", script(`return (await tosoDB.rows('services')).length`, &services))
	if resets == "" || services != nServices {
		t.Errorf("after the move: scopes reset %q, services %d; want the catalog reset and rebuilt with %d", resets, services, nServices)
	}
}

// signIn opens the app at 360 px and signs in; it returns when the first
// sync is done.
func signIn(t *testing.T, ctx context.Context, e *env, phone string) {
	t.Helper()
	run(t, ctx, "sign in "+phone, network.Enable(),
		chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(e.base+"/app/"),
		poll(`document.body.dataset.ready === 'true'`, 20*time.Second),
		chromedp.SendKeys("#phone", phone, chromedp.ByQuery),
		chromedp.SendKeys("#password", "demo-password", chromedp.ByQuery),
		chromedp.Click("#signin", chromedp.ByQuery),
		poll(`document.body.dataset.lastSync === 'ok' && !!document.querySelector('#new-log')`, 20*time.Second),
	)
}

// syncAndWait presses "sync now" and waits for an empty outbox.
func syncAndWait() chromedp.Action {
	return chromedp.Tasks{
		script(`await go('#/sync', '#sync-now'); document.body.dataset.lastSync = ''; q('#sync-now').click();`, nil),
		poll(`document.querySelector('#sync-status').dataset.pending === '0' && document.body.dataset.lastSync === 'ok'`, 20*time.Second),
	}
}

// TestTwoDevicesAndLead: a member and the team lead, each on their own
// browser, change the same training session. The member works offline
// (notes and the head count); the lead changes the place and the notes
// and syncs first. When the member syncs, the fields merge, the notes the
// lead wrote lose the same-field race (last arrival wins) and become a
// conflict row, and both devices end with the same session. The lead
// then confirms the session, sees the team's campaign rank, and the
// member reads and acknowledges an announcement.
func TestTwoDevicesAndLead(t *testing.T) {
	e := newEnv(t)
	if _, err := e.store.RefreshCampaignRanks(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.target("VNeID mức 2 năm nay", 120)
	member := newBrowser(t)
	lead := newBrowser(t) // its own profile and storage: another phone
	dir := shots(t)

	signIn(t, member, e, e.mem)
	var sid string
	run(t, member, "record a session", script(`await go('#/sessions/new', '#session-form');
		fill('#place', 'Điểm A'); fill('#attendee-count', '10'); fill('#session-notes', 'Ban đầu'); q('#save-session').click();
		await until('body[data-view="#/sessions"]');
		return (await tosoDB.outbox())[0].id;`, &sid), syncAndWait())

	signIn(t, lead, e, e.lead)
	run(t, lead, "the lead sees the session",
		script(`location.hash = '#/sessions'`, nil),
		poll(fmt.Sprintf(`!!document.querySelector('[data-edit="%s"]')`, sid), 10*time.Second))

	// The member edits offline.
	run(t, member, "member edits offline", offline(true), poll(`navigator.onLine === false`, 5*time.Second),
		script(fmt.Sprintf(`await go('#/sessions/edit/%s', '#session-edit');
			fill('#attendee-count', '15'); fill('#session-notes', 'Ghi chú của thành viên'); q('#save-session').click();
			await until('body[data-view="#/sessions"]');`, sid), nil),
		poll(`document.querySelector('#sync-status').dataset.pending === '1'`, 5*time.Second))
	// The lead edits online and syncs first.
	run(t, lead, "lead edits and syncs",
		script(fmt.Sprintf(`await go('#/sessions/edit/%s', '#session-edit');
			fill('#place', 'Nhà văn hóa xã'); fill('#session-notes', 'Ghi chú của tổ trưởng'); q('#save-session').click();
			await until('body[data-view="#/sessions"]');`, sid), nil),
		syncAndWait())
	// The member comes back.
	var status string
	run(t, member, "member syncs", offline(false), poll(`navigator.onLine === true`, 5*time.Second), syncAndWait(),
		script(`return (await tosoDB.outbox()).find(e => e.op === 'patch').status`, &status))
	if status != "merged" {
		t.Errorf("the member's patch: %s, want merged", status)
	}
	got := e.query(`SELECT place, attendees, notes, status FROM training_sessions WHERE id = ?`, sid)
	want := []any{"Nhà văn hóa xã", int64(15), "Ghi chú của thành viên", "held"}
	if fmt.Sprint(got) != fmt.Sprint([][]any{want}) {
		t.Errorf("server session = %v, want %v", got, want)
	}
	conf := e.query(`SELECT field, lost_value, won_value FROM sync_conflicts WHERE row_id = ?`, sid)
	if fmt.Sprint(conf) != fmt.Sprint([][]any{{"notes", `"Ghi chú của tổ trưởng"`, `"Ghi chú của thành viên"`}}) {
		t.Errorf("conflicts = %v, want the lead's notes lost to the member's", conf)
	}
	// Both phones converge on the server's row.
	for name, ctx := range map[string]context.Context{"member": member, "lead": lead} {
		var row string
		run(t, ctx, name+" pulls", syncAndWait(), script(fmt.Sprintf(`const r = (await tosoDB.rows('training_sessions')).find(r => r.id === '%s').row;
			return [r.place, r.attendees, r.notes].join('|')`, sid), &row))
		if row != "Nhà văn hóa xã|15|Ghi chú của thành viên" {
			t.Errorf("%s holds %q, want the merged session", name, row)
		}
	}
	var conflicts int
	run(t, lead, "the lead sees the conflict", script(`return (await tosoDB.rows('sync_conflicts')).filter(r => r.row.row_id === '`+sid+`').length`, &conflicts))
	if conflicts != 1 {
		t.Errorf("conflict rows on the lead's phone = %d, want 1", conflicts)
	}

	// The lead confirms a held session and sees the campaign rank.
	var held string
	run(t, lead, "lead confirms", script(`await go('#/sessions', '#session-list');
		const b = q('button[data-confirm]'); const id = b.dataset.confirm; b.click(); return id;`, &held), syncAndWait())
	if got := e.query(`SELECT status FROM training_sessions WHERE id = ?`, held); fmt.Sprint(got) != "[[reported]]" {
		t.Errorf("confirmed session status = %v, want reported", got)
	}
	var ranks, targets string
	run(t, lead, "campaign rank and targets", script(`await go('#/targets', '#ranks'); return q('#ranks').innerText`, &ranks),
		script(`return (await until('#target-list')).innerText`, &targets))
	if !strings.Contains(ranks, "Hạng") {
		t.Errorf("ranks section = %q, want the team's rank", ranks)
	}
	if !strings.Contains(targets, "VNeID mức 2 năm nay") || !strings.Contains(targets, "120") {
		t.Errorf("targets = %q, want the team's target and its goal", targets)
	}
	var shot []byte
	run(t, lead, "screenshot", chromedp.CaptureScreenshot(&shot))
	if err := os.WriteFile(filepath.Join(dir, "lead-targets-360.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}

	// A coordinator locks the session while the member edits it offline:
	// the edit comes back rejected (locked), with the server's sentence on
	// the sync screen, and the phone shows the session locked.
	run(t, member, "edit before the lock", offline(true), poll(`navigator.onLine === false`, 5*time.Second),
		script(fmt.Sprintf(`await go('#/sessions/edit/%s', '#session-edit');
			fill('#session-notes', 'Sửa sau khi khóa'); q('#save-session').click();
			await until('body[data-view="#/sessions"]');`, sid), nil))
	e.lockSession(sid)
	var rejected string
	run(t, member, "rejected", offline(false), poll(`navigator.onLine === true`, 5*time.Second), syncAndWait(),
		script(`return (await until('#rejected li')).innerText`, &rejected))
	if !strings.Contains(rejected, "Buổi tập huấn") || !strings.Contains(rejected, "khóa") {
		t.Errorf("the sync screen shows %q, want the locked session's rejection in Vietnamese", rejected)
	}
	if got := e.query(`SELECT notes FROM training_sessions WHERE id = ?`, sid); fmt.Sprint(got) != "[[Ghi chú của thành viên]]" {
		t.Errorf("locked session notes = %v, want unchanged", got)
	}

	// The member reads and acknowledges an announcement, offline.
	ann := e.announce("Họp tổ thứ Sáu", "Mang theo danh sách người dân cần hỗ trợ VNeID.", true)
	run(t, member, "inbox", syncAndWait(), offline(true), poll(`navigator.onLine === false`, 5*time.Second),
		script(fmt.Sprintf(`await go('#/inbox', '#inbox-list li[data-id="%d"] button.ack');
		q('#inbox-list li[data-id="%d"] button.ack').click();
		await until('#inbox-list li[data-id="%d"].read');`, ann, ann, ann), nil),
		offline(false), poll(`navigator.onLine === true`, 5*time.Second), syncAndWait())
	got = e.query(`SELECT r.read_at IS NOT NULL, r.acked_at IS NOT NULL FROM announcement_receipts r JOIN users u ON u.id = r.user_id
		WHERE u.phone = ? AND r.announcement_id = ?`, e.mem, ann)
	if fmt.Sprint(got) != "[[1 1]]" {
		t.Errorf("announcement %d on the server: read, acked = %v, want both", ann, got)
	}
}
