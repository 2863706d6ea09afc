// Package store keeps Toso's data in SQLite: one write connection, a read pool,
// embedded numbered migrations, and one file per noun.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors callers test with errors.Is. Every store method wraps one of these
// (or an unexpected error) with context.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")
	ErrForbidden = errors.New("forbidden")
	ErrInvalid   = errors.New("invalid")
	// ErrUnauthenticated: wrong phone or password, or a dead token.
	ErrUnauthenticated = errors.New("unauthenticated")
)

// Store is the one concrete storage type. Writes go through a single
// connection (SQLite has one writer; queueing in Go beats SQLITE_BUSY),
// reads through a capped pool of query-only connections.
type Store struct {
	write *sql.DB
	read  *sql.DB
	path  string
	now   func() time.Time

	hashSlots chan struct{} // caps concurrent password hashes (memory)

	// The hot queries (authenticate, refresh, push, pull) prepared once
	// per connection: see stmtCache.
	wstmts, rstmts *stmtCache

	citizenKey string                // HMAC key for citizen refs (never logged)
	tables     map[string]*syncTable // the sync registry, see syncTables
}

// Options tunes Open; the zero value is fine.
type Options struct {
	ReadConns int              // read pool size, default 4
	Now       func() time.Time // clock, default time.Now
	// CitizenKey is the secret for citizen reference hashes; when empty it is
	// generated once and kept in settings (key "citizen_key").
	CitizenKey string
}

// Open opens (creating if needed) the database at path and applies pending
// migrations.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	if opt.ReadConns <= 0 {
		opt.ReadConns = 4
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	common := []string{
		"busy_timeout(10000)", // first: wait for locks instead of failing with SQLITE_BUSY
		"journal_mode(WAL)",   // readers never block the writer and vice versa
		"foreign_keys(ON)",    // schemas declare references; make SQLite check them
		"cache_size(-2000)",   // 2 MB page cache per connection keeps RSS small with a pool
		"temp_store(MEMORY)",  // sorts for reports stay off the disk
	}
	writeDSN := dsn(path, append(common,
		"synchronous(FULL)", // an acknowledged sync batch must survive a power cut
		// The one writer gets a larger cache (set after the common 2 MB):
		// a 200-mutation push dirties ~1,500 pages across the indexes, and
		// a cache smaller than that spills them to the WAL mid-transaction.
		"cache_size(-16000)",
	), "immediate")
	readDSN := dsn(path, append(common,
		"query_only(1)", // the read pool can never write by mistake
	), "")

	if err := registerDigestFuncs(); err != nil { // before any connection: migrations and triggers call them
		return nil, err
	}
	w, err := sql.Open("sqlite", writeDSN)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{write: w, path: path, now: opt.Now, hashSlots: make(chan struct{}, 4), wstmts: newStmtCache(w)}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", readDSN)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(opt.ReadConns)
	r.SetMaxIdleConns(opt.ReadConns)
	s.read = r
	s.rstmts = newStmtCache(r)
	if s.citizenKey, err = s.Secret(ctx, "citizen_key", opt.CitizenKey); err != nil {
		s.Close()
		return nil, err
	}
	s.tables = s.syncTables()
	if err := s.foldMissing(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func dsn(path string, pragmas []string, txlock string) string {
	v := url.Values{}
	for _, p := range pragmas {
		v.Add("_pragma", p)
	}
	if txlock != "" {
		v.Set("_txlock", txlock)
	}
	return "file:" + path + "?" + v.Encode()
}

// Close closes both pools.
func (s *Store) Close() error {
	s.wstmts.close()
	if s.rstmts != nil {
		s.rstmts.close()
	}
	return errors.Join(s.read.Close(), s.write.Close())
}

// Ping checks that the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// ReadStats and WriteStats expose pool statistics for metrics.
func (s *Store) ReadStats() sql.DBStats  { return s.read.Stats() }
func (s *Store) WriteStats() sql.DBStats { return s.write.Stats() }

// Backup writes a consistent copy of the live database to dest with VACUUM
// INTO: one read transaction, so it never restarts under a live writer (the
// incremental backup API does).
func (s *Store) Backup(ctx context.Context, dest string) error {
	conn, err := s.read.Conn(ctx)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer conn.Close()
	// query_only forbids VACUUM INTO on this connection; lift it for this one statement.
	if _, err := conn.ExecContext(ctx, `PRAGMA query_only(0)`); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA query_only(1)`)
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	return nil
}

// isConstraint reports whether err is an SQLite constraint violation of the
// given extended code (for example sqlite3.SQLITE_CONSTRAINT_UNIQUE).
func isConstraint(err error, code int) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == code
}

func isUnique(err error) bool {
	return isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) ||
		isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// isBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED (any extended
// code): a temporary fault.
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_BUSY || se.Code()&0xff == sqlite3.SQLITE_LOCKED)
}

func isForeignKey(err error) bool {
	return isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY)
}

// tx runs fn in one write transaction.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	defer s.wstmts.fill(ctx) // after the transaction ends: it holds the one connection
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// checkErr turns CHECK and NOT NULL failures into ErrInvalid: input that
// passed validation but not the schema is still the caller's mistake.
func checkErr(err error) error {
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_CHECK) || isConstraint(err, sqlite3.SQLITE_CONSTRAINT_NOTNULL) {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}
