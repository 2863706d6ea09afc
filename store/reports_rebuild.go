package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// rebuildSQL is the backfill section of migration 0005 (between the
// "-- BEGIN REBUILD" and "-- END REBUILD" lines): one source for the
// migration and for RebuildRollups.
func rebuildSQL() (string, error) {
	b, err := migrationFiles.ReadFile("migrations/0005_reports.sql")
	if err != nil {
		return "", err
	}
	_, rest, ok1 := strings.Cut(string(b), "-- BEGIN REBUILD\n")
	body, _, ok2 := strings.Cut(rest, "-- END REBUILD")
	if !ok1 || !ok2 {
		return "", fmt.Errorf("migration 0005 has no rebuild section")
	}
	return body, nil
}

// RebuildRollups recomputes every derived reporting table (area weights,
// citizen firsts, rollups) from the raw rows in one transaction, with the
// same set-based SQL as the migration's backfill. The triggers keep them
// current; this is for bulk loads made with the triggers off, and repairs.
func (s *Store) RebuildRollups(ctx context.Context) error {
	q, err := rebuildSQL()
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("rebuild rollups: %w", err)
		}
		return nil
	})
}
