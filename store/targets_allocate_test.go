package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Allocating a target needs the allocation right on the parent's area, not
// just reading it: a coordinator of a child area cannot split the
// province's target, a member of a team on a commune reads the commune's
// targets but cannot split them, and neither attempt creates a child
// target. The province's coordinator splits the quota handed to them.
func TestAllocateTargetPermission(t *testing.T) {
	w := newReportWorld(t, 5)
	province, err := w.s.CreateTarget(w.ctx, System, NewTarget{Indicator: "vneid_l2_activated", AreaID: w.areas["P"].ID,
		Period: "year", Year: 2025, Goal: 300})
	if err != nil {
		t.Fatal(err)
	}
	commune, err := w.s.CreateTarget(w.ctx, System, NewTarget{Indicator: "vneid_l2_activated", AreaID: w.areas["A"].ID,
		Period: "year", Year: 2025, Goal: 100})
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := w.s.read.QueryRow(`SELECT count(*) FROM targets`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := w.s.Target(w.ctx, w.actors["m_TAC"], commune.ID); err != nil {
		t.Fatalf("a member of the team on commune A reads its target: %v", err)
	}
	cases := []struct {
		actor  string
		target int64
		want   error
	}{
		{"coordA", province.ID, ErrNotFound},  // a child area's coordinator, above their scope
		{"coordB", commune.ID, ErrNotFound},   // a sibling's coordinator
		{"m_TAC", commune.ID, ErrForbidden},   // reads the commune's targets, may not split them
		{"m_TA1", province.ID, ErrNotFound},   // sees the province's name, not its targets
		{"lead_TA1", commune.ID, ErrNotFound}, // a lead of a village team: not their area's target
	}
	for _, c := range cases {
		before := count()
		_, err := w.s.AllocateTarget(w.ctx, w.actors[c.actor], c.target, AllocateEqual, false)
		if !errors.Is(err, c.want) {
			t.Errorf("%s allocates target %d: err = %v, want %v", c.actor, c.target, err, c.want)
		}
		if got := count(); got != before {
			t.Errorf("%s allocates target %d: %d targets, want %d (nothing created)", c.actor, c.target, got, before)
		}
	}
	kids, err := w.s.AllocateTarget(w.ctx, w.actors["coordP"], province.ID, AllocateEqual, false)
	if err != nil {
		t.Fatalf("the province's coordinator allocates its target: %v", err)
	}
	if got, want := len(kids), 3; got != want {
		t.Errorf("province target allocated to %d children, want %d (A, B and O)", got, want)
	}
	for _, k := range kids {
		if k.ParentID != province.ID || k.Goal != 100 {
			t.Errorf("child target %+v, want parent %d and goal 100", k, province.ID)
		}
	}
}

// allocTree is a province with four communes of the given populations.
func allocTree(t *testing.T, pops ...int64) (*Store, *Area, []*Area) {
	t.Helper()
	w := newReportWorld(t, 7)
	prov, err := w.s.CreateArea(w.ctx, System, NewArea{Level: "province", Name: "Tỉnh Phân Bổ", Population: 1})
	if err != nil {
		t.Fatal(err)
	}
	var kids []*Area
	for i, p := range pops {
		k, err := w.s.CreateArea(w.ctx, System, NewArea{ParentID: prov.ID, Level: "commune", Name: fmt.Sprintf("Xã %d", i+1), Population: p})
		if err != nil {
			t.Fatal(err)
		}
		kids = append(kids, k)
	}
	return w.s, prov, kids
}

// The walk's case: a goal of 400 over four communes used to give
// 61 + 151 + 153 + 36 = 401 (each share rounded up). Largest remainder
// gives 60 + 151 + 153 + 36 = 400.
func TestAllocateSumsToTheGoal(t *testing.T) {
	s, prov, kids := allocTree(t, 6050, 15080, 15240, 3580)
	ctx := context.Background()
	parent, err := s.CreateTarget(ctx, System, NewTarget{Indicator: "vneid_l2_activated", AreaID: prov.ID, Period: "year", Year: 2026, Goal: 400})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.AllocateTarget(ctx, System, parent.ID, AllocateProportional, false)
	if err != nil {
		t.Fatal(err)
	}
	goals := map[int64]float64{}
	sum := 0.0
	for _, g := range got {
		goals[g.AreaID] = g.Goal
		sum += g.Goal
	}
	want := map[int64]float64{kids[0].ID: 60, kids[1].ID: 151, kids[2].ID: 153, kids[3].ID: 36}
	if diff := cmp.Diff(want, goals); diff != "" || sum != 400 {
		t.Errorf("allocated goals (-want +got):\n%s sum %v, want 400", diff, sum)
	}
}

// A second allocation stops at goals changed by hand (nothing written,
// the changed ones named), and overwrites them only with replace. Goals
// left as allocated are updated without asking.
func TestAllocateKeepsGoalsChangedByHand(t *testing.T) {
	s, prov, kids := allocTree(t, 1000, 1000, 2000)
	ctx := context.Background()
	parent, err := s.CreateTarget(ctx, System, NewTarget{Indicator: "vneid_l2_activated", AreaID: prov.ID, Period: "year", Year: 2026, Goal: 100})
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.AllocateTarget(ctx, System, parent.ID, AllocateProportional, false)
	if err != nil || len(first) != 3 {
		t.Fatalf("first allocation: %d targets, %v", len(first), err)
	}
	// Allocating again unchanged is fine: nothing was edited.
	if _, err := s.AllocateTarget(ctx, System, parent.ID, AllocateProportional, false); err != nil {
		t.Fatalf("allocating again with no goal edited: %v", err)
	}
	edited := first[0]
	hand := 70.0
	if _, err := s.UpdateTarget(ctx, System, edited.ID, TargetPatch{Goal: &hand}); err != nil {
		t.Fatal(err)
	}
	goalsOf := func() map[int64]float64 {
		out := map[int64]float64{}
		ts, err := s.Targets(ctx, System, TargetFilter{AreaID: prov.ID, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range ts {
			out[g.AreaID] = g.Goal
		}
		return out
	}
	before := goalsOf()
	_, err = s.AllocateTarget(ctx, System, parent.ID, AllocateEqual, false)
	var changed *GoalsChangedError
	if !errors.As(err, &changed) || !errors.Is(err, ErrConflict) {
		t.Fatalf("allocating over a goal changed by hand: err = %v, want a GoalsChangedError (ErrConflict)", err)
	}
	want := []ChangedGoal{{TargetID: edited.ID, AreaID: edited.AreaID, AreaName: "Xã 1", Goal: 70, AllocatedGoal: 25, NewGoal: 34}}
	if diff := cmp.Diff(want, changed.Changed); diff != "" {
		t.Errorf("changed goals (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, goalsOf()); diff != "" {
		t.Errorf("a refused allocation changed goals (-before +after):\n%s", diff)
	}
	if _, err := s.AllocateTarget(ctx, System, parent.ID, AllocateEqual, true); err != nil {
		t.Fatalf("allocating with replace: %v", err)
	}
	after := goalsOf()
	if got := []float64{after[kids[0].ID], after[kids[1].ID], after[kids[2].ID]}; !slices.Equal(got, []float64{34, 33, 33}) {
		t.Errorf("goals after replacing: got %v, want [34 33 33]", got)
	}
}

// LargestRemainder, on random goals and weights: the parts sum to the
// goal, each is its quota rounded down or up, zero weights get nothing
// (unless every weight is zero), and more weight never means fewer units.
func TestLargestRemainderProperties(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (replay: change the seed in the test)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < 2000; i++ {
		n := 1 + rng.IntN(12)
		total := int64(rng.IntN(5000))
		ws := make([]float64, n)
		sum := 0.0
		for j := range ws {
			if rng.IntN(5) > 0 {
				ws[j] = float64(rng.IntN(100000))
			}
			sum += ws[j]
		}
		parts := LargestRemainder(total, ws)
		got := int64(0)
		for j, p := range parts {
			got += p
			if p < 0 {
				t.Fatalf("seed %d case %d: part %d is %d", seed, i, j, p)
			}
			if sum > 0 {
				q := float64(total) * ws[j] / sum
				if float64(p) < math.Floor(q)-1e-9 || float64(p) > math.Ceil(q)+1e-9 {
					t.Fatalf("seed %d case %d: part %d = %d, quota %.4f (weights %v, total %d)", seed, i, j, p, q, ws, total)
				}
				if ws[j] == 0 && p != 0 {
					t.Fatalf("seed %d case %d: a zero weight got %d", seed, i, p)
				}
			}
			for k := range parts {
				if ws[k] > ws[j] && parts[k] < p {
					t.Fatalf("seed %d case %d: weight %v got %d, less than weight %v's %d", seed, i, ws[k], parts[k], ws[j], p)
				}
			}
		}
		if got != total {
			t.Fatalf("seed %d case %d: parts %v sum to %d, want %d (weights %v)", seed, i, parts, got, total, ws)
		}
	}
}
