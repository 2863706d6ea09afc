// Package store keeps Toso's data in SQLite, or in PostgreSQL given a
// postgres:// URL (engine_pg.go): one write connection, a read pool,
// embedded numbered migrations, and one file per noun.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
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
	pg    bool // PostgreSQL (engine_pg.go), else SQLite
	now   func() time.Time

	hashSlots chan struct{} // caps concurrent password hashes (memory)
	argon     argonParams   // how new passwords are hashed

	// The hot queries (authenticate, refresh, push, pull) prepared once
	// per connection: see stmtCache.
	wstmts, rstmts *stmtCache

	citizenKey string                // HMAC key for citizen refs (never logged)
	tables     map[string]*syncTable // the sync registry, see syncTables

	w        *writer           // every write transaction: group commit (writer.go)
	ckpt     *checkpointer     // copies the log into the database file beside the writer (checkpoint.go)
	curFold  *txFold           // the fold of the write transaction running on w (fold.go)
	leases   *sql.DB           // PostgreSQL: where seq leases commit, beside the writer (engine_pg_locks.go)
	activity *activityRecorder // what phones did since the last flush (device_activity.go)
}

// Options tunes Open; the zero value is fine.
type Options struct {
	ReadConns int              // read pool size, default 4
	Now       func() time.Time // clock, default time.Now
	// CitizenKey is the secret for citizen reference hashes. It is never
	// stored in the database (main keeps it in a key file or takes it from
	// the environment). When empty, a key an older Toso kept in settings is
	// used if there is one, else a random key that lives as long as the
	// Store: refs made with it match nothing after a restart, which suits
	// tests and commands that hash no citizen, and nothing else.
	CitizenKey string
	// Logger receives the store's rare warnings (a write group that failed
	// as a whole); nil discards them.
	Logger *slog.Logger
	// Simulation makes the store cheap to run by the thousand, for the
	// randomized sync simulation only: no fsync (synchronous=OFF; what a
	// power cut does is the crash test's question, not the simulation's) and
	// argon2id at 64 KiB and one pass instead of 19 MiB and two (each login
	// of a simulated phone would otherwise cost ~30 ms of CPU). Never in a
	// server: both are what make an acknowledged write and a stolen hash
	// safe.
	Simulation bool
}

// writerCacheSize is the writer connection's page cache (the read pool's
// connections keep 2 MB each). Bulk runs that raise it set it back to this.
const writerCacheSize = "cache_size(-16000)"

// Open opens (creating if needed) the database at path and applies pending
// migrations.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	if opt.ReadConns <= 0 {
		opt.ReadConns = 4
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if isPostgres(path) {
		return openPG(ctx, path, opt)
	}
	common := []string{
		"busy_timeout(10000)", // first: wait for locks instead of failing with SQLITE_BUSY
		"journal_mode(WAL)",   // readers never block the writer and vice versa
		"foreign_keys(ON)",    // schemas declare references; make SQLite check them
		"cache_size(-2000)",   // 2 MB page cache per connection keeps RSS small with a pool
	}
	sync := "synchronous(FULL)" // an acknowledged sync batch must survive a power cut
	if opt.Simulation {
		sync = "synchronous(OFF)"
	}
	writeDSN := dsn(path, append(common,
		// Savepoint journals (every write of the group commit runs in a
		// savepoint) kept in memory come in 1 KB chunks, each one malloc
		// and free: 40% of the writer's CPU in a push benchmark. With a
		// file temp store they use 64 KB chunks and spill past that to
		// a temporary file (the OS's page cache).
		"temp_store(FILE)",
		sync,
		"wal_autocheckpoint(0)", // checkpoints run beside the writer (checkpoint.go)
		// The one writer gets a larger cache (set after the common 2 MB),
		// and spills it late: a group of pushes dirties thousands of pages
		// across the indexes (row ids are random UUIDs), and a full 16 MB
		// cache wrote them to the WAL mid-transaction and read them back
		// (a third of the writer's time in the 1M-log push benchmark was
		// that pwrite and pread). The cache now grows past 16 MB for a big
		// group until its commit and spills only past 64 MB (16,384 pages:
		// a bound for migrations and other big transactions). Same-run
		// ratios to the plain insert: 16-18% spilling at 16 MB, 19-21%
		// now; a 64 MB cache gained less and cost 100 MiB of RSS.
		writerCacheSize, "cache_spill(16384)",
	), "immediate")
	readDSN := dsn(path, append(common,
		"temp_store(MEMORY)", // sorts for reports stay off the disk
		"query_only(1)",      // the read pool can never write by mistake
	), "")

	if err := registerDigestFuncs(); err != nil { // before any connection: migration 0007's backfill calls them
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
	c, err := sql.Open("sqlite", dsn(path, append(common, sync), ""))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	s := &Store{write: w, path: path, now: opt.Now, hashSlots: make(chan struct{}, 4), wstmts: newWriteStmtCache(w),
		activity: newActivityRecorder(), argon: argonOWASP, ckpt: newCheckpointer(c, opt.Logger)}
	if opt.Simulation {
		s.argon = argonSimulation
	}
	err = s.migrate(ctx)
	s.ckpt.committed()
	if err != nil {
		s.ckpt.stop()
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", readDSN)
	if err != nil {
		s.ckpt.stop()
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(opt.ReadConns)
	r.SetMaxIdleConns(opt.ReadConns)
	s.read = r
	return s.start(ctx, opt)
}

// start finishes Open on either engine once both pools are open and the
// schema is migrated: the writer, the citizen key, the sync registry, and
// the fold of what an older binary left unfolded.
func (s *Store) start(ctx context.Context, opt Options) (*Store, error) {
	s.rstmts = newStmtCache(s.read)
	s.w = newWriter(s, opt.Logger)
	var err error
	if s.citizenKey, err = s.openCitizenKey(ctx, opt.CitizenKey); err != nil {
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

// openCitizenKey is Options.CitizenKey, or the key an older Toso kept in
// settings, or a random one for this Store only.
func (s *Store) openCitizenKey(ctx context.Context, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	var v string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'citizen_key'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		b := make([]byte, 32)
		rand.Read(b)
		return hex.EncodeToString(b), nil
	} else if err != nil {
		return "", fmt.Errorf("citizen key: %w", err)
	}
	return v, nil
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

// Close stops the writer (the running group commits; queued writes get
// ErrClosed) and closes both pools.
func (s *Store) Close() error {
	if s.w != nil {
		s.w.stop()
	}
	s.wstmts.close()
	if s.rstmts != nil {
		s.rstmts.close()
	}
	var lerr error
	if s.leases != nil {
		lerr = s.leases.Close()
	}
	return errors.Join(s.ckpt.stop(), s.read.Close(), s.write.Close(), lerr)
}

// Ping checks that the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// Path is the database file, or on PostgreSQL its URL without the password.
func (s *Store) Path() string { return s.path }

// ReadStats and WriteStats expose pool statistics for metrics.
func (s *Store) ReadStats() sql.DBStats  { return s.read.Stats() }
func (s *Store) WriteStats() sql.DBStats { return s.write.Stats() }

// ErrBackupPG: Toso does not back up PostgreSQL itself.
var ErrBackupPG = errors.New("backup: Toso backs up SQLite only; back up PostgreSQL with pg_dump")

// Backup writes a consistent copy of the live database to dest with VACUUM
// INTO: one read transaction, so it never restarts under a live writer (the
// incremental backup API does). On PostgreSQL it returns ErrBackupPG.
func (s *Store) Backup(ctx context.Context, dest string) error {
	if s.pg {
		return ErrBackupPG
	}
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
// PostgreSQL's errors are classified by SQLSTATE (pgCode) beside it.
func isConstraint(err error, code int) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == code
}

func isUnique(err error) bool {
	return isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) ||
		isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) || pgCode(err) == pgUniqueViolation
}

// isBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED (any extended
// code), or PostgreSQL's serialization failure, deadlock or lock not
// available: a temporary fault.
func isBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqlite3.SQLITE_BUSY || se.Code()&0xff == sqlite3.SQLITE_LOCKED
	}
	switch pgCode(err) {
	case pgSerialization, pgDeadlock, pgLockNotAvailable:
		return true
	}
	return false
}

func isForeignKey(err error) bool {
	return isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) || pgCode(err) == pgForeignKeyViolation
}

// tx runs fn in a write transaction: a job of the writer, which commits it
// with the other writes waiting at the time (writer.go), after folding the
// rows it touched into the derived tables (fold.go). fn gets a context
// without the caller's cancellation (see writer.go) and may run twice (if
// its group fails as a whole, each job runs again alone): it must keep no
// effect outside tx but its result.
// On PostgreSQL tx holds every other writer off, other processes' included
// (the lock of all provinces, engine_pg_locks.go).
func (s *Store) tx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.w.do(ctx, 1, false, allProvinces, fn)
}

// provinceTx is tx for a job worth weight mutations (a push), so a group
// stays bounded, that writes only in the given province (allProvinces: it
// may write in several). On PostgreSQL it then runs beside the writes of
// other provinces, other processes' included (engine_pg_locks.go).
func (s *Store) provinceTx(ctx context.Context, weight int, province int64, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.w.do(ctx, weight, false, province, fn)
}

// userTx is tx for a write of per-user rows that no pull reads by seq
// (sessions, delivery times, device activity): it takes no seq and
// touches no synced row. On PostgreSQL it runs beside the writes of every
// province, and waits only for writes of all provinces (engine_pg_locks.go).
func (s *Store) userTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.w.do(ctx, 1, false, noProvince, fn)
}

// soloTx runs fn alone in its own transaction with the caller's context
// (cancellable): bulk loads and rebuilds, too long to share a group.
func (s *Store) soloTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.w.do(ctx, groupMaxWeight, true, allProvinces, fn)
}

// directTx runs fn in a write transaction outside the writer: migrations,
// before the writer starts.
func (s *Store) directTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	defer s.wstmts.fill(ctx) // after the transaction ends: it holds the one connection
	tx, _, err := s.beginWrite(ctx, writeLocks{})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// beginWrite begins a write transaction on the write pool. On PostgreSQL it
// first takes the given locks (the zero writeLocks: of all provinces), so
// the write transactions of several processes stay apart, and returns the
// seq lease its jobs take their seqs from when they run beside other
// writers (engine_pg_locks.go); the lease is nil otherwise, and on SQLite.
func (s *Store) beginWrite(ctx context.Context, locks writeLocks) (*sql.Tx, *seqLease, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil || !s.pg {
		return tx, nil, err
	}
	lease, err := s.lockWrite(ctx, tx, locks)
	if err != nil {
		tx.Rollback()
		return nil, nil, err
	}
	return tx, lease, nil
}

// guard runs fn, a statement whose failure the caller handles and then goes
// on in tx, inside a savepoint on PostgreSQL, where a failed statement
// otherwise aborts the whole transaction. On SQLite a failed statement
// undoes only itself, so fn runs as is (a savepoint costs a journal there).
func (s *Store) guard(ctx context.Context, tx *sql.Tx, fn func() error) error {
	if !s.pg {
		return fn()
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT guard`); err != nil {
		return err
	}
	err := fn()
	undo := `RELEASE SAVEPOINT guard`
	if err != nil {
		undo = `ROLLBACK TO SAVEPOINT guard`
	}
	if _, uerr := tx.ExecContext(ctx, undo); uerr != nil {
		return errors.Join(err, uerr)
	}
	return err
}

// checkErr turns CHECK, NOT NULL and trigger (RAISE) failures into ErrInvalid: input that
// passed validation but not the schema is still the caller's mistake.
func checkErr(err error) error {
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_CHECK) || isConstraint(err, sqlite3.SQLITE_CONSTRAINT_NOTNULL) ||
		isConstraint(err, sqlite3.SQLITE_CONSTRAINT_TRIGGER) ||
		pgCode(err) == pgCheckViolation || pgCode(err) == pgNotNullViolation || pgCode(err) == pgBadText {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}
