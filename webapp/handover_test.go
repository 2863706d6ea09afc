package webapp_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// tab2 is prepended to scripts that drive the second tab from the first
// page: w is that window (found by its name, also after the first page
// reloads), d its document, and p… the helpers of js on it.
const tab2 = `
const w = window.open('', 'toso-tab2');
const d = () => w.document;
const pq = (s) => { const el = d().querySelector(s); if (!el) throw new Error('second tab: no ' + s); return el; };
const pfill = (s, v) => { const el = pq(s); el.value = v; el.dispatchEvent(new w.Event('input', {bubbles: true})); el.dispatchEvent(new w.Event('change', {bubbles: true})); };
const ptick = (s) => { const el = pq(s); if (!el.checked) el.click(); };
const puntil = async (f) => { for (let i = 0; i < 600; i++) { try { const v = f(); if (v) return v; } catch (e) {} await new Promise(r => setTimeout(r, 25)); } throw new Error('second tab: timed out on ' + f); };
`

// userGesture lets a script open a window, as a tap would.
func userGesture(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithUserGesture(true) }

// TestSecondTab: two tabs of the app share one OPFS database, which one
// tab at a time may hold. The first tab logs two citizens offline, comes
// back online and pushes them, but the answer never arrives (held in
// DevTools, as when a tab is closed mid-sync): the server has applied them,
// the outbox still calls them pending. A second tab opens, is told the app
// is open elsewhere, and takes it over; the first closes the database and
// says where the app went. The second tab holds both entries, pushes the
// same mids again and gets the server's stored results, then logs a third
// citizen. The first tab takes the app back, finds the three entries done,
// and logs a fourth. On the server every log is there exactly once and the
// device's last mid is the outbox's last.
func TestSecondTab(t *testing.T) {
	e := newEnv(t)
	first := newBrowser(t)
	signIn(t, first, e, e.mem)

	var (
		mu     sync.Mutex
		held   []fetch.RequestID
		ids    []string
		pushed = make(chan struct{}, 10)
	)
	chromedp.ListenTarget(first, func(ev any) {
		if p, ok := ev.(*fetch.EventRequestPaused); ok {
			mu.Lock()
			held = append(held, p.RequestID)
			mu.Unlock()
			pushed <- struct{}{}
		}
	})
	var idsJSON string
	run(t, first, "two logs offline", offline(true), poll(`navigator.onLine === false`, 5*time.Second),
		logCitizen("Vũ Văn Một", "038090001111"), logCitizen("Vũ Thị Hai", "038090002222"),
		script(`return (await tosoDB.outbox()).map(e => e.id).join(',')`, &idsJSON))
	ids = strings.Split(idsJSON, ",")
	if len(ids) != 2 {
		t.Fatalf("outbox = %v, want 2 entries", ids)
	}
	// Back online, the app pushes at once; the answer is held.
	run(t, first, "push, answer held",
		fetch.Enable().WithPatterns([]*fetch.RequestPattern{{URLPattern: "*/v1/sync/push", RequestStage: fetch.RequestStageResponse}}),
		offline(false))
	select {
	case <-pushed:
	case <-time.After(20 * time.Second):
		t.Fatal("the first tab did not push when it came back online")
	}
	countLogs := func() int64 {
		return e.count(`SELECT count(*) FROM assistance_logs WHERE id IN (?, ?)`, ids[0], ids[1])
	}
	if n := countLogs(); n != 2 {
		t.Fatalf("server logs after the held push = %d, want 2 (applied, answer not delivered)", n)
	}
	var pending string
	run(t, first, "still pending", script(`return String(await tosoDB.pending())`, &pending))
	if pending != "2" {
		t.Fatalf("pending in the first tab = %s, want 2 (the answer never arrived)", pending)
	}

	// The second tab takes over. It is opened and driven from the first
	// page (a same-origin window it holds by name), not attached through
	// DevTools: headless Chromium stops answering DevTools in a second
	// attached tab once its database worker starts (cause not found).
	run(t, first, "second tab waits and takes over", script(tab2+`window.open('/app/', 'toso-tab2');
		await puntil(() => pq('#waiting #take-over')); pq('#take-over').click();
		await puntil(() => d().body.dataset.ready === 'true');`, nil, userGesture),
		poll(`document.body.dataset.handedOver === 'true' && !!document.querySelector('#moved #use-here')`, 10*time.Second))
	// The held answer now fails in the first tab: it must not touch
	// anything (its database is closed).
	mu.Lock()
	for _, id := range held {
		run(t, first, "fail the held push", fetch.FailRequest(id, network.ErrorReasonConnectionReset))
	}
	mu.Unlock()
	run(t, first, "stop holding", fetch.Disable())

	var state string
	run(t, first, "second tab syncs the same mids, logs a third", script(tab2+`
		const sync = async () => {
			w.location.hash = '#/sync'; await puntil(() => pq('#sync-now'));
			d().body.dataset.lastSync = ''; pq('#sync-now').click();
			await puntil(() => d().querySelector('#sync-status').dataset.pending === '0' && d().body.dataset.lastSync === 'ok');
		};
		await sync();
		w.location.hash = '#/logs/new'; await puntil(() => pq('#save-log'));
		ptick('#svc-0'); pfill('#id-number', '038090003333'); ptick('#consent'); pfill('#citizen-name', 'Vũ Văn Ba');
		pq('#save-log').click(); await puntil(() => d().body.dataset.view === '#/logs');
		await sync();
		return (await w.tosoDB.outbox()).map(e => e.mid + ':' + e.status).join(',');`, &state))
	if state != "3:applied,2:applied,1:applied" {
		t.Errorf("outbox in the second tab = %s, want mids 1-3 applied", state)
	}
	if n := countLogs(); n != 2 {
		t.Errorf("the two held logs on the server %d times, want 2 (each once)", n)
	}

	// The first tab takes the app back and logs a fourth citizen.
	run(t, first, "first tab takes it back", chromedp.Click("#use-here", chromedp.ByQuery))
	for deadline := time.Now().Add(20 * time.Second); ; { // the reload cuts short any evaluation begun before it
		c, cancel := context.WithTimeout(first, 2*time.Second)
		err := chromedp.Run(c, poll(`document.body.dataset.ready === 'true' && !document.querySelector('#moved')`, 2*time.Second))
		cancel()
		if err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the first tab did not take the app back: %v", err)
		}
	}
	run(t, first, "the second tab lets go", script(`await go('#/logs', '#log-list')`, nil),
		script(tab2+`await puntil(() => d().body.dataset.handedOver === 'true');`, nil))
	run(t, first, "first tab logs and syncs", logCitizen("Vũ Thị Bốn", "038090004444"), syncAndWait(),
		script(`return (await tosoDB.outbox()).map(e => e.mid + ':' + e.status).join(',')`, &state))
	if state != "4:applied,3:applied,2:applied,1:applied" {
		t.Errorf("outbox in the first tab = %s, want mids 1-4 applied", state)
	}
	got := e.query(`SELECT a.citizen_name, count(*) FROM assistance_logs a JOIN users u ON u.id = a.created_by
		WHERE u.phone = ? AND a.citizen_name LIKE 'Vũ %' GROUP BY a.citizen_name ORDER BY a.citizen_name`, e.mem)
	if fmt.Sprint(got) != "[[Vũ Thị Bốn 1] [Vũ Thị Hai 1] [Vũ Văn Ba 1] [Vũ Văn Một 1]]" {
		t.Errorf("the member's logs on the server = %v, want the four, each once", got)
	}
	if n := e.count(`SELECT d.last_mid FROM devices d JOIN users u ON u.id = d.user_id WHERE u.phone = ? AND d.platform = 'web'`, e.mem); n != 4 {
		t.Errorf("device's last mid = %d, want 4", n)
	}
}
