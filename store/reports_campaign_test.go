package store

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRankTeams(t *testing.T) {
	in := []TeamReport{
		{TeamID: 1, Name: "Đ", Figures: Figures{Citizens: 5, Logs: 9}},
		{TeamID: 2, Name: "A", Figures: Figures{Citizens: 7, Logs: 7}},
		{TeamID: 3, Name: "C", Figures: Figures{Citizens: 5, Logs: 9}},
		{TeamID: 4, Name: "B", Figures: Figures{Citizens: 5, Logs: 12}},
		{TeamID: 5, Name: "E", Figures: Figures{Citizens: 0, Logs: 0}},
		{TeamID: 6, Name: "F", Figures: Figures{Citizens: 3, Logs: 1}},
	}
	type row struct {
		ID   int64
		Rank int
		Tie  string
	}
	var got []row
	for _, s := range RankTeams(in) {
		got = append(got, row{s.TeamID, s.Rank, s.Tie})
	}
	want := []row{
		{2, 1, TieNone},   // most citizens
		{4, 2, TieLogs},   // 5 citizens like the next two: more logs puts it ahead
		{3, 3, TieShared}, // 5 and 9 like team 1: shared rank, listed by name
		{1, 3, TieShared},
		{6, 5, TieNone}, // competition ranking: after two teams on 3, next is 5
		{5, 6, TieNone},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ranking (-want +got):\n%s", diff)
	}
}

// rankIn is the competition rank of team among group by citizens, then
// logs, restated without sorting: 1 + the teams strictly ahead.
func rankIn(group []int64, fig map[int64][2]float64, team int64) int {
	r := 1
	me := fig[team]
	for _, o := range group {
		f := fig[o]
		if f[0] > me[0] || (f[0] == me[0] && f[1] > me[1]) {
			r++
		}
	}
	return r
}

// The campaign ranks kept for team leads equal a brute-force ranking of
// the raw logs: each team of a running campaign's area, within its commune
// and its province, over the campaign's days so far. A campaign's
// allocated copies add no rows; an ended campaign and a stood-down team
// have none.
func TestCampaignRanksMatchBruteForce(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	w := newReportWorld(t, seed)
	for range 300 {
		w.step()
	}
	s, ctx := w.s, w.ctx
	running, err := s.CreateTarget(ctx, System, NewTarget{Indicator: "vneid_l2_activated", AreaID: w.areas["P"].ID, Period: "campaign",
		Name: "Tháng cao điểm VNeID", StartsOn: "2025-09-01", EndsOn: "2026-03-31", Goal: 500})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AllocateTarget(ctx, System, running.ID, AllocateEqual, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTarget(ctx, System, NewTarget{Indicator: "vneid_l2_activated", AreaID: w.areas["A"].ID, Period: "campaign",
		Name: "Đã xong", StartsOn: "2025-05-01", EndsOn: "2025-12-31", Goal: 50}); err != nil {
		t.Fatal(err)
	}
	off := false
	if _, err := s.UpdateTeam(ctx, System, w.teams["TO2"].ID, TeamPatch{Active: &off}); err != nil {
		t.Fatal(err)
	}
	n, err := s.RefreshCampaignRanks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("campaign ranks written: %d, want 5 (the province's six teams but the stood-down one, for one campaign)", n)
	}
	b := loadBrute(t, s)
	today := Today(worldNow)
	communes := map[string][]string{"A": {"TA1", "TA2", "TAC"}, "B": {"TB1"}, "O": {"TO1"}}
	fig := map[int64][2]float64{}
	var all []int64
	for _, ts := range communes {
		for _, k := range ts {
			f := b.team(w.teams[k].ID, "2025-09-01", today)
			fig[w.teams[k].ID] = [2]float64{f["citizens"], f["logs"]}
			all = append(all, w.teams[k].ID)
		}
	}
	for commune, ts := range communes {
		var group []int64
		for _, k := range ts {
			group = append(group, w.teams[k].ID)
		}
		for _, k := range ts {
			id := w.teams[k].ID
			got, err := s.TeamCampaignRanks(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			want := []CampaignRank{{TargetID: running.ID, Name: "Tháng cao điểm VNeID", Indicator: "vneid_l2_activated",
				StartsOn: "2025-09-01", EndsOn: "2026-03-31", Citizens: fig[id][0], Logs: fig[id][1],
				CommuneRank: rankIn(group, fig, id), CommuneTeams: len(group), ProvinceRank: rankIn(all, fig, id), ProvinceTeams: len(all),
				AsOf: Truncate(worldNow)}}
			if diff := cmp.Diff(want, got, approx); diff != "" {
				t.Errorf("seed %d: team %s of commune %s (-want +got):\n%s", seed, k, commune, diff)
			}
		}
	}
	if got, _ := s.TeamCampaignRanks(ctx, w.teams["TO2"].ID); len(got) != 0 {
		t.Errorf("the stood-down team has ranks: %+v", got)
	}
	// Deleting the campaign's target deletes its ranks with it.
	if err := s.DeleteTarget(ctx, System, running.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.TeamCampaignRanks(ctx, w.teams["TA1"].ID); len(got) != 0 {
		t.Errorf("ranks of a deleted campaign: %+v", got)
	}
}

// The leaderboard's campaigns: one per name and dates, whatever the
// allocated copies, in the caller's reach only.
func TestCampaigns(t *testing.T) {
	w := newReportWorld(t, 3)
	s, ctx := w.s, w.ctx
	p, err := s.CreateTarget(ctx, System, NewTarget{Indicator: "vneid_l2_activated", AreaID: w.areas["P"].ID, Period: "campaign",
		Name: "Chiến dịch 1", StartsOn: "2026-02-01", EndsOn: "2026-04-30", Goal: 90})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AllocateTarget(ctx, System, p.ID, AllocateEqual, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTarget(ctx, System, NewTarget{Indicator: "payment_accounts", AreaID: w.areas["B"].ID, Period: "campaign",
		Name: "Chiến dịch B", StartsOn: "2025-01-01", EndsOn: "2025-03-31", Goal: 10}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Campaigns(ctx, w.actors["coordP"], w.areas["P"].ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []Campaign{{Name: "Chiến dịch 1", StartsOn: "2026-02-01", EndsOn: "2026-04-30", Running: true},
		{Name: "Chiến dịch B", StartsOn: "2025-01-01", EndsOn: "2025-03-31"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the province's campaigns (-want +got):\n%s", diff)
	}
	got, err = s.Campaigns(ctx, w.actors["coordA"], w.areas["A"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[:1], got); diff != "" {
		t.Errorf("commune A's campaigns (-want +got):\n%s", diff)
	}
	if _, err := s.Campaigns(ctx, w.actors["coordA"], w.areas["B"].ID); !isNotFound(err) {
		t.Errorf("coordA asks for commune B's campaigns: %v, want not found", err)
	}
}
