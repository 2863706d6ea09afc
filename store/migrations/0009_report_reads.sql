-- Reads a coordinator's pages can afford on a province of 5,000 teams and
-- millions of logs. Each table below is kept by the funnel trigger (or the
-- lineage move) in the same transaction as the write, and has a rebuild
-- section that RebuildRollups runs.

-- team_totals: running totals of a team's headline figures, so a team list
-- over any period reads two rows per team (the totals at the period's last
-- day minus those before its first) instead of every day of 5,100 teams × 7
-- metrics (1M rows at 1M logs, 3.3 s). A row per team and day with a
-- headline change holds the sums of every change up to and including that
-- day. A change on day D adds a row for D (copying the totals of the day
-- before it) and adds itself to every row from D on: one row for today's
-- work, a few for a phone that syncs a week late. The counts are whole
-- numbers (team figures carry no weights), so differences are exact.
CREATE TABLE team_totals (
	team_id   INTEGER NOT NULL,
	day       TEXT NOT NULL,
	logs      REAL NOT NULL,
	citizens  REAL NOT NULL,
	sessions  REAL NOT NULL,
	attendees REAL NOT NULL,
	women     REAL NOT NULL,
	minority  REAL NOT NULL,
	elderly   REAL NOT NULL,
	PRIMARY KEY (team_id, day)
) STRICT, WITHOUT ROWID;

-- The index 0008 added for the headline reads has no reader left; every
-- write paid for it.
DROP INDEX team_rollups_metric;

-- area_trend: citizens reached for the first time per area, week (its
-- Monday, Vietnam days) and service ('*' is any), weighted like the area
-- rollups. The 12-week trend of a province read every day row of every
-- place (2 s at 1M logs); this reads 12 × services rows.
CREATE TABLE area_trend (
	area_id INTEGER NOT NULL,
	week    TEXT NOT NULL,
	key     TEXT NOT NULL,
	n       REAL NOT NULL,
	PRIMARY KEY (area_id, week, key)
) STRICT, WITHOUT ROWID;

-- team_last_active: each team's last day with a log or a held session that
-- counts (its team_rollups 'log' or 'session' day row above 0). A
-- province's team list found it with a backward scan of each team's day
-- rows. A change that empties the last day finds the day before it.
CREATE TABLE team_last_active (
	team_id INTEGER PRIMARY KEY,
	day     TEXT NOT NULL
) STRICT;

-- A province's list of training sessions walks the sessions by day, newest
-- first, and stops at the page size, instead of sorting every session.
-- The expression is trainings.go's sessionDay.
CREATE INDEX training_sessions_day ON training_sessions (
	COALESCE(date(NULLIF(held_at, ''), '+7 hours'), date(NULLIF(scheduled_at, ''), '+7 hours'), ''), id)
	WHERE deleted = 0;

-- area_rollups keyed by metric and key before period: a page that shows a
-- few figures reads just their rows. With the period first, a province's
-- day rows of every metric and key had to be read (~5,800 a day at 5M
-- logs) to pick out the four headline figures (~470 rows a day). A report
-- of every metric reads the same rows as before, one range per metric and
-- key (the keys are those of the area's year rows). The table is rebuilt in
-- the new order; the triggers that write it are dropped first and made
-- again below.
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

-- 0008's funnel plus the running totals, the trend and the last active day.
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
	-- After team_rollups took the change: a team's last active day.
	INSERT INTO team_last_active (team_id, day) SELECT NEW.team_id, NEW.day
	WHERE NEW.day IS NOT NULL AND NEW.key = '' AND NEW.metric IN ('log', 'session') AND NEW.n > 0
	ON CONFLICT (team_id) DO UPDATE SET day = max(day, excluded.day);
	DELETE FROM team_last_active WHERE team_id = NEW.team_id AND day = NEW.day AND NEW.n < 0 AND NEW.key = ''
		AND NEW.metric IN ('log', 'session') AND NOT EXISTS (SELECT 1 FROM team_rollups r WHERE r.team_id = NEW.team_id
			AND r.grain = 'd' AND r.period = NEW.day AND r.metric IN ('log', 'session') AND r.key = '' AND r.n > 0.5);
	INSERT INTO team_last_active (team_id, day)
	SELECT NEW.team_id, (SELECT r.period FROM team_rollups r WHERE r.team_id = NEW.team_id AND r.grain = 'd'
		AND r.metric IN ('log', 'session') AND r.key = '' AND r.n > 0.5 ORDER BY r.period DESC LIMIT 1) AS day
	WHERE NEW.n < 0 AND NEW.key = '' AND NEW.metric IN ('log', 'session')
		AND NOT EXISTS (SELECT 1 FROM team_last_active WHERE team_id = NEW.team_id) AND day IS NOT NULL;
	DELETE FROM rollup_deltas WHERE rowid = NEW.rowid;
END;

-- 0008's lineage move plus the trend: a lineage change moves a place's
-- first reaches out of the trend of its old ancestors and into its new ones.
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

-- BEGIN REBUILD
-- From the team and area rollups of 0008 (rebuilt before this section).
DELETE FROM team_totals;
INSERT INTO team_totals (team_id, day, logs, citizens, sessions, attendees, women, minority, elderly)
SELECT team_id, period, sum(logs) OVER w, sum(citizens) OVER w, sum(sessions) OVER w, sum(attendees) OVER w,
	sum(women) OVER w, sum(minority) OVER w, sum(elderly) OVER w
FROM (SELECT team_id, period,
		sum(iif(metric = 'log', n, 0)) AS logs, sum(iif(metric = 'first', n, 0)) AS citizens,
		sum(iif(metric = 'session', n, 0)) AS sessions, sum(iif(metric = 'attendees', n, 0)) AS attendees,
		sum(iif(metric = 'women', n, 0)) AS women, sum(iif(metric = 'minority', n, 0)) AS minority,
		sum(iif(metric = 'elderly', n, 0)) AS elderly
	FROM team_rollups WHERE grain = 'd' AND (key = '' AND metric IN ('log', 'session', 'attendees', 'women', 'minority',
		'elderly') OR metric = 'first' AND key = '*')
	GROUP BY team_id, period)
WINDOW w AS (PARTITION BY team_id ORDER BY period ROWS UNBOUNDED PRECEDING);
DELETE FROM area_trend;
INSERT INTO area_trend (area_id, week, key, n)
SELECT area_id, date(period, 'weekday 0', '-6 days'), key, sum(n) FROM area_rollups
WHERE grain = 'd' AND metric = 'first'
GROUP BY area_id, date(period, 'weekday 0', '-6 days'), key;
DELETE FROM team_last_active;
INSERT INTO team_last_active (team_id, day)
SELECT team_id, max(period) FROM team_rollups
WHERE grain = 'd' AND metric IN ('log', 'session') AND key = '' AND n > 0.5
GROUP BY team_id;
-- END REBUILD
