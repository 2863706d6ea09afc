package store

import (
	"context"
	"encoding/json"
	"fmt"
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
		wantErr bool
	}{
		{"", 0, "", false}, {"9050", 9050, "", false}, {"77.12", 77, "12", false}, {"-1", 0, "", true}, {"abc", 0, "", true},
	}
	for _, c := range cases {
		v, tag, err := parseCursor(c.in)
		if (err != nil) != c.wantErr || v != c.v || tag != c.tag {
			t.Errorf("parseCursor(%q) = %d, %q, %v; want %d, %q, error %v", c.in, v, tag, err, c.v, c.tag, c.wantErr)
		}
	}
}
