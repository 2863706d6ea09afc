-- The schema after every migration (store/migrations), written by
-- `go test ./store -update`; TestSchemaSnapshot fails while it is stale.
-- Read this to know the tables; change them with a new migration.
-- Schema version 15.

CREATE TABLE announcement_receipts (
	announcement_id INTEGER NOT NULL REFERENCES announcements(id),
	user_id         INTEGER NOT NULL REFERENCES users(id),
	area_id         INTEGER NOT NULL REFERENCES areas(id),
	role            TEXT NOT NULL CHECK (role IN ('member', 'team_lead', 'coordinator', 'admin')),
	delivered_at    TEXT,
	read_at         TEXT,
	acked_at        TEXT,
	version         INTEGER NOT NULL,
	created_at      TEXT NOT NULL,
	updated_at      TEXT NOT NULL,
	PRIMARY KEY (announcement_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE announcements (
	id           INTEGER PRIMARY KEY,
	author_id    INTEGER NOT NULL REFERENCES users(id),
	title        TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
	body         TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
	priority     TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('normal', 'high', 'urgent')),
	ack_required INTEGER NOT NULL DEFAULT 0 CHECK (ack_required IN (0, 1)),
	audience     TEXT NOT NULL CHECK (json_valid(audience)),
	status       TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'scheduled', 'published', 'retracted')),
	publish_at   TEXT,
	published_at TEXT,
	expires_at   TEXT NOT NULL,
	retracted_at TEXT,
	recipients   INTEGER NOT NULL DEFAULT 0 CHECK (recipients >= 0),
	version      INTEGER NOT NULL,
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL,
	CHECK (status <> 'scheduled' OR publish_at IS NOT NULL),
	CHECK (status <> 'published' OR published_at IS NOT NULL),
	CHECK (status <> 'retracted' OR retracted_at IS NOT NULL)
) STRICT;

CREATE TABLE area_buckets (
	area_id   INTEGER NOT NULL,
	place_id  INTEGER NOT NULL,
	bucket_id INTEGER NOT NULL,
	w         REAL NOT NULL,
	PRIMARY KEY (place_id, area_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE area_lineage (
	old_area_id  INTEGER NOT NULL REFERENCES areas(id),
	new_area_id  INTEGER NOT NULL REFERENCES areas(id),
	share        REAL NOT NULL CHECK (share > 0 AND share <= 1),
	effective_on TEXT NOT NULL CHECK (date(effective_on) = effective_on),
	PRIMARY KEY (old_area_id, new_area_id),
	CHECK (old_area_id <> new_area_id)
) STRICT;

CREATE TABLE "area_rollups" (
	area_id   INTEGER NOT NULL,
	series    INTEGER NOT NULL,
	period    INTEGER NOT NULL,
	bucket_id INTEGER NOT NULL,
	n         REAL NOT NULL,
	PRIMARY KEY (area_id, series, period, bucket_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE area_trend (
	area_id INTEGER NOT NULL,
	week    TEXT NOT NULL,
	key     TEXT NOT NULL,
	n       REAL NOT NULL,
	PRIMARY KEY (area_id, week, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE area_weights (
	area_id  INTEGER NOT NULL REFERENCES areas(id),
	place_id INTEGER NOT NULL REFERENCES areas(id),
	w        REAL NOT NULL CHECK (w > 0 AND w <= 1),
	PRIMARY KEY (area_id, place_id)
) STRICT, WITHOUT ROWID;

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
	updated_at  TEXT NOT NULL, name_fold TEXT CHECK (name_fold IS NULL OR length(name_fold) <= 800),
	CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)
) STRICT;

CREATE TABLE assistance_logs (
	id           TEXT PRIMARY KEY CHECK (length(id) = 36),
	team_id      INTEGER NOT NULL REFERENCES teams(id),
	area_id      INTEGER NOT NULL REFERENCES areas(id),
	village_id   INTEGER REFERENCES areas(id),
	created_by   INTEGER NOT NULL REFERENCES users(id),
	occurred_at  TEXT NOT NULL CHECK (length(occurred_at) BETWEEN 10 AND 40),
	citizen_ref  TEXT CHECK (citizen_ref IS NULL OR length(citizen_ref) = 64),
	citizen_name TEXT CHECK (citizen_name IS NULL OR (consent = 1 AND length(citizen_name) <= 200)),
	age_band     TEXT NOT NULL DEFAULT '' CHECK (age_band IN ('', 'under_15', '15_24', '25_34', '35_44', '45_59', '60_plus')),
	gender       TEXT NOT NULL DEFAULT '' CHECK (gender IN ('', 'female', 'male', 'other')),
	minority     INTEGER NOT NULL DEFAULT 0 CHECK (minority IN (0, 1)),
	disability   INTEGER NOT NULL DEFAULT 0 CHECK (disability IN (0, 1)),
	consent      INTEGER NOT NULL DEFAULT 0 CHECK (consent IN (0, 1)),
	notes        TEXT NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
	outcomes     TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(outcomes)),
	locked       INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
	deleted      INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
	version      INTEGER NOT NULL,
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL
) STRICT;

CREATE TABLE attendee_aliases (
	alias_id    TEXT PRIMARY KEY,
	attendee_id TEXT NOT NULL REFERENCES session_attendees(id)
) STRICT, WITHOUT ROWID;

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

CREATE TABLE barriers (
	code     TEXT PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 40),
	label_vi TEXT NOT NULL CHECK (length(label_vi) BETWEEN 1 AND 200),
	label_en TEXT NOT NULL CHECK (length(label_en) BETWEEN 1 AND 200),
	sort     INTEGER NOT NULL DEFAULT 0,
	active   INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	version  INTEGER NOT NULL
) STRICT;

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

CREATE TABLE "citizen_firsts" (
	citizen_ref BLOB NOT NULL CHECK (length(citizen_ref) = 32),
	series      INTEGER NOT NULL,
	day         INTEGER NOT NULL,
	place_id    INTEGER NOT NULL,
	team_id     INTEGER NOT NULL,
	PRIMARY KEY (citizen_ref, series)
) STRICT, WITHOUT ROWID;

CREATE TABLE completion_imports (
	id          INTEGER PRIMARY KEY,
	user_id     INTEGER REFERENCES users(id), -- NULL: the command line
	imported_at TEXT NOT NULL,
	rows        INTEGER NOT NULL CHECK (rows >= 0),
	created     INTEGER NOT NULL CHECK (created >= 0),
	updated     INTEGER NOT NULL CHECK (updated >= 0),
	unchanged   INTEGER NOT NULL CHECK (unchanged >= 0)
) STRICT;

CREATE TABLE course_completions (
	citizen_ref  TEXT NOT NULL CHECK (length(citizen_ref) = 64),
	course       TEXT NOT NULL CHECK (length(course) BETWEEN 1 AND 200),
	completed_on TEXT NOT NULL CHECK (date(completed_on) = completed_on),
	area_id      INTEGER NOT NULL REFERENCES areas(id),
	import_id    INTEGER NOT NULL REFERENCES completion_imports(id),
	PRIMARY KEY (citizen_ref, course)
) STRICT, WITHOUT ROWID;

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
, released_at TEXT CHECK (released_at IS NULL OR length(released_at) = 24)) STRICT;

CREATE TABLE indicators (
	code         TEXT PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 40),
	label_vi     TEXT NOT NULL CHECK (length(label_vi) BETWEEN 1 AND 200),
	label_en     TEXT NOT NULL CHECK (length(label_en) BETWEEN 1 AND 200),
	kind         TEXT NOT NULL CHECK (kind IN ('count', 'percent')),
	numerator    TEXT NOT NULL CHECK (numerator = 'manual' OR numerator LIKE 'service:%' OR numerator LIKE 'topic:%'),
	denominator  TEXT NOT NULL DEFAULT '' CHECK (denominator IN ('', 'population', 'adults', 'working_age', 'households')),
	national_ref REAL,
	sort         INTEGER NOT NULL DEFAULT 0,
	active       INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	version      INTEGER NOT NULL
, rule TEXT NOT NULL DEFAULT '' CHECK (rule IN ('', 'team_members'))) STRICT;

CREATE TABLE progress_reports (
	id           TEXT PRIMARY KEY CHECK (length(id) = 36),
	team_id      INTEGER NOT NULL REFERENCES teams(id),
	area_id      INTEGER NOT NULL REFERENCES areas(id),
	created_by   INTEGER NOT NULL REFERENCES users(id),
	indicator    TEXT NOT NULL REFERENCES indicators(code),
	as_of        TEXT NOT NULL CHECK (date(as_of) = as_of),
	value        REAL NOT NULL,
	note         TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
	corrects     TEXT REFERENCES progress_reports(id),
	void         INTEGER NOT NULL DEFAULT 0 CHECK (void IN (0, 1)),
	voided_by    INTEGER REFERENCES users(id),
	version      INTEGER NOT NULL,
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL
) STRICT;

CREATE TABLE push_outbox (
	id              INTEGER PRIMARY KEY,
	announcement_id INTEGER NOT NULL REFERENCES announcements(id),
	user_id         INTEGER NOT NULL REFERENCES users(id),
	device_id       TEXT NOT NULL REFERENCES devices(id),
	token           TEXT NOT NULL CHECK (length(token) BETWEEN 1 AND 4096),
	state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
		('pending', 'sending', 'sent', 'failed', 'invalid', 'expired', 'gave_up', 'cancelled')),
	attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at TEXT NOT NULL,
	lease_until     TEXT,
	last_error      TEXT NOT NULL DEFAULT '' CHECK (length(last_error) <= 40),
	message_id      TEXT NOT NULL DEFAULT '' CHECK (length(message_id) <= 200),
	sent_at         TEXT,
	created_at      TEXT NOT NULL,
	updated_at      TEXT NOT NULL,
	UNIQUE (announcement_id, device_id)
) STRICT;

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

CREATE TABLE rollup_series (
	id     INTEGER PRIMARY KEY,
	metric TEXT NOT NULL CHECK (length(metric) BETWEEN 1 AND 20),
	key    TEXT NOT NULL CHECK (length(key) <= 120),
	UNIQUE (metric, key)
) STRICT;

CREATE TABLE seq (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	value INTEGER NOT NULL
) STRICT;

CREATE TABLE services (
	code     TEXT PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 40),
	label_vi TEXT NOT NULL CHECK (length(label_vi) BETWEEN 1 AND 200),
	label_en TEXT NOT NULL CHECK (length(label_en) BETWEEN 1 AND 200),
	sort     INTEGER NOT NULL DEFAULT 0,
	active   INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	version  INTEGER NOT NULL
) STRICT;

CREATE TABLE session_attendees (
	id          TEXT PRIMARY KEY CHECK (length(id) = 36),
	session_id  TEXT NOT NULL REFERENCES training_sessions(id),
	team_id     INTEGER NOT NULL REFERENCES teams(id),
	created_by  INTEGER NOT NULL REFERENCES users(id),
	citizen_ref TEXT CHECK (citizen_ref IS NULL OR length(citizen_ref) = 64),
	name        TEXT CHECK (name IS NULL OR (consent = 1 AND length(name) <= 200)),
	consent     INTEGER NOT NULL DEFAULT 0 CHECK (consent IN (0, 1)),
	gender      TEXT NOT NULL DEFAULT '' CHECK (gender IN ('', 'female', 'male', 'other')),
	age_band    TEXT NOT NULL DEFAULT '' CHECK (age_band IN ('', 'under_15', '15_24', '25_34', '35_44', '45_59', '60_plus')),
	minority    INTEGER NOT NULL DEFAULT 0 CHECK (minority IN (0, 1)),
	disability  INTEGER NOT NULL DEFAULT 0 CHECK (disability IN (0, 1)),
	removed     INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1)),
	version     INTEGER NOT NULL,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

CREATE TABLE sync_conflicts (
	id            TEXT PRIMARY KEY CHECK (length(id) = 36),
	team_id       INTEGER NOT NULL REFERENCES teams(id),
	tbl           TEXT NOT NULL,
	row_id        TEXT NOT NULL,
	field         TEXT NOT NULL,
	lost_value    TEXT NOT NULL CHECK (json_valid(lost_value)),
	won_value     TEXT NOT NULL CHECK (json_valid(won_value)),
	lost_by       INTEGER REFERENCES users(id),
	won_by        INTEGER REFERENCES users(id),
	device_id     TEXT,
	mid           INTEGER,
	resolved      INTEGER NOT NULL DEFAULT 0 CHECK (resolved IN (0, 1)),
	resolution    TEXT NOT NULL DEFAULT '' CHECK (length(resolution) <= 1000),
	resolved_by   INTEGER REFERENCES users(id),
	version       INTEGER NOT NULL,
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL
) STRICT;

CREATE TABLE sync_results (
	device_id  TEXT NOT NULL REFERENCES devices(id),
	mid        INTEGER NOT NULL,
	result     TEXT NOT NULL CHECK (json_valid(result)),
	created_at TEXT NOT NULL, hash TEXT CHECK (hash IS NULL OR length(hash) = 32),
	PRIMARY KEY (device_id, mid)
) STRICT, WITHOUT ROWID;

CREATE TABLE target_progress (
	target_id   INTEGER PRIMARY KEY REFERENCES targets(id) ON DELETE CASCADE,
	numerator   REAL NOT NULL DEFAULT 0,
	denominator REAL NOT NULL DEFAULT 0,
	value       REAL NOT NULL DEFAULT 0,
	status      TEXT NOT NULL DEFAULT 'on_track' CHECK (status IN ('on_track', 'at_risk', 'behind')),
	as_of       TEXT NOT NULL,
	version     INTEGER NOT NULL
) STRICT;

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
	updated_at TEXT NOT NULL, allocated_goal REAL CHECK (allocated_goal IS NULL OR allocated_goal > 0),
	CHECK (ends_on >= starts_on),
	UNIQUE (indicator, area_id, starts_on, ends_on)
) STRICT;

CREATE TABLE team_digests (
	team_id INTEGER PRIMARY KEY,
	rows    INTEGER NOT NULL CHECK (rows >= 0),
	hash    INTEGER NOT NULL
) STRICT;

CREATE TABLE team_last_active (
	team_id INTEGER PRIMARY KEY,
	day     TEXT NOT NULL
) STRICT;

CREATE TABLE "team_rollups" (
	team_id INTEGER NOT NULL,
	period  INTEGER NOT NULL,
	series  INTEGER NOT NULL,
	n       REAL NOT NULL,
	PRIMARY KEY (team_id, period, series)
) STRICT, WITHOUT ROWID;

CREATE TABLE team_targets (
	id        TEXT PRIMARY KEY,
	target_id INTEGER NOT NULL REFERENCES targets(id) ON DELETE CASCADE,
	team_id   INTEGER NOT NULL REFERENCES teams(id),
	version   INTEGER NOT NULL
) STRICT;

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
, name_fold TEXT CHECK (name_fold IS NULL OR length(name_fold) <= 800)) STRICT;

CREATE TABLE tombstones (
	seq        INTEGER PRIMARY KEY,
	scope      TEXT NOT NULL,
	tbl        TEXT NOT NULL,
	row_id     TEXT NOT NULL,
	created_at TEXT NOT NULL
) STRICT;

CREATE TABLE training_sessions (
	id             TEXT PRIMARY KEY CHECK (length(id) = 36),
	team_id        INTEGER NOT NULL REFERENCES teams(id),
	area_id        INTEGER NOT NULL REFERENCES areas(id),
	created_by     INTEGER NOT NULL REFERENCES users(id),
	updated_by     INTEGER NOT NULL REFERENCES users(id),
	status         TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'held', 'reported', 'locked', 'cancelled')),
	place          TEXT NOT NULL DEFAULT '' CHECK (length(place) <= 200),
	topics         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(topics)),
	scheduled_at   TEXT NOT NULL DEFAULT '' CHECK (length(scheduled_at) <= 40),
	held_at        TEXT NOT NULL DEFAULT '' CHECK (length(held_at) <= 40),
	facilitators   TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(facilitators)),
	attendees      INTEGER NOT NULL DEFAULT 0 CHECK (attendees >= 0),
	women          INTEGER NOT NULL DEFAULT 0 CHECK (women >= 0),
	minority       INTEGER NOT NULL DEFAULT 0 CHECK (minority >= 0),
	elderly        INTEGER NOT NULL DEFAULT 0 CHECK (elderly >= 0),
	notes          TEXT NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
	field_versions TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(field_versions)),
	deleted        INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
	version        INTEGER NOT NULL,
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL
) STRICT;

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
	updated_at          TEXT NOT NULL, name_fold TEXT CHECK (name_fold IS NULL OR length(name_fold) <= 800),
	CHECK (
		(role IN ('member', 'team_lead') AND team_id IS NOT NULL AND area_id IS NULL) OR
		(role = 'coordinator' AND area_id IS NOT NULL AND team_id IS NULL) OR
		(role = 'admin' AND team_id IS NULL AND area_id IS NULL)
	)
) STRICT;

CREATE INDEX announcement_receipts_rollup ON announcement_receipts (announcement_id, area_id, role);

CREATE INDEX announcement_receipts_user ON announcement_receipts (user_id, version);

CREATE INDEX announcements_author ON announcements (author_id);

CREATE INDEX announcements_due ON announcements (publish_at) WHERE status = 'scheduled';

CREATE INDEX area_buckets_area ON area_buckets (area_id, bucket_id);

CREATE INDEX area_lineage_new ON area_lineage (new_area_id);

CREATE INDEX area_weights_place ON area_weights (place_id, area_id, w);

CREATE UNIQUE INDEX areas_level_code ON areas (level, code) WHERE code IS NOT NULL;

CREATE INDEX areas_name_fold ON areas (name_fold);

CREATE INDEX areas_parent ON areas (parent_id, name);

CREATE INDEX assistance_logs_citizen ON assistance_logs (citizen_ref) WHERE citizen_ref IS NOT NULL;

CREATE INDEX assistance_logs_team_version ON assistance_logs (team_id, version) WHERE deleted = 0;

CREATE INDEX audit_log_entity ON audit_log (entity, entity_id) WHERE action <> 'create' OR entity <> 'assistance_logs';

CREATE INDEX audit_log_user_at ON audit_log (user_id, at);

CREATE INDEX barriers_version ON barriers (version);

CREATE INDEX campaign_ranks_target ON campaign_ranks (target_id);

CREATE INDEX course_completions_area ON course_completions (area_id, completed_on);

CREATE INDEX devices_user ON devices (user_id);

CREATE INDEX indicators_version ON indicators (version);

CREATE INDEX progress_reports_team_version ON progress_reports (team_id, version);

CREATE INDEX push_outbox_due ON push_outbox (next_attempt_at, id) WHERE state IN ('pending', 'sending');

CREATE INDEX push_outbox_token ON push_outbox (token) WHERE state IN ('pending', 'sending');

CREATE INDEX push_outbox_user ON push_outbox (announcement_id, user_id, state);

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE INDEX services_version ON services (version);

CREATE INDEX session_attendees_session ON session_attendees (session_id);

CREATE INDEX session_attendees_team_version ON session_attendees (team_id, version);

CREATE INDEX sync_conflicts_team_version ON sync_conflicts (team_id, version);

CREATE INDEX targets_area ON targets (area_id, starts_on);

CREATE INDEX targets_match ON targets (metric, key, area_id);

CREATE INDEX targets_parent ON targets (parent_id) WHERE parent_id IS NOT NULL;

CREATE INDEX team_targets_target ON team_targets (target_id);

CREATE INDEX team_targets_team_version ON team_targets (team_id, version);

CREATE INDEX teams_area ON teams (area_id);

CREATE INDEX teams_name_fold ON teams (name_fold);

CREATE INDEX tombstones_created ON tombstones (created_at);

CREATE INDEX tombstones_scope ON tombstones (scope, seq);

CREATE INDEX training_sessions_day ON training_sessions (
	COALESCE(date(NULLIF(held_at, ''), '+7 hours'), date(NULLIF(scheduled_at, ''), '+7 hours'), ''), id)
	WHERE deleted = 0;

CREATE INDEX training_sessions_team_version ON training_sessions (team_id, version) WHERE deleted = 0;

CREATE INDEX users_area ON users (area_id) WHERE area_id IS NOT NULL;

CREATE INDEX users_name_fold ON users (name_fold);

CREATE INDEX users_team ON users (team_id) WHERE team_id IS NOT NULL;
