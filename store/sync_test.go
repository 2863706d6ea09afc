package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// steppingClock advances by step on every reading: deterministic time for
// deadline tests.
type steppingClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *steppingClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

// syncFixture is a store with one team and one member.
func syncFixture(t testing.TB, now func() time.Time) (*Store, Actor) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, testDB(t, "toso.db"), Options{Now: now, CitizenKey: "k-0123456789abcdef0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	p, err := s.CreateArea(ctx, System, NewArea{Level: "province", Name: "P", Code: "98"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.CreateArea(ctx, System, NewArea{ParentID: p.ID, Level: "village", Name: "V"})
	if err != nil {
		t.Fatal(err)
	}
	tm, err := s.CreateTeam(ctx, System, NewTeam{AreaID: v.ID, Name: "T"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, System, NewUser{Phone: "0911111111", Name: "M", Role: RoleMember, TeamID: tm.ID, Password: "password-m"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Actor(ctx, u.ID, "00000000-0000-4000-8000-000000000001")
	if err != nil {
		t.Fatal(err)
	}
	return s, a
}

func logMutation(mid int64) Mutation {
	return Mutation{Mid: mid, Table: "assistance_logs", Op: "create", ID: fmt.Sprintf("01930000-0000-7000-8000-%012d", mid),
		Fields: map[string]json.RawMessage{
			"occurred_at": json.RawMessage(`"2020-01-01T00:00:00Z"`),
			"outcomes":    json.RawMessage(`[{"service":"vneid_l1","result":"done"}]`),
		}}
}

// A temporary fault (here: the soft deadline passing) leaves the later
// mutations unprocessed; the response says how far it got, and a retry of
// the whole batch finishes it without applying anything twice.
func TestPushStopsAtSoftDeadlineAndResumes(t *testing.T) {
	clock := &steppingClock{t: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), step: time.Second}
	s, a := syncFixture(t, clock.now)
	ctx := context.Background()
	var muts []Mutation
	for i := int64(1); i <= 20; i++ {
		muts = append(muts, logMutation(i))
	}
	first, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: muts, SoftDeadline: clock.now().Add(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	n := len(first.Results)
	if n == 0 || n == len(muts) || first.RetryAfter == 0 {
		t.Fatalf("processed %d of %d with retry_after %d; want a partial batch and a retry_after", n, len(muts), first.RetryAfter)
	}
	if got, want := first.LastMid, muts[n-1].Mid; got != want {
		t.Errorf("last_mid = %d, want %d", got, want)
	}
	second, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: muts})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first.Results, second.Results[:n]); diff != "" {
		t.Errorf("replayed results (-first +second):\n%s", diff)
	}
	var count int
	s.read.QueryRow(`SELECT count(*) FROM assistance_logs`).Scan(&count)
	if count != len(muts) || second.LastMid != 20 || second.RetryAfter != 0 {
		t.Errorf("logs = %d, last_mid = %d, retry_after = %d; want %d, 20, 0", count, second.LastMid, second.RetryAfter, len(muts))
	}
}

// Device clocks are data: a log dated years in the past is stored as given
// and does not change what a pull returns or in which order.
func TestOccurredAtStoredAsGiven(t *testing.T) {
	s, a := syncFixture(t, nil)
	ctx := context.Background()
	m := logMutation(1)
	m.Fields["occurred_at"] = json.RawMessage(`"2019-02-03T04:05:06+07:00"`)
	if _, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: []Mutation{m}}); err != nil {
		t.Fatal(err)
	}
	var got string
	s.read.QueryRow(`SELECT occurred_at FROM assistance_logs`).Scan(&got)
	if want := "2019-02-03T04:05:06+07:00"; got != want {
		t.Errorf("occurred_at = %q, want %q", got, want)
	}
}

func TestForwardStatus(t *testing.T) {
	cases := []struct {
		from, to string
		want     bool
	}{
		{"planned", "held", true}, {"planned", "reported", true}, {"held", "reported", true}, {"reported", "locked", true},
		{"held", "planned", false}, {"reported", "held", false}, {"locked", "reported", false},
		{"planned", "cancelled", true}, {"held", "cancelled", true}, {"reported", "cancelled", false},
		{"cancelled", "planned", false}, {"cancelled", "held", false},
	}
	for _, c := range cases {
		if got := forwardStatus(c.from, c.to); got != c.want {
			t.Errorf("forwardStatus(%s, %s) = %v, want %v", c.from, c.to, got, c.want)
		}
	}
}

func TestCitizenRefNormalizes(t *testing.T) {
	s, _ := syncFixture(t, nil)
	ref := func(field, v string) string {
		r, set, rej := s.citizenFields(map[string]json.RawMessage{field: json.RawMessage(fmt.Sprintf("%q", v))})
		if rej != nil || !set {
			t.Fatalf("%s %q rejected: %+v", field, v, rej)
		}
		return r
	}
	if a, b := ref("citizen_phone", "+84 912 345 678"), ref("citizen_phone", "0912.345.678"); a != b {
		t.Errorf("two spellings of one phone give %s and %s", a, b)
	}
	if a, b := ref("citizen_id_number", "038 090 001 234"), ref("citizen_id_number", "038090001234"); a != b {
		t.Errorf("two spellings of one ID number give %s and %s", a, b)
	}
	if a, b := ref("citizen_id_number", "038090001234"), ref("citizen_phone", "0380900012"); a == b {
		t.Errorf("an ID number and a phone share a ref")
	}
}

func TestDigestIsOrderIndependent(t *testing.T) {
	terms := []uint64{DigestTerm("a", "1", 5), DigestTerm("b", "2", 7), DigestTerm("a", "3", 9)}
	fwd := terms[0] + terms[1] + terms[2]
	rev := terms[2] + terms[1] + terms[0]
	if fwd != rev {
		t.Errorf("sum depends on order")
	}
	if DigestTerm("a", "1", 5) == DigestTerm("a", "1", 6) {
		t.Errorf("a new version does not change the term")
	}
}

func TestParseCursor(t *testing.T) {
	cases := []struct {
		in      string
		v       int64
		tag     string
		horizon int64
		wantErr bool
	}{
		{"", 0, "", 0, false}, {"9050", 9050, "", 0, false}, {"77.12", 77, "12", 0, false}, {"-1", 0, "", 0, true},
		{"abc", 0, "", 0, true}, {"40~90", 40, "", 90, false}, {"40.ab~90", 40, "ab", 90, false}, {"40~", 0, "", 0, true},
		{"40~x", 0, "", 0, true}, {"40~0", 0, "", 0, true},
	}
	for _, c := range cases {
		v, tag, h, err := parseCursor(c.in)
		if (err != nil) != c.wantErr || v != c.v || tag != c.tag || h != c.horizon {
			t.Errorf("parseCursor(%q) = %d, %q, %d, %v; want %d, %q, %d, error %v", c.in, v, tag, h, err, c.v, c.tag, c.horizon, c.wantErr)
		}
	}
}

// A new phone pulls a team scope of several pages after a tombstone prune:
// its page cursors are old rows' seqs, below the horizon. They must lead on
// to the next page, not to a reset (which started the scope again at 0,
// forever). A prune between two pages moves the horizon: then the scope
// starts again, since tombstones its first page needed may be gone.
func TestPagedPullBelowTheHorizon(t *testing.T) {
	s, a := syncFixture(t, nil)
	ctx := context.Background()
	var muts []Mutation
	for i := int64(1); i <= 30; i++ {
		m := logMutation(i)
		m.Fields["occurred_at"] = json.RawMessage(`"` + time.Now().UTC().Add(-time.Hour).Format(time.RFC3339) + `"`)
		muts = append(muts, m)
	}
	push := func(ms ...Mutation) {
		t.Helper()
		res, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: ms})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Results {
			if r.Status != StatusApplied {
				t.Fatalf("push: %+v", r)
			}
		}
	}
	push(muts...)
	push(Mutation{Mid: 31, Table: "assistance_logs", Op: "delete", ID: muts[0].ID})
	prune := func() {
		t.Helper()
		if err := s.PruneSync(ctx, time.Now().Add(TombstoneHorizon+24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	prune()
	team := teamScope(a.TeamID)
	pullAll := func(between func()) (logs int, resets int, pages int) {
		t.Helper()
		cursors := map[string]string{}
		for pages = 1; pages <= 20; pages++ {
			r, err := s.Pull(ctx, a, PullRequest{DeviceID: a.DeviceID, Cursors: cursors, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, sc := range r.Resets {
				if sc == team {
					resets++
				}
			}
			more := false
			for name, sc := range r.Scopes {
				cursors[name] = sc.Cursor
				more = more || sc.HasMore
			}
			for _, c := range r.Scopes[team].Changes {
				if c.Table == "assistance_logs" && c.Op == "put" {
					logs++
				}
			}
			if !more {
				return logs, resets, pages
			}
			if between != nil && r.Scopes[team].Cursor != "0" {
				between()
				between = nil
			}
		}
		t.Fatalf("the pull did not finish in 20 pages of 10 (cursors %v, %d resets)", cursors, resets)
		return
	}
	if logs, resets, pages := pullAll(nil); logs != 29 || resets != 0 || pages < 3 {
		t.Errorf("a new phone: %d logs in %d pages, %d resets; want 29 logs in 3 pages or more, no reset", logs, pages, resets)
	}
	// A prune between the first and the second page resets the scope once.
	n := int64(40)
	_, resets, _ := pullAll(func() {
		m := logMutation(n)
		m.Fields["occurred_at"] = muts[1].Fields["occurred_at"]
		push(Mutation{Mid: 32, Table: m.Table, Op: m.Op, ID: m.ID, Fields: m.Fields},
			Mutation{Mid: 33, Table: "assistance_logs", Op: "delete", ID: m.ID})
		prune()
	})
	if resets != 1 {
		t.Errorf("a prune between pages: %d resets, want 1", resets)
	}
}

// A push's run of log creates is applied with a few INSERTs (createLogs),
// and each mutation still gets what it would one by one: a create its
// checks refuse is rejected alone, a second create of an id in the run and
// a create of an id stored before change that row (audited as updates),
// and a row the database refuses (here a trigger, standing for a CHECK the
// parser did not foresee) is rejected alone while the others apply once.
func TestPushLogRunMatchesOneByOne(t *testing.T) {
	s, a := syncFixture(t, nil)
	ctx := context.Background()
	refuse := `CREATE TRIGGER refuse_boom BEFORE INSERT ON assistance_logs WHEN NEW.notes = 'boom'
		BEGIN SELECT RAISE(ABORT, 'refused'); END`
	if s.pg {
		refuse = `CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF NEW.notes = 'boom' THEN RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END IF;
				RETURN NEW;
			END $$;
			CREATE TRIGGER refuse_boom BEFORE INSERT ON assistance_logs FOR EACH ROW EXECUTE FUNCTION refuse_boom()`
	}
	if err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, refuse)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: []Mutation{logMutation(1)}}); err != nil || r.Results[0].Status != StatusApplied {
		t.Fatalf("first push: %+v, %v", r, err)
	}
	notes := func(m Mutation, n string) Mutation {
		m.Fields = maps.Clone(m.Fields)
		m.Fields["notes"] = json.RawMessage(`"` + n + `"`)
		return m
	}
	again := func(m Mutation, mid int64) Mutation { m.Mid = mid; return m }
	otherTeam := logMutation(4)
	otherTeam.Fields = maps.Clone(otherTeam.Fields)
	otherTeam.Fields["team_id"] = json.RawMessage(`999`)
	pushes := [][]Mutation{{
		notes(logMutation(2), "a"),
		notes(again(logMutation(1), 3), "stored before"), // id of mid 1
		otherTeam,
		notes(again(logMutation(2), 5), "again in the run"), // id of mid 2
		notes(logMutation(6), "b"),
	}, {
		notes(logMutation(7), "c"),
		notes(logMutation(8), "boom"),
		notes(logMutation(9), "d"),
	}}
	wants := [][]string{
		{"2 applied/", "3 applied/", "4 rejected/forbidden", "5 applied/", "6 applied/"},
		{"7 applied/", "8 rejected/validation_failed", "9 applied/"},
		nil,
	}
	// 70 creates: the first 64 go in with one statement, the refused one
	// sits in the next: it and the rows after it go one by one, the
	// first 64 stay created.
	var long []Mutation
	for mid := int64(10); mid < 80; mid++ {
		n := "ok"
		if mid == 77 {
			n = "boom"
		}
		long = append(long, notes(logMutation(mid), n))
		status := "applied/"
		if mid == 77 {
			status = "rejected/validation_failed"
		}
		wants[2] = append(wants[2], fmt.Sprintf("%d %s", mid, status))
	}
	pushes = append(pushes, long)
	for k, muts := range pushes {
		for run := 0; run < 2; run++ { // the second time, every result comes from the stored ones
			res, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: muts})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.Results {
				got = append(got, fmt.Sprintf("%d %s/%s", r.Mid, r.Status, r.Code))
			}
			if last := muts[len(muts)-1].Mid; !cmp.Equal(got, wants[k]) || res.LastMid != last {
				t.Fatalf("push %d, run %d: results %v, last_mid %d; want %v, %d", k, run, got, res.LastMid, wants[k], last)
			}
		}
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id, notes FROM assistance_logs ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var logs []string
	for rows.Next() {
		var id, n string
		rows.Scan(&id, &n)
		logs = append(logs, id[len(id)-2:]+" "+n)
	}
	rows.Close()
	if len(logs) != 5+69 {
		t.Fatalf("%d logs, want %d", len(logs), 5+69)
	}
	if want := []string{"01 stored before", "02 again in the run", "06 b", "07 c", "09 d"}; !cmp.Equal(logs[:5], want) {
		t.Errorf("logs %v, want %v", logs, want)
	}
	for id, want := range map[string][]string{"01": {"create/1", "update/3"}, "02": {"create/2", "update/5"}, "06": {"create/6"}, "09": {"create/9"},
		"10": {"create/10"}, "73": {"create/73"}, "76": {"create/76"}, "79": {"create/79"}} {
		trail, err := s.AuditTrail(ctx, "assistance_logs", "01930000-0000-7000-8000-0000000000"+id)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range trail {
			got = append(got, fmt.Sprintf("%s/%d", e.Action, e.Mid))
		}
		if !cmp.Equal(got, want) {
			t.Errorf("log %s: audit trail %v, want %v", id, got, want)
		}
	}
	checkDigestsMatchScan(t, s, "after the runs")
}
