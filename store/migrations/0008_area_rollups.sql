-- Per-ancestor rollups: a report on an area reads one row per child area
-- (its "bucket") × period × metric × key, and a team list one row per team
-- × period × metric × key, instead of every village × team row of the
-- rollups table (a province summary read 2.6M month rows per year at 1M
-- logs: 7 s). Years are a grain too, so a whole-year report reads one row
-- per key. The rollups table of 0005 stays: it is the place-level source
-- of these tables, of target numerators and of lineage recomputation.

-- area_buckets: for each (area, place) of area_weights, the row of the
-- area's report the place counts in, with the place's weight:
--   the area itself for the area's own place;
--   in the subtree, the child of the area on the path to the place;
--   through lineage (merged or split areas), the place's deepest
--   ancestor-or-self with lineage (the merged area itself).
CREATE TABLE area_buckets (
	area_id   INTEGER NOT NULL,
	place_id  INTEGER NOT NULL,
	bucket_id INTEGER NOT NULL,
	w         REAL NOT NULL,
	PRIMARY KEY (place_id, area_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX area_buckets_area ON area_buckets (area_id, bucket_id);

CREATE VIEW area_buckets_calc AS
	SELECT w.area_id, w.place_id, CASE
		WHEN w.place_id = w.area_id THEN w.area_id
		WHEN substr(p.path, 1, length(a.path)) = a.path THEN
			CAST(substr(p.path, length(a.path) + 1, instr(substr(p.path, length(a.path) + 1), '/') - 1) AS INTEGER)
		ELSE (SELECT x.id FROM json_each(ap.ids) jx JOIN areas x ON x.id = jx.value
			WHERE EXISTS (SELECT 1 FROM area_lineage l WHERE l.old_area_id = x.id)
			ORDER BY x.depth DESC LIMIT 1)
		END AS bucket_id, w.w
	FROM area_weights w JOIN areas a ON a.id = w.area_id JOIN areas p ON p.id = w.place_id
	JOIN area_path_ids ap ON ap.id = w.place_id;

-- area_rollups: the weighted sums of the rollups of every place counting
-- into area_id, by bucket. grain 'd' (YYYY-MM-DD), 'm' (YYYY-MM), 'y' (YYYY).
-- The row (area, bucket = area) holds the place's own figures.
CREATE TABLE area_rollups (
	area_id   INTEGER NOT NULL,
	grain     TEXT NOT NULL CHECK (grain IN ('d', 'm', 'y')),
	period    TEXT NOT NULL,
	bucket_id INTEGER NOT NULL,
	metric    TEXT NOT NULL,
	key       TEXT NOT NULL,
	n         REAL NOT NULL,
	PRIMARY KEY (area_id, grain, period, bucket_id, metric, key)
) STRICT, WITHOUT ROWID;

-- team_rollups: a team's own figures wherever its work was placed (no
-- weights), for team lists, leaderboards and last activity.
CREATE TABLE team_rollups (
	team_id INTEGER NOT NULL,
	grain   TEXT NOT NULL CHECK (grain IN ('d', 'm', 'y')),
	period  TEXT NOT NULL,
	metric  TEXT NOT NULL,
	key     TEXT NOT NULL,
	n       REAL NOT NULL,
	PRIMARY KEY (team_id, grain, period, metric, key)
) STRICT, WITHOUT ROWID;
-- A province's team list reads the headline metrics of 5,000 teams: this
-- index reads exactly their rows, not every key of every day.
CREATE INDEX team_rollups_metric ON team_rollups (team_id, grain, metric, key, period, n);

-- The funnel (0006's trigger, unchanged) now also adds the change to the
-- area and team rollups, in the same write transaction.
DROP TRIGGER reports_delta;
CREATE TRIGGER reports_delta AFTER INSERT ON rollup_deltas BEGIN
	INSERT INTO rollups (place_id, grain, period, team_id, metric, key, n)
	SELECT NEW.place_id, 'd', NEW.day, NEW.team_id, NEW.metric, NEW.key, NEW.n WHERE NEW.day IS NOT NULL
	UNION ALL
	SELECT NEW.place_id, 'm', substr(NEW.day, 1, 7), NEW.team_id, NEW.metric, NEW.key, NEW.n WHERE NEW.day IS NOT NULL
	ON CONFLICT (place_id, grain, period, team_id, metric, key) DO UPDATE SET n = n + excluded.n;
	INSERT INTO area_rollups (area_id, grain, period, bucket_id, metric, key, n)
	SELECT b.area_id, g.grain, g.period, b.bucket_id, NEW.metric, NEW.key, NEW.n * b.w
	FROM area_buckets b, (SELECT 'd' AS grain, NEW.day AS period UNION ALL SELECT 'm', substr(NEW.day, 1, 7)
		UNION ALL SELECT 'y', substr(NEW.day, 1, 4)) g
	WHERE b.place_id = NEW.place_id AND NEW.day IS NOT NULL
	ON CONFLICT (area_id, grain, period, bucket_id, metric, key) DO UPDATE SET n = n + excluded.n;
	INSERT INTO team_rollups (team_id, grain, period, metric, key, n)
	SELECT NEW.team_id, 'd', NEW.day, NEW.metric, NEW.key, NEW.n WHERE NEW.day IS NOT NULL
	UNION ALL
	SELECT NEW.team_id, 'm', substr(NEW.day, 1, 7), NEW.metric, NEW.key, NEW.n WHERE NEW.day IS NOT NULL
	UNION ALL
	SELECT NEW.team_id, 'y', substr(NEW.day, 1, 4), NEW.metric, NEW.key, NEW.n WHERE NEW.day IS NOT NULL
	ON CONFLICT (team_id, grain, period, metric, key) DO UPDATE SET n = n + excluded.n;
	UPDATE target_progress SET numerator = numerator + NEW.n * x.w, version = max(version, NEW.v), as_of = NEW.at
	FROM (SELECT g.id, aw.w FROM area_weights aw JOIN targets g ON g.area_id = aw.area_id
		WHERE aw.place_id = NEW.place_id AND g.metric = NEW.metric AND g.key = NEW.key
			AND (NEW.day IS NULL OR NEW.day BETWEEN g.starts_on AND g.ends_on)) x
	WHERE target_progress.target_id = x.id;
	DELETE FROM rollup_deltas WHERE rowid = NEW.rowid;
END;

-- A new area weighs into its ancestors; its buckets follow in the same
-- trigger program (SQLite promises no order between triggers on one event).
DROP TRIGGER reports_area_insert;
CREATE TRIGGER reports_area_insert AFTER INSERT ON areas BEGIN
	INSERT INTO area_weights (area_id, place_id, w)
	SELECT area_id, place_id, w FROM area_weights_calc WHERE place_id = NEW.id;
	INSERT INTO area_buckets (area_id, place_id, bucket_id, w)
	SELECT area_id, place_id, bucket_id, w FROM area_buckets_calc WHERE place_id = NEW.id;
END;

-- area_lineage_moves: a lineage change re-weighs the places of the old
-- area's subtree. Inserting (place, sign) here moves the place's rollups
-- out of (-1) or into (+1) the area rollups of its current buckets.
CREATE TABLE area_lineage_moves (
	place_id INTEGER NOT NULL,
	sign     INTEGER NOT NULL CHECK (sign IN (-1, 1))
) STRICT;

CREATE TRIGGER reports_lineage_move AFTER INSERT ON area_lineage_moves BEGIN
	INSERT INTO area_rollups (area_id, grain, period, bucket_id, metric, key, n)
	SELECT b.area_id, r.grain, r.period, b.bucket_id, r.metric, r.key, NEW.sign * sum(r.n) * b.w
	FROM area_buckets b JOIN (
		SELECT grain, period, metric, key, n FROM rollups WHERE place_id = NEW.place_id
		UNION ALL
		SELECT 'y', substr(period, 1, 4), metric, key, n FROM rollups WHERE place_id = NEW.place_id AND grain = 'm') r
	WHERE b.place_id = NEW.place_id
	GROUP BY b.area_id, r.grain, r.period, b.bucket_id, r.metric, r.key
	ON CONFLICT (area_id, grain, period, bucket_id, metric, key) DO UPDATE SET n = n + excluded.n;
	DELETE FROM area_lineage_moves WHERE rowid = NEW.rowid;
END;

-- The lineage triggers of 0006 with the area rollups moved around the
-- change of weights: out with the old buckets, in with the new.
DROP TRIGGER reports_lineage_insert;
DROP TRIGGER reports_lineage_update;
DROP TRIGGER reports_lineage_delete;
CREATE VIEW lineage_subtree AS
	SELECT o.id AS old_area_id, d.id AS place_id FROM areas o JOIN areas d
		ON d.path >= o.path AND d.path < substr(o.path, 1, length(o.path) - 1) || '0';
CREATE TRIGGER reports_lineage_insert AFTER INSERT ON area_lineage BEGIN
	INSERT INTO area_lineage_moves (place_id, sign)
	SELECT place_id, -1 FROM lineage_subtree WHERE old_area_id = NEW.old_area_id;
	DELETE FROM area_weights WHERE place_id IN (SELECT place_id FROM lineage_subtree WHERE old_area_id = NEW.old_area_id);
	INSERT INTO area_weights (area_id, place_id, w)
	SELECT area_id, place_id, w FROM area_weights_calc WHERE place_id IN (SELECT place_id FROM lineage_subtree WHERE old_area_id = NEW.old_area_id);
	DELETE FROM area_buckets WHERE place_id IN (SELECT place_id FROM lineage_subtree WHERE old_area_id = NEW.old_area_id);
	INSERT INTO area_buckets (area_id, place_id, bucket_id, w)
	SELECT area_id, place_id, bucket_id, w FROM area_buckets_calc WHERE place_id IN (SELECT place_id FROM lineage_subtree WHERE old_area_id = NEW.old_area_id);
	INSERT INTO area_lineage_moves (place_id, sign)
	SELECT place_id, 1 FROM lineage_subtree WHERE old_area_id = NEW.old_area_id;
	UPDATE seq SET value = value + 1 WHERE id = 1;
	UPDATE target_progress SET numerator = c.numerator, as_of = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
		version = (SELECT value FROM seq WHERE id = 1)
	FROM target_numerator_calc c WHERE c.target_id = target_progress.target_id AND c.numerator IS NOT target_progress.numerator;
END;
CREATE TRIGGER reports_lineage_update AFTER UPDATE ON area_lineage BEGIN
	INSERT INTO area_lineage_moves (place_id, sign)
	SELECT DISTINCT place_id, -1 FROM lineage_subtree WHERE old_area_id IN (OLD.old_area_id, NEW.old_area_id);
	DELETE FROM area_weights WHERE place_id IN (SELECT place_id FROM lineage_subtree WHERE old_area_id IN (OLD.old_area_id, NEW.old_area_id));
	INSERT INTO area_weights (area_id, place_id, w)
	SELECT area_id, place_id, w FROM area_weights_calc WHERE place_id IN (SELECT place_id FROM lineage_subtree WHERE old_area_id IN (OLD.old_area_id, NEW.old_area_id));
	DELETE FROM area_buckets WHERE place_id IN (SELECT place_id FROM lineage_subtree WHERE old_area_id IN (OLD.old_area_id, NEW.old_area_id));
	INSERT INTO area_buckets (area_id, place_id, bucket_id, w)
	SELECT area_id, place_id, bucket_id, w FROM area_buckets_calc WHERE place_id IN (SELECT place_id FROM lineage_subtree WHERE old_area_id IN (OLD.old_area_id, NEW.old_area_id));
	INSERT INTO area_lineage_moves (place_id, sign)
	SELECT DISTINCT place_id, 1 FROM lineage_subtree WHERE old_area_id IN (OLD.old_area_id, NEW.old_area_id);
	UPDATE seq SET value = value + 1 WHERE id = 1;
	UPDATE target_progress SET numerator = c.numerator, as_of = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
		version = (SELECT value FROM seq WHERE id = 1)
	FROM target_numerator_calc c WHERE c.target_id = target_progress.target_id AND c.numerator IS NOT target_progress.numerator;
END;
CREATE TRIGGER reports_lineage_delete AFTER DELETE ON area_lineage BEGIN
	INSERT INTO area_lineage_moves (place_id, sign)
	SELECT place_id, -1 FROM lineage_subtree WHERE old_area_id = OLD.old_area_id;
	DELETE FROM area_weights WHERE place_id IN (SELECT place_id FROM lineage_subtree WHERE old_area_id = OLD.old_area_id);
	INSERT INTO area_weights (area_id, place_id, w)
	SELECT area_id, place_id, w FROM area_weights_calc WHERE place_id IN (SELECT place_id FROM lineage_subtree WHERE old_area_id = OLD.old_area_id);
	DELETE FROM area_buckets WHERE place_id IN (SELECT place_id FROM lineage_subtree WHERE old_area_id = OLD.old_area_id);
	INSERT INTO area_buckets (area_id, place_id, bucket_id, w)
	SELECT area_id, place_id, bucket_id, w FROM area_buckets_calc WHERE place_id IN (SELECT place_id FROM lineage_subtree WHERE old_area_id = OLD.old_area_id);
	INSERT INTO area_lineage_moves (place_id, sign)
	SELECT place_id, 1 FROM lineage_subtree WHERE old_area_id = OLD.old_area_id;
	UPDATE seq SET value = value + 1 WHERE id = 1;
	UPDATE target_progress SET numerator = c.numerator, as_of = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
		version = (SELECT value FROM seq WHERE id = 1)
	FROM target_numerator_calc c WHERE c.target_id = target_progress.target_id AND c.numerator IS NOT target_progress.numerator;
END;

-- BEGIN REBUILD
-- Computes the tables of this migration from area_weights and rollups
-- (which the rebuild section of 0005 computes from the raw rows first):
-- the backfill of this migration and the second half of RebuildRollups.
DELETE FROM area_buckets;
INSERT INTO area_buckets (area_id, place_id, bucket_id, w)
SELECT area_id, place_id, bucket_id, w FROM area_buckets_calc;
DELETE FROM area_rollups;
INSERT INTO area_rollups (area_id, grain, period, bucket_id, metric, key, n)
SELECT b.area_id, r.grain, r.period, b.bucket_id, r.metric, r.key, sum(r.n * b.w)
FROM area_buckets b JOIN rollups r ON r.place_id = b.place_id
GROUP BY b.area_id, r.grain, r.period, b.bucket_id, r.metric, r.key;
INSERT INTO area_rollups (area_id, grain, period, bucket_id, metric, key, n)
SELECT area_id, 'y', substr(period, 1, 4), bucket_id, metric, key, sum(n) FROM area_rollups WHERE grain = 'm'
GROUP BY area_id, substr(period, 1, 4), bucket_id, metric, key;
DELETE FROM team_rollups;
INSERT INTO team_rollups (team_id, grain, period, metric, key, n)
SELECT team_id, grain, period, metric, key, sum(n) FROM rollups GROUP BY team_id, grain, period, metric, key;
INSERT INTO team_rollups (team_id, grain, period, metric, key, n)
SELECT team_id, 'y', substr(period, 1, 4), metric, key, sum(n) FROM team_rollups WHERE grain = 'm'
GROUP BY team_id, substr(period, 1, 4), metric, key;
-- END REBUILD
