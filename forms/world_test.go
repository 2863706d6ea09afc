package forms

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"toso/store"
	"toso/store/storetest"
)

// world is a real store with a small province and random activity pushed
// through store.Push, the way phones write it:
//
//	Tỉnh Thử (99)
//	├── Xã An (99001) ── Thôn Một (team T1: lead L1, member M1), Thôn Hai (team T2: M2)
//	├── Xã Bình (99002) ── Thôn Ba (team T3: M3)
//	└── Xã Cũ (99003, until 2025-06-30) ── Thôn Cũ (team T4: M4); merged half into An, half into Bình
//
// and coordinators CP (the province) and CA (Xã An).
type world struct {
	t      *testing.T
	s      *store.Store
	ctx    context.Context
	rng    *rand.Rand
	areas  map[string]*store.Area // by short key: P, A, A1, A2, B, B1, O, O1
	teams  map[string]*store.Team // T1..T4
	actors map[string]store.Actor // L1, M1..M4, CP, CA
	mids   map[string]int64
	seq    int
	logs   []struct{ id, author string }
	// citizen is the citizen (0..14) of each created log, -1 for none.
	citizen map[string]int
}

// worldNow is the fixture's clock: 20 Nov 2026, 10:00 in Vietnam.
var worldNow = time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)

var worldTeamOf = map[string]string{"L1": "T1", "M1": "T1", "M2": "T2", "M3": "T3", "M4": "T4"}

func newWorld(t *testing.T, seed uint64) *world {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, storetest.DB(t, "toso.db"), store.Options{Now: func() time.Time { return worldNow },
		CitizenKey: "forms-test-key-0123456789abcdef0123"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	w := &world{t: t, s: s, ctx: ctx, rng: rand.New(rand.NewPCG(seed, seed^0x51)), areas: map[string]*store.Area{},
		teams: map[string]*store.Team{}, actors: map[string]store.Actor{}, mids: map[string]int64{}, citizen: map[string]int{}}
	area := func(key, parent, level, name, code string, pop int64, validTo string) {
		n := store.NewArea{Level: level, Name: name, Code: code, Population: pop, Adults: pop * 7 / 10, WorkingAge: pop * 6 / 10,
			Households: pop / 4, ValidTo: validTo}
		if parent != "" {
			n.ParentID = w.areas[parent].ID
		}
		a, err := s.CreateArea(ctx, store.System, n)
		if err != nil {
			t.Fatal(err)
		}
		w.areas[key] = a
	}
	area("P", "", "province", "Tỉnh Thử", "99", 100000, "")
	area("A", "P", "commune", "Xã An", "99001", 20000, "")
	area("A1", "A", "village", "Thôn Một", "", 3000, "")
	area("A2", "A", "village", "Thôn Hai", "", 2500, "")
	area("B", "P", "commune", "Xã Bình", "99002", 15000, "")
	area("B1", "B", "village", "Thôn Ba", "", 4000, "")
	area("O", "P", "commune", "Xã Cũ", "99003", 9000, "2025-06-30")
	area("O1", "O", "village", "Thôn Cũ", "", 2000, "2025-06-30")
	for _, l := range []store.Lineage{{OldAreaID: w.areas["O"].ID, NewAreaID: w.areas["A"].ID, Share: 0.5, EffectiveOn: "2025-07-01"},
		{OldAreaID: w.areas["O"].ID, NewAreaID: w.areas["B"].ID, Share: 0.5, EffectiveOn: "2025-07-01"}} {
		if err := s.AddLineage(ctx, store.System, l); err != nil {
			t.Fatal(err)
		}
	}
	for key, a := range map[string]string{"T1": "A1", "T2": "A2", "T3": "B1", "T4": "O1"} {
		tm, err := s.CreateTeam(ctx, store.System, store.NewTeam{AreaID: w.areas[a].ID, Name: "Tổ " + key})
		if err != nil {
			t.Fatal(err)
		}
		w.teams[key] = tm
	}
	phone := 0
	user := func(key string, n store.NewUser) {
		phone++
		n.Phone, n.Name, n.Password = fmt.Sprintf("09%08d", phone), key, "password-"+key
		u, err := s.CreateUser(ctx, store.System, n)
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.Actor(ctx, u.ID, fmt.Sprintf("00000000-0000-4000-8000-%012d", phone))
		if err != nil {
			t.Fatal(err)
		}
		w.actors[key] = a
	}
	for _, key := range []string{"L1", "M1", "M2", "M3", "M4"} {
		role := store.RoleMember
		if key == "L1" {
			role = store.RoleTeamLead
		}
		user(key, store.NewUser{Role: role, TeamID: w.teams[worldTeamOf[key]].ID})
	}
	user("CP", store.NewUser{Role: store.RoleCoordinator, AreaID: w.areas["P"].ID})
	user("CA", store.NewUser{Role: store.RoleCoordinator, AreaID: w.areas["A"].ID})
	return w
}

func (w *world) push(key string, m store.Mutation) store.Result {
	w.t.Helper()
	a := w.actors[key]
	w.mids[key]++
	m.Mid = w.mids[key]
	resp, err := w.s.Push(w.ctx, a, store.PushRequest{DeviceID: a.DeviceID, Mutations: []store.Mutation{m}})
	if err != nil {
		w.t.Fatalf("push: %v", err)
	}
	return resp.Results[0]
}

func raw(kv ...any) map[string]json.RawMessage {
	f := map[string]json.RawMessage{}
	for i := 0; i+1 < len(kv); i += 2 {
		b, _ := json.Marshal(kv[i+1])
		f[kv[i].(string)] = b
	}
	return f
}

var worldServices = []string{"vneid_l2", "public_service_account", "public_service_submission", "cashless_payment",
	"payment_account", "skill_online_safety"}

// citizenNumber is the ID number of one of 15 citizens, so they recur.
func citizenNumber(k int) string { return fmt.Sprintf("0380920%05d", k) }

// at is a time between 2025-01-01 and the world's now, at any hour.
func (w *world) at() string {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return start.Add(time.Duration(w.rng.Int64N(int64(worldNow.Sub(start))))).Truncate(time.Minute).Format(time.RFC3339)
}

// log pushes one assistance log by author at occurredAt (random when "").
func (w *world) log(author, occurredAt string) {
	if occurredAt == "" {
		occurredAt = w.at()
	}
	var outs []map[string]string
	for _, i := range w.rng.Perm(len(worldServices))[:1+w.rng.IntN(3)] {
		o := map[string]string{"service": worldServices[i], "result": "done"}
		switch w.rng.IntN(5) {
		case 0:
			o["result"], o["barrier"] = "not_done", []string{"no_smartphone", "data_mismatch", "declined"}[w.rng.IntN(3)]
		case 1:
			o["result"] = "partial"
		}
		outs = append(outs, o)
	}
	f := raw("occurred_at", occurredAt, "outcomes", outs, "age_band", []string{"15_24", "45_59", "60_plus"}[w.rng.IntN(3)],
		"gender", []string{"female", "male"}[w.rng.IntN(2)], "minority", w.rng.IntN(4) == 0)
	w.seq++
	id := fmt.Sprintf("01950000-0000-7000-8000-%012d", w.seq)
	w.citizen[id] = -1
	if k := w.rng.IntN(17); k < 15 {
		f["citizen_id_number"], _ = json.Marshal(citizenNumber(k))
		w.citizen[id] = k
	}
	if r := w.push(author, store.Mutation{Table: "assistance_logs", Op: "create", ID: id, Fields: f}); r.Status == store.StatusApplied {
		w.logs = append(w.logs, struct{ id, author string }{id, author})
	}
}

// session pushes a held training session by author.
func (w *world) session(author, heldAt string) {
	if heldAt == "" {
		heldAt = w.at()
	}
	w.seq++
	id := fmt.Sprintf("01950000-0000-7000-8000-%012d", w.seq)
	w.push(author, store.Mutation{Table: "training_sessions", Op: "create", ID: id, Fields: raw("status", "held", "held_at", heldAt,
		"topics", []string{"binh_dan_hoc_vu_so"}, "attendees", 5+w.rng.IntN(20), "women", w.rng.IntN(5), "minority", w.rng.IntN(3),
		"elderly", w.rng.IntN(4))})
}

// activity pushes n random actions.
func (w *world) activity(n int) {
	authors := []string{"L1", "M1", "M2", "M3", "M4"}
	for range n {
		a := authors[w.rng.IntN(len(authors))]
		switch k := w.rng.IntN(10); {
		case k < 7:
			w.log(a, "")
		case k < 9:
			w.session(a, "")
		case len(w.logs) > 0:
			l := w.logs[w.rng.IntN(len(w.logs))]
			w.push(l.author, store.Mutation{Table: "assistance_logs", Op: "delete", ID: l.id})
		}
	}
}

// brute is every raw row, read straight from the database file, and the
// counts recomputed in Go from them.
type brute struct {
	parent map[int64]int64
	logs   []bruteLog
	sess   []bruteSession
}

type bruteLog struct {
	id, ref, day string
	team, place  int64
	outcomes     []store.Outcome
}

type bruteSession struct {
	day                                 string
	team, place                         int64
	attendees, women, minority, elderly float64
}

func vnDay(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return ""
	}
	return t.In(time.FixedZone("", 7*3600)).Format(time.DateOnly)
}

func loadBrute(t *testing.T, s *store.Store) *brute {
	t.Helper()
	db, err := store.OpenReader(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := &brute{parent: map[int64]int64{}}
	q := func(query string, scan func(func(...any) error)) {
		rows, err := db.Query(query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			scan(rows.Scan)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	q(`SELECT id, COALESCE(parent_id, 0) FROM areas`, func(scan func(...any) error) {
		var id, p int64
		scan(&id, &p)
		b.parent[id] = p
	})
	q(`SELECT id, COALESCE(citizen_ref, ''), occurred_at, team_id, COALESCE(village_id, area_id), outcomes
		FROM assistance_logs WHERE deleted = 0`, func(scan func(...any) error) {
		var l bruteLog
		var outs string
		scan(&l.id, &l.ref, &l.day, &l.team, &l.place, &outs)
		l.day = vnDay(l.day)
		if err := json.Unmarshal([]byte(outs), &l.outcomes); err != nil {
			t.Fatal(err)
		}
		b.logs = append(b.logs, l)
	})
	q(`SELECT held_at, team_id, area_id, attendees, women, minority, elderly FROM training_sessions
		WHERE deleted = 0 AND status IN ('held', 'reported', 'locked') AND held_at <> ''`, func(scan func(...any) error) {
		var x bruteSession
		scan(&x.day, &x.team, &x.place, &x.attendees, &x.women, &x.minority, &x.elderly)
		x.day = vnDay(x.day)
		b.sess = append(b.sess, x)
	})
	return b
}

// under reports whether place is area or below it.
func (b *brute) under(place, area int64) bool {
	for p := place; p != 0; p = b.parent[p] {
		if p == area {
			return true
		}
	}
	return false
}

// counts are the figures the forms show, by name: "visits", "citizens",
// "done:<service>" (citizens helped with it for the first time), "logs:<service>"
// (logs where it was done), "barrier:<code>", "sessions", "attendees",
// "women", "minority", "elderly".
type counts map[string]float64

// count adds up the raw rows in [from, to] whose place and team pass in.
// A citizen counts at their first live log ever (day, then id), and for a
// service at their first log where it was done.
func (b *brute) count(from, to string, in func(team, place int64) bool) counts {
	out := counts{}
	first := map[string]bruteLog{}
	better := func(k string, l bruteLog) {
		if f, ok := first[k]; !ok || l.day < f.day || (l.day == f.day && l.id < f.id) {
			first[k] = l
		}
	}
	for _, l := range b.logs {
		if l.ref != "" {
			better("*|"+l.ref, l)
		}
		for _, o := range l.outcomes {
			if l.ref != "" && o.Result == "done" {
				better(o.Service+"|"+l.ref, l)
			}
		}
		if l.day < from || l.day > to || !in(l.team, l.place) {
			continue
		}
		out["visits"]++
		for _, o := range l.outcomes {
			if o.Result == "done" {
				out["logs:"+o.Service]++
			}
			if o.Barrier != "" {
				out["barrier:"+o.Barrier]++
			}
		}
	}
	for k, l := range first {
		if l.day < from || l.day > to || !in(l.team, l.place) {
			continue
		}
		svc, _, _ := strings.Cut(k, "|")
		if svc == "*" {
			out["citizens"]++
		} else {
			out["done:"+svc]++
		}
	}
	for _, x := range b.sess {
		if x.day < from || x.day > to || !in(x.team, x.place) {
			continue
		}
		out["sessions"]++
		out["attendees"] += x.attendees
		out["women"] += x.women
		out["minority"] += x.minority
		out["elderly"] += x.elderly
	}
	return out
}

// helped reports whether citizen k has a live log.
func (b *brute) helped(w *world, k int) bool {
	for _, l := range b.logs {
		if c, ok := w.citizen[l.id]; ok && c == k {
			return true
		}
	}
	return false
}

// in is a filter: the places under area.
func (b *brute) inArea(area int64) func(team, place int64) bool {
	return func(_, place int64) bool { return b.under(place, area) }
}
