package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"
)

// Campaign leaderboards. A campaign is a target with a campaign period;
// allocation copies its name and dates to the areas below, so a campaign
// is named by (name, starts_on, ends_on). Teams are ranked by citizens
// reached, then logs, over the campaign's days so far; teams equal on both
// share a rank (1, 2, 2, 4).

// Tie says how a team's rank was decided against its neighbours.
const (
	TieNone   = ""       // by citizens reached
	TieLogs   = "logs"   // citizens equal to a neighbour's: logs decided
	TieShared = "shared" // citizens and logs equal to a neighbour's: the rank is shared
)

// Standing is a team's place in a ranking.
type Standing struct {
	TeamReport
	Rank int
	Tie  string
}

// RankTeams ranks teams by citizens reached, then logs (competition
// ranking: equal teams share a rank and the next rank skips), ties
// explained; equal teams are listed by name, then id.
func RankTeams(ts []TeamReport) []Standing {
	out := make([]Standing, len(ts))
	for i, t := range ts {
		out[i] = Standing{TeamReport: t}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Citizens != b.Citizens {
			return a.Citizens > b.Citizens
		}
		if a.Logs != b.Logs {
			return a.Logs > b.Logs
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.TeamID < b.TeamID
	})
	for i := range out {
		if i > 0 && out[i].Citizens == out[i-1].Citizens && out[i].Logs == out[i-1].Logs {
			out[i].Rank = out[i-1].Rank
		} else {
			out[i].Rank = i + 1
		}
	}
	for i := range out {
		for _, j := range []int{i - 1, i + 1} {
			if j < 0 || j >= len(out) || out[j].Citizens != out[i].Citizens {
				continue
			}
			if out[j].Logs == out[i].Logs {
				out[i].Tie = TieShared
			} else if out[i].Tie == TieNone {
				out[i].Tie = TieLogs
			}
		}
	}
	return out
}

// TeamStandings are the teams of an area's subtree with their citizens
// reached and logs over [from, to] (the headline figures, from the teams'
// running totals), for a ranking. Members and leads get their own team.
func (s *Store) TeamStandings(ctx context.Context, a Actor, areaID int64, from, to string) ([]TeamReport, error) {
	if err := validPeriod(from, to); err != nil {
		return nil, err
	}
	ar, err := s.reportArea(ctx, a, areaID)
	if err != nil {
		return nil, err
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("standings: %w", err)
	}
	defer tx.Rollback()
	only := int64(0)
	if a.Role.InTeam() {
		only = a.TeamID
	}
	return standings(ctx, tx, ar.Path, only, from, to)
}

// standings reads the teams of the subtree at path (or team only) with
// their headline figures over [from, to], by name.
func standings(ctx context.Context, tx *sql.Tx, path string, only int64, from, to string) ([]TeamReport, error) {
	teams, err := reportTeams(ctx, tx, path, only)
	if err != nil {
		return nil, err
	}
	lo, hi := subtreeRange(path)
	if err := teamTotals(ctx, tx, lo, hi, only, from, to, teams); err != nil {
		return nil, err
	}
	out := make([]TeamReport, 0, len(teams))
	for _, t := range teams {
		if t.Active { // a team that was stood down is not in the race
			out = append(out, t.TeamReport)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].TeamID < out[j].TeamID
	})
	return out, nil
}

// Campaign is one campaign seen from an area: its name and dates, and
// whether it runs today.
type Campaign struct {
	Name     string
	StartsOn string
	EndsOn   string
	Running  bool
}

// Campaigns lists the campaigns with a target in the area's subtree, the
// latest first.
func (s *Store) Campaigns(ctx context.Context, a Actor, areaID int64) ([]Campaign, error) {
	ar, err := s.reportArea(ctx, a, areaID)
	if err != nil {
		return nil, err
	}
	lo, hi := subtreeRange(ar.Path)
	rows, err := s.read.QueryContext(ctx, `SELECT g.name, g.starts_on, g.ends_on FROM areas a JOIN targets g ON g.area_id = a.id
		WHERE a.path >= ? AND a.path < ? AND g.period = 'campaign'
		GROUP BY g.name, g.starts_on, g.ends_on ORDER BY g.starts_on DESC, g.ends_on DESC, g.name LIMIT 200`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("campaigns: %w", err)
	}
	defer rows.Close()
	today := Today(s.now())
	out := []Campaign{}
	for rows.Next() {
		var c Campaign
		if err := rows.Scan(&c.Name, &c.StartsOn, &c.EndsOn); err != nil {
			return nil, fmt.Errorf("campaigns: %w", err)
		}
		c.Running = c.StartsOn <= today && today <= c.EndsOn
		out = append(out, c)
	}
	return out, rows.Err()
}

// CampaignRank is a team's standing in one running campaign, as a team
// lead's phone gets it at pull.
type CampaignRank struct {
	TargetID      int64
	Name          string
	Indicator     string
	StartsOn      string
	EndsOn        string
	Citizens      float64
	Logs          float64
	CommuneRank   int
	CommuneTeams  int
	ProvinceRank  int
	ProvinceTeams int
	AsOf          time.Time
}

// CampaignRanksEvery is how often the server refreshes campaign_ranks.
const CampaignRanksEvery = 5 * time.Minute

// TeamCampaignRanks reads the team's standings in the campaigns running
// today (one primary-key range of campaign_ranks); for sync pull, so it
// computes nothing.
func (s *Store) TeamCampaignRanks(ctx context.Context, teamID int64) ([]CampaignRank, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT g.id, g.name, g.indicator, g.starts_on, g.ends_on, r.citizens, r.logs,
		r.commune_rank, r.commune_teams, r.province_rank, r.province_teams, r.as_of
		FROM campaign_ranks r JOIN targets g ON g.id = r.target_id
		WHERE r.team_id = ? AND g.ends_on >= ? ORDER BY g.ends_on, g.id`, teamID, Today(s.now()))
	if err != nil {
		return nil, fmt.Errorf("campaign ranks of team %d: %w", teamID, err)
	}
	defer rows.Close()
	out := []CampaignRank{}
	for rows.Next() {
		var r CampaignRank
		var asOf string
		if err := rows.Scan(&r.TargetID, &r.Name, &r.Indicator, &r.StartsOn, &r.EndsOn, &r.Citizens, &r.Logs,
			&r.CommuneRank, &r.CommuneTeams, &r.ProvinceRank, &r.ProvinceTeams, &asOf); err != nil {
			return nil, fmt.Errorf("campaign ranks of team %d: %w", teamID, err)
		}
		r.AsOf = parseTS(asOf)
		out = append(out, r)
	}
	return out, rows.Err()
}

// RefreshCampaignRanks recomputes campaign_ranks: for every campaign
// running today (its root targets: those whose parent is not a target of
// the same campaign), the teams of the root's subtree ranked within their
// commune and their province over the days so far. It reads in one read
// transaction and replaces the table in one write transaction; it returns
// the rows written. The server runs it every CampaignRanksEvery.
func (s *Store) RefreshCampaignRanks(ctx context.Context) (int, error) {
	now := s.now()
	today := Today(now)
	rows, err := s.campaignRankRows(ctx, today, ts(Truncate(now)))
	if err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		// No campaign runs: take the writer only to empty a table that
		// is not empty yet.
		var some bool
		if err := s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM campaign_ranks)`).Scan(&some); err != nil {
			return 0, fmt.Errorf("campaign ranks: %w", err)
		}
		if !some {
			return 0, nil
		}
	}
	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM campaign_ranks`); err != nil {
			return fmt.Errorf("campaign ranks: %w", err)
		}
		for rest := rows; len(rest) > 0; {
			n := min(len(rest), 2000)
			_, err := tx.ExecContext(ctx, `INSERT INTO campaign_ranks (team_id, target_id, citizens, logs, commune_rank,
					commune_teams, province_rank, province_teams, as_of)
				SELECT CAST(j.value ->> 0 AS BIGINT), CAST(j.value ->> 1 AS BIGINT), CAST(j.value ->> 2 AS DOUBLE PRECISION),
					CAST(j.value ->> 3 AS DOUBLE PRECISION), CAST(j.value ->> 4 AS BIGINT), CAST(j.value ->> 5 AS BIGINT),
					CAST(j.value ->> 6 AS BIGINT), CAST(j.value ->> 7 AS BIGINT), j.value ->> 8 FROM json_each(?) j WHERE true
				ON CONFLICT (team_id, target_id) DO NOTHING`, mustJSON(rest[:n]))
			if err != nil {
				return fmt.Errorf("campaign ranks: %w", err)
			}
			rest = rest[n:]
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(rows), nil
}

// campaignRankRows computes the rows of campaign_ranks as JSON-ready
// arrays [team, target, citizens, logs, commune rank, commune teams,
// province rank, province teams, as of].
func (s *Store) campaignRankRows(ctx context.Context, today, asOf string) ([][9]any, error) {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("campaign ranks: %w", err)
	}
	defer tx.Rollback()
	type root struct {
		id               int64
		path, start, end string
	}
	rs, err := tx.QueryContext(ctx, `SELECT min(g.id), a.path, g.starts_on, g.ends_on FROM targets g JOIN areas a ON a.id = g.area_id
		WHERE g.period = 'campaign' AND g.starts_on <= ?1 AND g.ends_on >= ?1
			AND NOT EXISTS (SELECT 1 FROM targets p WHERE p.id = g.parent_id AND p.period = 'campaign'
				AND p.name = g.name AND p.starts_on = g.starts_on AND p.ends_on = g.ends_on)
		GROUP BY g.name, g.starts_on, g.ends_on, a.id ORDER BY 1`, today)
	if err != nil {
		return nil, fmt.Errorf("campaign ranks: %w", err)
	}
	var roots []root
	for rs.Next() {
		var r root
		if err := rs.Scan(&r.id, &r.path, &r.start, &r.end); err != nil {
			rs.Close()
			return nil, fmt.Errorf("campaign ranks: %w", err)
		}
		roots = append(roots, r)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("campaign ranks: %w", err)
	}
	var out [][9]any
	for _, r := range roots {
		teams, err := standings(ctx, tx, r.path, 0, r.start, min(r.end, today))
		if err != nil {
			return nil, err
		}
		paths := make([]string, len(teams))
		for i, t := range teams {
			paths[i] = t.AreaPath
		}
		pl, err := places(ctx, tx, paths)
		if err != nil {
			return nil, err
		}
		byCommune, byProvince := map[int64][]TeamReport{}, map[int64][]TeamReport{}
		for _, t := range teams {
			p := pl[t.AreaPath]
			byCommune[p.CommuneID] = append(byCommune[p.CommuneID], t)
			byProvince[p.ProvinceID] = append(byProvince[p.ProvinceID], t)
		}
		type place struct{ rank, of int }
		commune, province := map[int64]place{}, map[int64]place{}
		for _, group := range byCommune {
			for _, st := range RankTeams(group) {
				commune[st.TeamID] = place{st.Rank, len(group)}
			}
		}
		for _, group := range byProvince {
			for _, st := range RankTeams(group) {
				province[st.TeamID] = place{st.Rank, len(group)}
			}
		}
		for _, t := range teams {
			c, p := commune[t.TeamID], province[t.TeamID]
			out = append(out, [9]any{t.TeamID, r.id, max(t.Citizens, 0), max(t.Logs, 0), c.rank, c.of, p.rank, p.of, asOf})
		}
	}
	return out, nil
}
