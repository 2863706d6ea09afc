package webapp_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConflictsResolved: the team lead edits a session's place and notes
// offline, on the version both phones saw; the member changes the same two
// fields and syncs first. The lead's patch arrives last and wins (result
// merged): the member's two values become two sync_conflicts rows lost by
// the member. The member's app points at them from the session and lists
// them on the sync screen, and the member settles them the two ways the
// protocol allows (docs/sync.md 4.5): keep the lead's place; send their own
// notes again as a new patch on the current version, in one group with
// the resolution. The settlements wait in the outbox, listed in words, in
// both languages, and axe finds nothing on that screen. On the server: the
// place is the lead's, the notes the member's, both conflicts resolved by
// the member, and no new conflict.
func TestConflictsResolved(t *testing.T) {
	b, err := os.ReadFile("../dashboard/testdata/axe/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	axe := string(b)
	e := newEnv(t)
	member := newBrowser(t)
	lead := newBrowser(t)
	dir := shots(t)
	memberID := e.count(`SELECT id FROM users WHERE phone = ?`, e.mem)

	signIn(t, member, e, e.mem)
	var sid string
	run(t, member, "record a session", script(`await go('#/sessions/new', '#session-form');
		fill('#place', 'Điểm A'); fill('#session-notes', 'Ban đầu'); q('#save-session').click();
		await until('body[data-view="#/sessions"]');
		return (await tosoDB.outbox())[0].id;`, &sid), syncAndWait())
	signIn(t, lead, e, e.lead)
	edit := func(place, notes string) chromedp.Action {
		return script(fmt.Sprintf(`await go('#/sessions/edit/%s', '#session-edit');
			fill('#place', '%s'); fill('#session-notes', '%s'); q('#save-session').click();
			await until('body[data-view="#/sessions"]');`, sid, place, notes), nil)
	}
	run(t, lead, "the lead edits offline", script(`location.hash = '#/sessions'`, nil),
		poll(fmt.Sprintf(`!!document.querySelector('[data-edit="%s"]')`, sid), 10*time.Second),
		offline(true), poll(`navigator.onLine === false`, 5*time.Second), edit("Nhà văn hóa xã", "Ghi chú của tổ trưởng"))
	run(t, member, "the member edits and syncs", edit("Trường tiểu học", "Ghi chú của thành viên"), syncAndWait())
	var status string
	run(t, lead, "the lead syncs last", offline(false), poll(`navigator.onLine === true`, 5*time.Second), syncAndWait(),
		script(`return (await tosoDB.outbox()).find(e => e.op === 'patch').status`, &status))
	if status != "merged" {
		t.Fatalf("the lead's patch: %s, want merged", status)
	}
	conf := e.query(`SELECT field, lost_by FROM sync_conflicts WHERE row_id = ? ORDER BY field`, sid)
	if fmt.Sprint(conf) != fmt.Sprintf("[[notes %d] [place %d]]", memberID, memberID) {
		t.Fatalf("conflicts = %v, want notes and place lost by the member", conf)
	}

	check := func(name string) {
		t.Helper()
		vs, err := axeViolations(member, axe)
		if err != nil {
			t.Fatalf("%s: axe: %v", name, err)
		}
		if len(vs) > 0 {
			t.Errorf("%s: %d axe violations:\n  %s", name, len(vs), strings.Join(vs, "\n  "))
		}
	}
	var open string
	run(t, member, "the member sees the conflicts", syncAndWait(), script(`await go('#/sessions', '#session-list');`, nil),
		poll(fmt.Sprintf(`!!document.querySelector('a[data-conflict-of="%s"]')`, sid), 5*time.Second),
		script(`q('a[data-conflict-of]').click(); await until('#conflicts li[data-conflict]');
			return [...document.querySelectorAll('#conflicts li[data-conflict]')].map(li => li.dataset.field + ': ' +
				li.querySelector('.lost').textContent + ' → ' + li.querySelector('.won').textContent +
				(li.querySelector('button.keep') && li.querySelector('button.reapply') ? ' [both]' : '')).sort().join('; ')`, &open))
	want := "notes: Ghi chú của thành viên → Ghi chú của tổ trưởng [both]; place: Trường tiểu học → Nhà văn hóa xã [both]"
	if open != want {
		t.Errorf("the member's conflicts = %q, want %q", open, want)
	}
	check("vi #/sync with conflicts")
	var shot []byte
	run(t, member, "screenshot", chromedp.FullScreenshot(&shot, 100))
	if err := os.WriteFile(filepath.Join(dir, "sync-conflicts-360.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}

	// Settled offline: the place kept, the notes sent again.
	var pending []string
	run(t, member, "settle offline", offline(true), poll(`navigator.onLine === false`, 5*time.Second),
		script(`q('#conflicts li[data-field=place] button.keep').click();
			await until('#conflicts li[data-field=place][data-state=pending]');
			q('#conflicts li[data-field=notes] button.reapply').click();
			await until('#conflicts li[data-field=notes][data-state=pending]');`, nil),
		script(`return [...document.querySelectorAll('#pending li')].map(li => li.innerText.replace(/\s+/g, ' '))`, &pending))
	if len(pending) != 3 || !strings.Contains(pending[0], "Xung đột") || !strings.Contains(pending[0], "địa điểm") ||
		!strings.Contains(pending[1], "Buổi tập huấn · sửa") || !strings.Contains(pending[1], "sửa ghi chú") ||
		!strings.Contains(pending[2], "Xung đột") || !strings.Contains(pending[2], "ghi chú") {
		t.Errorf("pending list = %q, want the place's settlement, then the notes patch and its settlement", pending)
	}
	run(t, member, "English", script(`q('#lang').click(); await until('html[lang=en]'); await until('#pending li');`, nil))
	check("en #/sync with settlements pending")
	run(t, member, "English pending", script(`return [...document.querySelectorAll('#pending li')].map(li => li.innerText.replace(/\s+/g, ' '))`, &pending),
		script(`q('#lang').click(); await until('html[lang=vi]');`, nil))
	if len(pending) != 3 || !strings.Contains(pending[1], "Training session · change") || !strings.Contains(pending[1], "changed notes") {
		t.Errorf("pending list in English = %q, want the notes patch in words", pending)
	}
	run(t, member, "sync the settlements", offline(false), poll(`navigator.onLine === true`, 5*time.Second), syncAndWait(),
		script(`await go('#/sync', '#sync-now');`, nil),
		poll(`!document.querySelector('#conflicts') && !document.querySelector('#pending') && document.querySelector('#pending-count').textContent === '0'`, 5*time.Second),
		script(`const o = await tosoDB.outbox();
			if (o.some(e => e.status !== 'applied')) throw new Error('not all applied: ' + JSON.stringify(o.map(e => [e.mid, e.tbl, e.status, e.code])));`, nil))

	got := e.query(`SELECT place, notes FROM training_sessions WHERE id = ?`, sid)
	if fmt.Sprint(got) != "[[Nhà văn hóa xã Ghi chú của thành viên]]" {
		t.Errorf("server session = %v, want the lead's place and the member's notes", got)
	}
	res := e.query(`SELECT field, resolved, resolved_by FROM sync_conflicts WHERE row_id = ? ORDER BY field`, sid)
	if fmt.Sprint(res) != fmt.Sprintf("[[notes 1 %d] [place 1 %d]]", memberID, memberID) {
		t.Errorf("conflicts after settling = %v, want the two, resolved by the member, and no new one", res)
	}
}
