package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"toso/phone"
	"toso/store"
)

// The randomized sync simulation of SYNC.md ("What the tests must prove"):
// phones of members, leads and coordinators, each with its own SQLite
// database and outbox, against the real HTTP server through a faulty
// network, driven step by step from one seeded RNG. Seeds run in parallel
// (-sim.parallel N, default 2), each on unsynced databases with cheap password hashes
// (store.Options.Simulation): about 2 CPU-seconds a seed at 300 steps.
// Replay a seed with
//
//	go test ./server -run TestSyncSimulation -sim.seed=N
var (
	simSeed     = flag.Uint64("sim.seed", 0, "replay this simulation seed")
	simSeeds    = flag.Int("sim.seeds", 0, "number of simulation seeds (default: a short run)")
	simSteps    = flag.Int("sim.steps", 0, "steps per simulation seed")
	simFirst    = flag.Uint64("sim.first", 0, "with -sim.seeds: the first seed (default: from the clock)")
	simParallel = flag.Int("sim.parallel", 2, "seeds run at once")
)

// simPlan is the seeds and steps a simulation test runs: by default seeds
// first and first+1 at steps (one seed at shortSteps under -short), fixed so
// a landing never depends on the clock; -sim.seeds runs that many new seeds
// (from the clock, or -sim.first), -sim.seed replays one, -sim.steps sets
// the steps.
func simPlan(first uint64, seeds, steps, shortSteps int) (uint64, int, int) {
	if testing.Short() {
		seeds, steps = 1, shortSteps
	}
	if *simSeeds > 0 {
		seeds = *simSeeds
		first = uint64(time.Now().UnixNano()) % 1_000_000
		if *simFirst > 0 {
			first = *simFirst
		}
	}
	if *simSteps > 0 {
		steps = *simSteps
	}
	if *simSeed != 0 {
		first = *simSeed
		if *simSeeds == 0 {
			seeds = 1
		}
	}
	return first, seeds, steps
}

func TestSyncSimulation(t *testing.T) {
	first, seeds, steps := simPlan(1, 2, 250, 150)
	// -sim.parallel workers each run seeds one after the other as ordinary
	// subtests. Not t.Parallel: the testing package keeps every parallel
	// subtest (and, through its cleanups, its whole environment, ~6 MB)
	// until the last one ends, which 10,000 seeds cannot afford.
	next := make(chan uint64)
	var wg sync.WaitGroup
	for range max(1, *simParallel) {
		wg.Go(func() {
			for seed := range next {
				t.Run(fmt.Sprint(seed), func(t *testing.T) { runSeed(t, seed, steps) })
			}
		})
	}
	for i := range seeds {
		next <- first + uint64(i)
	}
	close(next)
	wg.Wait()
}

// runSeed runs one seed twice, with device clocks skewed differently, and
// checks that the server ends in the same state.
func runSeed(t *testing.T, seed uint64, steps int) {
	t.Logf("seed %d, %d steps; replay: go test ./server -run TestSyncSimulation -sim.seed=%d -sim.steps=%d", seed, steps, seed, steps)
	ok := false
	defer func() {
		if !ok {
			t.Logf("FAILED seed %d; replay: go test ./server -run TestSyncSimulation -sim.seed=%d -sim.steps=%d", seed, seed, steps)
		}
	}()
	// Property 6: the same seed with device clocks skewed by
	// different amounts into the past leaves the same server state.
	a := runSim(t, seed, steps, 0, 1)
	if t.Failed() {
		return
	}
	b := runSim(t, seed, steps, 3*365*24*time.Hour+17*time.Minute, 1)
	if diff := cmp.Diff(a, b); !t.Failed() && diff != "" {
		t.Errorf("server state depends on device clocks (-skew 0 +skew 3y):\n%s", diff)
	}
	ok = !t.Failed()
}

// simPhone is one simulated phone: a user's device with its own database,
// outbox and faulty network.
type simPhone struct {
	key     string // fixture user
	path    string
	c       *phone.Client
	ft      *phone.FaultyTransport
	skew    time.Duration // the device clock is this far in the past
	writes  map[int64]simWrite
	cursors map[string]int64 // highest cursor seq seen per scope (property 5)
	revoked bool             // the user was deactivated
}

// simWrite is what the simulation remembers of a local write.
type simWrite struct {
	table, op, id string
	session       string         // attendees: the session
	person        string         // attendees: the person's name
	fields        map[string]any // session patches and creates
	base          int64
	future        bool // occurred_at beyond the server's tolerance
	user          int64
	afterRevoke   bool
	ack           bool // receipts: an acknowledgement, not only a read
}

type sim struct {
	t     *testing.T
	e     *testEnv
	ctx   context.Context
	rng   *rand.Rand
	seed  uint64
	skew  time.Duration
	base  string
	users map[string]string // fixture key → phone number
	team  map[string]int64  // fixture key → current team (0 for coordinators)
	// phones in a fixed order: the RNG picks by index.
	phones []*simPhone
	// attack is the raw mid counter of the attacker's fixture device.
	attackMid int64
	trace     []string
	raw       *sql.DB
	// announced lists the announcements published, retracted the one
	// taken back (0 before).
	announced []int64
	retracted int64
	// other are the teams writing beside the run (two nodes), whose rows
	// the row checks leave out; 0 if none.
	other [2]int64
}

func (s *sim) logf(format string, args ...any) {
	s.trace = append(s.trace, fmt.Sprintf(format, args...))
	if len(s.trace) > 40 {
		s.trace = s.trace[1:]
	}
}

// uuid draws a UUID (version 7 layout) from the seeded RNG, so ids replay.
func (s *sim) uuid() string {
	a, b := s.rng.Uint64(), s.rng.Uint64()
	return fmt.Sprintf("%08x-%04x-7%03x-8%03x-%012x", a>>32, (a>>16)&0xffff, a&0xfff, b>>48&0xfff, b&0xffffffffffff)
}

// runSim runs one seed with device clocks skewed by skew into the past,
// checks the seven properties and returns the server state modulo device
// clocks. With nodes 2 (PostgreSQL only) a second server with a store of
// its own on the same database serves too, and every phone's requests
// alternate between the two (sim_nodes_test.go).
func runSim(t *testing.T, seed uint64, steps int, skew time.Duration, nodes int) simState {
	// Unsynced databases and cheap password hashes: durability is the crash
	// test's question, and each seed signs ten phones in.
	so := store.Options{Simulation: true}
	if nodes == 2 {
		so.CitizenKey = simNodesKey // both nodes key citizens alike, as one deployment does
	}
	e := newTestEnvWith(t, so)
	s := &sim{t: t, e: e, ctx: context.Background(), rng: rand.New(rand.NewPCG(seed, 0x5eed)), seed: seed, skew: skew,
		base: e.listen(), users: map[string]string{}, team: map[string]int64{}}
	transport := http.DefaultTransport
	stopOther := func() {}
	if nodes == 2 {
		base2, st2 := secondNode(t, e)
		transport = &alternate{hosts: [2]string{hostOf(t, s.base), hostOf(t, base2)}}
		s.other, stopOther = besideWriters(t, e, [2]*store.Store{e.store, st2})
	}
	defer func() {
		if t.Failed() {
			t.Logf("last steps of seed %d:\n%s", seed, joinLines(s.trace))
		}
	}()
	extra := []struct {
		key  string
		role store.Role
		team int64
	}{{"memberA1b", store.RoleMember, e.teamA1.ID}, {"memberA1c", store.RoleMember, e.teamA1.ID}, {"leadA2", store.RoleTeamLead, e.teamA2.ID}}
	for i, x := range extra {
		u, err := e.store.CreateUser(s.ctx, store.System, store.NewUser{Phone: fmt.Sprintf("09000002%02d", i), Name: x.key, Role: x.role, TeamID: x.team, Password: "password-" + x.key})
		if err != nil {
			t.Fatal(err)
		}
		e.users[x.key] = u
	}
	for k, u := range e.users {
		s.users[k], s.team[k] = u.Phone, u.TeamID
	}
	faults := phone.Faults{DropRequest: 0.05, DropResponse: 0.08, Duplicate: 0.05, Replay: 0.05, CutResponse: 0.05}
	for i, key := range []string{"leadA1", "memberA1", "memberA1", "memberA1b", "memberA1c", "memberA2", "leadA2", "memberB1", "coordA", "coordP"} {
		if a, ok := transport.(*alternate); ok {
			transport = &alternate{hosts: a.hosts} // one alternation per phone: it replays with the seed
		}
		ft := phone.NewFaultyTransport(transport, faults, seed*1000+uint64(i))
		p := &simPhone{key: key, path: filepath.Join(t.TempDir(), fmt.Sprintf("phone%d.db", i)), ft: ft,
			skew: skew + time.Duration(i)*time.Hour, writes: map[int64]simWrite{}, cursors: map[string]int64{}}
		s.open(p)
		s.phones = append(s.phones, p)
	}
	failed := t.Failed()
	for step := range steps {
		s.step(step, steps)
		if t.Failed() && !failed {
			stopOther()
			return simState{}
		}
	}
	stopOther()
	s.quiesce()
	s.check()
	s.summary()
	return s.state()
}

func joinLines(ss []string) string {
	out := ""
	for _, l := range ss {
		out += "  " + l + "\n"
	}
	return out
}

// open opens (or reopens, after an app restart) a phone's database and
// signs in.
func (s *sim) open(p *simPhone) {
	c, err := phone.Open(s.ctx, p.path, phone.Config{
		BaseURL: s.base, HTTP: &http.Client{Transport: p.ft}, PageLimit: 500, Unsynced: true,
		Now: func() time.Time { return time.Now().Add(-p.skew) },
	})
	if err != nil {
		s.t.Fatal(err)
	}
	p.c = c
	s.t.Cleanup(func() { c.Close() })
	s.expect(p, "login", c.Login(s.ctx, s.users[p.key], "password-"+p.key))
}

// expect accepts the errors a faulty network or a revoked account explains
// and fails on any other.
func (s *sim) expect(p *simPhone, what string, err error) {
	if err == nil || errors.Is(err, phone.ErrInjected) {
		return
	}
	var ae *phone.APIError
	if errors.As(err, &ae) && p.revoked && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden) {
		return
	}
	var rl *phone.ErrRetryLater
	if errors.As(err, &rl) {
		return
	}
	s.t.Errorf("seed %d: phone %s (%s) %s: %v", s.seed, p.key, p.c.DeviceID(), what, err)
}

// occurredAt is the device's idea of now, minus a little.
func (s *sim) occurredAt(p *simPhone) string {
	return time.Now().Add(-p.skew - time.Duration(s.rng.IntN(72*60))*time.Minute).UTC().Format(time.RFC3339)
}

var simServices = []string{"skill_public_services", "vneid_l1", "vneid_l2", "payment_account", "cashless_payment", "smartphone_basics", "ehealth"}
var simBarriers = []string{"no_smartphone", "sim_not_own_name"}

func (s *sim) write(p *simPhone, w simWrite, m phone.Mutation) {
	mid, err := p.c.Write(s.ctx, m)
	if err != nil {
		s.t.Fatal(err)
	}
	w.user = s.e.users[p.key].ID
	w.afterRevoke = p.revoked
	p.writes[mid] = w
	s.logf("%s/%d mid %d %s %s %s %s", p.key, phoneIndex(s, p), mid, m.Op, m.Table, m.ID, m.Fields)
}

func phoneIndex(s *sim, p *simPhone) int {
	for i, q := range s.phones {
		if q == p {
			return i
		}
	}
	return -1
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// summary logs what a run did, so a seed that tests little shows it.
func (s *sim) summary() {
	statuses, faults := map[string]int{}, map[string]int{}
	for _, o := range s.results() {
		k := o.w.table + " " + o.w.op + " " + o.e.Status
		if o.e.Code != "" {
			k += "/" + o.e.Code
		}
		statuses[k]++
	}
	for _, p := range s.phones {
		for k, n := range p.ft.Counts {
			faults[k] += n
		}
	}
	s.t.Logf("seed %d skew %s: results %v; faults %v", s.seed, s.skew, statuses, faults)
}
