package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// The set-wise statements of the fold: each derived table takes the
// summed differences of the transaction (fold_delta) with one
// INSERT … SELECT … GROUP BY … ON CONFLICT … DO UPDATE. Plain SQL that
// PostgreSQL accepts as well. The scratch tables have no statistics, so
// SQLite's planner may take them for large and scan a derived table
// instead (a 1M-log province: most of a push's time): a CROSS JOIN keeps
// the scratch table outermost (SQLite never reorders it; PostgreSQL reads
// it as an inner join).

// foldTempSQL makes the scratch tables of the fold on the write connection
// (TEMP: never written to the database file). Kept empty between folds.
const foldTempSQL = `CREATE TEMP TABLE IF NOT EXISTS fold_delta (
	place_id INTEGER NOT NULL,
	team_id  INTEGER NOT NULL,
	day      TEXT NOT NULL,    -- YYYY-MM-DD, '' for none (members)
	week     TEXT NOT NULL,    -- the Monday of day's week
	pd       INTEGER NOT NULL, -- day, month and year periods (dayPeriod), 0 without a day
	pm       INTEGER NOT NULL,
	py       INTEGER NOT NULL,
	series   INTEGER NOT NULL,
	metric   TEXT NOT NULL,
	key      TEXT NOT NULL,
	n        REAL NOT NULL
);
CREATE TEMP TABLE IF NOT EXISTS fold_teams (
	team_id INTEGER NOT NULL PRIMARY KEY,
	day     TEXT NOT NULL,   -- the first day whose figures changed ('' for all)
	pd      INTEGER NOT NULL -- the same as a day period (10000000 for all)
)`

// grains spreads a day's change over its day, month and year rows.
const grains = `CROSS JOIN (SELECT 0 AS g UNION ALL SELECT 1 UNION ALL SELECT 2) gr`
const grainPeriod = `CASE gr.g WHEN 0 THEN d.pd WHEN 1 THEN d.pm ELSE d.py END`

var foldTableSQL = []struct{ name, sql string }{
	// Every area a place counts into, in the row of the bucket the place
	// falls in, weighted (area_buckets).
	{"area rollups", `INSERT INTO area_rollups (area_id, series, period, bucket_id, n)
		SELECT b.area_id, d.series, ` + grainPeriod + `, b.bucket_id, sum(d.n * b.w)
		FROM fold_delta d CROSS JOIN area_buckets b ` + grains + `
		WHERE b.place_id = d.place_id AND d.pd > 0
		GROUP BY b.area_id, d.series, ` + grainPeriod + `, b.bucket_id
		HAVING sum(d.n * b.w) <> 0
		ON CONFLICT (area_id, series, period, bucket_id) DO UPDATE SET n = area_rollups.n + excluded.n`},
	// A team's own figures, wherever its work was placed.
	{"team rollups", `INSERT INTO team_rollups (team_id, period, series, n)
		SELECT d.team_id, ` + grainPeriod + `, d.series, sum(d.n)
		FROM fold_delta d ` + grains + `
		WHERE d.pd > 0
		GROUP BY d.team_id, ` + grainPeriod + `, d.series
		HAVING sum(d.n) <> 0
		ON CONFLICT (team_id, period, series) DO UPDATE SET n = team_rollups.n + excluded.n`},
	// Citizens reached for the first time per area and week.
	{"area trend", `INSERT INTO area_trend (area_id, week, key, n)
		SELECT b.area_id, d.week, d.key, sum(d.n * b.w)
		FROM fold_delta d CROSS JOIN area_buckets b
		WHERE b.place_id = d.place_id AND d.metric = 'first' AND d.pd > 0
		GROUP BY b.area_id, d.week, d.key
		HAVING sum(d.n * b.w) <> 0
		ON CONFLICT (area_id, week, key) DO UPDATE SET n = area_trend.n + excluded.n`},
}

// teamSQL keeps what summarizes a team's day rows (team_rollups), for the
// teams in fold_teams from their day on: the fold's touched teams, or
// every team from the start (the rebuild).
var teamSQL = []struct{ name, sql string }{
	// team_totals: per team and day with a headline change, the sums of
	// the headline figures up to and including that day. A team list over
	// any period is the row at its end minus the row before its start.
	{"team totals (clear)", `DELETE FROM team_totals WHERE (team_id, day) IN (
		SELECT t.team_id, t.day FROM fold_teams f CROSS JOIN team_totals t WHERE t.team_id = f.team_id AND t.day >= f.day)`},
	{"team totals", `INSERT INTO team_totals (team_id, day, logs, citizens, sessions, attendees, women, minority, elderly)
		SELECT x.team_id, substr(CAST(x.period AS TEXT), 1, 4) || '-' || substr(CAST(x.period AS TEXT), 5, 2) || '-' ||
				substr(CAST(x.period AS TEXT), 7, 2),
			COALESCE(b.logs, 0) + sum(x.logs) OVER w, COALESCE(b.citizens, 0) + sum(x.citizens) OVER w,
			COALESCE(b.sessions, 0) + sum(x.sessions) OVER w, COALESCE(b.attendees, 0) + sum(x.attendees) OVER w,
			COALESCE(b.women, 0) + sum(x.women) OVER w, COALESCE(b.minority, 0) + sum(x.minority) OVER w,
			COALESCE(b.elderly, 0) + sum(x.elderly) OVER w
		FROM (SELECT r.team_id, r.period,
				sum(CASE WHEN s.metric = 'log' THEN r.n ELSE 0 END) AS logs,
				sum(CASE WHEN s.metric = 'first' THEN r.n ELSE 0 END) AS citizens,
				sum(CASE WHEN s.metric = 'session' THEN r.n ELSE 0 END) AS sessions,
				sum(CASE WHEN s.metric = 'attendees' THEN r.n ELSE 0 END) AS attendees,
				sum(CASE WHEN s.metric = 'women' THEN r.n ELSE 0 END) AS women,
				sum(CASE WHEN s.metric = 'minority' THEN r.n ELSE 0 END) AS minority,
				sum(CASE WHEN s.metric = 'elderly' THEN r.n ELSE 0 END) AS elderly
			FROM fold_teams f CROSS JOIN team_rollups r JOIN rollup_series s ON s.id = r.series
			WHERE r.team_id = f.team_id AND r.period BETWEEN f.pd AND 99999999
				AND ((s.key = '' AND s.metric IN ('log', 'session', 'attendees', 'women', 'minority', 'elderly'))
				OR (s.metric = 'first' AND s.key = '*'))
			GROUP BY r.team_id, r.period) x
		LEFT JOIN (SELECT t.* FROM fold_teams f CROSS JOIN team_totals t
			WHERE t.team_id = f.team_id
				AND t.day = (SELECT max(q.day) FROM team_totals q WHERE q.team_id = f.team_id AND q.day < f.day)) b
			ON b.team_id = x.team_id
		WHERE x.logs <> 0 OR x.citizens <> 0 OR x.sessions <> 0 OR x.attendees <> 0 OR x.women <> 0 OR x.minority <> 0
			OR x.elderly <> 0
		WINDOW w AS (PARTITION BY x.team_id ORDER BY x.period ROWS UNBOUNDED PRECEDING)`},
	// team_last_active: each team's last day with a log or a held session
	// that counts.
	{"last active (clear)", `DELETE FROM team_last_active WHERE team_id IN (SELECT team_id FROM fold_teams)`},
	{"last active", `INSERT INTO team_last_active (team_id, day)
		SELECT team_id, substr(CAST(p AS TEXT), 1, 4) || '-' || substr(CAST(p AS TEXT), 5, 2) || '-' || substr(CAST(p AS TEXT), 7, 2)
		FROM (SELECT f.team_id, (SELECT r.period FROM team_rollups r JOIN rollup_series s ON s.id = r.series
				WHERE r.team_id = f.team_id AND r.period BETWEEN 10000000 AND 99999999 AND s.key = ''
					AND s.metric IN ('log', 'session') AND r.n > 0.5
				ORDER BY r.period DESC LIMIT 1) AS p
			FROM fold_teams f) x
		WHERE p IS NOT NULL`},
}

// headlineCol is the column of team_totals a delta adds to, "" for none.
func headlineCol(metric, key string) string {
	switch {
	case metric == "first" && key == "*":
		return "citizens"
	case key != "":
		return ""
	case metric == "log":
		return "logs"
	case metric == "session":
		return "sessions"
	case metric == "attendees", metric == "women", metric == "minority", metric == "elderly":
		return metric
	}
	return ""
}

// writeDeltas puts the summed differences in the scratch tables.
func (r *foldRun) writeDeltas() error {
	if len(r.deltas) == 0 {
		return nil
	}
	s := r.f.s
	if _, err := r.tx.ExecContext(r.ctx, foldTempSQL); err != nil {
		return fmt.Errorf("fold: scratch tables: %w", err)
	}
	keys := make([]deltaKey, 0, len(r.deltas))
	for k, n := range r.deltas {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return lessDelta(keys[i], keys[j]) })
	teams := map[int64]string{} // team → its first day with a headline change
	rows := make([][]any, 0, len(keys))
	for _, k := range keys {
		n := r.deltas[k]
		series, err := r.seriesID(k.metric, k.key)
		if err != nil {
			return err
		}
		pd, pm, py := dayPeriod(k.day)
		week := ""
		if k.day != "" {
			week = weekOf(k.day)
		}
		rows = append(rows, []any{k.place, k.team, k.day, week, pd, pm, py, series, k.metric, k.key, n})
		if headlineCol(k.metric, k.key) != "" && k.day != "" {
			if d, ok := teams[k.team]; !ok || k.day < d {
				teams[k.team] = k.day
			}
		}
	}
	if err := insertRows(r.ctx, s, r.tx, `INSERT INTO fold_delta (place_id, team_id, day, week, pd, pm, py, series, metric, key, n)`, 11, rows); err != nil {
		return fmt.Errorf("fold: deltas: %w", err)
	}
	var trows [][]any
	for _, t := range keysSortedInt(teams) {
		pd, _, _ := dayPeriod(teams[t])
		trows = append(trows, []any{t, teams[t], pd})
	}
	if err := insertRows(r.ctx, s, r.tx, `INSERT INTO fold_teams (team_id, day, pd)`, 3, trows); err != nil {
		return fmt.Errorf("fold: teams: %w", err)
	}
	if s.pg {
		// A temporary table has no statistics until analyzed: PostgreSQL
		// then guesses 1,200 rows, hashes the scratch tables against whole
		// rollup tables and scans them (114 ms a fold for team_totals on a
		// 1,000-team province, 0.3 ms after). SQLite's planner needs none.
		if _, err := r.tx.ExecContext(r.ctx, `ANALYZE fold_delta, fold_teams`); err != nil {
			return fmt.Errorf("fold: scratch statistics: %w", err)
		}
	}
	return nil
}

func lessDelta(a, b deltaKey) bool {
	switch {
	case a.team != b.team:
		return a.team < b.team
	case a.day != b.day:
		return a.day < b.day
	case a.place != b.place:
		return a.place < b.place
	case a.metric != b.metric:
		return a.metric < b.metric
	}
	return a.key < b.key
}

// insertRows inserts rows with multi-row statements of at most 64 rows
// (few prepared shapes).
func insertRows(ctx context.Context, s *Store, tx *sql.Tx, head string, cols int, rows [][]any) error {
	return insertRowsThen(ctx, s, tx, head, cols, rows, "")
}

// insertRowsThen is insertRows with a clause after the values (an upsert's
// ON CONFLICT).
func insertRowsThen(ctx context.Context, s *Store, tx *sql.Tx, head string, cols int, rows [][]any, tail string) error {
	for len(rows) > 0 {
		n := min(len(rows), 64)
		if _, err := s.wstmts.exec(ctx, tx, head+" VALUES "+valueRows(cols, n)+tail, flatRows(rows[:n], cols)...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// insertRowsReturning is insertRowsThen for a tail with RETURNING: scan
// reads each returned row (it must run no statement: PostgreSQL runs none
// while rows are open).
func insertRowsReturning(ctx context.Context, s *Store, tx *sql.Tx, head string, cols int, rows [][]any, tail string,
	scan func(*sql.Rows) error) error {
	for len(rows) > 0 {
		n := min(len(rows), 64)
		res, err := s.wstmts.query(ctx, tx, head+" VALUES "+valueRows(cols, n)+tail, flatRows(rows[:n], cols)...)
		if err != nil {
			return err
		}
		for res.Next() {
			if err := scan(res); err != nil {
				res.Close()
				return err
			}
		}
		res.Close()
		if err := res.Err(); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// valueRows is the VALUES list of n rows of cols placeholders each.
func valueRows(cols, n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

func flatRows(rows [][]any, cols int) []any {
	args := make([]any, 0, len(rows)*cols)
	for _, r := range rows {
		args = append(args, r...)
	}
	return args
}

// writeRollups folds the scratch deltas into the rollup tables and the
// teams' summaries.
func (r *foldRun) writeRollups() error {
	if len(r.deltas) == 0 {
		return nil
	}
	for _, st := range append(foldTableSQL[:len(foldTableSQL):len(foldTableSQL)], teamSQL...) {
		if _, err := r.f.s.wstmts.exec(r.ctx, r.tx, st.sql); err != nil {
			return fmt.Errorf("fold %s: %w", st.name, err)
		}
	}
	return nil
}

// writeDigests adds the digest changes to team_digests: the hash is a sum
// modulo 2^64, added here in Go (SQL integers overflow into floats).
func (r *foldRun) writeDigests() error {
	s := r.f.s
	teams := make([]int64, 0, len(r.digest))
	for t, d := range r.digest {
		if d.rows != 0 || d.hash != 0 {
			teams = append(teams, t)
		}
	}
	sort.Slice(teams, func(i, j int) bool { return teams[i] < teams[j] })
	for _, t := range teams {
		d := r.digest[t]
		var rows, hash int64
		err := s.wstmts.queryRow(r.ctx, r.tx, `SELECT rows, hash FROM team_digests WHERE team_id = ?`, t).Scan(&rows, &hash)
		if err != nil && err != sql.ErrNoRows {
			return fmt.Errorf("fold: digest: %w", err)
		}
		_, err = s.wstmts.exec(r.ctx, r.tx, `INSERT INTO team_digests (team_id, rows, hash) VALUES (?, ?, ?)
			ON CONFLICT (team_id) DO UPDATE SET rows = excluded.rows, hash = excluded.hash`,
			t, rows+d.rows, int64(uint64(hash)+d.hash))
		if err != nil {
			return fmt.Errorf("fold: digest: %w", err)
		}
	}
	return nil
}

// clear empties the scratch tables for the next fold.
func (r *foldRun) clear() error {
	if len(r.deltas) == 0 {
		return nil
	}
	for _, q := range []string{`DELETE FROM fold_delta`, `DELETE FROM fold_teams`} {
		if _, err := r.f.s.wstmts.exec(r.ctx, r.tx, q); err != nil {
			return fmt.Errorf("fold: %w", err)
		}
	}
	return nil
}

// seriesID is the rollup_series id of (metric, key), created on first use.
func (r *foldRun) seriesID(metric, key string) (int64, error) {
	if err := r.loadSeries(); err != nil {
		return 0, err
	}
	if id, ok := r.series[[2]string{metric, key}]; ok {
		return id, nil
	}
	var id int64
	err := r.tx.QueryRowContext(r.ctx, `INSERT INTO rollup_series (metric, key) VALUES (?, ?)
		ON CONFLICT (metric, key) DO NOTHING RETURNING id`, metric, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		// Another province's writer added it since the dictionary was
		// read (PostgreSQL, province locks): it has committed by now.
		err = r.tx.QueryRowContext(r.ctx, `SELECT id FROM rollup_series WHERE metric = ? AND key = ?`, metric, key).Scan(&id)
	}
	if err != nil {
		return 0, fmt.Errorf("fold: series %s %s: %w", metric, key, err)
	}
	r.series[[2]string{metric, key}] = id
	r.seriesBy[id] = [2]string{metric, key}
	return id, nil
}

// seriesKey is the (metric, key) of a series id.
func (r *foldRun) seriesKey(id int64) (string, string, error) {
	if err := r.loadSeries(); err != nil {
		return "", "", err
	}
	if k, ok := r.seriesBy[id]; ok {
		return k[0], k[1], nil
	}
	return "", "", fmt.Errorf("fold: no series %d", id)
}

func (r *foldRun) loadSeries() error {
	if r.series != nil {
		return nil
	}
	m, err := loadSeries(r.ctx, r.tx)
	if err != nil {
		return err
	}
	r.series, r.seriesBy = m, make(map[int64][2]string, len(m))
	for k, id := range m {
		r.seriesBy[id] = k
	}
	return nil
}

// loadSeries reads the rollup_series dictionary.
func loadSeries(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) (map[[2]string]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, metric, key FROM rollup_series`)
	if err != nil {
		return nil, fmt.Errorf("series: %w", err)
	}
	defer rows.Close()
	m := map[[2]string]int64{}
	for rows.Next() {
		var id int64
		var metric, key string
		if err := rows.Scan(&id, &metric, &key); err != nil {
			return nil, fmt.Errorf("series: %w", err)
		}
		m[[2]string{metric, key}] = id
	}
	return m, rows.Err()
}

func keysSortedInt[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
