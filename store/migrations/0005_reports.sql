-- Reports: incremental rollups kept in the same transaction as every write,
-- by triggers on the synced tables, so no report scans raw logs and no
-- nightly job exists. See store/reports.go for the definitions.
--
-- Conventions:
-- - A log's place is its village (or the team's area when it names none);
--   a session's and a progress report's place is the team's area.
-- - A day is the Vietnam calendar day (UTC+7, no daylight saving) of the
--   device's occurred_at / held_at, or the as_of date of a progress report.
-- - Every rollup change goes through one funnel, rollup_deltas, whose
--   trigger adds the change to the day and the month rows.

-- area_weights: for each area A, every place whose rows count into A, with
-- a weight: 1 for A's own subtree; for an area merged or split in the 2025
-- reform, the lineage share into A (from the deepest ancestor-or-self of the
-- place that has lineage, summed over its edges into A, capped at 1).
CREATE TABLE area_weights (
	area_id  INTEGER NOT NULL REFERENCES areas(id),
	place_id INTEGER NOT NULL REFERENCES areas(id),
	w        REAL NOT NULL CHECK (w > 0 AND w <= 1),
	PRIMARY KEY (area_id, place_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX area_weights_place ON area_weights (place_id, area_id, w);

-- ids of a materialized path as a JSON array: "/1/7/42/" → [1,7,42].
CREATE VIEW area_path_ids AS
	SELECT id, '[' || replace(trim(path, '/'), '/', ',') || ']' AS ids FROM areas;

-- The weights of every place, computed from areas and area_lineage.
CREATE VIEW area_weights_calc AS
	SELECT CAST(j.value AS INTEGER) AS area_id, p.id AS place_id, 1.0 AS w
	FROM area_path_ids p, json_each(p.ids) j
	UNION ALL
	SELECT CAST(ja.value AS INTEGER), p.id, min(1.0, sum(l.share))
	FROM area_path_ids p
	JOIN area_lineage l ON l.old_area_id = (
		SELECT x.id FROM json_each(p.ids) jx JOIN areas x ON x.id = jx.value
		WHERE EXISTS (SELECT 1 FROM area_lineage l2 WHERE l2.old_area_id = x.id)
		ORDER BY x.depth DESC LIMIT 1)
	JOIN area_path_ids n ON n.id = l.new_area_id
	JOIN json_each(n.ids) ja
	WHERE ja.value NOT IN (SELECT value FROM json_each(p.ids))
	GROUP BY 1, 2;

-- Rollups: one row per place × grain × period × team × metric × key.
-- grain 'd' has period YYYY-MM-DD, grain 'm' YYYY-MM. Metrics:
--   log       assistance logs (visits), key ''
--   outcome   log outcomes, key 'service|result'
--   barrier   outcomes with a barrier, key barrier code
--   first     citizens reached for the first time ever, key service code
--             (with a done result) or '*' (any log): unique citizen counts
--   session   training sessions held (held, reported or locked), key ''
--   attendees, women, minority, elderly: their counts, key ''
--   topic     attendees of held sessions by topic, key service code
--   manual    sum of non-void progress report values, key indicator code
CREATE TABLE rollups (
	place_id INTEGER NOT NULL,
	grain    TEXT NOT NULL CHECK (grain IN ('d', 'm')),
	period   TEXT NOT NULL,
	team_id  INTEGER NOT NULL,
	metric   TEXT NOT NULL,
	key      TEXT NOT NULL,
	n        REAL NOT NULL,
	PRIMARY KEY (place_id, grain, period, team_id, metric, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX rollups_team ON rollups (team_id, metric, grain, period);

-- The first time each citizen was reached: per service with a done result,
-- and '*' for any log. Ties on a day go to the smaller log id.
CREATE TABLE citizen_firsts (
	citizen_ref TEXT NOT NULL,
	service     TEXT NOT NULL,
	day         TEXT NOT NULL,
	log_id      TEXT NOT NULL,
	place_id    INTEGER NOT NULL,
	team_id     INTEGER NOT NULL,
	PRIMARY KEY (citizen_ref, service)
) STRICT, WITHOUT ROWID;

-- What citizen_firsts must hold, computed from the live logs. Filtered by
-- citizen_ref (a PARTITION BY column), SQLite pushes the filter down to
-- the assistance_logs_citizen index.
CREATE VIEW citizen_firsts_calc AS
	SELECT citizen_ref, service, day, log_id, place_id, team_id FROM (
		SELECT citizen_ref, service, day, log_id, place_id, team_id,
			row_number() OVER (PARTITION BY citizen_ref, service ORDER BY day, log_id) AS rn
		FROM (
			SELECT l.citizen_ref, o.service,
				COALESCE(date(l.occurred_at, '+7 hours'), substr(l.occurred_at, 1, 10)) AS day,
				l.id AS log_id, COALESCE(l.village_id, l.area_id) AS place_id, l.team_id
			FROM assistance_logs l JOIN log_outcomes o ON o.log_id = l.id
			WHERE l.citizen_ref IS NOT NULL AND l.deleted = 0 AND o.result = 'done'
			UNION ALL
			SELECT l.citizen_ref, '*',
				COALESCE(date(l.occurred_at, '+7 hours'), substr(l.occurred_at, 1, 10)),
				l.id, COALESCE(l.village_id, l.area_id), l.team_id
			FROM assistance_logs l
			WHERE l.citizen_ref IS NOT NULL AND l.deleted = 0))
	WHERE rn = 1;

-- The funnel: inserting a row here adds n to the day and month rollups of
-- (place, team, day, metric, key). v and at are the seq and time of the
-- write that caused it (used by target progress, migration 0006).
CREATE TABLE rollup_deltas (
	place_id INTEGER NOT NULL,
	team_id  INTEGER NOT NULL,
	day      TEXT,
	metric   TEXT NOT NULL,
	key      TEXT NOT NULL,
	n        REAL NOT NULL,
	v        INTEGER NOT NULL,
	at       TEXT NOT NULL
) STRICT;

CREATE TRIGGER reports_delta AFTER INSERT ON rollup_deltas BEGIN
	INSERT INTO rollups (place_id, grain, period, team_id, metric, key, n)
	SELECT NEW.place_id, 'd', NEW.day, NEW.team_id, NEW.metric, NEW.key, NEW.n WHERE NEW.day IS NOT NULL
	UNION ALL
	SELECT NEW.place_id, 'm', substr(NEW.day, 1, 7), NEW.team_id, NEW.metric, NEW.key, NEW.n WHERE NEW.day IS NOT NULL
	ON CONFLICT (place_id, grain, period, team_id, metric, key) DO UPDATE SET n = n + excluded.n;
	DELETE FROM rollup_deltas WHERE rowid = NEW.rowid;
END;

-- Recomputing a citizen's firsts: inserting a ref here replaces the
-- citizen's citizen_firsts rows with citizen_firsts_calc and moves the
-- rollup counts of the rows that changed (a tiny indexed query per citizen).
CREATE TABLE citizen_refresh (
	ref TEXT NOT NULL,
	v   INTEGER NOT NULL,
	at  TEXT NOT NULL
) STRICT;

CREATE TABLE citizen_firsts_scratch (
	citizen_ref TEXT NOT NULL,
	service     TEXT NOT NULL,
	day         TEXT NOT NULL,
	log_id      TEXT NOT NULL,
	place_id    INTEGER NOT NULL,
	team_id     INTEGER NOT NULL
) STRICT;

CREATE TRIGGER reports_citizen_refresh AFTER INSERT ON citizen_refresh BEGIN
	DELETE FROM citizen_firsts_scratch;
	INSERT INTO citizen_firsts_scratch (citizen_ref, service, day, log_id, place_id, team_id)
	SELECT citizen_ref, service, day, log_id, place_id, team_id FROM citizen_firsts_calc WHERE citizen_ref = NEW.ref;
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	SELECT place_id, team_id, day, 'first', service, -1, NEW.v, NEW.at FROM (
		SELECT service, day, log_id, place_id, team_id FROM citizen_firsts WHERE citizen_ref = NEW.ref
		EXCEPT
		SELECT service, day, log_id, place_id, team_id FROM citizen_firsts_scratch);
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	SELECT place_id, team_id, day, 'first', service, 1, NEW.v, NEW.at FROM (
		SELECT service, day, log_id, place_id, team_id FROM citizen_firsts_scratch
		EXCEPT
		SELECT service, day, log_id, place_id, team_id FROM citizen_firsts WHERE citizen_ref = NEW.ref);
	DELETE FROM citizen_firsts WHERE citizen_ref = NEW.ref;
	INSERT INTO citizen_firsts (citizen_ref, service, day, log_id, place_id, team_id)
	SELECT citizen_ref, service, day, log_id, place_id, team_id FROM citizen_firsts_scratch;
	DELETE FROM citizen_firsts_scratch;
	DELETE FROM citizen_refresh WHERE rowid = NEW.rowid;
END;

-- Areas and lineage keep area_weights current (paths never change).
CREATE TRIGGER reports_area_insert AFTER INSERT ON areas BEGIN
	INSERT INTO area_weights (area_id, place_id, w)
	SELECT area_id, place_id, w FROM area_weights_calc WHERE place_id = NEW.id;
END;

CREATE TRIGGER reports_lineage_insert AFTER INSERT ON area_lineage BEGIN
	DELETE FROM area_weights WHERE place_id IN (SELECT d.id FROM areas o JOIN areas d
		ON d.path >= o.path AND d.path < substr(o.path, 1, length(o.path) - 1) || '0' WHERE o.id = NEW.old_area_id);
	INSERT INTO area_weights (area_id, place_id, w)
	SELECT area_id, place_id, w FROM area_weights_calc WHERE place_id IN (SELECT d.id FROM areas o JOIN areas d
		ON d.path >= o.path AND d.path < substr(o.path, 1, length(o.path) - 1) || '0' WHERE o.id = NEW.old_area_id);
END;

CREATE TRIGGER reports_lineage_update AFTER UPDATE ON area_lineage BEGIN
	DELETE FROM area_weights WHERE place_id IN (SELECT d.id FROM areas o JOIN areas d
		ON d.path >= o.path AND d.path < substr(o.path, 1, length(o.path) - 1) || '0' WHERE o.id IN (OLD.old_area_id, NEW.old_area_id));
	INSERT INTO area_weights (area_id, place_id, w)
	SELECT area_id, place_id, w FROM area_weights_calc WHERE place_id IN (SELECT d.id FROM areas o JOIN areas d
		ON d.path >= o.path AND d.path < substr(o.path, 1, length(o.path) - 1) || '0' WHERE o.id IN (OLD.old_area_id, NEW.old_area_id));
END;

CREATE TRIGGER reports_lineage_delete AFTER DELETE ON area_lineage BEGIN
	DELETE FROM area_weights WHERE place_id IN (SELECT d.id FROM areas o JOIN areas d
		ON d.path >= o.path AND d.path < substr(o.path, 1, length(o.path) - 1) || '0' WHERE o.id = OLD.old_area_id);
	INSERT INTO area_weights (area_id, place_id, w)
	SELECT area_id, place_id, w FROM area_weights_calc WHERE place_id IN (SELECT d.id FROM areas o JOIN areas d
		ON d.path >= o.path AND d.path < substr(o.path, 1, length(o.path) - 1) || '0' WHERE o.id = OLD.old_area_id);
END;

-- Assistance logs. The sync code writes a log row first and its outcomes
-- after; a delete sets deleted = 1 and then deletes the outcomes; a patch
-- updates the row and then replaces the outcomes. Each trigger counts what
-- is live at its moment, so any order of these steps stays consistent.
CREATE TRIGGER reports_log_insert AFTER INSERT ON assistance_logs WHEN NEW.deleted = 0 BEGIN
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	VALUES (COALESCE(NEW.village_id, NEW.area_id), NEW.team_id,
		COALESCE(date(NEW.occurred_at, '+7 hours'), substr(NEW.occurred_at, 1, 10)), 'log', '', 1, NEW.version, NEW.updated_at);
	INSERT INTO citizen_refresh (ref, v, at) SELECT NEW.citizen_ref, NEW.version, NEW.updated_at WHERE NEW.citizen_ref IS NOT NULL;
END;

CREATE TRIGGER reports_log_update AFTER UPDATE OF village_id, occurred_at, citizen_ref, deleted ON assistance_logs
WHEN OLD.village_id IS NOT NEW.village_id OR OLD.occurred_at IS NOT NEW.occurred_at
	OR OLD.citizen_ref IS NOT NEW.citizen_ref OR OLD.deleted <> NEW.deleted
BEGIN
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	SELECT place_id, OLD.team_id, day, metric, key, n, NEW.version, NEW.updated_at FROM (
		SELECT COALESCE(OLD.village_id, OLD.area_id) AS place_id,
			COALESCE(date(OLD.occurred_at, '+7 hours'), substr(OLD.occurred_at, 1, 10)) AS day, -1 AS n, OLD.deleted AS gone
		UNION ALL
		SELECT COALESCE(NEW.village_id, NEW.area_id),
			COALESCE(date(NEW.occurred_at, '+7 hours'), substr(NEW.occurred_at, 1, 10)), 1, NEW.deleted
	) s, (
		SELECT 'log' AS metric, '' AS key
		UNION ALL SELECT 'outcome', o.service || '|' || o.result FROM log_outcomes o WHERE o.log_id = NEW.id
		UNION ALL SELECT 'barrier', o.barrier FROM log_outcomes o WHERE o.log_id = NEW.id AND o.barrier IS NOT NULL
	) m
	WHERE s.gone = 0;
	INSERT INTO citizen_refresh (ref, v, at)
	SELECT OLD.citizen_ref, NEW.version, NEW.updated_at WHERE OLD.citizen_ref IS NOT NULL
	UNION
	SELECT NEW.citizen_ref, NEW.version, NEW.updated_at WHERE NEW.citizen_ref IS NOT NULL;
END;

CREATE TRIGGER reports_log_before_delete BEFORE DELETE ON assistance_logs WHEN OLD.deleted = 0 BEGIN
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	SELECT COALESCE(OLD.village_id, OLD.area_id), OLD.team_id,
		COALESCE(date(OLD.occurred_at, '+7 hours'), substr(OLD.occurred_at, 1, 10)), metric, key, -1, OLD.version, OLD.updated_at
	FROM (
		SELECT 'log' AS metric, '' AS key
		UNION ALL SELECT 'outcome', o.service || '|' || o.result FROM log_outcomes o WHERE o.log_id = OLD.id
		UNION ALL SELECT 'barrier', o.barrier FROM log_outcomes o WHERE o.log_id = OLD.id AND o.barrier IS NOT NULL);
END;

CREATE TRIGGER reports_log_after_delete AFTER DELETE ON assistance_logs WHEN OLD.citizen_ref IS NOT NULL BEGIN
	INSERT INTO citizen_refresh (ref, v, at) VALUES (OLD.citizen_ref, OLD.version, OLD.updated_at);
END;

CREATE TRIGGER reports_outcome_insert AFTER INSERT ON log_outcomes BEGIN
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	SELECT COALESCE(l.village_id, l.area_id), l.team_id,
		COALESCE(date(l.occurred_at, '+7 hours'), substr(l.occurred_at, 1, 10)), m.metric, m.key, 1, l.version, l.updated_at
	FROM assistance_logs l, (
		SELECT 'outcome' AS metric, NEW.service || '|' || NEW.result AS key
		UNION ALL SELECT 'barrier', NEW.barrier WHERE NEW.barrier IS NOT NULL) m
	WHERE l.id = NEW.log_id AND l.deleted = 0;
	-- A done outcome can only make this log the citizen's first for the
	-- service: refresh when it is earlier than the recorded first.
	INSERT INTO citizen_refresh (ref, v, at)
	SELECT l.citizen_ref, l.version, l.updated_at FROM assistance_logs l
	WHERE l.id = NEW.log_id AND l.deleted = 0 AND l.citizen_ref IS NOT NULL AND NEW.result = 'done'
		AND NOT EXISTS (SELECT 1 FROM citizen_firsts f WHERE f.citizen_ref = l.citizen_ref AND f.service = NEW.service
			AND (f.day < COALESCE(date(l.occurred_at, '+7 hours'), substr(l.occurred_at, 1, 10))
				OR (f.day = COALESCE(date(l.occurred_at, '+7 hours'), substr(l.occurred_at, 1, 10)) AND f.log_id <= l.id)));
END;

CREATE TRIGGER reports_outcome_delete AFTER DELETE ON log_outcomes BEGIN
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	SELECT COALESCE(l.village_id, l.area_id), l.team_id,
		COALESCE(date(l.occurred_at, '+7 hours'), substr(l.occurred_at, 1, 10)), m.metric, m.key, -1, l.version, l.updated_at
	FROM assistance_logs l, (
		SELECT 'outcome' AS metric, OLD.service || '|' || OLD.result AS key
		UNION ALL SELECT 'barrier', OLD.barrier WHERE OLD.barrier IS NOT NULL) m
	WHERE l.id = OLD.log_id AND l.deleted = 0;
	INSERT INTO citizen_refresh (ref, v, at)
	SELECT l.citizen_ref, l.version, l.updated_at FROM assistance_logs l
	WHERE l.id = OLD.log_id AND l.citizen_ref IS NOT NULL AND OLD.result = 'done'
		AND EXISTS (SELECT 1 FROM citizen_firsts f WHERE f.citizen_ref = l.citizen_ref AND f.service = OLD.service AND f.log_id = OLD.log_id);
END;

-- Training sessions count when held (held, reported or locked), not
-- deleted and with a held_at time; on the day they were held.
CREATE VIEW session_contributions AS
	SELECT s.id, s.area_id AS place_id, s.team_id, COALESCE(date(s.held_at, '+7 hours'), substr(s.held_at, 1, 10)) AS day,
		m.column1 AS metric, '' AS key,
		CASE m.column1 WHEN 'session' THEN 1 WHEN 'attendees' THEN s.attendees WHEN 'women' THEN s.women
			WHEN 'minority' THEN s.minority ELSE s.elderly END AS n
	FROM training_sessions s, (VALUES ('session'), ('attendees'), ('women'), ('minority'), ('elderly')) m
	WHERE s.deleted = 0 AND s.status IN ('held', 'reported', 'locked') AND s.held_at <> ''
		AND (m.column1 = 'session' OR CASE m.column1 WHEN 'attendees' THEN s.attendees WHEN 'women' THEN s.women
			WHEN 'minority' THEN s.minority ELSE s.elderly END <> 0)
	UNION ALL
	SELECT s.id, s.area_id, s.team_id, COALESCE(date(s.held_at, '+7 hours'), substr(s.held_at, 1, 10)), 'topic', t.value, s.attendees
	FROM training_sessions s, json_each(s.topics) t
	WHERE s.deleted = 0 AND s.status IN ('held', 'reported', 'locked') AND s.held_at <> '' AND s.attendees <> 0;

CREATE TRIGGER reports_session_insert AFTER INSERT ON training_sessions BEGIN
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	SELECT place_id, team_id, day, metric, key, n, NEW.version, NEW.updated_at FROM session_contributions WHERE id = NEW.id;
END;

-- The old contributions are computed from OLD.* directly (the row already
-- holds the new values).
CREATE TRIGGER reports_session_update AFTER UPDATE ON training_sessions
WHEN OLD.status IS NOT NEW.status OR OLD.held_at IS NOT NEW.held_at OR OLD.attendees IS NOT NEW.attendees
	OR OLD.women IS NOT NEW.women OR OLD.minority IS NOT NEW.minority OR OLD.elderly IS NOT NEW.elderly
	OR OLD.topics IS NOT NEW.topics OR OLD.deleted IS NOT NEW.deleted OR OLD.area_id IS NOT NEW.area_id
BEGIN
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	SELECT OLD.area_id, OLD.team_id, COALESCE(date(OLD.held_at, '+7 hours'), substr(OLD.held_at, 1, 10)), m.metric, m.key, -m.n,
		NEW.version, NEW.updated_at
	FROM (
		SELECT 'session' AS metric, '' AS key, 1 AS n
		UNION ALL SELECT 'attendees', '', OLD.attendees
		UNION ALL SELECT 'women', '', OLD.women
		UNION ALL SELECT 'minority', '', OLD.minority
		UNION ALL SELECT 'elderly', '', OLD.elderly
		UNION ALL SELECT 'topic', t.value, OLD.attendees FROM json_each(OLD.topics) t) m
	WHERE OLD.deleted = 0 AND OLD.status IN ('held', 'reported', 'locked') AND OLD.held_at <> '' AND m.n <> 0;
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	SELECT place_id, team_id, day, metric, key, n, NEW.version, NEW.updated_at FROM session_contributions WHERE id = NEW.id;
END;

CREATE TRIGGER reports_session_delete BEFORE DELETE ON training_sessions BEGIN
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	SELECT place_id, team_id, day, metric, key, -n, OLD.version, OLD.updated_at FROM session_contributions WHERE id = OLD.id;
END;

-- Progress reports: append-only values, counted unless void.
CREATE TRIGGER reports_progress_insert AFTER INSERT ON progress_reports WHEN NEW.void = 0 BEGIN
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	VALUES (NEW.area_id, NEW.team_id, NEW.as_of, 'manual', NEW.indicator, NEW.value, NEW.version, NEW.updated_at);
END;

CREATE TRIGGER reports_progress_update AFTER UPDATE OF void, value, as_of, indicator ON progress_reports
WHEN OLD.void IS NOT NEW.void OR OLD.value IS NOT NEW.value OR OLD.as_of IS NOT NEW.as_of OR OLD.indicator IS NOT NEW.indicator
BEGIN
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	SELECT OLD.area_id, OLD.team_id, OLD.as_of, 'manual', OLD.indicator, -OLD.value, NEW.version, NEW.updated_at WHERE OLD.void = 0
	UNION ALL
	SELECT NEW.area_id, NEW.team_id, NEW.as_of, 'manual', NEW.indicator, NEW.value, NEW.version, NEW.updated_at WHERE NEW.void = 0;
END;

CREATE TRIGGER reports_progress_delete BEFORE DELETE ON progress_reports WHEN OLD.void = 0 BEGIN
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	VALUES (OLD.area_id, OLD.team_id, OLD.as_of, 'manual', OLD.indicator, -OLD.value, OLD.version, OLD.updated_at);
END;

-- BEGIN REBUILD
-- Computes every derived table from the raw rows with plain set-based SQL:
-- the backfill of this migration, and Store.RebuildRollups (bulk loads run
-- it after inserting with the triggers dropped). It computes the same
-- figures as the triggers; tests compare the two.
DELETE FROM area_weights;
INSERT INTO area_weights (area_id, place_id, w) SELECT area_id, place_id, w FROM area_weights_calc;
DELETE FROM citizen_firsts;
INSERT INTO citizen_firsts (citizen_ref, service, day, log_id, place_id, team_id)
SELECT citizen_ref, service, day, log_id, place_id, team_id FROM citizen_firsts_calc;
DELETE FROM rollups;
INSERT INTO rollups (place_id, grain, period, team_id, metric, key, n)
SELECT place_id, 'd', day, team_id, metric, key, sum(n) FROM (
	SELECT COALESCE(l.village_id, l.area_id) AS place_id, l.team_id,
		COALESCE(date(l.occurred_at, '+7 hours'), substr(l.occurred_at, 1, 10)) AS day, 'log' AS metric, '' AS key, 1 AS n
	FROM assistance_logs l WHERE l.deleted = 0
	UNION ALL
	SELECT COALESCE(l.village_id, l.area_id), l.team_id,
		COALESCE(date(l.occurred_at, '+7 hours'), substr(l.occurred_at, 1, 10)), 'outcome', o.service || '|' || o.result, 1
	FROM assistance_logs l JOIN log_outcomes o ON o.log_id = l.id WHERE l.deleted = 0
	UNION ALL
	SELECT COALESCE(l.village_id, l.area_id), l.team_id,
		COALESCE(date(l.occurred_at, '+7 hours'), substr(l.occurred_at, 1, 10)), 'barrier', o.barrier, 1
	FROM assistance_logs l JOIN log_outcomes o ON o.log_id = l.id WHERE l.deleted = 0 AND o.barrier IS NOT NULL
	UNION ALL
	SELECT place_id, team_id, day, 'first', service, 1 FROM citizen_firsts
	UNION ALL
	SELECT place_id, team_id, day, metric, key, n FROM session_contributions
	UNION ALL
	SELECT area_id, team_id, as_of, 'manual', indicator, value FROM progress_reports WHERE void = 0)
GROUP BY place_id, day, team_id, metric, key;
INSERT INTO rollups (place_id, grain, period, team_id, metric, key, n)
SELECT place_id, 'm', substr(period, 1, 7), team_id, metric, key, sum(n) FROM rollups WHERE grain = 'd'
GROUP BY place_id, substr(period, 1, 7), team_id, metric, key;
-- END REBUILD
