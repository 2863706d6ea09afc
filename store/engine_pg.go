package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// PostgreSQL, the second engine (issue 17). Open takes a postgres:// or
// postgresql:// URL for it; any other path stays SQLite. The store's SQL is
// shared: the connections (engine_pg_driver.go) take SQLite's placeholders
// and values, pg/compat.sql gives PostgreSQL the SQLite functions the SQL
// calls, and what still differs per engine is here (pools, schema, locks,
// errors, the rebuild's snapshot, the pull's page key) and in the SQLite half
// of store.go; a few methods check s.pg for a SQLite pragma they skip.
//
// Several writers. Inside one process the writer (writer.go) runs one write
// transaction at a time. Several Toso processes may serve one PostgreSQL
// database: pushes of different provinces then run in parallel, and every
// other write alone, and pulls read below a watermark so that a cursor never
// passes a seq still to commit (engine_pg_locks.go).

//go:embed pg/*.sql
var pgFiles embed.FS

// PGWriteLock is the advisory lock every write transaction takes on
// PostgreSQL, exclusive or (a province's push) shared; exported for tools and
// tests that must hold writers off (taken exclusive), as a BEGIN IMMEDIATE
// does on SQLite. pgSchemaLock is the migrations' (which take the write lock
// too).
const (
	PGWriteLock  = 0x70736f74 // "tosp"
	pgSchemaLock = 0x73736f74 // "toss"
)

// isPostgres reports whether path names a PostgreSQL database.
func isPostgres(path string) bool {
	return strings.HasPrefix(path, "postgres://") || strings.HasPrefix(path, "postgresql://")
}

// IsPostgres reports whether path, what --db says, names a PostgreSQL
// database (a postgres:// or postgresql:// URL) rather than an SQLite file.
func IsPostgres(path string) bool { return isPostgres(path) }

// Redacted is path fit for a log line or a message: a PostgreSQL URL with
// its password (in the user part or the query) replaced by xxxxx; a file
// path as it is. A URL that does not parse is replaced whole, since where
// its password sits cannot be told.
func Redacted(path string) string {
	if !isPostgres(path) {
		return path
	}
	u, err := url.Parse(path)
	if err != nil {
		return "postgres://(a URL that does not parse)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// pgDSN sets the connection parameters the store relies on: UTC session
// time (compat.sql's date() is declared immutable on that ground) and, for
// the read pool, read-only transactions (SQLite's query_only) that see one
// snapshot from their first statement to the end, as SQLite's do (a pull
// reads seq, then each table; READ COMMITTED, PostgreSQL's default, would
// let a commit in between show rows past the seq it sent). Write
// transactions stay READ COMMITTED: the advisory locks keep writers that
// could meet apart (engine_pg_locks.go).
// A writer waits for the write lock (and any row lock) at most 10 s, then
// fails with a temporary fault (isBusy), as SQLite's busy_timeout(10000).
func pgDSN(raw string, readOnly bool) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("timezone", "UTC")
	// No JIT: the store's statements are short, and a plan over a large
	// table (its cost past jit_above_cost) spent 15 ms compiling each time.
	q.Set("jit", "off")
	if readOnly {
		q.Set("default_transaction_read_only", "on")
		q.Set("default_transaction_isolation", "repeatable read")
	} else {
		q.Set("lock_timeout", "10000")
	}
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx reads no + as a space
	return u.String(), nil
}

// openPG opens the two pools on PostgreSQL and migrates. The write pool
// keeps one connection, as on SQLite: the writer runs one transaction at a
// time anyway, and the statement cache (stmtcache.go) counts on it.
func openPG(ctx context.Context, raw string, opt Options) (*Store, error) {
	rewrites := &pgSQL{} // one cache for all pools
	open := func(readOnly bool, extra string) (*sql.DB, error) {
		db, err := pgPool(raw, readOnly, extra, rewrites)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		return db, nil
	}
	w, err := open(false, "")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	// Seq leases commit on a connection of their own, while the writer's
	// transaction runs (engine_pg_locks.go). Asynchronously: a lease lost
	// in a crash was used by no committed row, since every commit that
	// used it flushes the log past it.
	leases, err := open(false, "&synchronous_commit=off")
	if err != nil {
		w.Close()
		return nil, err
	}
	leases.SetMaxOpenConns(1)
	leases.SetMaxIdleConns(1)
	// Path names the database in logs: without its password.
	s := &Store{write: w, leases: leases, path: Redacted(raw), pg: true, now: opt.Now, hashSlots: make(chan struct{}, 4), wstmts: newWriteStmtCache(w),
		activity: newActivityRecorder(), argon: argonOWASP}
	if opt.Simulation {
		s.argon = argonSimulation
	}
	if err := s.migratePG(ctx); err != nil {
		w.Close()
		leases.Close()
		return nil, err
	}
	r, err := open(true, "")
	if err != nil {
		w.Close()
		leases.Close()
		return nil, err
	}
	r.SetMaxOpenConns(opt.ReadConns)
	r.SetMaxIdleConns(opt.ReadConns)
	s.read = r
	return s.start(ctx, opt)
}

// OpenReader opens a read-only database/sql handle on the database at path
// (a file, or a PostgreSQL URL) outside any Store, for tests and tools that
// read rows the store has no method for. Its SQL is the store's (SQLite's
// placeholders and functions) on both engines.
func OpenReader(path string) (*sql.DB, error) {
	if !isPostgres(path) {
		return sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	}
	return pgPool(path, true, "", &pgSQL{})
}

// OpenWriter opens a read-write database/sql handle on the database at path
// (a file, or a PostgreSQL URL) outside any Store, for tests that seed rows
// in bulk or change a row no method changes. Its SQL is the store's, as
// OpenReader's. Its writes bypass the store's writer (and, on PostgreSQL,
// PGWriteLock): use it only while no Store writes to the database.
func OpenWriter(path string) (*sql.DB, error) {
	if !isPostgres(path) {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)")
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1) // one SQLite writer at a time anyway
		return db, nil
	}
	return pgPool(path, false, "", &pgSQL{})
}

// pgPool is a database/sql pool on the PostgreSQL database at raw with the
// store's connection parameters (pgDSN) and extra ones ("&name=value"), its
// SQL rewritten through rewrites. It does not connect yet.
func pgPool(raw string, readOnly bool, extra string, rewrites *pgSQL) (*sql.DB, error) {
	dsn, err := pgDSN(raw, readOnly)
	if err != nil {
		return nil, err
	}
	c, err := newPGConnector(dsn+extra, rewrites)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

// pgMigrations are the numbered files of pg/ (compat.sql aside). The first,
// the baseline, reaches the schema version of the SQLite migrations it was
// translated from (pgBaselineVersion); each later one reaches one more, and
// twins the SQLite migration of that number.
const pgBaselineVersion = 14

func pgMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(pgFiles, "pg")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			continue // compat.sql
		}
		b, err := pgFiles.ReadFile("pg/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: pgBaselineVersion + n - 1, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != pgBaselineVersion+i {
			return nil, fmt.Errorf("postgres migration %s: expected number %d", m.name, i+1)
		}
	}
	if len(ms) == 0 || ms[len(ms)-1].version != LatestSchema() {
		return nil, fmt.Errorf("postgres migrations reach schema version %d, SQLite's %d: each SQLite migration needs a twin in store/pg",
			pgBaselineVersion+len(ms)-1, LatestSchema())
	}
	return ms, nil
}

// migratePG brings a PostgreSQL database to the latest schema in one
// transaction under the schema lock (several processes may start at once):
// the compat functions, then the migrations above the recorded version.
// The version lives in schema_version, PostgreSQL's PRAGMA user_version.
func (s *Store) migratePG(ctx context.Context) error {
	ms, err := pgMigrations()
	if err != nil {
		return err
	}
	compat, err := pgFiles.ReadFile("pg/compat.sql")
	if err != nil {
		return err
	}
	return s.directTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+strconv.Itoa(pgSchemaLock)+`)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, string(compat)); err != nil {
			return fmt.Errorf("migrate: compat.sql: %w", err)
		}
		if _, err := tx.ExecContext(ctx, pgLeasesSQL); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			id      BIGINT PRIMARY KEY CHECK (id = 1),
			version BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		var current int
		err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version WHERE id = 1`).Scan(&current)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("migrate: %w", err)
		}
		if current > LatestSchema() {
			return fmt.Errorf("migrate: database is at version %d, this binary knows %d: refusing to run an older binary", current, LatestSchema())
		}
		for _, m := range ms {
			if m.version <= current {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("postgres migration %s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (id, version) VALUES (1, ?)
				ON CONFLICT (id) DO UPDATE SET version = excluded.version`, m.version); err != nil {
				return fmt.Errorf("postgres migration %s: %w", m.name, err)
			}
		}
		return nil
	})
}

// syncIdentities moves each identity column's sequence past the largest id
// in its table, after rows were written with ids of their own (the
// generator, a restore): SQLite picks max(rowid)+1 by itself, a PostgreSQL
// identity only counts what it handed out. A no-op on SQLite.
func (s *Store) syncIdentities(ctx context.Context) error {
	if !s.pg {
		return nil
	}
	rows, err := s.write.QueryContext(ctx, `SELECT table_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name = 'id' AND is_identity = 'YES' ORDER BY table_name`)
	if err != nil {
		return fmt.Errorf("identities: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return fmt.Errorf("identities: %w", err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("identities: %w", err)
	}
	for _, t := range tables { // names from the catalog, not from input
		_, err := s.write.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+t+`', 'id'), COALESCE(max(id), 0) + 1, false) FROM `+t)
		if err != nil {
			return fmt.Errorf("identities: %s: %w", t, err)
		}
	}
	return nil
}

// beside is where a loop that writes in tx between its rows (the rebuild)
// reads them. SQLite reads and writes on one connection at once, so there
// it is tx. pgx cannot (a statement while rows are open fails with "conn
// busy"), so on PostgreSQL it is a read-only snapshot on the read pool,
// taken while tx holds the write lock: no write can commit in between, so
// the snapshot shows what tx sees of the tables read through it, provided
// tx has not written them itself (the rebuild writes only derived tables).
// done ends the snapshot, once its rows are closed.
func (s *Store) beside(ctx context.Context, tx *sql.Tx) (q querier, done func(), err error) {
	if !s.pg {
		return tx, func() {}, nil
	}
	snap, err := s.read.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, nil, err
	}
	return snap, func() { snap.Rollback() }, nil
}

// rowKey is what a pull pages a table by when it has no pageKey: SQLite's
// rowid (an index-only scan on (team_id, version) yields it), PostgreSQL's
// primary key (it has no rowid).
func (s *Store) rowKey(t *syncTable) string {
	if s.pg {
		return idColOf(t)
	}
	return "r.rowid"
}

// pgCode is the SQLSTATE of a PostgreSQL error, "" for any other error.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// The SQLSTATEs the store classifies (isUnique, isForeignKey, checkErr,
// isBusy in store.go).
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
	pgCheckViolation      = "23514"
	pgNotNullViolation    = "23502"
	pgBadText             = "22021" // bytes that are not UTF-8 (character_not_in_repertoire)
	pgSerialization       = "40001"
	pgDeadlock            = "40P01"
	pgLockNotAvailable    = "55P03"
	pgTxAborted           = "25P02" // in_failed_sql_transaction: a statement after one that failed
)
