-- Targets: indicators as data (Decision 411/QĐ-TTg, DTI), targets per area
-- and period, allocation from a parent target, and target_progress kept
-- current in the write transaction by the rollup funnel of migration 0005.

-- rule says how the numerator is computed when the numerator column cannot
-- say it: 'team_members' counts the active members and leads of the teams
-- counting into the area (the numerator column then reads 'manual').
ALTER TABLE indicators ADD COLUMN rule TEXT NOT NULL DEFAULT '' CHECK (rule IN ('', 'team_members'));

INSERT INTO indicators (code, label_vi, label_en, kind, numerator, denominator, national_ref, rule, sort, version)
SELECT column1, column2, column3, column4, column5, column6, column7, column8, column9,
	(SELECT value FROM seq) + column9 - 6 FROM (VALUES
	('adults_smartphone', 'Người trưởng thành có điện thoại thông minh', 'Adults with a smartphone', 'percent', 'service:smartphone_basics', 'adults', 80.0, '', 7),
	('eid_accounts', 'Người dân có tài khoản định danh điện tử', 'People with an electronic identity account', 'percent', 'service:vneid_l1', 'adults', NULL, '', 8),
	('members_per_100', 'Thành viên Tổ CNSCĐ trên 100 dân (DTI)', 'Team members per 100 residents (DTI)', 'percent', 'manual', 'population', 5.0, 'team_members', 9),
	('vneid_l1_activated', 'Tài khoản VNeID mức 1 được kích hoạt', 'VNeID level 1 accounts activated', 'count', 'service:vneid_l1', '', NULL, '', 10),
	('online_stores_opened', 'Gian hàng trực tuyến được mở', 'Online stores opened', 'count', 'service:online_store', '', NULL, '', 11));
UPDATE seq SET value = value + 5 WHERE id = 1;

-- A target: an indicator's goal for an area over a period (a year, a
-- quarter or a campaign with dates), optionally allocated from a parent.
-- metric and key say which rollups count (copied from the indicator).
CREATE TABLE targets (
	id         INTEGER PRIMARY KEY,
	indicator  TEXT NOT NULL REFERENCES indicators(code),
	area_id    INTEGER NOT NULL REFERENCES areas(id),
	period     TEXT NOT NULL CHECK (period IN ('year', 'quarter', 'campaign')),
	name       TEXT NOT NULL DEFAULT '' CHECK (length(name) <= 200),
	starts_on  TEXT NOT NULL CHECK (date(starts_on) = starts_on),
	ends_on    TEXT NOT NULL CHECK (date(ends_on) = ends_on),
	goal       REAL NOT NULL CHECK (goal > 0),
	parent_id  INTEGER REFERENCES targets(id) ON DELETE SET NULL,
	metric     TEXT NOT NULL CHECK (metric IN ('first', 'topic', 'manual', 'members')),
	key        TEXT NOT NULL,
	kind       TEXT NOT NULL CHECK (kind IN ('count', 'percent')),
	denominator TEXT NOT NULL,
	created_by INTEGER REFERENCES users(id),
	version    INTEGER NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	CHECK (ends_on >= starts_on),
	UNIQUE (indicator, area_id, starts_on, ends_on)
) STRICT;
CREATE INDEX targets_match ON targets (metric, key, area_id);
CREATE INDEX targets_area ON targets (area_id, starts_on);
CREATE INDEX targets_parent ON targets (parent_id) WHERE parent_id IS NOT NULL;

-- The confirmed progress of a target: value is numerator / denominator × 100
-- for percent indicators and numerator for counts. status is as of as_of
-- (the time of the write that last changed it); readers recompute it for
-- today (see TargetStatus).
CREATE TABLE target_progress (
	target_id   INTEGER PRIMARY KEY REFERENCES targets(id) ON DELETE CASCADE,
	numerator   REAL NOT NULL DEFAULT 0,
	denominator REAL NOT NULL DEFAULT 0,
	value       REAL NOT NULL DEFAULT 0,
	status      TEXT NOT NULL DEFAULT 'on_track' CHECK (status IN ('on_track', 'at_risk', 'behind')),
	as_of       TEXT NOT NULL,
	version     INTEGER NOT NULL
) STRICT;

-- What phones sync: one row per target and team sitting on the target's
-- area (team scope), so a team lead sees the team's targets. version follows
-- the progress; id is "<target>:<team>".
CREATE TABLE team_targets (
	id        TEXT PRIMARY KEY,
	target_id INTEGER NOT NULL REFERENCES targets(id) ON DELETE CASCADE,
	team_id   INTEGER NOT NULL REFERENCES teams(id),
	version   INTEGER NOT NULL
) STRICT;
CREATE INDEX team_targets_team_version ON team_targets (team_id, version);
CREATE INDEX team_targets_target ON team_targets (target_id);

-- Status given the time elapsed: expected = goal × the elapsed fraction of
-- the period (members per 100 residents is a level: expected = goal).
-- on_track: value ≥ goal or ≥ 90% of expected; at_risk: ≥ 70%; else behind.
-- Store.TargetStatus is the same rule in Go.
CREATE TRIGGER targets_progress_changed AFTER UPDATE OF numerator, denominator, as_of ON target_progress BEGIN
	UPDATE target_progress SET
		value = v.value,
		status = CASE
			WHEN v.value >= v.goal OR v.value >= 0.9 * v.expected THEN 'on_track'
			WHEN v.value >= 0.7 * v.expected THEN 'at_risk'
			ELSE 'behind' END
	FROM (SELECT g.goal,
			CASE WHEN g.kind = 'percent' THEN CASE WHEN NEW.denominator > 0 THEN NEW.numerator * 100.0 / NEW.denominator ELSE 0 END
				ELSE NEW.numerator END AS value,
			g.goal * CASE WHEN g.metric = 'members' THEN 1.0 ELSE min(1.0, max(0.0,
				(julianday(date(NEW.as_of, '+7 hours')) - julianday(g.starts_on) + 1) /
				(julianday(g.ends_on) - julianday(g.starts_on) + 1))) END AS expected
		FROM targets g WHERE g.id = NEW.target_id) v
	WHERE target_progress.target_id = NEW.target_id;
	UPDATE team_targets SET version = NEW.version WHERE target_id = NEW.target_id AND version < NEW.version;
END;

-- The funnel now also moves the numerators of the targets the change
-- counts into: targets on an area the place weighs into, for the metric and
-- key, whose period holds the day (members have no day: every period).
DROP TRIGGER reports_delta;
CREATE TRIGGER reports_delta AFTER INSERT ON rollup_deltas BEGIN
	INSERT INTO rollups (place_id, grain, period, team_id, metric, key, n)
	SELECT NEW.place_id, 'd', NEW.day, NEW.team_id, NEW.metric, NEW.key, NEW.n WHERE NEW.day IS NOT NULL
	UNION ALL
	SELECT NEW.place_id, 'm', substr(NEW.day, 1, 7), NEW.team_id, NEW.metric, NEW.key, NEW.n WHERE NEW.day IS NOT NULL
	ON CONFLICT (place_id, grain, period, team_id, metric, key) DO UPDATE SET n = n + excluded.n;
	UPDATE target_progress SET numerator = numerator + NEW.n * x.w, version = max(version, NEW.v), as_of = NEW.at
	FROM (SELECT g.id, aw.w FROM area_weights aw JOIN targets g ON g.area_id = aw.area_id
		WHERE aw.place_id = NEW.place_id AND g.metric = NEW.metric AND g.key = NEW.key
			AND (NEW.day IS NULL OR NEW.day BETWEEN g.starts_on AND g.ends_on)) x
	WHERE target_progress.target_id = x.id;
	DELETE FROM rollup_deltas WHERE rowid = NEW.rowid;
END;

-- Team members (for members per 100 residents): active members and leads,
-- placed on their team's area.
CREATE TRIGGER targets_user_insert AFTER INSERT ON users
WHEN NEW.active = 1 AND NEW.role IN ('member', 'team_lead') AND NEW.team_id IS NOT NULL BEGIN
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	SELECT t.area_id, t.id, NULL, 'members', '', 1, NEW.version, NEW.updated_at FROM teams t WHERE t.id = NEW.team_id;
END;

CREATE TRIGGER targets_user_update AFTER UPDATE OF active, role, team_id ON users
WHEN OLD.active IS NOT NEW.active OR OLD.role IS NOT NEW.role OR OLD.team_id IS NOT NEW.team_id BEGIN
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	SELECT t.area_id, t.id, NULL, 'members', '', -1, NEW.version, NEW.updated_at FROM teams t
	WHERE t.id = OLD.team_id AND OLD.active = 1 AND OLD.role IN ('member', 'team_lead')
	UNION ALL
	SELECT t.area_id, t.id, NULL, 'members', '', 1, NEW.version, NEW.updated_at FROM teams t
	WHERE t.id = NEW.team_id AND NEW.active = 1 AND NEW.role IN ('member', 'team_lead');
END;

CREATE TRIGGER targets_team_move AFTER UPDATE OF area_id ON teams WHEN OLD.area_id IS NOT NEW.area_id BEGIN
	INSERT INTO rollup_deltas (place_id, team_id, day, metric, key, n, v, at)
	SELECT OLD.area_id, NEW.id, NULL, 'members', '', -count(*), NEW.version, NEW.updated_at FROM users u
	WHERE u.team_id = NEW.id AND u.active = 1 AND u.role IN ('member', 'team_lead') HAVING count(*) > 0
	UNION ALL
	SELECT NEW.area_id, NEW.id, NULL, 'members', '', count(*), NEW.version, NEW.updated_at FROM users u
	WHERE u.team_id = NEW.id AND u.active = 1 AND u.role IN ('member', 'team_lead') HAVING count(*) > 0;
END;

-- A new team on an area with targets gets their rows (its scope starts at 0).
CREATE TRIGGER targets_team_insert AFTER INSERT ON teams BEGIN
	INSERT INTO team_targets (id, target_id, team_id, version)
	SELECT g.id || ':' || NEW.id, g.id, NEW.id, p.version FROM targets g JOIN target_progress p ON p.target_id = g.id
	WHERE g.area_id = NEW.area_id;
END;

-- Population figures are denominators.
CREATE TRIGGER targets_area_population AFTER UPDATE OF population, adults, working_age, households ON areas BEGIN
	UPDATE target_progress SET denominator = CASE g.denominator WHEN 'population' THEN NEW.population
			WHEN 'adults' THEN NEW.adults WHEN 'working_age' THEN NEW.working_age WHEN 'households' THEN NEW.households ELSE 0 END,
		version = max(target_progress.version, NEW.version), as_of = NEW.updated_at
	FROM targets g WHERE g.id = target_progress.target_id AND g.area_id = NEW.id;
END;

-- A lineage change moves past figures between areas: recompute the
-- numerators of every target from the rollups (a rare admin action).
CREATE VIEW target_numerator_calc AS
	SELECT g.id AS target_id, COALESCE((
		SELECT sum(r.n * aw.w) FROM area_weights aw JOIN rollups r ON r.place_id = aw.place_id AND r.grain = 'd'
			AND r.period BETWEEN g.starts_on AND g.ends_on AND r.metric = g.metric AND r.key = g.key
		WHERE aw.area_id = g.area_id AND g.metric <> 'members'), (
		SELECT count(*) * 1.0 FROM area_weights aw JOIN teams t ON t.area_id = aw.place_id JOIN users u ON u.team_id = t.id
		WHERE aw.area_id = g.area_id AND g.metric = 'members' AND u.active = 1 AND u.role IN ('member', 'team_lead')), 0) AS numerator
	FROM targets g;

-- The lineage triggers of 0005 are replaced so that the weights change
-- first and the numerators follow in the same trigger program (SQLite does
-- not promise an order between triggers on one event).
DROP TRIGGER reports_lineage_insert;
DROP TRIGGER reports_lineage_update;
DROP TRIGGER reports_lineage_delete;
CREATE TRIGGER reports_lineage_insert AFTER INSERT ON area_lineage BEGIN
	DELETE FROM area_weights WHERE place_id IN (SELECT d.id FROM areas o JOIN areas d
		ON d.path >= o.path AND d.path < substr(o.path, 1, length(o.path) - 1) || '0' WHERE o.id IN (NEW.old_area_id));
	INSERT INTO area_weights (area_id, place_id, w)
	SELECT area_id, place_id, w FROM area_weights_calc WHERE place_id IN (SELECT d.id FROM areas o JOIN areas d
		ON d.path >= o.path AND d.path < substr(o.path, 1, length(o.path) - 1) || '0' WHERE o.id IN (NEW.old_area_id));
	UPDATE seq SET value = value + 1 WHERE id = 1;
	UPDATE target_progress SET numerator = c.numerator, as_of = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
		version = (SELECT value FROM seq WHERE id = 1)
	FROM target_numerator_calc c WHERE c.target_id = target_progress.target_id AND c.numerator IS NOT target_progress.numerator;
END;
CREATE TRIGGER reports_lineage_update AFTER UPDATE ON area_lineage BEGIN
	DELETE FROM area_weights WHERE place_id IN (SELECT d.id FROM areas o JOIN areas d
		ON d.path >= o.path AND d.path < substr(o.path, 1, length(o.path) - 1) || '0' WHERE o.id IN (OLD.old_area_id, NEW.old_area_id));
	INSERT INTO area_weights (area_id, place_id, w)
	SELECT area_id, place_id, w FROM area_weights_calc WHERE place_id IN (SELECT d.id FROM areas o JOIN areas d
		ON d.path >= o.path AND d.path < substr(o.path, 1, length(o.path) - 1) || '0' WHERE o.id IN (OLD.old_area_id, NEW.old_area_id));
	UPDATE seq SET value = value + 1 WHERE id = 1;
	UPDATE target_progress SET numerator = c.numerator, as_of = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
		version = (SELECT value FROM seq WHERE id = 1)
	FROM target_numerator_calc c WHERE c.target_id = target_progress.target_id AND c.numerator IS NOT target_progress.numerator;
END;
CREATE TRIGGER reports_lineage_delete AFTER DELETE ON area_lineage BEGIN
	DELETE FROM area_weights WHERE place_id IN (SELECT d.id FROM areas o JOIN areas d
		ON d.path >= o.path AND d.path < substr(o.path, 1, length(o.path) - 1) || '0' WHERE o.id IN (OLD.old_area_id));
	INSERT INTO area_weights (area_id, place_id, w)
	SELECT area_id, place_id, w FROM area_weights_calc WHERE place_id IN (SELECT d.id FROM areas o JOIN areas d
		ON d.path >= o.path AND d.path < substr(o.path, 1, length(o.path) - 1) || '0' WHERE o.id IN (OLD.old_area_id));
	UPDATE seq SET value = value + 1 WHERE id = 1;
	UPDATE target_progress SET numerator = c.numerator, as_of = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
		version = (SELECT value FROM seq WHERE id = 1)
	FROM target_numerator_calc c WHERE c.target_id = target_progress.target_id AND c.numerator IS NOT target_progress.numerator;
END;
