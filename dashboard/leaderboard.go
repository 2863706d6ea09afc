package dashboard

import (
	"fmt"

	"toso/store"
)

// The campaign leaderboard: the teams of an area ranked by citizens
// reached, then logs, over a campaign's days so far (or the page's
// period), ties explained, each team with its village and commune.

// maxRanked is how many teams the page lists.
const maxRanked = 200

type campaignChoice struct {
	store.Campaign
	Key      string // the option value: starts|ends|name
	Selected bool
}

type leaderboardData struct {
	*scope
	Campaigns []campaignChoice
	Campaign  *store.Campaign // the chosen one, nil for the page's period
	From, To  string          // the period ranked
	Ranked    []store.Standing
	Total     int // teams ranked
	Places    map[string]store.Place
}

func campaignKey(c store.Campaign) string { return c.StartsOn + "|" + c.EndsOn + "|" + c.Name }

// leaderboard handles GET /leaderboard?area=&campaign= (or &from=&to=).
func (d *Dashboard) leaderboard(r *req) error {
	ctx := r.c.Context()
	s, err := d.scope(r, 0)
	if err != nil {
		return err
	}
	cs, err := d.store.Campaigns(ctx, r.actor, s.Area.ID)
	if err != nil {
		return err
	}
	data := &leaderboardData{scope: s, From: s.From, To: s.To}
	want := r.c.Query("campaign")
	if want == "" {
		for _, c := range cs {
			if c.Running {
				want = campaignKey(c) // the running campaign by default
				break
			}
		}
	}
	for _, c := range cs {
		ch := campaignChoice{Campaign: c, Key: campaignKey(c), Selected: campaignKey(c) == want}
		if ch.Selected {
			cc := c
			data.Campaign = &cc
			data.From, data.To = c.StartsOn, min(c.EndsOn, s.Today)
		}
		data.Campaigns = append(data.Campaigns, ch)
	}
	if want != "" && want != "-" && data.Campaign == nil {
		return fmt.Errorf("campaign %q: %w", want, store.ErrNotFound)
	}
	if data.To < data.From { // a campaign that has not started yet
		data.To = data.From
	}
	teams, err := d.store.TeamStandings(ctx, r.actor, s.Area.ID, data.From, data.To)
	if err != nil {
		return err
	}
	ranked := store.RankTeams(teams)
	data.Total = len(ranked)
	if len(ranked) > maxRanked {
		ranked = ranked[:maxRanked]
	}
	data.Ranked = ranked
	if data.Places, err = d.places(r, teamPaths(ranked, func(t store.Standing) string { return t.AreaPath })); err != nil {
		return err
	}
	v := d.newView(r, s, "/leaderboard", "nav.leaderboard")
	if data.Campaign != nil {
		v.From = "" // the campaign's dates, not the period form
	}
	v.Data = data
	return d.render(r, 200, "leaderboard", v)
}
