-- team_last_active: each team's last day with a log or a held session
-- that counts (the day of its team_rollups 'log' or 'session' row with n
-- above 0), kept by the funnel. A province's team list looked it up with a
-- backward scan of each team's day rows: 5,100 scans, about half the list's
-- 80 ms. A change that empties the last day finds the day before it.
CREATE TABLE team_last_active (
	team_id INTEGER PRIMARY KEY,
	day     TEXT NOT NULL
) STRICT;

-- 0011's funnel plus the last active day.
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

-- BEGIN REBUILD
-- From the team rollups of 0008 (rebuilt before this section).
DELETE FROM team_last_active;
INSERT INTO team_last_active (team_id, day)
SELECT team_id, max(period) FROM team_rollups
WHERE grain = 'd' AND metric IN ('log', 'session') AND key = '' AND n > 0.5
GROUP BY team_id;
-- END REBUILD
