package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Reports read the area and team rollups kept by the triggers of
// migrations 0005 and 0008, never the raw logs. The definitions, which the brute-force tests restate:
//
//   - A day is the Vietnam calendar day (UTC+7) of a log's occurred_at or a
//     session's held_at; a period is an inclusive range of days.
//   - An area's figures cover every place whose weight into it is positive
//     (area_weights): its subtree with weight 1, and areas merged or split in
//     the 2025 reform through area_lineage with their share. Figures are
//     sums of count × weight, hence float64.
//   - Citizens (unique) are counted once, ever: on the day, place and team
//     of their first live log (by citizen ref). A citizen helped again later,
//     by the same or another team, is not counted again. "Reached for a
//     service" is the same with the first log where that service was done.
//     Logs without a citizen ref count as visits only.
//   - Sessions count when held, reported or locked, not deleted and with a
//     held_at time, on the day held; attendees, women, minority and elderly
//     are the session's counts.
//   - Deleted logs and sessions count nowhere; locked ones count normally;
//     void progress reports count nowhere.

// vnZone is Vietnam's time: UTC+7 all year.
var vnZone = time.FixedZone("ICT", 7*3600)

// Today is the Vietnam calendar day of t.
func Today(t time.Time) string { return t.In(vnZone).Format(time.DateOnly) }

// Figures are the activity counts of a place, a team or an area.
type Figures struct {
	Logs      float64            // assistance logs (visits)
	Citizens  float64            // citizens reached for the first time
	Sessions  float64            // training sessions held
	Attendees float64            // their attendees ...
	Women     float64            // ... of whom women,
	Minority  float64            // ethnic minority
	Elderly   float64            // and elderly
	Reached   map[string]float64 // service → citizens reached for it the first time
	Outcomes  map[string]float64 // "service|result" → outcomes
	Barriers  map[string]float64 // barrier code → outcomes that named it
	Topics    map[string]float64 // topic → attendees
	Manual    map[string]float64 // indicator → sum of progress reports
}

func newFigures() Figures {
	return Figures{Reached: map[string]float64{}, Outcomes: map[string]float64{}, Barriers: map[string]float64{},
		Topics: map[string]float64{}, Manual: map[string]float64{}}
}

// add adds n of metric/key.
func (f *Figures) add(metric, key string, n float64) {
	switch metric {
	case "log":
		f.Logs += n
	case "first":
		if key == "*" {
			f.Citizens += n
		} else {
			f.Reached[key] += n
		}
	case "outcome":
		f.Outcomes[key] += n
	case "barrier":
		f.Barriers[key] += n
	case "session":
		f.Sessions += n
	case "attendees":
		f.Attendees += n
	case "women":
		f.Women += n
	case "minority":
		f.Minority += n
	case "elderly":
		f.Elderly += n
	case "topic":
		f.Topics[key] += n
	case "manual":
		f.Manual[key] += n
	}
}

// PlaceReport is one row of an area's report: the area itself (the work
// placed on it directly), one of its children (the child's whole subtree),
// or an area merged into it through area_lineage (that area's subtree,
// weighted). A province report has a row per commune; a commune report a
// row per village.
type PlaceReport struct {
	AreaID     int64
	Name       string
	Code       string
	Level      string
	Path       string
	Weight     float64 // 1 in the subtree; the lineage share for merged areas
	Population int64
	ValidTo    string // the area's last day, "" while it lasts
	Figures
}

// TeamReport is one team of the report area's subtree with its own figures
// over the period, wherever its work was placed.
type TeamReport struct {
	TeamID        int64
	Name          string
	AreaID        int64
	AreaPath      string // the team's area's path, to place it under the report's rows
	Active        bool
	Members       int     // active members and leads
	MembersPer100 float64 // per 100 residents of the team's area (0 without population)
	LastActive    string  // last day with a log or a held session, "" if never
	Figures
}

// Report is the coordinator's review of an area over a period.
type Report struct {
	Area          Area
	From, To      string
	Today         string
	InactiveDays  int
	Totals        Figures
	Members       int
	Population    int64
	MembersPer100 float64
	Places        []PlaceReport // by path; none for a member or lead
	Teams         []TeamReport  // the subtree's teams, by name (broken down by service up to teamDetailLimit)
	Inactive      []TeamReport  // active teams without activity for InactiveDays (by last activity)
	Leaderboard   []TeamReport  // by citizens reached, then logs; at most 20
}

// ReportQuery selects a report. InactiveDays defaults to 14.
type ReportQuery struct {
	AreaID       int64
	From, To     string // YYYY-MM-DD, inclusive
	InactiveDays int
	// Metrics limits the area figures (totals and places) to these
	// metrics (see Figures.add): "metric" for all its keys, "metric:key"
	// for one ("log:" is the key ""). nil reads them all. A page that
	// shows a few figures reads only their rows; the others stay zero.
	Metrics []string
	// TeamFiguresUpTo leaves the teams' period figures out (zero, and the
	// leaderboard empty) when the report lists more teams than this: -1
	// leaves them out always, 0 (the default) never. The team list keeps
	// members, last activity and the inactive teams. For pages that list
	// areas, not teams. A member's report is their team's figures: always.
	TeamFiguresUpTo int
}

// AllMetrics are the metrics of the area rollups a report reads;
// HeadlineMetrics the headline figures (logs, citizens, sessions and their
// attendees: not citizens by service).
var (
	AllMetrics      = []string{"log", "first", "outcome", "barrier", "session", "attendees", "women", "minority", "elderly", "topic", "manual"}
	HeadlineMetrics = []string{"log:", "first:*", "session:", "attendees:", "women:", "minority:", "elderly:"}
)

// validPeriod checks and normalizes a period.
func validPeriod(from, to string) error {
	f, err1 := time.Parse(time.DateOnly, from)
	t, err2 := time.Parse(time.DateOnly, to)
	switch {
	case err1 != nil:
		return fmt.Errorf("from must be a date (YYYY-MM-DD): %w", ErrInvalid)
	case err2 != nil:
		return fmt.Errorf("to must be a date (YYYY-MM-DD): %w", ErrInvalid)
	case t.Before(f):
		return fmt.Errorf("to must not be before from: %w", ErrInvalid)
	case t.Sub(f) > 20*366*24*time.Hour:
		return fmt.Errorf("a period spans at most 20 years: %w", ErrInvalid)
	}
	return nil
}

// reportArea loads the area of a report if the actor may read its reports.
// A member or lead may ask for their team's area only.
func (s *Store) reportArea(ctx context.Context, a Actor, areaID int64) (*Area, error) {
	ar, err := scanArea(s.read.QueryRowContext(ctx, `SELECT `+areaColumns+` FROM areas WHERE id = ?`, areaID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("area %d: %w", areaID, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("area %d: %w", areaID, err)
	}
	switch {
	case a.CanReadReports(ar.Path):
	case a.Role.InTeam() && ar.Path == a.AreaPath:
	case a.CanSeeArea(ar.Path):
		return nil, fmt.Errorf("reports of area %d: %w", areaID, ErrForbidden)
	default:
		return nil, fmt.Errorf("area %d: %w", areaID, ErrNotFound)
	}
	return ar, nil
}

// teamDetailLimit is the largest team list whose figures are broken down
// by service, barrier, topic and indicator; larger lists (a province of
// 5,000 teams) carry the headline figures only (logs, citizens, sessions
// and attendees), so the summary stays small and fast. Places always have
// the breakdown.
const teamDetailLimit = 200

// Report computes the coordinator review of an area over a period from the
// area and team rollups. Members and leads get it for their team's area,
// restricted to their team.
func (s *Store) Report(ctx context.Context, a Actor, q ReportQuery) (*Report, error) {
	return s.report(ctx, a, q, teamDetailLimit)
}

func (s *Store) report(ctx context.Context, a Actor, q ReportQuery, detailLimit int) (*Report, error) {
	if err := validPeriod(q.From, q.To); err != nil {
		return nil, err
	}
	if q.InactiveDays <= 0 {
		q.InactiveDays = 14
	}
	ar, err := s.reportArea(ctx, a, q.AreaID)
	if err != nil {
		return nil, err
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer tx.Rollback()
	r := &Report{Area: *ar, From: q.From, To: q.To, Today: Today(s.now()), InactiveDays: q.InactiveDays, Totals: newFigures()}
	onlyTeam := int64(0)
	if a.Role.InTeam() {
		onlyTeam = a.TeamID
	}
	teams, err := reportTeams(ctx, tx, ar.Path, onlyTeam)
	if err != nil {
		return nil, err
	}
	if onlyTeam != 0 || q.TeamFiguresUpTo == 0 || len(teams) <= q.TeamFiguresUpTo {
		if err := teamFigures(ctx, tx, ar.Path, onlyTeam, q.From, q.To, len(teams) <= detailLimit, teams); err != nil {
			return nil, err
		}
	}
	if onlyTeam != 0 {
		// A member or lead sees their own team's figures only.
		if t := teams[onlyTeam]; t != nil {
			r.Totals = t.Figures
		}
	} else {
		places, err := reportPlaces(ctx, tx, ar.ID)
		if err != nil {
			return nil, err
		}
		err = areaFigures(ctx, tx, ar.ID, q.From, q.To, q.Metrics, func(bucket int64, metric, key string, n float64) {
			r.Totals.add(metric, key, n)
			if p := places[bucket]; p != nil {
				p.add(metric, key, n)
			}
		})
		if err != nil {
			return nil, err
		}
		for _, p := range places {
			r.Places = append(r.Places, *p)
		}
		sort.Slice(r.Places, func(i, j int) bool { return r.Places[i].Path < r.Places[j].Path })
	}
	r.Population = ar.Population
	today, _ := time.Parse(time.DateOnly, r.Today)
	cutoff := today.AddDate(0, 0, -q.InactiveDays).Format(time.DateOnly)
	for _, t := range teams {
		r.Members += t.Members
		r.Teams = append(r.Teams, t.TeamReport)
	}
	sort.Slice(r.Teams, func(i, j int) bool {
		if r.Teams[i].Name != r.Teams[j].Name {
			return r.Teams[i].Name < r.Teams[j].Name
		}
		return r.Teams[i].TeamID < r.Teams[j].TeamID
	})
	for _, t := range r.Teams {
		if t.Active && (t.LastActive == "" || t.LastActive <= cutoff) {
			r.Inactive = append(r.Inactive, t)
		}
	}
	sort.SliceStable(r.Inactive, func(i, j int) bool { return r.Inactive[i].LastActive < r.Inactive[j].LastActive })
	r.Leaderboard = leaderboard(r.Teams, 20)
	if r.Population > 0 {
		r.MembersPer100 = float64(r.Members) * 100 / float64(r.Population)
	}
	return r, nil
}

// areaFigures calls add for every area rollup row of area over [from, to]
// of the metrics (nil: AllMetrics; see ReportQuery.Metrics): a range scan
// of the primary key per series (a metric and key of rollup_series) and
// span (days, months, years; at most five spans).
func areaFigures(ctx context.Context, tx *sql.Tx, areaID int64, from, to string, metrics []string, add func(bucket int64, metric, key string, n float64)) error {
	if metrics == nil {
		metrics = AllMetrics
	}
	dict, err := loadSeries(ctx, tx)
	if err != nil {
		return fmt.Errorf("report figures: %w", err)
	}
	names := map[int64][2]string{}
	for mk, id := range dict {
		for _, m := range metrics {
			metric, key, one := strings.Cut(m, ":")
			if mk[0] == metric && (!one || mk[1] == key) {
				names[id] = mk
			}
		}
	}
	ids := make([]int64, 0, len(names))
	for id := range names {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, sp := range spans(from, to) {
		lo, hi := spanPeriods(sp)
		// One range of the primary key per series: the IN list is padded
		// to a few shapes (eachChunk).
		err := eachChunk(int64Strings(ids), func(list string, args []any) error {
			for i, a := range args {
				args[i], _ = strconv.ParseInt(a.(string), 10, 64)
			}
			rows, err := tx.QueryContext(ctx, `SELECT bucket_id, series, n FROM area_rollups
				WHERE area_id = ? AND series IN `+list+` AND period BETWEEN ? AND ?`, append(append([]any{areaID}, args...), lo, hi)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var bucket, series int64
				var n float64
				if err := rows.Scan(&bucket, &series, &n); err != nil {
					return err
				}
				add(bucket, names[series][0], names[series][1], n)
			}
			return rows.Err()
		})
		if err != nil {
			return fmt.Errorf("report figures: %w", err)
		}
	}
	return nil
}

func int64Strings(ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return out
}

// teamDetailSQL reads every team rollup row of the subtree's teams (or
// team ?5) over a period range (one grain: see spanPeriods).
const teamDetailSQL = `SELECT r.team_id, r.series, r.n FROM teams t JOIN areas a ON a.id = t.area_id
	JOIN team_rollups r ON r.team_id = t.id AND r.period BETWEEN ?1 AND ?2
	WHERE a.path >= ?3 AND a.path < ?4 AND (?5 = 0 OR t.id = ?5)`

// teamTotalsSQL reads the headline figures of the subtree's teams (or team
// ?4) over [?1, ?2] from their running totals (0009): the totals at the
// last row up to ?2 minus those at the last row before ?1. Four index
// seeks a team, whatever the period.
const teamTotalsSQL = `SELECT t.id, h.logs - COALESCE(l.logs, 0), h.citizens - COALESCE(l.citizens, 0),
		h.sessions - COALESCE(l.sessions, 0), h.attendees - COALESCE(l.attendees, 0), h.women - COALESCE(l.women, 0),
		h.minority - COALESCE(l.minority, 0), h.elderly - COALESCE(l.elderly, 0)
	FROM teams t JOIN areas a ON a.id = t.area_id
	JOIN team_totals h ON h.team_id = t.id
		AND h.day = (SELECT day FROM team_totals WHERE team_id = t.id AND day <= ?2 ORDER BY day DESC LIMIT 1)
	LEFT JOIN team_totals l ON l.team_id = t.id
		AND l.day = (SELECT day FROM team_totals WHERE team_id = t.id AND day < ?1 ORDER BY day DESC LIMIT 1)
	WHERE a.path >= ?3 AND a.path < ?4 AND (?5 = 0 OR t.id = ?5)`

// teamFigures adds the teams' own figures over [from, to]: every metric
// and key when detail, else the headline figures (logs, citizens, sessions
// and attendees) from the running totals.
func teamFigures(ctx context.Context, tx *sql.Tx, path string, only int64, from, to string, detail bool, teams map[int64]*teamEntry) error {
	lo, hi := subtreeRange(path)
	if !detail {
		return teamTotals(ctx, tx, lo, hi, only, from, to, teams)
	}
	dict, err := loadSeries(ctx, tx)
	if err != nil {
		return fmt.Errorf("report teams: %w", err)
	}
	names := make(map[int64][2]string, len(dict))
	for mk, id := range dict {
		names[id] = mk
	}
	for _, sp := range spans(from, to) {
		plo, phi := spanPeriods(sp)
		rows, err := tx.QueryContext(ctx, teamDetailSQL, plo, phi, lo, hi, only)
		if err != nil {
			return fmt.Errorf("report teams: %w", err)
		}
		for rows.Next() {
			var team, series int64
			var n float64
			if err := rows.Scan(&team, &series, &n); err != nil {
				rows.Close()
				return fmt.Errorf("report teams: %w", err)
			}
			if t := teams[team]; t != nil {
				t.add(names[series][0], names[series][1], n)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("report teams: %w", err)
		}
	}
	return nil
}

// teamTotals sets the headline figures of the teams in [lo, hi) over
// [from, to] from their running totals.
func teamTotals(ctx context.Context, tx *sql.Tx, lo, hi string, only int64, from, to string, teams map[int64]*teamEntry) error {
	rows, err := tx.QueryContext(ctx, teamTotalsSQL, from, to, lo, hi, only)
	if err != nil {
		return fmt.Errorf("report teams: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var team int64
		var f Figures
		if err := rows.Scan(&team, &f.Logs, &f.Citizens, &f.Sessions, &f.Attendees, &f.Women, &f.Minority, &f.Elderly); err != nil {
			return fmt.Errorf("report teams: %w", err)
		}
		if t := teams[team]; t != nil {
			t.Logs, t.Citizens, t.Sessions, t.Attendees = f.Logs, f.Citizens, f.Sessions, f.Attendees
			t.Women, t.Minority, t.Elderly = f.Women, f.Minority, f.Elderly
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("report teams: %w", err)
	}
	return nil
}

// leaderboard ranks teams by citizens reached, then logs, then name.
func leaderboard(ts []TeamReport, n int) []TeamReport {
	out := make([]TeamReport, 0, len(ts))
	for _, t := range ts {
		if t.Citizens > 0 || t.Logs > 0 {
			out = append(out, t)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Citizens != out[j].Citizens {
			return out[i].Citizens > out[j].Citizens
		}
		return out[i].Logs > out[j].Logs
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// reportPlaces lists the rows of an area's report: the area itself, its
// children, and the areas merged into it (with their lineage weight).
func reportPlaces(ctx context.Context, tx *sql.Tx, areaID int64) (map[int64]*PlaceReport, error) {
	rows, err := tx.QueryContext(ctx, `SELECT a.id, a.name, COALESCE(a.code, ''), a.level, a.path, a.population, COALESCE(w.w, 1),
			COALESCE(a.valid_to, '')
		FROM (SELECT DISTINCT bucket_id FROM area_buckets WHERE area_id = ?1) b JOIN areas a ON a.id = b.bucket_id
		LEFT JOIN area_weights w ON w.area_id = ?1 AND w.place_id = b.bucket_id`, areaID)
	if err != nil {
		return nil, fmt.Errorf("report places: %w", err)
	}
	defer rows.Close()
	out := map[int64]*PlaceReport{}
	for rows.Next() {
		p := &PlaceReport{Figures: newFigures()}
		if err := rows.Scan(&p.AreaID, &p.Name, &p.Code, &p.Level, &p.Path, &p.Population, &p.Weight, &p.ValidTo); err != nil {
			return nil, fmt.Errorf("report places: %w", err)
		}
		out[p.AreaID] = p
	}
	return out, rows.Err()
}

type teamEntry struct {
	TeamReport
}

// reportTeams lists the teams of the subtree (or just one) with their
// members and last activity.
func reportTeams(ctx context.Context, tx *sql.Tx, path string, only int64) (map[int64]*teamEntry, error) {
	lo, hi := subtreeRange(path)
	rows, err := tx.QueryContext(ctx, `SELECT t.id, t.name, t.area_id, a.path, t.active, a.population,
		(SELECT count(*) FROM users u WHERE u.team_id = t.id AND u.active = 1 AND u.role IN ('member', 'team_lead')),
		COALESCE((SELECT l.day FROM team_last_active l WHERE l.team_id = t.id), '')
		FROM teams t JOIN areas a ON a.id = t.area_id
		WHERE a.path >= ? AND a.path < ? AND (? = 0 OR t.id = ?)`, lo, hi, only, only)
	if err != nil {
		return nil, fmt.Errorf("report teams: %w", err)
	}
	defer rows.Close()
	out := map[int64]*teamEntry{}
	for rows.Next() {
		t := &teamEntry{TeamReport: TeamReport{Figures: newFigures()}}
		var pop int64
		if err := rows.Scan(&t.TeamID, &t.Name, &t.AreaID, &t.AreaPath, &t.Active, &pop, &t.Members, &t.LastActive); err != nil {
			return nil, fmt.Errorf("report teams: %w", err)
		}
		if pop > 0 {
			t.MembersPer100 = float64(t.Members) * 100 / float64(pop)
		}
		out[t.TeamID] = t
	}
	return out, rows.Err()
}
