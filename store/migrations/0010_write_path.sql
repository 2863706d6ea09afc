-- The write path of issue 12: the derived tables are kept by the store's
-- fold, once per write transaction, in Go and plain SQL (store/fold*.go),
-- no longer by triggers. Each rule now has one definition
-- (store/fold_rules.go), and the sqlite3 shell can write to a copy of the
-- database (no trigger calls a Go function any more).
--
-- This migration:
-- - drops every reporting and digest trigger, the views that computed
--   their rules and the funnel's scratch tables;
-- - drops the place × team rollups (what they held, the area and team
--   rollups hold) and log_outcomes (a log's outcomes column is the source);
-- - moves the area and team rollups and the citizen firsts to compact keys:
--   rollup_series numbers each (metric, key); periods are integers (a day
--   YYYYMMDD, a month YYYYMM, a year YYYY: one column for every grain); a
--   citizen ref is its 32 bytes. At 1M logs the derived tables were 5.7
--   times the raw data.
-- - keeps a hash of each processed mutation with its stored result, so a
--   mid re-sent with other content is refused (mid_reused).

DROP TRIGGER IF EXISTS assistance_logs_digest_delete;
DROP TRIGGER IF EXISTS assistance_logs_digest_insert;
DROP TRIGGER IF EXISTS assistance_logs_digest_update;
DROP TRIGGER IF EXISTS progress_reports_digest_delete;
DROP TRIGGER IF EXISTS progress_reports_digest_insert;
DROP TRIGGER IF EXISTS progress_reports_digest_update;
DROP TRIGGER IF EXISTS reports_area_insert;
DROP TRIGGER IF EXISTS reports_citizen_refresh;
DROP TRIGGER IF EXISTS reports_delta;
DROP TRIGGER IF EXISTS reports_lineage_delete;
DROP TRIGGER IF EXISTS reports_lineage_insert;
DROP TRIGGER IF EXISTS reports_lineage_move;
DROP TRIGGER IF EXISTS reports_lineage_update;
DROP TRIGGER IF EXISTS reports_log_after_delete;
DROP TRIGGER IF EXISTS reports_log_before_delete;
DROP TRIGGER IF EXISTS reports_log_insert;
DROP TRIGGER IF EXISTS reports_log_update;
DROP TRIGGER IF EXISTS reports_outcome_delete;
DROP TRIGGER IF EXISTS reports_outcome_insert;
DROP TRIGGER IF EXISTS reports_progress_delete;
DROP TRIGGER IF EXISTS reports_progress_insert;
DROP TRIGGER IF EXISTS reports_progress_update;
DROP TRIGGER IF EXISTS reports_session_delete;
DROP TRIGGER IF EXISTS reports_session_insert;
DROP TRIGGER IF EXISTS reports_session_update;
DROP TRIGGER IF EXISTS session_attendees_digest_delete;
DROP TRIGGER IF EXISTS session_attendees_digest_insert;
DROP TRIGGER IF EXISTS session_attendees_digest_update;
DROP TRIGGER IF EXISTS sync_conflicts_digest_delete;
DROP TRIGGER IF EXISTS sync_conflicts_digest_insert;
DROP TRIGGER IF EXISTS sync_conflicts_digest_update;
DROP TRIGGER IF EXISTS targets_area_population;
DROP TRIGGER IF EXISTS targets_progress_changed;
DROP TRIGGER IF EXISTS targets_team_insert;
DROP TRIGGER IF EXISTS targets_team_move;
DROP TRIGGER IF EXISTS targets_user_insert;
DROP TRIGGER IF EXISTS targets_user_update;
DROP TRIGGER IF EXISTS team_targets_digest_delete;
DROP TRIGGER IF EXISTS team_targets_digest_insert;
DROP TRIGGER IF EXISTS team_targets_digest_update;
DROP TRIGGER IF EXISTS training_sessions_digest_delete;
DROP TRIGGER IF EXISTS training_sessions_digest_insert;
DROP TRIGGER IF EXISTS training_sessions_digest_update;
DROP VIEW IF EXISTS area_buckets_calc;
DROP VIEW IF EXISTS area_path_ids;
DROP VIEW IF EXISTS area_weights_calc;
DROP VIEW IF EXISTS citizen_firsts_calc;
DROP VIEW IF EXISTS lineage_subtree;
DROP VIEW IF EXISTS session_contributions;
DROP VIEW IF EXISTS target_numerator_calc;
DROP TABLE rollup_deltas;
DROP TABLE citizen_refresh;
DROP TABLE citizen_firsts_scratch;
DROP TABLE area_lineage_moves;

CREATE TABLE rollup_series (
	id     INTEGER PRIMARY KEY,
	metric TEXT NOT NULL CHECK (length(metric) BETWEEN 1 AND 20),
	key    TEXT NOT NULL CHECK (length(key) <= 120),
	UNIQUE (metric, key)
) STRICT;
INSERT INTO rollup_series (metric, key)
SELECT metric, key FROM (
	SELECT DISTINCT metric, key FROM area_rollups
	UNION SELECT DISTINCT metric, key FROM team_rollups
	UNION SELECT DISTINCT 'first', service FROM citizen_firsts)
ORDER BY metric, key;

-- area_rollups: the weighted sums of the figures of every place counting
-- into area_id, by bucket (the row of the area's report the place falls
-- in; bucket = area holds the area's own place).
CREATE TABLE area_rollups_v2 (
	area_id   INTEGER NOT NULL,
	series    INTEGER NOT NULL,
	period    INTEGER NOT NULL,
	bucket_id INTEGER NOT NULL,
	n         REAL NOT NULL,
	PRIMARY KEY (area_id, series, period, bucket_id)
) STRICT, WITHOUT ROWID;
INSERT INTO area_rollups_v2 (area_id, series, period, bucket_id, n)
SELECT r.area_id, s.id, CAST(replace(r.period, '-', '') AS INTEGER), r.bucket_id, r.n
FROM area_rollups r JOIN rollup_series s ON s.metric = r.metric AND s.key = r.key
ORDER BY 1, 2, 3, 4;
DROP TABLE area_rollups;
ALTER TABLE area_rollups_v2 RENAME TO area_rollups;

-- team_rollups: a team's own figures wherever its work was placed. The
-- period before the series: a team's detail over a span is one range.
CREATE TABLE team_rollups_v2 (
	team_id INTEGER NOT NULL,
	period  INTEGER NOT NULL,
	series  INTEGER NOT NULL,
	n       REAL NOT NULL,
	PRIMARY KEY (team_id, period, series)
) STRICT, WITHOUT ROWID;
INSERT INTO team_rollups_v2 (team_id, period, series, n)
SELECT r.team_id, CAST(replace(r.period, '-', '') AS INTEGER), s.id, r.n
FROM team_rollups r JOIN rollup_series s ON s.metric = r.metric AND s.key = r.key
ORDER BY 1, 2, 3;
DROP TABLE team_rollups;
ALTER TABLE team_rollups_v2 RENAME TO team_rollups;

-- citizen_firsts: where each citizen was first reached, per key ('*' or a
-- service: the series of ('first', key)). Ties on a day are decided by the
-- log id when the citizen is recomputed from their logs.
CREATE TABLE citizen_firsts_v2 (
	citizen_ref BLOB NOT NULL CHECK (length(citizen_ref) = 32),
	series      INTEGER NOT NULL,
	day         INTEGER NOT NULL,
	place_id    INTEGER NOT NULL,
	team_id     INTEGER NOT NULL,
	PRIMARY KEY (citizen_ref, series)
) STRICT, WITHOUT ROWID;
INSERT INTO citizen_firsts_v2 (citizen_ref, series, day, place_id, team_id)
SELECT unhex(f.citizen_ref), s.id, CAST(replace(f.day, '-', '') AS INTEGER), f.place_id, f.team_id
FROM citizen_firsts f JOIN rollup_series s ON s.metric = 'first' AND s.key = f.service
ORDER BY 1, 2;
DROP TABLE citizen_firsts;
ALTER TABLE citizen_firsts_v2 RENAME TO citizen_firsts;

DROP TABLE rollups;
DROP TABLE log_outcomes;

ALTER TABLE sync_results ADD COLUMN hash TEXT CHECK (hash IS NULL OR length(hash) = 32);
