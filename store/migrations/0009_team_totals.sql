-- Running totals of a team's headline figures, so a team list over any
-- period reads two rows per team: the totals at the period's last day
-- minus the totals before its first. A province summary over a partial
-- period read every day row of 5,100 teams × 7 metrics from team_rollups
-- (1M rows at 1M logs: 3.3 s on a quiet machine); this reads ~20,000.
--
-- team_totals has a row per team and day with a headline change: the sums
-- of every change up to and including that day. A change on day D adds a
-- row for D (copying the totals of the day before it) and adds itself to
-- every row from D on: one row for today's work, a few for a phone that
-- syncs a week late. The counts are whole numbers (team figures carry no
-- weights), so differences of sums are exact.
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

-- 0008's funnel plus the running totals.
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

-- BEGIN REBUILD
-- From the team rollups of 0008 (rebuilt before this section).
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
-- END REBUILD
