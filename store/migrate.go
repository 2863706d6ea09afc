package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and _", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %d", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate applies every embedded migration above PRAGMA user_version, each in
// its own transaction together with the version bump.
//
// A new migration here needs a PostgreSQL twin in store/pg (the next
// number there reaches the same schema version; see pgMigrations), written
// in PostgreSQL's types: PostgreSQL databases start from pg/0001_baseline.sql
// (schema version 14) and never run these files. Open on PostgreSQL fails
// while the twin is missing.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	var current int
	if err := s.write.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("migrate: database is at version %d, this binary knows %d: refusing to run an older binary", current, len(ms))
	}
	for _, m := range ms[current:] {
		err := s.directTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, m.version))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

// SchemaVersion is the number of the last applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	q := `PRAGMA user_version`
	if s.pg {
		q = `SELECT version FROM schema_version WHERE id = 1`
	}
	var v int
	err := s.read.QueryRowContext(ctx, q).Scan(&v)
	return v, err
}

// LatestSchema is the schema version this binary migrates to: the number of
// its embedded migrations.
func LatestSchema() int {
	ms, err := migrations()
	if err != nil {
		return 0 // a malformed embedded set fails Open and the migration tests
	}
	return len(ms)
}
