-- The coordinator's daily tools (issue 14): what each phone says about its
-- sync, the campaign ranks sent to team leads, and the goals an allocation
-- set (so a second allocation can tell a goal changed by hand).

-- One row per device heard from since this migration. Written only by the
-- device-activity recorder's flush (every ~30 s and at shutdown: one write
-- transaction for every device heard from meanwhile), never inside a push
-- or a pull: a pull is a read-only transaction and stays one. Times are the
-- server's (RFC 3339 UTC). pending_mutations is what the phone last said
-- waits in its outbox, pending_at when it said it; app_version what its
-- last push said (devices.app_version changes only at login).
CREATE TABLE device_activity (
	device_id         TEXT PRIMARY KEY REFERENCES devices(id),
	last_push_at      TEXT CHECK (last_push_at IS NULL OR length(last_push_at) BETWEEN 20 AND 40),
	last_pull_at      TEXT CHECK (last_pull_at IS NULL OR length(last_pull_at) BETWEEN 20 AND 40),
	last_login_at     TEXT CHECK (last_login_at IS NULL OR length(last_login_at) BETWEEN 20 AND 40),
	pending_mutations INTEGER CHECK (pending_mutations IS NULL OR pending_mutations >= 0),
	pending_at        TEXT CHECK (pending_at IS NULL OR length(pending_at) BETWEEN 20 AND 40),
	app_version       TEXT CHECK (app_version IS NULL OR length(app_version) <= 40),
	CHECK ((pending_mutations IS NULL) = (pending_at IS NULL))
) STRICT, WITHOUT ROWID;

-- A team's standing in a running campaign (a target with a campaign period
-- and no parent target of its own campaign), within its commune and its
-- province: by citizens reached, then logs; teams equal on both share a
-- rank. Replaced whole by Store.RefreshCampaignRanks (a periodic job, one
-- write transaction); a pull reads a team lead's rows by team_id.
CREATE TABLE campaign_ranks (
	team_id        INTEGER NOT NULL REFERENCES teams(id),
	target_id      INTEGER NOT NULL REFERENCES targets(id) ON DELETE CASCADE,
	citizens       REAL NOT NULL CHECK (citizens >= 0),
	logs           REAL NOT NULL CHECK (logs >= 0),
	commune_rank   INTEGER NOT NULL CHECK (commune_rank >= 1),
	commune_teams  INTEGER NOT NULL CHECK (commune_teams >= commune_rank),
	province_rank  INTEGER NOT NULL CHECK (province_rank >= 1),
	province_teams INTEGER NOT NULL CHECK (province_teams >= province_rank),
	as_of          TEXT NOT NULL CHECK (length(as_of) BETWEEN 20 AND 40),
	PRIMARY KEY (team_id, target_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX campaign_ranks_target ON campaign_ranks (target_id);

-- The goal the last allocation gave a child target. A goal that differs
-- from it was changed by hand, and allocating again does not overwrite it
-- unless asked to (replace). Existing children are taken as allocated.
ALTER TABLE targets ADD COLUMN allocated_goal REAL CHECK (allocated_goal IS NULL OR allocated_goal > 0);
UPDATE targets SET allocated_goal = goal WHERE parent_id IS NOT NULL;
