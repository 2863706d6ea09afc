package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/google/uuid"

	"toso/store"
)

// ActivityMonths is how far back the demo activity reaches.
const ActivityMonths = 4

// provinceIDCode is Thái Nguyên's prefix on citizen ID cards (CCCD).
const provinceIDCode = "019"

var vnZone = time.FixedZone("ICT", 7*3600)

// Activity fills the last ActivityMonths months up to today with what the
// teams of p would have synced: assistance logs, training sessions moving
// from planned to held to reported with their attendees, and progress
// reports, each member pushing from their own device through store.Push,
// the path the phones use. Coordinators then lock a few reviewed logs. The
// content is determined by rng; the dates are relative to today.
func Activity(ctx context.Context, st *store.Store, p *Province, rng *rand.Rand) error {
	return activity(ctx, st, p, rng, time.Now())
}

// phoneUser is one member with their device and outbox.
type phoneUser struct {
	id     int64
	device string
	mid    int64
	muts   []store.Mutation
}

func (u *phoneUser) add(tbl, op, id string, base int64, f map[string]any) {
	fields := make(map[string]json.RawMessage, len(f))
	for k, v := range f {
		b, _ := json.Marshal(v)
		fields[k] = b
	}
	u.mid++
	u.muts = append(u.muts, store.Mutation{Mid: u.mid, Table: tbl, Op: op, ID: id, BaseVersion: base, Fields: fields})
}

// citizen is someone a team may help, identified the way the phone would.
type citizen struct {
	idNumber, phone string
	gender, ageBand string
	minority        bool
	name            string
}

type activityGen struct {
	rng        *rand.Rand
	now, start time.Time
	end        time.Time // the current team's last day of activity: now, or earlier for a quiet team
}

func activity(ctx context.Context, st *store.Store, p *Province, rng *rand.Rand, now time.Time) error {
	g := &activityGen{rng: rng, now: now.In(vnZone), start: now.In(vnZone).AddDate(0, -ActivityMonths, 0)}
	var all []*phoneUser
	var oldLogs [][]string // per commune: logs older than a month, for locking
	k := 0                 // villages so far
	for _, c := range p.Communes {
		pool := make([]citizen, 0, 64) // citizens seen in the commune, for repeat visits
		var old []string
		for _, v := range c.Villages {
			g.end = g.now
			if k++; quiet(k - 1) {
				g.end = g.now.AddDate(0, 0, -quietDays)
			}
			members := []*phoneUser{g.user(v.LeadID)}
			for _, id := range v.MemberIDs {
				members = append(members, g.user(id))
			}
			for _, m := range members {
				for range 6 + rng.IntN(12) {
					var ct citizen
					if len(pool) > 0 && rng.IntN(100) < 12 {
						ct = pool[rng.IntN(len(pool))] // helped again, maybe by another team
					} else {
						ct = g.citizen()
						pool = append(pool, ct)
					}
					id, at := g.log(m, v, ct)
					if at.Before(g.now.AddDate(0, -1, 0)) {
						old = append(old, id)
					}
				}
			}
			g.sessions(members[0], v)
			if rng.IntN(3) == 0 && g.end.Equal(g.now) {
				g.progress(members[0])
			}
			all = append(all, members...)
		}
		oldLogs = append(oldLogs, old)
	}
	for _, u := range all {
		if err := pushAll(ctx, st, u); err != nil {
			return err
		}
	}
	for i, c := range p.Communes {
		a, err := st.Actor(ctx, c.CoordinatorID, "")
		if err != nil {
			return err
		}
		for k := 0; k < 3 && len(oldLogs[i]) > 0; k++ {
			if err := st.LockLog(ctx, a, oldLogs[i][rng.IntN(len(oldLogs[i]))], true); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
	}
	return targets(ctx, st, p, now)
}

// pushAll pushes a user's outbox in batches, as the phone does, and insists
// every mutation was applied: a rejection is a bug in the generator.
func pushAll(ctx context.Context, st *store.Store, u *phoneUser) error {
	a, err := st.Actor(ctx, u.id, u.device)
	if err != nil {
		return err
	}
	for len(u.muts) > 0 {
		n := min(len(u.muts), store.MaxPushMutations)
		res, err := st.Push(ctx, a, store.PushRequest{DeviceID: u.device, AppVersion: "1.0.0", Mutations: u.muts[:n]})
		if err != nil {
			return fmt.Errorf("push for user %d: %w", u.id, err)
		}
		for _, r := range res.Results {
			if r.Status != store.StatusApplied && r.Status != store.StatusMerged {
				return fmt.Errorf("user %d mid %d (%s %s): %s %s %v", u.id, r.Mid, u.muts[r.Mid-u.muts[0].Mid].Table, u.muts[r.Mid-u.muts[0].Mid].Op, r.Status, r.Code, r.Fields)
			}
		}
		if len(res.Results) < n {
			return fmt.Errorf("push for user %d stopped early at mid %d", u.id, res.LastMid)
		}
		u.muts = u.muts[n:]
	}
	return nil
}

func (g *activityGen) uuid() string {
	var b [16]byte
	for i := range 2 {
		x := g.rng.Uint64()
		for k := range 8 {
			b[i*8+k] = byte(x >> (8 * k))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return uuid.UUID(b).String()
}

func (g *activityGen) user(id int64) *phoneUser { return &phoneUser{id: id, device: g.uuid()} }

// when is a working-hours moment between from and to, in Vietnam's time.
func (g *activityGen) when(from, to time.Time) time.Time {
	days := int(to.Sub(from).Hours() / 24)
	d := from.AddDate(0, 0, g.rng.IntN(max(days, 1)))
	t := time.Date(d.Year(), d.Month(), d.Day(), 7+g.rng.IntN(11), g.rng.IntN(60), 0, 0, vnZone)
	if t.After(g.now) {
		t = g.now.Add(-time.Duration(1+g.rng.IntN(120)) * time.Minute)
	}
	return t
}

// citizen draws a person: a 12-digit ID card number (province, then the
// gender-and-century digit, then the birth year's last two digits), or for
// some only a mobile number.
func (g *activityGen) citizen() citizen {
	rng := g.rng
	c := citizen{gender: "female", minority: rng.IntN(100) < 22}
	if rng.IntN(100) < 47 {
		c.gender = "male"
	}
	// Who asks for help skews old: many are past 45.
	age := []int{17, 22, 30, 40, 52, 68}[pickIndex(rng, []int{4, 12, 16, 18, 24, 26})] + rng.IntN(8) - 3
	year := g.now.Year() - age
	c.ageBand = ageBand(age)
	digit := (year/100 - 19) * 2
	if c.gender == "female" {
		digit++
	}
	if rng.IntN(100) < 85 {
		c.idNumber = fmt.Sprintf("%s%d%02d%06d", provinceIDCode, digit, year%100, rng.IntN(1000000))
	} else {
		c.phone = fmt.Sprintf("0%d%08d", []int{3, 8, 9, 7}[rng.IntN(4)]*10+rng.IntN(10), rng.IntN(100000000))
		c.phone = c.phone[:10]
	}
	c.name = personName(rng, c.gender)
	return c
}

func ageBand(age int) string {
	switch {
	case age < 15:
		return "under_15"
	case age < 25:
		return "15_24"
	case age < 35:
		return "25_34"
	case age < 45:
		return "35_44"
	case age < 60:
		return "45_59"
	}
	return "60_plus"
}

func pickIndex(rng *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

// services people come for, weighted; done is the percentage done.
var services = []struct {
	code         string
	weight, done int
}{
	{"vneid_l2", 30, 72}, {"vneid_l1", 8, 85}, {"public_service_account", 10, 70},
	{"public_service_submission", 8, 55}, {"payment_account", 10, 65}, {"cashless_payment", 8, 70},
	{"smartphone_basics", 10, 80}, {"skill_public_services", 6, 75}, {"skill_online_safety", 4, 85},
	{"skill_online_payment", 4, 70}, {"ehealth", 6, 60}, {"social_insurance_app", 6, 60},
	{"online_store", 2, 40}, {"skill_online_shopping", 2, 75}, {"skill_local_platforms", 2, 70},
}

// log queues one assistance log for m, returning its id and moment.
func (g *activityGen) log(m *phoneUser, v Village, c citizen) (string, time.Time) {
	rng := g.rng
	at := g.when(g.start, g.end)
	weights := make([]int, len(services))
	for i, s := range services {
		weights[i] = s.weight
	}
	var outcomes []store.Outcome
	seen := map[int]bool{}
	for range 1 + pickIndex(rng, []int{55, 30, 15}) {
		i := pickIndex(rng, weights)
		if seen[i] {
			continue
		}
		seen[i] = true
		o := store.Outcome{Service: services[i].code, Result: "done"}
		switch n := rng.IntN(100); {
		case n >= services[i].done+(100-services[i].done)/3:
			o.Result, o.Barrier = "not_done", g.barrier(c)
		case n >= services[i].done:
			o.Result = "partial"
			if rng.IntN(2) == 0 {
				o.Barrier = g.barrier(c)
			}
		}
		outcomes = append(outcomes, o)
	}
	f := map[string]any{
		"team_id": nil, "village_id": v.ID, "occurred_at": at.Format(time.RFC3339),
		"age_band": c.ageBand, "gender": c.gender, "minority": c.minority,
		"disability": rng.IntN(100) < 3, "outcomes": outcomes,
	}
	delete(f, "team_id") // the server takes the member's team
	if c.idNumber != "" {
		f["citizen_id_number"] = c.idNumber
	} else {
		f["citizen_phone"] = c.phone
	}
	if rng.IntN(100) < 60 {
		f["consent"], f["citizen_name"] = true, c.name
	}
	id := g.uuid()
	m.add("assistance_logs", "create", id, 0, f)
	return id, at
}

// barrier is why a service could not be done, given who the citizen is.
func (g *activityGen) barrier(c citizen) string {
	if c.ageBand == "60_plus" && g.rng.IntN(100) < 55 {
		return "elderly_or_disabled"
	}
	codes := []string{"no_smartphone", "sim_not_own_name", "data_mismatch", "working_away", "no_signal", "declined", "other"}
	return codes[pickIndex(g.rng, []int{26, 22, 16, 10, 12, 8, 6})]
}

var sessionTopics = []string{"binh_dan_hoc_vu_so", "vneid_l2", "skill_public_services", "skill_online_safety",
	"skill_online_payment", "smartphone_basics", "ehealth"}

// sessions queues the lead's training sessions: past ones held (and, after
// a week, reported) with their attendees, upcoming ones still planned.
func (g *activityGen) sessions(lead *phoneUser, v Village) {
	rng := g.rng
	for range 2 + rng.IntN(3) {
		id := g.uuid()
		sched := g.when(g.start, g.end.AddDate(0, 0, 21))
		if !g.end.Equal(g.now) {
			sched = g.when(g.start, g.end) // a quiet team plans nothing more
		} else if rng.IntN(4) == 0 {
			sched = g.now.AddDate(0, 0, 1+rng.IntN(20)) // upcoming
			sched = time.Date(sched.Year(), sched.Month(), sched.Day(), 8+rng.IntN(8), 0, 0, 0, vnZone)
		}
		topics := []string{sessionTopics[rng.IntN(len(sessionTopics))]}
		if t := sessionTopics[rng.IntN(len(sessionTopics))]; t != topics[0] {
			topics = append(topics, t)
		}
		lead.add("training_sessions", "create", id, 0, map[string]any{
			"status": "planned", "place": "Nhà văn hóa " + v.Name, "topics": topics,
			"scheduled_at": sched.Format(time.RFC3339),
		})
		if sched.After(g.now) {
			continue
		}
		n := 12 + rng.IntN(30)
		women := n * (45 + rng.IntN(20)) / 100
		lead.add("training_sessions", "patch", id, 0, map[string]any{
			"status": "held", "held_at": sched.Format(time.RFC3339),
			"attendees": n, "women": women, "minority": n * rng.IntN(40) / 100, "elderly": n * (10 + rng.IntN(30)) / 100,
			"facilitators": []string{personName(rng, "female")},
		})
		for range 3 + rng.IntN(4) {
			c := g.citizen()
			f := map[string]any{"session_id": id, "name": c.name, "consent": true, "gender": c.gender,
				"age_band": c.ageBand, "minority": c.minority}
			if c.idNumber != "" && rng.IntN(2) == 0 {
				f["citizen_id_number"] = c.idNumber
			}
			lead.add("session_attendees", "create", g.uuid(), 0, f)
		}
		if g.now.Sub(sched) > 7*24*time.Hour {
			lead.add("training_sessions", "patch", id, 0, map[string]any{"status": "reported"})
		}
	}
}

// progress queues month-end counts of VNeID level-2 activations.
func (g *activityGen) progress(lead *phoneUser) {
	total := 0
	for m := ActivityMonths - 1; m >= 1; m-- {
		first := time.Date(g.now.Year(), g.now.Month(), 1, 0, 0, 0, 0, vnZone).AddDate(0, -m+1, 0)
		total += 10 + g.rng.IntN(40)
		lead.add("progress_reports", "create", g.uuid(), 0, map[string]any{
			"indicator": "vneid_l2_activated", "as_of": first.AddDate(0, 0, -1).Format(time.DateOnly),
			"value": total, "note": "Tổng hợp cuối tháng " + strconv.Itoa(int(first.AddDate(0, 0, -1).Month())),
		})
	}
}
