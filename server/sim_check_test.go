package server

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"

	"toso/phone"
)

// The end of a simulation run: the network heals, everyone syncs until
// quiet, and the seven properties of SYNC.md are checked.

func (s *sim) now() time.Time { return s.e.clock.now() }

func time2h(h int) time.Duration { return time.Duration(h) * time.Hour }

func (s *sim) db() *sql.DB {
	if s.raw == nil {
		s.raw = rawDB(s.t, s.e)
	}
	return s.raw
}

// simTables are the synced tables a phone writes, with the columns that do
// not come from a clock (occurred_at is the device's, created_at and
// updated_at the server's). Attendee ids and citizen refs are keyed with
// the deployment secret, which each run draws anew: attendees are named by
// session and name instead.
var simTables = []struct{ name, cols string }{
	{"assistance_logs", "id, team_id, area_id, created_by, citizen_ref IS NULL, citizen_name, notes, outcomes, locked, deleted, version"},
	{"training_sessions", "id, team_id, created_by, updated_by, status, place, notes, field_versions, deleted, version"},
	{"session_attendees", "session_id, name, team_id, created_by, consent, removed, version"},
	{"attendee_aliases", "alias_id, (SELECT session_id || ' ' || name FROM session_attendees WHERE id = attendee_id)"},
	{"progress_reports", "id, team_id, created_by, indicator, as_of, value, note, corrects, void, version"},
	{"sync_conflicts", "team_id, tbl, row_id, field, lost_value, won_value, lost_by, won_by, mid, resolved, version"},
}

// simState is the server's synced data, table by table, one line a row.
type simState map[string][]string

func (s *sim) state() simState {
	out := simState{}
	for _, tb := range simTables {
		where, args := "", []any(nil)
		if tb.name == "assistance_logs" {
			where, args = ` WHERE team_id NOT IN (?, ?)`, []any{s.other[0], s.other[1]} // the writers beside (two nodes)
		}
		rows, err := s.db().Query(`SELECT `+tb.cols+` FROM `+tb.name+where+` ORDER BY 1, 2`, args...)
		if err != nil {
			s.t.Fatal(err)
		}
		n := len(strings.Split(tb.cols, ","))
		for rows.Next() {
			vals := make([]any, n)
			ptrs := make([]any, n)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				s.t.Fatal(err)
			}
			out[tb.name] = append(out[tb.name], fmt.Sprintln(vals...))
		}
		rows.Close()
	}
	return out
}

// snapshot is the synced data as one string, to see that a request
// changed nothing.
func (s *sim) snapshot() string { return fmt.Sprint(s.state()) }

// quiesce stops the faults and syncs every phone until a whole round
// pushes and pulls nothing.
func (s *sim) quiesce() {
	for _, p := range s.phones {
		p.ft.Stop()
	}
	for round := 0; ; round++ {
		if round > 20 {
			s.t.Fatalf("seed %d: sync did not settle", s.seed)
		}
		quiet := true
		for _, p := range s.phones {
			if p.revoked {
				continue
			}
			st, err := p.c.Push(s.ctx)
			s.expect(p, "final push", err)
			quiet = quiet && st.Results == 0
		}
		for _, p := range s.phones {
			if p.revoked {
				continue
			}
			before, _ := p.c.Rows(s.ctx, "")
			s.pull(p, 500)
			after, _ := p.c.Rows(s.ctx, "")
			quiet = quiet && reflect.DeepEqual(before, after) // cmp.Equal costs a third of a seed's CPU here
		}
		if quiet {
			return
		}
	}
}

func (s *sim) check() {
	s.checkReplicas()
	s.checkOutboxes()
	s.checkExactlyOnce()
	s.checkSessionFields()
	s.checkReceipts()
}

// Receipts: an accepted read (ack) left the recipient's receipt read
// (acked); a read on the server comes from an accepted write or one whose
// fate the phone never learnt; a rejected one was for the retracted
// announcement.
func (s *sim) checkReceipts() {
	type key struct {
		user int64
		id   string
	}
	read, acked, maybe := map[key]bool{}, map[key]bool{}, map[key]bool{}
	for _, o := range s.results() {
		if o.w.table != "announcement_receipts" {
			continue
		}
		k := key{o.w.user, o.w.id}
		switch {
		case accepted(o.e.Status):
			read[k] = true
			acked[k] = acked[k] || o.w.ack
		case o.e.Status == "rejected" && o.w.afterRevoke:
		case o.e.Status == "rejected":
			if o.e.Code != "deleted" || o.w.id != strconv.FormatInt(s.retracted, 10) {
				s.t.Errorf("seed %d: receipt of %s by user %d rejected %s", s.seed, o.w.id, o.w.user, o.e.Code)
			}
		default: // duplicate, or pending for a revoked user
			maybe[k] = true
		}
	}
	rows, err := s.db().Query(`SELECT user_id, CAST(announcement_id AS TEXT), read_at IS NOT NULL, acked_at IS NOT NULL
		FROM announcement_receipts`)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var k key
		var r, a bool
		if err := rows.Scan(&k.user, &k.id, &r, &a); err != nil {
			s.t.Fatal(err)
		}
		if r != read[k] && !maybe[k] || a != acked[k] && !maybe[k] {
			s.t.Errorf("seed %d: receipt of %s by user %d: read %v acked %v, accepted writes say read %v acked %v",
				s.seed, k.id, k.user, r, a, read[k], acked[k])
		}
		n++
	}
	if err := rows.Err(); err != nil {
		s.t.Fatal(err)
	}
	if len(s.announced) > 0 && n == 0 {
		s.t.Errorf("seed %d: announcements published but no receipts on the server", s.seed)
	}
}

// Property 1: every phone holds exactly what a fresh phone of the same user
// pulls from scratch, scope by scope.
func (s *sim) checkReplicas() {
	fresh := map[string][]phone.Row{}
	for i, p := range s.phones {
		if p.revoked {
			continue
		}
		want, ok := fresh[p.key]
		if !ok {
			c, err := phone.Open(s.ctx, filepath.Join(s.t.TempDir(), fmt.Sprintf("fresh%d.db", i)), phone.Config{BaseURL: s.base, HTTP: &http.Client{}, Unsynced: true})
			if err != nil {
				s.t.Fatal(err)
			}
			if err := c.Login(s.ctx, s.users[p.key], "password-"+p.key); err != nil {
				s.t.Fatal(err)
			}
			if _, err := c.Pull(s.ctx); err != nil {
				s.t.Fatal(err)
			}
			want, _ = c.Rows(s.ctx, "")
			c.Close()
			fresh[p.key] = want
		}
		got, err := p.c.Rows(s.ctx, "")
		if err != nil {
			s.t.Fatal(err)
		}
		if reflect.DeepEqual(want, got) {
			continue // the common case, without cmp's cost; cmp.Diff explains a difference
		}
		if diff := cmp.Diff(want, got); diff != "" {
			s.t.Errorf("seed %d: phone %d (%s) differs from a fresh pull (-fresh +phone):\n%s", s.seed, i, p.key, diff)
		}
	}
}

// Property 2 (and 7 for revoked users): every local write ended applied,
// merged, rejected or duplicate; future-dated logs and the writes of a
// revoked user never took effect.
func (s *sim) checkOutboxes() {
	for i, p := range s.phones {
		entries, err := p.c.Outbox(s.ctx)
		if err != nil {
			s.t.Fatal(err)
		}
		if got, want := len(entries), len(p.writes); got != want {
			s.t.Errorf("seed %d: phone %d outbox holds %d entries, want %d", s.seed, i, got, want)
		}
		for _, en := range entries {
			w := p.writes[en.Mid]
			switch {
			case en.Status == "" && p.revoked:
			case en.Status == "":
				s.t.Errorf("seed %d: phone %d (%s) mid %d still pending after the final sync", s.seed, i, p.key, en.Mid)
			case w.future && en.Status != "duplicate" && (en.Status != "rejected" || en.Code != "validation_failed"):
				s.t.Errorf("seed %d: phone %d mid %d: future log got %s/%s, want rejected/validation_failed", s.seed, i, en.Mid, en.Status, en.Code)
			case w.afterRevoke && en.Status != "rejected":
				s.t.Errorf("seed %d: phone %d mid %d written after access was revoked got %s", s.seed, i, en.Mid, en.Status)
			case !oneOf(en.Status, "applied", "merged", "rejected", "duplicate"):
				s.t.Errorf("seed %d: phone %d mid %d: status %q", s.seed, i, en.Mid, en.Status)
			case en.Status == "rejected" && en.Code == "":
				s.t.Errorf("seed %d: phone %d mid %d rejected without a code", s.seed, i, en.Mid)
			}
		}
	}
}

func oneOf(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

func accepted(status string) bool { return status == "applied" || status == "merged" }

// results maps every phone write to its outbox entry.
func (s *sim) results() []simOutcome {
	var out []simOutcome
	for _, p := range s.phones {
		entries, err := p.c.Outbox(s.ctx)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, en := range entries {
			out = append(out, simOutcome{w: p.writes[en.Mid], e: en})
		}
	}
	return out
}

type simOutcome struct {
	w simWrite
	e phone.Entry
}

// Property 4: each mutation took effect exactly once: the server holds one
// row per accepted create (attendees: per session and person), nothing
// else, and a row is deleted exactly when a delete was accepted.
func (s *sim) checkExactlyOnce() {
	want := map[string]map[string]bool{"assistance_logs": {}, "training_sessions": {}, "progress_reports": {}, "session_attendees": {}}
	// A "duplicate" says the mutation was processed before and its stored
	// result pruned: it may have been applied or rejected. So may a write
	// a revoked user pushed before losing access whose answer was lost: the
	// phone can no longer ask. What they wrote after losing access must
	// not be there.
	unknown := map[string]bool{}
	for _, o := range s.results() {
		if o.e.Status == "duplicate" || (o.e.Status == "" && !o.w.afterRevoke) {
			unknown[o.w.id] = true
			unknown[o.w.session+"|"+o.w.person] = true
		}
		if !accepted(o.e.Status) {
			continue
		}
		switch {
		case o.w.op == "create" && o.w.table == "session_attendees":
			want[o.w.table][o.w.session+"|"+o.w.person] = false
		case o.w.op == "create":
			if _, ok := want[o.w.table][o.w.id]; !ok {
				want[o.w.table][o.w.id] = false
			}
		case o.w.op == "delete":
			want[o.w.table][o.w.id] = true
		}
	}
	queries := map[string]string{
		"assistance_logs":   `SELECT id, deleted FROM assistance_logs WHERE team_id NOT IN (?, ?)`,
		"training_sessions": `SELECT id, deleted FROM training_sessions`,
		"progress_reports":  `SELECT id, 0 FROM progress_reports`,
		"session_attendees": `SELECT session_id || '|' || name, removed FROM session_attendees`,
	}
	for table, q := range queries {
		got := map[string]bool{}
		var args []any
		if table == "assistance_logs" {
			args = []any{s.other[0], s.other[1]} // the writers beside (two nodes) left out
		}
		rows, err := s.db().Query(q, args...)
		if err != nil {
			s.t.Fatal(err)
		}
		for rows.Next() {
			var k string
			var del bool
			rows.Scan(&k, &del)
			if _, dup := got[k]; dup {
				s.t.Errorf("seed %d: %s: two rows for %s", s.seed, table, k)
			}
			got[k] = del
		}
		rows.Close()
		for k := range unknown {
			delete(got, k)
			delete(want[table], k)
		}
		if diff := cmp.Diff(want[table], got); diff != "" {
			s.t.Errorf("seed %d: %s: server rows (deleted?) differ from accepted writes (-accepted +server):\n%s", s.seed, table, diff)
		}
	}
}

// Property 3: for each session field the server holds the value of the
// last accepted write in commit order, every "merged" names a conflict the
// server kept, and a value overwritten by another user's write that had not
// seen it is in sync_conflicts.
func (s *sim) checkSessionFields() {
	type fw struct {
		version, base, user int64
		value               string
	}
	writes := map[string][]fw{}  // session|field → accepted writes
	unknown := map[string]bool{} // session|field with a write of unknown fate
	for _, o := range s.results() {
		if o.w.table == "training_sessions" && (o.e.Status == "duplicate" || o.e.Status == "" && !o.w.afterRevoke) {
			for f := range o.w.fields {
				unknown[o.w.id+"|"+f] = true
			}
		}
		if o.w.table != "training_sessions" || !accepted(o.e.Status) {
			continue
		}
		for f, v := range o.w.fields {
			writes[o.w.id+"|"+f] = append(writes[o.w.id+"|"+f], fw{o.e.Version, o.w.base, o.w.user, fmt.Sprint(v)})
		}
		if o.e.Status == "merged" {
			var n int
			s.db().QueryRow(`SELECT count(*) FROM sync_conflicts WHERE id = ?`, o.e.ConflictID).Scan(&n)
			if n != 1 {
				s.t.Errorf("seed %d: merged result names conflict %q, which the server does not hold", s.seed, o.e.ConflictID)
			}
		}
	}
	keys := make([]string, 0, len(writes))
	for k := range writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if unknown[k] {
			continue
		}
		ws := writes[k]
		sort.Slice(ws, func(i, j int) bool { return ws[i].version < ws[j].version })
		// A write of the value the field already holds changes nothing:
		// the field keeps its version and author (store/sessions.go), so a
		// later writer whose base covers the first write of that value
		// has seen it (seed 5664).
		runs := ws[:1:1]
		for _, w := range ws[1:] {
			if w.value != runs[len(runs)-1].value {
				runs = append(runs, w)
			}
		}
		id, field, _ := strings.Cut(k, "|")
		var got string
		s.db().QueryRow(`SELECT `+map[string]string{"place": "place", "notes": "notes"}[field]+` FROM training_sessions WHERE id = ?`, id).Scan(&got)
		if want := ws[len(ws)-1].value; got != want {
			s.t.Errorf("seed %d: session %s %s = %q, want %q, the last accepted write", s.seed, id, field, got, want)
		}
		for i := 1; i < len(runs); i++ {
			prev, next := runs[i-1], runs[i]
			if next.base >= prev.version || next.user == prev.user || next.value == prev.value {
				continue
			}
			lost, _ := json.Marshal(prev.value)
			var n int
			s.db().QueryRow(`SELECT count(*) FROM sync_conflicts WHERE row_id = ? AND field = ? AND lost_value = ?`, id, field, string(lost)).Scan(&n)
			if n == 0 {
				s.t.Errorf("seed %d: session %s %s: %q (v%d) was overwritten by user %d from base %d and is not in sync_conflicts", s.seed, id, field, prev.value, prev.version, next.user, next.base)
			}
		}
	}
}
