-- Offline-first sync (docs: SYNC.md): catalogs, the synced tables, per-device
-- results, conflicts and tombstones. Every synced row carries version = the
-- seq of its last change; pulls are index range scans on (team_id, version).

-- Catalogs: read-only for phones, in the `catalog` scope. Codes are stable.
CREATE TABLE services (
	code     TEXT PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 40),
	label_vi TEXT NOT NULL CHECK (length(label_vi) BETWEEN 1 AND 200),
	label_en TEXT NOT NULL CHECK (length(label_en) BETWEEN 1 AND 200),
	sort     INTEGER NOT NULL DEFAULT 0,
	active   INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	version  INTEGER NOT NULL
) STRICT;
CREATE INDEX services_version ON services (version);

CREATE TABLE barriers (
	code     TEXT PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 40),
	label_vi TEXT NOT NULL CHECK (length(label_vi) BETWEEN 1 AND 200),
	label_en TEXT NOT NULL CHECK (length(label_en) BETWEEN 1 AND 200),
	sort     INTEGER NOT NULL DEFAULT 0,
	active   INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	version  INTEGER NOT NULL
) STRICT;
CREATE INDEX barriers_version ON barriers (version);

-- Indicators are data, not code. numerator: 'service:<code>' (citizens with
-- that service done), 'topic:<code>' (attendees of sessions on a topic) or
-- 'manual' (progress reports). denominator: an areas population column or ''.
-- The targets work extends this table in a later migration.
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
) STRICT;
CREATE INDEX indicators_version ON indicators (version);

-- Seeds: each row takes its own seq, so versions stay unique across tables.
INSERT INTO services (code, label_vi, label_en, sort, version)
SELECT column1, column2, column3, column4, (SELECT value FROM seq) + column4 FROM (VALUES
	('skill_public_services', 'Kỹ năng số cơ bản: dịch vụ công trực tuyến', 'Basic digital skill: online public services', 1),
	('skill_online_shopping', 'Kỹ năng số cơ bản: mua sắm trực tuyến', 'Basic digital skill: online shopping', 2),
	('skill_online_payment', 'Kỹ năng số cơ bản: thanh toán trực tuyến', 'Basic digital skill: online payment', 3),
	('skill_online_safety', 'Kỹ năng số cơ bản: an toàn trên không gian mạng', 'Basic digital skill: staying safe online', 4),
	('skill_local_platforms', 'Kỹ năng số cơ bản: nền tảng số địa phương', 'Basic digital skill: local digital platforms', 5),
	('vneid_l1', 'Kích hoạt định danh điện tử VNeID mức 1', 'VNeID electronic identity, level 1', 6),
	('vneid_l2', 'Kích hoạt định danh điện tử VNeID mức 2', 'VNeID electronic identity, level 2', 7),
	('public_service_account', 'Tạo tài khoản dịch vụ công trực tuyến', 'Online public service account', 8),
	('public_service_submission', 'Nộp hồ sơ dịch vụ công trực tuyến', 'Online public service submission', 9),
	('payment_account', 'Mở tài khoản thanh toán', 'Payment account', 10),
	('cashless_payment', 'Thanh toán không dùng tiền mặt', 'Cashless payment', 11),
	('online_store', 'Mở gian hàng trực tuyến', 'Online store', 12),
	('smartphone_basics', 'Sử dụng điện thoại thông minh cơ bản', 'Smartphone basics', 13),
	('ehealth', 'Sổ sức khỏe điện tử, y tế số', 'E-health', 14),
	('social_insurance_app', 'Ứng dụng Bảo hiểm xã hội số (VssID)', 'Social-insurance app (VssID)', 15),
	('binh_dan_hoc_vu_so', 'Khóa học Bình dân học vụ số', 'Bình dân học vụ số digital-literacy course', 16));
UPDATE seq SET value = value + 16 WHERE id = 1;

INSERT INTO barriers (code, label_vi, label_en, sort, version)
SELECT column1, column2, column3, column4, (SELECT value FROM seq) + column4 FROM (VALUES
	('no_smartphone', 'Không có điện thoại thông minh', 'No smartphone', 1),
	('sim_not_own_name', 'SIM không chính chủ', 'SIM not registered in own name', 2),
	('elderly_or_disabled', 'Người cao tuổi hoặc khuyết tật', 'Elderly or disabled', 3),
	('working_away', 'Đi làm ăn xa', 'Working away from home', 4),
	('data_mismatch', 'Sai lệch dữ liệu dân cư', 'Data mismatch in the population database', 5),
	('no_signal', 'Không có sóng, mạng', 'No signal', 6),
	('declined', 'Người dân từ chối', 'Declined', 7),
	('other', 'Lý do khác', 'Other', 8));
UPDATE seq SET value = value + 8 WHERE id = 1;

INSERT INTO indicators (code, label_vi, label_en, kind, numerator, denominator, national_ref, sort, version)
SELECT column1, column2, column3, column4, column5, column6, column7, column8, (SELECT value FROM seq) + column8 FROM (VALUES
	('basic_skills_trained', 'Người trong độ tuổi lao động được hướng dẫn kỹ năng số cơ bản', 'Working-age people trained in basic digital skills', 'percent', 'service:skill_public_services', 'working_age', 70.0, 1),
	('vneid_l2_activated', 'Tài khoản VNeID mức 2 được kích hoạt', 'VNeID level 2 accounts activated', 'count', 'service:vneid_l2', '', NULL, 2),
	('payment_accounts', 'Người trưởng thành có tài khoản thanh toán', 'Adults with a payment account', 'percent', 'service:payment_account', 'adults', 80.0, 3),
	('online_public_services', 'Người dân sử dụng dịch vụ công trực tuyến', 'People using online public services', 'percent', 'service:public_service_submission', 'adults', 50.0, 4),
	('course_attendees', 'Người tham gia Bình dân học vụ số', 'Bình dân học vụ số attendees', 'count', 'topic:binh_dan_hoc_vu_so', '', NULL, 5),
	('households_fibre', 'Hộ gia đình có cáp quang', 'Households with fibre internet', 'percent', 'manual', 'households', NULL, 6));
UPDATE seq SET value = value + 6 WHERE id = 1;

-- One citizen helped on one visit. Single author. occurred_at is the device's
-- text as given: data, never an order. citizen_ref is HMAC-SHA256 (hex) of the
-- normalized ID-card or phone number; the raw number is never stored.
-- outcomes is the JSON the phone sees; log_outcomes the same rows for reports.
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
-- Live rows only: a pull page is then an index-only range scan.
CREATE INDEX assistance_logs_team_version ON assistance_logs (team_id, version) WHERE deleted = 0;
CREATE INDEX assistance_logs_citizen ON assistance_logs (citizen_ref) WHERE citizen_ref IS NOT NULL;

-- Outcomes of a log, one row per service, for reporting by service and area.
CREATE TABLE log_outcomes (
	log_id  TEXT NOT NULL REFERENCES assistance_logs(id) ON DELETE CASCADE,
	service TEXT NOT NULL REFERENCES services(code),
	result  TEXT NOT NULL CHECK (result IN ('done', 'partial', 'not_done')),
	barrier TEXT REFERENCES barriers(code),
	team_id INTEGER NOT NULL,
	PRIMARY KEY (log_id, service),
	CHECK (result <> 'not_done' OR barrier IS NOT NULL)
) STRICT, WITHOUT ROWID;
CREATE INDEX log_outcomes_service ON log_outcomes (service, result, team_id);

-- A training session. Several members edit it: field_versions maps each
-- field to the seq of its last change, for field-level merge.
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
CREATE INDEX training_sessions_team_version ON training_sessions (team_id, version) WHERE deleted = 0;

-- One row per person per session. The id is derived on the server from
-- (session, person key), so two phones adding the same person converge.
-- alias_of maps the id a phone chose to the derived id.
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
CREATE INDEX session_attendees_team_version ON session_attendees (team_id, version);
CREATE INDEX session_attendees_session ON session_attendees (session_id);

CREATE TABLE attendee_aliases (
	alias_id    TEXT PRIMARY KEY,
	attendee_id TEXT NOT NULL REFERENCES session_attendees(id)
) STRICT, WITHOUT ROWID;

-- Manual counts (e.g. households with fibre). Append-only: a correction is a
-- new entry naming the one it corrects; coordinators may void an entry.
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
CREATE INDEX progress_reports_team_version ON progress_reports (team_id, version);

-- A value that lost a same-field race (or a backward status move). Synced in
-- the team scope; resolving it is a patch (resolved, resolution).
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
CREATE INDEX sync_conflicts_team_version ON sync_conflicts (team_id, version);

-- The stored result of each processed mutation, per device, so a retried push
-- gets the same answer. Pruned after a while; a pruned result is `duplicate`.
CREATE TABLE sync_results (
	device_id  TEXT NOT NULL REFERENCES devices(id),
	mid        INTEGER NOT NULL,
	result     TEXT NOT NULL CHECK (json_valid(result)),
	created_at TEXT NOT NULL,
	PRIMARY KEY (device_id, mid)
) STRICT, WITHOUT ROWID;

-- A delete leaves a tombstone in the scope it left (scope is 'team:<id>' and
-- so on), kept for the 180-day horizon; older cursors get a reset.
CREATE TABLE tombstones (
	seq        INTEGER PRIMARY KEY,
	scope      TEXT NOT NULL,
	tbl        TEXT NOT NULL,
	row_id     TEXT NOT NULL,
	created_at TEXT NOT NULL
) STRICT;
CREATE INDEX tombstones_scope ON tombstones (scope, seq);
CREATE INDEX tombstones_created ON tombstones (created_at);
