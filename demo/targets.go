package demo

import (
	"context"
	"fmt"
	"time"

	"toso/store"
)

// quietDays is how long before today a quiet team's activity stops: past
// the reports' 14 days, so the overview lists it among the inactive teams.
const quietDays = 21

// quiet says whether the team of the k-th village of the province (in
// order, from 0) stopped working three weeks ago: one in ten, from the
// sixth (never the demo accounts' team, the first).
func quiet(k int) bool { return k%10 == 5 }

// targets sets the year's targets a province would have been handed, so
// the overview's progress bars and the targets page show something: VNeID
// level 2 activations for the province, allocated to the communes by
// population; adults with a smartphone (the national 80%); the DTI's
// members per 100 residents; a "Bình dân học vụ số" campaign running past
// today; and a quarter target for online stores in each commune. Goals
// scale with the number of villages, so a generated province of 5,000
// teams gets goals of its size.
func targets(ctx context.Context, st *store.Store, p *Province, now time.Time) error {
	now = now.In(vnZone)
	year, quarter := now.Year(), (int(now.Month())-1)/3+1
	villages := 0
	for _, c := range p.Communes {
		villages += len(c.Villages)
	}
	create := func(n store.NewTarget) (*store.Target, error) {
		t, err := st.CreateTarget(ctx, store.System, n)
		if err != nil {
			return nil, fmt.Errorf("demo target %s: %w", n.Indicator, err)
		}
		return t, nil
	}
	vneid, err := create(store.NewTarget{Indicator: "vneid_l2_activated", AreaID: p.ID, Period: "year", Year: year,
		Goal: float64(14 * villages)})
	if err != nil {
		return err
	}
	if _, err := st.AllocateTarget(ctx, store.System, vneid.ID, store.AllocateProportional, false); err != nil {
		return fmt.Errorf("demo target allocation: %w", err)
	}
	campaignStart := now.AddDate(0, -ActivityMonths, 0)
	for _, n := range []store.NewTarget{
		{Indicator: "adults_smartphone", AreaID: p.ID, Period: "year", Year: year, Goal: 80},
		{Indicator: "members_per_100", AreaID: p.ID, Period: "year", Year: year, Goal: 5},
		{Indicator: "course_attendees", AreaID: p.ID, Period: "campaign", Name: "Chiến dịch Bình dân học vụ số",
			StartsOn: campaignStart.Format(time.DateOnly), EndsOn: now.AddDate(0, 2, 0).Format(time.DateOnly),
			Goal: float64(60 * villages)},
	} {
		if _, err := create(n); err != nil {
			return err
		}
	}
	for _, c := range p.Communes {
		_, err := create(store.NewTarget{Indicator: "online_stores_opened", AreaID: c.ID, Period: "quarter",
			Year: year, Quarter: quarter, Goal: float64(max(2, len(c.Villages)))})
		if err != nil {
			return err
		}
	}
	return nil
}
