package webapp_test

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// logCitizen fills the log form with a consented name and an ID number,
// saves it, and returns the new log's id.
func logCitizen(name, number string) chromedp.Action {
	return script(fmt.Sprintf(`await go('#/logs/new', '#log-form');
		tick('#svc-0'); fill('#id-number', '%s'); tick('#consent'); fill('#citizen-name', '%s');
		q('#save-log').click(); await until('body[data-view="#/logs"]');`, number, name), nil)
}

// TestRestoreResend: the server is restored from a backup taken before the
// member's last pushes (toso restore). The next push is answered 409
// mid_gap; the app reopens its outbox from `expected` and sends what the
// server lost, each record once (docs/sync.md section 2, as phone/push.go).
// One of those logs had carried an ID number, deleted from the phone when
// its first result arrived: it goes again without it (the protocol takes
// no citizen_ref from a phone), and the log asks the member to enter the
// number again; that goes as a patch, and the server's citizen ref comes
// back the same as before the restore. On the way the sync screen lists
// the pending entry in words, never the number.
func TestRestoreResend(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	var gaps atomic.Int32
	chromedp.ListenTarget(ctx, func(ev any) {
		if r, ok := ev.(*network.EventResponseReceived); ok && strings.HasSuffix(r.Response.URL, "/v1/sync/push") && r.Response.Status == 409 {
			gaps.Add(1)
		}
	})
	signIn(t, ctx, e, e.mem)
	backup := e.backup()

	// A is sent before the restore (its number is then deleted); B waits
	// offline in the outbox with its number.
	var a, b string
	run(t, ctx, "log A and sync", logCitizen("Lê Văn An", "038090001234"),
		script(`return (await tosoDB.outbox())[0].id`, &a), syncAndWait())
	refA := e.query(`SELECT citizen_ref FROM assistance_logs WHERE id = ?`, a)
	if len(refA) != 1 || refA[0][0] == nil {
		t.Fatalf("log A on the server: %v, want one with a citizen ref", refA)
	}
	var pending string
	run(t, ctx, "log B offline", offline(true), poll(`navigator.onLine === false`, 5*time.Second),
		logCitizen("Phạm Thị Bình", "001203004567"),
		script(`return (await tosoDB.outbox())[0].id`, &b),
		script(`await go('#/sync', '#pending li'); return [...document.querySelectorAll('#pending li')].map(li =>
			li.dataset.table + ' ' + li.dataset.op + ' ' + li.dataset.state + ': ' + li.innerText.replace(/\s+/g, ' ')).join('\n')
			+ (document.body.innerText.includes('001203004567') ? ' NUMBER SHOWN' : '')`, &pending))
	if !strings.HasPrefix(pending, "assistance_logs create pending: Lượt hỗ trợ · mới") || !strings.Contains(pending, "Phạm Thị Bình") ||
		!strings.Contains(pending, "Lưu lúc") || strings.Contains(pending, "\n") || strings.Contains(pending, "NUMBER SHOWN") {
		t.Errorf("pending list = %q, want B alone, in words, with its time and state, and no number", pending)
	}

	e.restore(backup)
	if n := e.count(`SELECT count(*) FROM assistance_logs WHERE id IN (?, ?)`, a, b); n != 0 {
		t.Fatalf("after the restore the server holds %d of the two logs, want 0", n)
	}
	run(t, ctx, "back online", offline(false), poll(`navigator.onLine === true`, 5*time.Second), syncAndWait())
	if gaps.Load() == 0 {
		t.Error("no push was answered 409 (mid_gap): the restore did not take the device's last mid back")
	}
	got := e.query(`SELECT id, citizen_ref IS NOT NULL FROM assistance_logs WHERE id IN (?, ?) ORDER BY citizen_name`, a, b)
	if fmt.Sprint(got) != fmt.Sprintf("[[%s 0] [%s 1]]", a, b) {
		t.Fatalf("server logs after the resend = %v, want A without a ref and B with one, each once", got)
	}
	if n := e.count(`SELECT d.last_mid FROM devices d JOIN users u ON u.id = d.user_id WHERE u.phone = ? AND d.platform = 'web'`, e.mem); n != 2 {
		t.Errorf("device's last mid = %d, want 2", n)
	}

	// A asks for its number again; the member enters it. The list and the
	// form are axe-clean.
	axe, err := os.ReadFile("../dashboard/testdata/axe/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	checkAxe := func(name string) {
		t.Helper()
		if vs, err := axeViolations(ctx, string(axe)); err != nil || len(vs) > 0 {
			t.Errorf("%s: axe: %v %s", name, err, strings.Join(vs, "\n  "))
		}
	}
	run(t, ctx, "A asks for its number", script(`await go('#/logs', '#log-list');`, nil),
		poll(fmt.Sprintf(`!!document.querySelector('#log-list li[data-id="%s"] a[data-reentry]')`, a), 5*time.Second),
		script(fmt.Sprintf(`if (document.querySelector('#log-list li[data-id="%s"] a[data-reentry]')) throw new Error('B asks for its number');`, b), nil))
	checkAxe("logs with a number to re-enter")
	run(t, ctx, "open the form", script(fmt.Sprintf(`q('#log-list li[data-id="%s"] a[data-reentry]').click(); await until('#reentry-form');`, a), nil))
	checkAxe("re-entry form")
	run(t, ctx, "re-enter A's number",
		script(`fill('#id-number', '038 090 001 234'); q('#save-number').click(); await until('body[data-view="#/logs"]');`, nil),
		syncAndWait(),
		script(`await go('#/logs', '#log-list'); if (document.querySelector('a[data-reentry]')) throw new Error('still asks for the number');
			const o = await tosoDB.outbox();
			if (o.some(e => e.status !== 'applied')) throw new Error('not all applied: ' + JSON.stringify(o.map(e => [e.mid, e.op, e.status, e.code])));
			if (o.some(e => e.fields && ('citizen_id_number' in e.fields))) throw new Error('an ID number stayed on the phone');`, nil))
	if ref := e.query(`SELECT citizen_ref FROM assistance_logs WHERE id = ?`, a); fmt.Sprint(ref) != fmt.Sprint(refA) {
		t.Errorf("A's citizen ref after the re-entry = %v, want %v as before the restore", ref, refA)
	}
}
