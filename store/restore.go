package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// restoreSeqGap is how far a restore moves the change sequence ahead. A
// phone may hold cursors and versions from after the backup was taken (the
// changes the restore took back); the sequence jumps past any of them and
// every cursor below the jump resets, so no phone can skip a change numbered
// again after the restore. A province makes about a million changes a day:
// 10⁹ is years of changes lost, and 2⁵³ (exact in a JSON number) is millions
// of restores away.
const restoreSeqGap = 1_000_000_000

// Integrity runs SQLite's integrity_check and foreign_key_check and returns
// an error listing what they found (at most ten lines of each). On
// PostgreSQL it checks nothing: references are enforced on every write
// (a restore there is pg_restore's business), and its amcheck extension,
// not Toso, checks indexes.
func (s *Store) Integrity(ctx context.Context) error {
	if s.pg {
		return nil
	}
	var problems []string
	rows, err := s.read.QueryContext(ctx, `PRAGMA integrity_check(10)`)
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return fmt.Errorf("integrity check: %w", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	rows, err = s.read.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	defer rows.Close()
	for n := 0; rows.Next() && n < 10; n++ {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return fmt.Errorf("foreign key check: %w", err)
		}
		problems = append(problems, fmt.Sprintf("%s row %d: no %s row for its reference", table, rowid.Int64, parent))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity: %s: %w", strings.Join(problems, "; "), ErrInvalid)
	}
	return nil
}

// MarkRestored is run once on a database restored from a backup, before it
// serves: the change sequence jumps ahead (restoreSeqGap) and every cursor
// below the jump gets a reset, so each phone pulls its scopes again from the
// restored state, whatever it saw after the backup was taken. It returns the
// sequence before and after.
func (s *Store) MarkRestored(ctx context.Context) (from, to int64, err error) {
	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `UPDATE seq SET value = value + ? WHERE id = 1 RETURNING value`,
			restoreSeqGap).Scan(&to); err != nil {
			return err
		}
		from = to - restoreSeqGap
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('sync_rules_seq', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, fmt.Sprint(to))
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("mark restored: %w", err)
	}
	return from, to, nil
}

// ErrInUse is a database another process (a running server) holds open.
var ErrInUse = errors.New("the database is in use")

// CheckNotInUse returns ErrInUse when another connection (in this process
// or another) has the database at path open. In WAL mode every open
// connection keeps a shared lock on the file, so taking the exclusive lock
// fails while a server runs; on success the lock is released at once, and
// closing this last connection checkpoints the WAL into the file.
//
// On PostgreSQL there is no file to lock: it returns ErrInUse when another
// session is connected to the same database (pg_stat_activity), which a
// running Toso node always is (its pools keep connections open).
func CheckNotInUse(ctx context.Context, path string) error {
	if isPostgres(path) {
		return checkPGNotInUse(ctx, path)
	}
	db, err := sql.Open("sqlite", dsn(path, []string{"busy_timeout(200)", "locking_mode(EXCLUSIVE)"}, ""))
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return lockErr(path, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN EXCLUSIVE`); err != nil {
		return lockErr(path, err)
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return lockErr(path, err)
	}
	return nil
}

func lockErr(path string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_BUSY || se.Code()&0xff == sqlite3.SQLITE_LOCKED) {
		return fmt.Errorf("%s: %w (stop the server first)", path, ErrInUse)
	}
	return fmt.Errorf("%s: %w", path, err)
}

func checkPGNotInUse(ctx context.Context, path string) error {
	db, err := OpenReader(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", Redacted(path), err)
	}
	defer db.Close()
	var n int
	var apps sql.NullString
	err = db.QueryRowContext(ctx, `SELECT count(*), string_agg(DISTINCT COALESCE(NULLIF(application_name, ''), client_addr::text, 'local'), ', ')
		FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`).Scan(&n, &apps)
	if err != nil {
		return fmt.Errorf("%s: %w", Redacted(path), err)
	}
	if n > 0 {
		return fmt.Errorf("%s: %w: %d other sessions are connected (%s): stop every Toso node first", Redacted(path), ErrInUse, n, apps.String)
	}
	return nil
}
