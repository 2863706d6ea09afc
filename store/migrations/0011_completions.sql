-- Bình dân học vụ số: course completions imported from the exports of the
-- national digital-literacy platform (a CSV or XLSX per file, all or
-- nothing). A citizen is their keyed ref, computed at import from the ID
-- number with the deployment's key exactly as a pushed log's; the number
-- itself is never stored. One row per citizen and course: a citizen who
-- finished a course twice counts once, on the earliest day.

-- Each accepted file: who imported it, when, and what it did.
CREATE TABLE completion_imports (
	id          INTEGER PRIMARY KEY,
	user_id     INTEGER REFERENCES users(id), -- NULL: the command line
	imported_at TEXT NOT NULL,
	rows        INTEGER NOT NULL CHECK (rows >= 0),
	created     INTEGER NOT NULL CHECK (created >= 0),
	updated     INTEGER NOT NULL CHECK (updated >= 0),
	unchanged   INTEGER NOT NULL CHECK (unchanged >= 0)
) STRICT;

-- area_id is the commune the platform recorded; import_id the file that
-- last set the row.
CREATE TABLE course_completions (
	citizen_ref  TEXT NOT NULL CHECK (length(citizen_ref) = 64),
	course       TEXT NOT NULL CHECK (length(course) BETWEEN 1 AND 200),
	completed_on TEXT NOT NULL CHECK (date(completed_on) = completed_on),
	area_id      INTEGER NOT NULL REFERENCES areas(id),
	import_id    INTEGER NOT NULL REFERENCES completion_imports(id),
	PRIMARY KEY (citizen_ref, course)
) STRICT, WITHOUT ROWID;
CREATE INDEX course_completions_area ON course_completions (area_id, completed_on);
