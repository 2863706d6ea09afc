-- A device can be released (unbound): an admin or coordinator frees a lost
-- phone, or its owner is deactivated. Its sessions end and its push token
-- goes at that moment; the id stays in devices (refresh tokens, stored push
-- results and the push outbox refer to it) and the next user who logs in on
-- it takes it over: another user starts from last_mid 0 without the old
-- owner's stored results, the same owner carries on where the phone was.
ALTER TABLE devices ADD COLUMN released_at TEXT CHECK (released_at IS NULL OR length(released_at) = 24);
