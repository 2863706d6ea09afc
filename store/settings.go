package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// timeLayout is how times are stored: UTC, millisecond precision, so what is
// read back equals what was written after truncation.
const timeLayout = "2006-01-02T15:04:05.000Z"

func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTS(s string) time.Time {
	t, _ := time.Parse(timeLayout, s)
	return t
}

// Truncate is the stored precision of times.
func Truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// secretKeys are the settings an older Toso kept its secrets in. They
// now live outside the database (main's key file or the environment):
// with the citizen key beside the refs, a copy of the database alone
// would reveal the citizens' numbers.
var secretKeys = []string{"citizen_key", "jwt_secret"}

// StoredSecrets reads the secrets an older Toso kept in the settings of
// the database at path, without changing the file (an absent database or
// table has none).
func StoredSecrets(ctx context.Context, path string) (map[string]string, error) {
	out := map[string]string{}
	if isPostgres(path) {
		return out, nil // PostgreSQL databases start from pg/0001, after the secrets left the database
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	db, err := sql.Open("sqlite", dsn(path, []string{"busy_timeout(10000)", "query_only(1)"}, ""))
	if err != nil {
		return nil, fmt.Errorf("stored secrets: %w", err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'settings'`).Scan(&n); err != nil {
		return nil, fmt.Errorf("stored secrets: %w", err)
	} else if n == 0 {
		return out, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT key, value FROM settings WHERE key IN (?, ?)`, secretKeys[0], secretKeys[1])
	if err != nil {
		return nil, fmt.Errorf("stored secrets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("stored secrets: %w", err)
		}
		out[k] = v
	}
	return out, rows.Err()
}

// HasCitizenRefs reports whether the database at path holds citizen refs
// (an assistance log's or an attendee's), without changing the file: a new
// citizen key for such a database would make every citizen a new one.
func HasCitizenRefs(ctx context.Context, path string) (bool, error) {
	tablesSQL := `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('assistance_logs', 'session_attendees')`
	var db *sql.DB
	var err error
	if isPostgres(path) {
		tablesSQL = `SELECT count(*) FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_name IN ('assistance_logs', 'session_attendees')`
		db, err = OpenReader(path)
	} else {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		db, err = sql.Open("sqlite", dsn(path, []string{"busy_timeout(10000)", "query_only(1)"}, ""))
	}
	if err != nil {
		return false, fmt.Errorf("citizen refs: %w", err)
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, tablesSQL).Scan(&n)
	if err != nil || n < 2 {
		return false, err
	}
	var has bool
	err = db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM assistance_logs WHERE citizen_ref IS NOT NULL)
		OR EXISTS (SELECT 1 FROM session_attendees WHERE citizen_ref IS NOT NULL)`).Scan(&has)
	if err != nil {
		return false, fmt.Errorf("citizen refs: %w", err)
	}
	return has, nil
}

// ForgetStoredSecrets deletes the secrets an older Toso kept in settings,
// overwriting the freed bytes (secure_delete) and truncating the WAL, so
// that not even the file's free space or the log keeps them. Call it once
// they are safe elsewhere.
func (s *Store) ForgetStoredSecrets(ctx context.Context) error {
	if s.pg {
		// PostgreSQL has no secure_delete: VACUUM frees the deleted rows'
		// space for reuse, but their bytes (and the WAL's copy) stay on disk
		// until overwritten.
		if _, err := s.write.ExecContext(ctx, `DELETE FROM settings WHERE key IN (?, ?)`, secretKeys[0], secretKeys[1]); err != nil {
			return fmt.Errorf("forget secrets: %w", err)
		}
		if _, err := s.write.ExecContext(ctx, `VACUUM settings`); err != nil {
			return fmt.Errorf("forget secrets: %w", err)
		}
		return nil
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("forget secrets: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
		return fmt.Errorf("forget secrets: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA secure_delete = OFF`)
	if _, err := conn.ExecContext(ctx, `DELETE FROM settings WHERE key IN (?, ?)`, secretKeys[0], secretKeys[1]); err != nil {
		return fmt.Errorf("forget secrets: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("forget secrets: %w", err)
	}
	return nil
}

// nextSeq allocates the next value of the server-wide change sequence inside
// the write transaction tx. Every change to a synced row takes one. On
// PostgreSQL beside other writers it comes from the transaction's lease
// (engine_pg_locks.go).
func nextSeq(ctx context.Context, tx *sql.Tx) (int64, error) {
	if l := leaseOf(ctx); l != nil {
		return l.take(ctx)
	}
	var v int64
	err := tx.QueryRowContext(ctx, `UPDATE seq SET value = value + 1 WHERE id = 1 RETURNING value`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("next seq: %w", err)
	}
	return v, nil
}
