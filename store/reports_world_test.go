package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// reportWorld is a store with a small tree that had a 2025 merger, teams,
// users of every role, and random activity written through Push (so the
// rollup triggers run exactly as in production):
//
//	province P
//	├── commune A ── villages A1 (team TA1), A2 (team TA2); team TAC on A itself
//	├── commune B ── village B1 (team TB1)
//	└── old commune O (until 2025-06-30) ── villages O1 (team TO1), O2 (team TO2)
//
// Lineage: O → A 0.6, O → B 0.4, and O1 → A1 1.0 (the deeper edge wins for O1).
type reportWorld struct {
	t      *testing.T
	s      *Store
	ctx    context.Context
	rng    *rand.Rand
	areas  map[string]*Area
	teams  map[string]*Team
	actors map[string]Actor // by user key: m_<team>, lead_TA1, coordA, coordP, admin
	mids   map[string]int64
	logs   []worldRow // created rows: id, author key
	sess   []worldRow
	prog   []worldRow
	seq    int
}

type worldRow struct {
	id, author, team string
}

var worldNow = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

func newReportWorld(t *testing.T, seed uint64) *reportWorld {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, testDB(t, "toso.db"), Options{Now: func() time.Time { return worldNow },
		CitizenKey: "k-0123456789abcdef0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	w := &reportWorld{t: t, s: s, ctx: ctx, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		areas: map[string]*Area{}, teams: map[string]*Team{}, actors: map[string]Actor{}, mids: map[string]int64{}}
	area := func(key, parent, level string, pop int64, validTo string) {
		n := NewArea{Level: level, Name: key, Population: pop, Adults: pop * 7 / 10, WorkingAge: pop * 6 / 10, Households: pop / 4, ValidTo: validTo}
		if parent != "" {
			n.ParentID = w.areas[parent].ID
		}
		a, err := s.CreateArea(ctx, System, n)
		if err != nil {
			t.Fatal(err)
		}
		w.areas[key] = a
	}
	area("P", "", "province", 100000, "")
	area("A", "P", "commune", 20000, "")
	area("A1", "A", "village", 3000, "")
	area("A2", "A", "village", 2500, "")
	area("B", "P", "commune", 15000, "")
	area("B1", "B", "village", 4000, "")
	area("O", "P", "commune", 9000, "2025-06-30")
	area("O1", "O", "village", 2000, "2025-06-30")
	area("O2", "O", "village", 1800, "2025-06-30")
	for _, l := range []Lineage{{w.areas["O"].ID, w.areas["A"].ID, 0.6, "2025-07-01"},
		{w.areas["O"].ID, w.areas["B"].ID, 0.4, "2025-07-01"}, {w.areas["O1"].ID, w.areas["A1"].ID, 1, "2025-07-01"}} {
		if err := s.AddLineage(ctx, System, l); err != nil {
			t.Fatal(err)
		}
	}
	phone := 0
	user := func(key string, n NewUser) {
		phone++
		n.Phone, n.Name, n.Password = fmt.Sprintf("09%08d", phone), key, "password-"+key
		u, err := s.CreateUser(ctx, System, n)
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.Actor(ctx, u.ID, fmt.Sprintf("00000000-0000-4000-8000-%012d", phone))
		if err != nil {
			t.Fatal(err)
		}
		w.actors[key] = a
	}
	for _, tm := range []struct{ key, area string }{{"TA1", "A1"}, {"TA2", "A2"}, {"TAC", "A"}, {"TB1", "B1"}, {"TO1", "O1"}, {"TO2", "O2"}} {
		team, err := s.CreateTeam(ctx, System, NewTeam{AreaID: w.areas[tm.area].ID, Name: tm.key})
		if err != nil {
			t.Fatal(err)
		}
		w.teams[tm.key] = team
		user("m_"+tm.key, NewUser{Role: RoleMember, TeamID: team.ID})
	}
	user("m2_TA1", NewUser{Role: RoleMember, TeamID: w.teams["TA1"].ID})
	user("lead_TA1", NewUser{Role: RoleTeamLead, TeamID: w.teams["TA1"].ID})
	user("coordA", NewUser{Role: RoleCoordinator, AreaID: w.areas["A"].ID})
	user("coordB", NewUser{Role: RoleCoordinator, AreaID: w.areas["B"].ID})
	user("coordP", NewUser{Role: RoleCoordinator, AreaID: w.areas["P"].ID})
	return w
}

// push sends one mutation as the user and returns its result.
func (w *reportWorld) push(key string, m Mutation) Result {
	w.t.Helper()
	a := w.actors[key]
	w.mids[key]++
	m.Mid = w.mids[key]
	resp, err := w.s.Push(w.ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: []Mutation{m}})
	if err != nil {
		w.t.Fatalf("push %s %s: %v", m.Table, m.Op, err)
	}
	return resp.Results[0]
}

// pushMany pushes ms in one push of the actor's device.
func (w *reportWorld) pushMany(key string, ms ...Mutation) []Result {
	w.t.Helper()
	a := w.actors[key]
	for i := range ms {
		w.mids[key]++
		ms[i].Mid = w.mids[key]
	}
	resp, err := w.s.Push(w.ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: ms})
	if err != nil {
		w.t.Fatalf("push: %v", err)
	}
	return resp.Results
}

func (w *reportWorld) newID() string {
	w.seq++
	return fmt.Sprintf("01940000-0000-7000-8000-%012d", w.seq)
}

func fields(kv ...any) map[string]json.RawMessage {
	f := map[string]json.RawMessage{}
	for i := 0; i+1 < len(kv); i += 2 {
		b, _ := json.Marshal(kv[i+1])
		f[kv[i].(string)] = b
	}
	return f
}

var worldServices = []string{"vneid_l1", "vneid_l2", "payment_account", "skill_public_services", "online_store", "smartphone_basics"}
var worldBarriers = []string{"no_smartphone", "sim_not_own_name", "declined"}

// randomTime is a time between 2025-05-01 and 2026-02-28, at any hour, so
// the UTC+7 day boundary is crossed.
func (w *reportWorld) randomTime() string {
	start := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	return start.Add(time.Duration(w.rng.Int64N(int64(303 * 24 * time.Hour)))).Truncate(time.Minute).Format(time.RFC3339)
}

func (w *reportWorld) outcomes() []map[string]string {
	n := 1 + w.rng.IntN(3)
	perm := w.rng.Perm(len(worldServices))[:n]
	var out []map[string]string
	for _, i := range perm {
		o := map[string]string{"service": worldServices[i]}
		switch w.rng.IntN(5) {
		case 0:
			o["result"], o["barrier"] = "not_done", worldBarriers[w.rng.IntN(len(worldBarriers))]
		case 1:
			o["result"] = "partial"
		default:
			o["result"] = "done"
		}
		out = append(out, o)
	}
	return out
}

// citizen picks one of 12 citizens (so they recur across teams), or none.
func (w *reportWorld) citizen(f map[string]json.RawMessage) {
	switch k := w.rng.IntN(14); {
	case k < 12:
		b, _ := json.Marshal(fmt.Sprintf("0380900%05d", k))
		f["citizen_id_number"] = b
	case k == 12:
		b, _ := json.Marshal(fmt.Sprintf("091234%04d", w.rng.IntN(3)))
		f["citizen_phone"] = b
	}
}

var worldTeams = []string{"TA1", "TA2", "TAC", "TB1", "TO1", "TO2"}

func (w *reportWorld) villageFor(team string) any {
	switch team {
	case "TAC":
		return []any{nil, w.areas["A1"].ID, w.areas["A2"].ID}[w.rng.IntN(3)]
	case "TO1", "TO2", "TB1", "TA1", "TA2":
		if w.rng.IntN(2) == 0 {
			return w.teams[team].AreaID
		}
	}
	return nil
}

// step performs one random action.
func (w *reportWorld) step() {
	switch k := w.rng.IntN(20); {
	case k < 8: // create a log
		team := worldTeams[w.rng.IntN(len(worldTeams))]
		author := "m_" + team
		if team == "TA1" && w.rng.IntN(2) == 0 {
			author = "m2_TA1"
		}
		f := fields("occurred_at", w.randomTime(), "outcomes", w.outcomes())
		if v := w.villageFor(team); v != nil {
			f["village_id"], _ = json.Marshal(v)
		}
		w.citizen(f)
		id := w.newID()
		create := Mutation{Table: "assistance_logs", Op: "create", ID: id, Fields: f}
		switch w.rng.IntN(6) {
		case 0:
			// Created and changed in one push: the fold must not keep the
			// state the create gave it.
			patch := Mutation{Table: "assistance_logs", Op: "patch", ID: id, Fields: fields("occurred_at", w.randomTime(), "outcomes", w.outcomes())}
			if r := w.pushMany(author, create, patch); r[0].Status == StatusApplied {
				w.logs = append(w.logs, worldRow{id, author, team})
			}
			return
		case 1:
			if len(w.logs) > 0 {
				// A create sent again for a row that exists (a new mid):
				// it changes the row.
				l := w.logs[w.rng.IntN(len(w.logs))]
				w.push(l.author, Mutation{Table: "assistance_logs", Op: "create", ID: l.id, Fields: fields("outcomes", w.outcomes())})
				return
			}
		}
		if r := w.push(author, create); r.Status == StatusApplied {
			w.logs = append(w.logs, worldRow{id, author, team})
		}
	case k < 11 && len(w.logs) > 0: // patch a log
		l := w.logs[w.rng.IntN(len(w.logs))]
		f := map[string]json.RawMessage{}
		switch w.rng.IntN(4) {
		case 0:
			f = fields("occurred_at", w.randomTime())
		case 1:
			f = fields("outcomes", w.outcomes())
		case 2:
			w.citizen(f)
			if len(f) == 0 {
				f = fields("notes", "no number")
			}
		case 3:
			f = fields("village_id", w.villageFor(l.team), "occurred_at", w.randomTime(), "outcomes", w.outcomes())
		}
		w.push(l.author, Mutation{Table: "assistance_logs", Op: "patch", ID: l.id, Fields: f})
	case k == 11 && len(w.logs) > 0: // delete a log
		l := w.logs[w.rng.IntN(len(w.logs))]
		w.push(l.author, Mutation{Table: "assistance_logs", Op: "delete", ID: l.id})
	case k == 12 && len(w.logs) > 0: // a coordinator locks a log
		l := w.logs[w.rng.IntN(len(w.logs))]
		if err := w.s.LockLog(w.ctx, w.actors["coordP"], l.id, true); err != nil && !isNotFound(err) {
			w.t.Fatal(err)
		}
	case k < 16: // create or change a session
		if len(w.sess) == 0 || w.rng.IntN(2) == 0 {
			team := worldTeams[w.rng.IntN(len(worldTeams))]
			status := []string{"planned", "held", "reported"}[w.rng.IntN(3)]
			f := fields("status", status, "held_at", w.randomTime(), "topics", []string{worldServices[w.rng.IntN(len(worldServices))]},
				"attendees", 5+w.rng.IntN(20), "women", w.rng.IntN(5), "minority", w.rng.IntN(3), "elderly", w.rng.IntN(4))
			id := w.newID()
			if r := w.push("m_"+team, Mutation{Table: "training_sessions", Op: "create", ID: id, Fields: f}); r.Status == StatusApplied {
				w.sess = append(w.sess, worldRow{id, "m_" + team, team})
			}
			return
		}
		sr := w.sess[w.rng.IntN(len(w.sess))]
		switch w.rng.IntN(5) {
		case 0:
			w.push(sr.author, Mutation{Table: "training_sessions", Op: "delete", ID: sr.id})
		case 1:
			w.push("coordP", Mutation{Table: "training_sessions", Op: "patch", ID: sr.id, Fields: fields("status", "locked")})
		default:
			f := fields("attendees", w.rng.IntN(30), "women", w.rng.IntN(6), "held_at", w.randomTime(),
				"status", []string{"held", "reported", "cancelled"}[w.rng.IntN(3)],
				"topics", []string{worldServices[w.rng.IntN(len(worldServices))], "binh_dan_hoc_vu_so"})
			w.push(sr.author, Mutation{Table: "training_sessions", Op: "patch", ID: sr.id, Fields: f})
		}
	case k < 18: // a progress report (lead of TA1 or a coordinator for any team)
		team, author := "TA1", "lead_TA1"
		if w.rng.IntN(2) == 0 {
			team, author = worldTeams[w.rng.IntN(len(worldTeams))], "coordP"
		}
		day := w.randomTime()[:10]
		f := fields("indicator", "households_fibre", "as_of", day, "value", float64(w.rng.IntN(50))/2, "team_id", w.teams[team].ID)
		id := w.newID()
		if r := w.push(author, Mutation{Table: "progress_reports", Op: "create", ID: id, Fields: f}); r.Status == StatusApplied {
			w.prog = append(w.prog, worldRow{id, author, team})
		}
	case len(w.prog) > 0: // a coordinator voids (or restores) a report
		p := w.prog[w.rng.IntN(len(w.prog))]
		w.push("coordP", Mutation{Table: "progress_reports", Op: "patch", ID: p.id, Fields: fields("void", w.rng.IntN(3) > 0)})
	}
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
