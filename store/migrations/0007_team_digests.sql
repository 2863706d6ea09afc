-- Team digests (store/digest.go): each team scope's row count and digest
-- hash (the sum mod 2^64 of the rows' FNV-1a terms), kept by triggers on
-- every team-scope table, so a digest is read, not computed by a scan. The
-- functions sync_term, sync_add, sync_sub and sync_sum are Go functions the
-- store registers with the driver. A table added to the team scope later
-- adds its three triggers here, in a new migration.
CREATE TABLE team_digests (
	team_id INTEGER PRIMARY KEY,
	rows    INTEGER NOT NULL CHECK (rows >= 0),
	hash    INTEGER NOT NULL
) STRICT;

CREATE TRIGGER assistance_logs_digest_insert AFTER INSERT ON assistance_logs WHEN NEW.deleted = 0 BEGIN
	INSERT INTO team_digests (team_id, rows, hash) VALUES (NEW.team_id, 1, sync_term('assistance_logs', NEW.id, NEW.version))
	ON CONFLICT (team_id) DO UPDATE SET rows = rows + 1, hash = sync_add(hash, excluded.hash);
END;
CREATE TRIGGER assistance_logs_digest_delete AFTER DELETE ON assistance_logs WHEN OLD.deleted = 0 BEGIN
	UPDATE team_digests SET rows = rows - 1, hash = sync_sub(hash, sync_term('assistance_logs', OLD.id, OLD.version))
	WHERE team_id = OLD.team_id;
END;
CREATE TRIGGER assistance_logs_digest_update AFTER UPDATE ON assistance_logs
WHEN OLD.version IS NOT NEW.version OR OLD.team_id IS NOT NEW.team_id OR OLD.id IS NOT NEW.id OR (OLD.deleted = 0) IS NOT (NEW.deleted = 0) BEGIN
	UPDATE team_digests SET rows = rows - 1, hash = sync_sub(hash, sync_term('assistance_logs', OLD.id, OLD.version))
	WHERE team_id = OLD.team_id AND OLD.deleted = 0;
	INSERT INTO team_digests (team_id, rows, hash) SELECT NEW.team_id, 1, sync_term('assistance_logs', NEW.id, NEW.version) WHERE NEW.deleted = 0
	ON CONFLICT (team_id) DO UPDATE SET rows = rows + 1, hash = sync_add(hash, excluded.hash);
END;

CREATE TRIGGER training_sessions_digest_insert AFTER INSERT ON training_sessions WHEN NEW.deleted = 0 BEGIN
	INSERT INTO team_digests (team_id, rows, hash) VALUES (NEW.team_id, 1, sync_term('training_sessions', NEW.id, NEW.version))
	ON CONFLICT (team_id) DO UPDATE SET rows = rows + 1, hash = sync_add(hash, excluded.hash);
END;
CREATE TRIGGER training_sessions_digest_delete AFTER DELETE ON training_sessions WHEN OLD.deleted = 0 BEGIN
	UPDATE team_digests SET rows = rows - 1, hash = sync_sub(hash, sync_term('training_sessions', OLD.id, OLD.version))
	WHERE team_id = OLD.team_id;
END;
CREATE TRIGGER training_sessions_digest_update AFTER UPDATE ON training_sessions
WHEN OLD.version IS NOT NEW.version OR OLD.team_id IS NOT NEW.team_id OR OLD.id IS NOT NEW.id OR (OLD.deleted = 0) IS NOT (NEW.deleted = 0) BEGIN
	UPDATE team_digests SET rows = rows - 1, hash = sync_sub(hash, sync_term('training_sessions', OLD.id, OLD.version))
	WHERE team_id = OLD.team_id AND OLD.deleted = 0;
	INSERT INTO team_digests (team_id, rows, hash) SELECT NEW.team_id, 1, sync_term('training_sessions', NEW.id, NEW.version) WHERE NEW.deleted = 0
	ON CONFLICT (team_id) DO UPDATE SET rows = rows + 1, hash = sync_add(hash, excluded.hash);
END;

CREATE TRIGGER session_attendees_digest_insert AFTER INSERT ON session_attendees WHEN 1 BEGIN
	INSERT INTO team_digests (team_id, rows, hash) VALUES (NEW.team_id, 1, sync_term('session_attendees', NEW.id, NEW.version))
	ON CONFLICT (team_id) DO UPDATE SET rows = rows + 1, hash = sync_add(hash, excluded.hash);
END;
CREATE TRIGGER session_attendees_digest_delete AFTER DELETE ON session_attendees WHEN 1 BEGIN
	UPDATE team_digests SET rows = rows - 1, hash = sync_sub(hash, sync_term('session_attendees', OLD.id, OLD.version))
	WHERE team_id = OLD.team_id;
END;
CREATE TRIGGER session_attendees_digest_update AFTER UPDATE ON session_attendees
WHEN OLD.version IS NOT NEW.version OR OLD.team_id IS NOT NEW.team_id OR OLD.id IS NOT NEW.id OR (1) IS NOT (1) BEGIN
	UPDATE team_digests SET rows = rows - 1, hash = sync_sub(hash, sync_term('session_attendees', OLD.id, OLD.version))
	WHERE team_id = OLD.team_id AND 1;
	INSERT INTO team_digests (team_id, rows, hash) SELECT NEW.team_id, 1, sync_term('session_attendees', NEW.id, NEW.version) WHERE 1
	ON CONFLICT (team_id) DO UPDATE SET rows = rows + 1, hash = sync_add(hash, excluded.hash);
END;

CREATE TRIGGER progress_reports_digest_insert AFTER INSERT ON progress_reports WHEN 1 BEGIN
	INSERT INTO team_digests (team_id, rows, hash) VALUES (NEW.team_id, 1, sync_term('progress_reports', NEW.id, NEW.version))
	ON CONFLICT (team_id) DO UPDATE SET rows = rows + 1, hash = sync_add(hash, excluded.hash);
END;
CREATE TRIGGER progress_reports_digest_delete AFTER DELETE ON progress_reports WHEN 1 BEGIN
	UPDATE team_digests SET rows = rows - 1, hash = sync_sub(hash, sync_term('progress_reports', OLD.id, OLD.version))
	WHERE team_id = OLD.team_id;
END;
CREATE TRIGGER progress_reports_digest_update AFTER UPDATE ON progress_reports
WHEN OLD.version IS NOT NEW.version OR OLD.team_id IS NOT NEW.team_id OR OLD.id IS NOT NEW.id OR (1) IS NOT (1) BEGIN
	UPDATE team_digests SET rows = rows - 1, hash = sync_sub(hash, sync_term('progress_reports', OLD.id, OLD.version))
	WHERE team_id = OLD.team_id AND 1;
	INSERT INTO team_digests (team_id, rows, hash) SELECT NEW.team_id, 1, sync_term('progress_reports', NEW.id, NEW.version) WHERE 1
	ON CONFLICT (team_id) DO UPDATE SET rows = rows + 1, hash = sync_add(hash, excluded.hash);
END;

CREATE TRIGGER sync_conflicts_digest_insert AFTER INSERT ON sync_conflicts WHEN 1 BEGIN
	INSERT INTO team_digests (team_id, rows, hash) VALUES (NEW.team_id, 1, sync_term('sync_conflicts', NEW.id, NEW.version))
	ON CONFLICT (team_id) DO UPDATE SET rows = rows + 1, hash = sync_add(hash, excluded.hash);
END;
CREATE TRIGGER sync_conflicts_digest_delete AFTER DELETE ON sync_conflicts WHEN 1 BEGIN
	UPDATE team_digests SET rows = rows - 1, hash = sync_sub(hash, sync_term('sync_conflicts', OLD.id, OLD.version))
	WHERE team_id = OLD.team_id;
END;
CREATE TRIGGER sync_conflicts_digest_update AFTER UPDATE ON sync_conflicts
WHEN OLD.version IS NOT NEW.version OR OLD.team_id IS NOT NEW.team_id OR OLD.id IS NOT NEW.id OR (1) IS NOT (1) BEGIN
	UPDATE team_digests SET rows = rows - 1, hash = sync_sub(hash, sync_term('sync_conflicts', OLD.id, OLD.version))
	WHERE team_id = OLD.team_id AND 1;
	INSERT INTO team_digests (team_id, rows, hash) SELECT NEW.team_id, 1, sync_term('sync_conflicts', NEW.id, NEW.version) WHERE 1
	ON CONFLICT (team_id) DO UPDATE SET rows = rows + 1, hash = sync_add(hash, excluded.hash);
END;

CREATE TRIGGER team_targets_digest_insert AFTER INSERT ON team_targets WHEN 1 BEGIN
	INSERT INTO team_digests (team_id, rows, hash) VALUES (NEW.team_id, 1, sync_term('target_progress', NEW.id, NEW.version))
	ON CONFLICT (team_id) DO UPDATE SET rows = rows + 1, hash = sync_add(hash, excluded.hash);
END;
CREATE TRIGGER team_targets_digest_delete AFTER DELETE ON team_targets WHEN 1 BEGIN
	UPDATE team_digests SET rows = rows - 1, hash = sync_sub(hash, sync_term('target_progress', OLD.id, OLD.version))
	WHERE team_id = OLD.team_id;
END;
CREATE TRIGGER team_targets_digest_update AFTER UPDATE ON team_targets
WHEN OLD.version IS NOT NEW.version OR OLD.team_id IS NOT NEW.team_id OR OLD.id IS NOT NEW.id OR (1) IS NOT (1) BEGIN
	UPDATE team_digests SET rows = rows - 1, hash = sync_sub(hash, sync_term('target_progress', OLD.id, OLD.version))
	WHERE team_id = OLD.team_id AND 1;
	INSERT INTO team_digests (team_id, rows, hash) SELECT NEW.team_id, 1, sync_term('target_progress', NEW.id, NEW.version) WHERE 1
	ON CONFLICT (team_id) DO UPDATE SET rows = rows + 1, hash = sync_add(hash, excluded.hash);
END;

-- What the database already holds.
INSERT INTO team_digests (team_id, rows, hash)
SELECT team_id, count(*), sync_sum(term) FROM (
	SELECT r.team_id, sync_term('assistance_logs', r.id, r.version) AS term FROM assistance_logs r WHERE r.deleted = 0
	UNION ALL
	SELECT r.team_id, sync_term('training_sessions', r.id, r.version) AS term FROM training_sessions r WHERE r.deleted = 0
	UNION ALL
	SELECT r.team_id, sync_term('session_attendees', r.id, r.version) AS term FROM session_attendees r WHERE 1
	UNION ALL
	SELECT r.team_id, sync_term('progress_reports', r.id, r.version) AS term FROM progress_reports r WHERE 1
	UNION ALL
	SELECT r.team_id, sync_term('sync_conflicts', r.id, r.version) AS term FROM sync_conflicts r WHERE 1
	UNION ALL
	SELECT r.team_id, sync_term('target_progress', r.id, r.version) AS term FROM team_targets r WHERE 1)
GROUP BY team_id;
