package store

import (
	"errors"
	"testing"
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
