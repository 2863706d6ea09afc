-- Twin of migrations/0015_audit_log_creates.sql.
-- A pushed log's create is audited in a row found through the log itself
-- (its author and creation time, audit_log_user_at), so the entity index
-- leaves those rows out: a log's id is random, and its entry there cost one
-- random index page per pushed log at every commit (issue 12).
DROP INDEX audit_log_entity;
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id) WHERE action <> 'create' OR entity <> 'assistance_logs';
CREATE INDEX audit_log_user_at ON audit_log (user_id, at);
