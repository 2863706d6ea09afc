-- Announcements, their per-recipient receipts, and the push outbox (one row
-- per device token) that the notifications worker drains through FCM.

-- An announcement from a coordinator or admin. audience is the target as
-- JSON: {"area_ids": [...], "roles": [...], "team_ids": [...]}; recipients
-- are the active users in any of the area subtrees, with one of the roles
-- (all when empty) and, when team_ids is not empty, in one of those teams.
-- Recipients are resolved once, at publish time, into announcement_receipts.
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
CREATE INDEX announcements_due ON announcements (publish_at) WHERE status = 'scheduled';
CREATE INDEX announcements_author ON announcements (author_id);

-- One row per (announcement, recipient), written in the publish
-- transaction. area_id and role are where the recipient stood at publish
-- time (the receipts roll up by them). Times only move earlier once set
-- (earliest wins); version is a seq value, for sync's user: scope.
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
CREATE INDEX announcement_receipts_user ON announcement_receipts (user_id, version);
CREATE INDEX announcement_receipts_rollup ON announcement_receipts (announcement_id, area_id, role);

-- The push outbox: one row per device token of a recipient, written in the
-- publish transaction. A row is due when state is pending or sending and
-- next_attempt_at has passed; claiming it sets state sending and moves
-- next_attempt_at to lease_until, so a row abandoned by a crashed worker
-- becomes due again when its lease ends.
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
CREATE INDEX push_outbox_due ON push_outbox (next_attempt_at, id) WHERE state IN ('pending', 'sending');
CREATE INDEX push_outbox_user ON push_outbox (announcement_id, user_id, state);
CREATE INDEX push_outbox_token ON push_outbox (token) WHERE state IN ('pending', 'sending');
