-- Foundation: settings, the change sequence, areas, teams, users, devices,
-- refresh tokens and the audit trail.

-- Deployment settings such as generated secrets.
CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

-- One server-wide change counter. Every change to a synced row takes the next
-- value inside its write transaction, so seq order is commit order.
CREATE TABLE seq (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	value INTEGER NOT NULL
) STRICT;
INSERT INTO seq (id, value) VALUES (1, 0);

-- Areas form a tree of any depth. path is the materialized path of ids
-- ("/1/7/42/"), so a subtree is one index range: path >= P AND path < P with
-- its last "/" replaced by "0", the next byte (see subtreeRange).
CREATE TABLE areas (
	id          INTEGER PRIMARY KEY,
	parent_id   INTEGER REFERENCES areas(id),
	path        TEXT NOT NULL UNIQUE,
	depth       INTEGER NOT NULL CHECK (depth >= 0),
	level       TEXT NOT NULL CHECK (level IN ('province', 'district', 'commune', 'village', 'residential_group')),
	name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	code        TEXT CHECK (code IS NULL OR length(code) BETWEEN 1 AND 20),
	valid_from  TEXT CHECK (valid_from IS NULL OR date(valid_from) = valid_from),
	valid_to    TEXT CHECK (valid_to IS NULL OR date(valid_to) = valid_to),
	population  INTEGER NOT NULL DEFAULT 0 CHECK (population >= 0),
	adults      INTEGER NOT NULL DEFAULT 0 CHECK (adults >= 0),
	working_age INTEGER NOT NULL DEFAULT 0 CHECK (working_age >= 0),
	households  INTEGER NOT NULL DEFAULT 0 CHECK (households >= 0),
	version     INTEGER NOT NULL DEFAULT 0,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)
) STRICT;
CREATE UNIQUE INDEX areas_level_code ON areas (level, code) WHERE code IS NOT NULL;
CREATE INDEX areas_parent ON areas (parent_id, name);

-- Mergers and splits (the 2025 reform): history of an old unit is reported on
-- its successors, share being the fraction that went to new_area_id.
CREATE TABLE area_lineage (
	old_area_id  INTEGER NOT NULL REFERENCES areas(id),
	new_area_id  INTEGER NOT NULL REFERENCES areas(id),
	share        REAL NOT NULL CHECK (share > 0 AND share <= 1),
	effective_on TEXT NOT NULL CHECK (date(effective_on) = effective_on),
	PRIMARY KEY (old_area_id, new_area_id),
	CHECK (old_area_id <> new_area_id)
) STRICT;
CREATE INDEX area_lineage_new ON area_lineage (new_area_id);

CREATE TABLE teams (
	id                INTEGER PRIMARY KEY,
	area_id           INTEGER NOT NULL REFERENCES areas(id),
	name              TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	founded_on        TEXT CHECK (founded_on IS NULL OR date(founded_on) = founded_on),
	founding_decision TEXT NOT NULL DEFAULT '' CHECK (length(founding_decision) <= 200),
	active            INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	version           INTEGER NOT NULL DEFAULT 0,
	created_at        TEXT NOT NULL,
	updated_at        TEXT NOT NULL
) STRICT;
CREATE INDEX teams_area ON teams (area_id);

-- Users log in with a normalized phone number (0xxxxxxxxx). Members and team
-- leads belong to a team; coordinators are scoped to an area subtree.
CREATE TABLE users (
	id                  INTEGER PRIMARY KEY,
	phone               TEXT NOT NULL UNIQUE CHECK (length(phone) BETWEEN 10 AND 11),
	name                TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	role                TEXT NOT NULL CHECK (role IN ('member', 'team_lead', 'coordinator', 'admin')),
	team_id             INTEGER REFERENCES teams(id),
	area_id             INTEGER REFERENCES areas(id),
	gender              TEXT NOT NULL DEFAULT '' CHECK (gender IN ('', 'female', 'male', 'other')),
	password_hash       TEXT NOT NULL,
	active              INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	version             INTEGER NOT NULL DEFAULT 0,
	password_changed_at TEXT NOT NULL,
	created_at          TEXT NOT NULL,
	updated_at          TEXT NOT NULL,
	CHECK (
		(role IN ('member', 'team_lead') AND team_id IS NOT NULL AND area_id IS NULL) OR
		(role = 'coordinator' AND area_id IS NOT NULL AND team_id IS NULL) OR
		(role = 'admin' AND team_id IS NULL AND area_id IS NULL)
	)
) STRICT;
CREATE INDEX users_team ON users (team_id) WHERE team_id IS NOT NULL;
CREATE INDEX users_area ON users (area_id) WHERE area_id IS NOT NULL;

-- A phone. The id is a UUID the app chose; it is bound to one user.
CREATE TABLE devices (
	id                    TEXT PRIMARY KEY CHECK (length(id) = 36),
	user_id               INTEGER NOT NULL REFERENCES users(id),
	platform              TEXT NOT NULL CHECK (platform IN ('android', 'ios', 'web')),
	app_version           TEXT NOT NULL DEFAULT '' CHECK (length(app_version) <= 40),
	push_token            TEXT CHECK (push_token IS NULL OR length(push_token) BETWEEN 1 AND 4096),
	push_token_updated_at TEXT,
	last_mid              INTEGER NOT NULL DEFAULT 0 CHECK (last_mid >= 0),
	last_seen_at          TEXT NOT NULL,
	created_at            TEXT NOT NULL
) STRICT;
CREATE INDEX devices_user ON devices (user_id);

-- Rotating refresh tokens. Only a SHA-256 of the token is stored. A family is
-- one login's chain; presenting a spent token revokes the family.
CREATE TABLE refresh_tokens (
	token_hash  BLOB PRIMARY KEY,
	family_id   TEXT NOT NULL,
	user_id     INTEGER NOT NULL REFERENCES users(id),
	device_id   TEXT NOT NULL REFERENCES devices(id),
	created_at  TEXT NOT NULL,
	expires_at  TEXT NOT NULL,
	spent_at    TEXT,
	revoked_at  TEXT
) STRICT, WITHOUT ROWID;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Who changed what, from which device (and, for sync, which mid).
CREATE TABLE audit_log (
	id        INTEGER PRIMARY KEY,
	at        TEXT NOT NULL,
	user_id   INTEGER REFERENCES users(id),
	device_id TEXT,
	mid       INTEGER,
	action    TEXT NOT NULL,
	entity    TEXT NOT NULL,
	entity_id TEXT NOT NULL,
	detail    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
) STRICT;
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
