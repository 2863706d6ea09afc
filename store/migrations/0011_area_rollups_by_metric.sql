-- area_rollups keyed by metric and key before period. A report page that
-- shows a few figures reads just their rows: with the period first, a
-- province's day rows of every metric and key had to be read (~5,800 a
-- day at 5M logs, 300 ms for a period of partial months) to pick out the
-- four headline figures (~470 rows a day). A report of every metric reads
-- the same rows as before, one range per metric and key (the keys are
-- those of the area's year rows).
--
-- The table is rebuilt in the new order; the two triggers that write it
-- (0010's) are dropped first and made again after, unchanged.
DROP TRIGGER reports_delta;
DROP TRIGGER reports_lineage_move;
CREATE TABLE area_rollups_new (
	area_id   INTEGER NOT NULL,
	grain     TEXT NOT NULL CHECK (grain IN ('d', 'm', 'y')),
	period    TEXT NOT NULL,
	bucket_id INTEGER NOT NULL,
	metric    TEXT NOT NULL,
	key       TEXT NOT NULL,
	n         REAL NOT NULL,
	PRIMARY KEY (area_id, grain, metric, key, period, bucket_id)
) STRICT, WITHOUT ROWID;
INSERT INTO area_rollups_new (area_id, grain, period, bucket_id, metric, key, n)
SELECT area_id, grain, period, bucket_id, metric, key, n FROM area_rollups
ORDER BY area_id, grain, metric, key, period, bucket_id;
DROP TABLE area_rollups;
ALTER TABLE area_rollups_new RENAME TO area_rollups;

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
	INSERT INTO area_trend (area_id, week, key, n)
	SELECT b.area_id, date(NEW.day, 'weekday 0', '-6 days'), NEW.key, NEW.n * b.w FROM area_buckets b
	WHERE b.place_id = NEW.place_id AND NEW.metric = 'first' AND NEW.day IS NOT NULL
	ON CONFLICT (area_id, week, key) DO UPDATE SET n = n + excluded.n;
	INSERT INTO team_totals (team_id, day, logs, citizens, sessions, attendees, women, minority, elderly)
	SELECT NEW.team_id, NEW.day, COALESCE(p.logs, 0), COALESCE(p.citizens, 0), COALESCE(p.sessions, 0),
		COALESCE(p.attendees, 0), COALESCE(p.women, 0), COALESCE(p.minority, 0), COALESCE(p.elderly, 0)
	FROM (SELECT 1) LEFT JOIN team_totals p ON p.team_id = NEW.team_id AND p.day = (SELECT day FROM team_totals
		WHERE team_id = NEW.team_id AND day < NEW.day ORDER BY day DESC LIMIT 1)
	WHERE NEW.day IS NOT NULL AND (NEW.key = '' AND NEW.metric IN ('log', 'session', 'attendees', 'women', 'minority', 'elderly')
		OR NEW.metric = 'first' AND NEW.key = '*')
	ON CONFLICT (team_id, day) DO NOTHING;
	UPDATE team_totals SET logs = logs + iif(NEW.metric = 'log', NEW.n, 0), citizens = citizens + iif(NEW.metric = 'first', NEW.n, 0),
		sessions = sessions + iif(NEW.metric = 'session', NEW.n, 0), attendees = attendees + iif(NEW.metric = 'attendees', NEW.n, 0),
		women = women + iif(NEW.metric = 'women', NEW.n, 0), minority = minority + iif(NEW.metric = 'minority', NEW.n, 0),
		elderly = elderly + iif(NEW.metric = 'elderly', NEW.n, 0)
	WHERE team_id = NEW.team_id AND day >= NEW.day AND (NEW.key = '' AND NEW.metric IN ('log', 'session', 'attendees', 'women',
		'minority', 'elderly') OR NEW.metric = 'first' AND NEW.key = '*');
	UPDATE target_progress SET numerator = numerator + NEW.n * x.w, version = max(version, NEW.v), as_of = NEW.at
	FROM (SELECT g.id, aw.w FROM area_weights aw JOIN targets g ON g.area_id = aw.area_id
		WHERE aw.place_id = NEW.place_id AND g.metric = NEW.metric AND g.key = NEW.key
			AND (NEW.day IS NULL OR NEW.day BETWEEN g.starts_on AND g.ends_on)) x
	WHERE target_progress.target_id = x.id;
	DELETE FROM rollup_deltas WHERE rowid = NEW.rowid;
END;

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
	INSERT INTO area_trend (area_id, week, key, n)
	SELECT b.area_id, date(r.period, 'weekday 0', '-6 days'), r.key, NEW.sign * sum(r.n) * b.w
	FROM area_buckets b JOIN rollups r ON r.place_id = NEW.place_id AND r.grain = 'd' AND r.metric = 'first'
	WHERE b.place_id = NEW.place_id
	GROUP BY b.area_id, date(r.period, 'weekday 0', '-6 days'), r.key
	ON CONFLICT (area_id, week, key) DO UPDATE SET n = n + excluded.n;
	DELETE FROM area_lineage_moves WHERE rowid = NEW.rowid;
END;
