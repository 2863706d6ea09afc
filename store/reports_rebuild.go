package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// rebuildFiles are the migrations whose backfill sections, in order,
// compute every derived reporting table: 0005 the place rollups from the
// raw rows, 0008 the area and team rollups from the place rollups.
var rebuildFiles = [...]string{"migrations/0005_reports.sql", "migrations/0008_area_rollups.sql"}

// rebuildSQL is the backfill sections of the rebuild migrations (between
// the "-- BEGIN REBUILD" and "-- END REBUILD" lines): one source for the
// migrations and for RebuildRollups.
func rebuildSQL() (string, error) {
	var out strings.Builder
	for _, name := range rebuildFiles {
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return "", err
		}
		_, rest, ok1 := strings.Cut(string(b), "-- BEGIN REBUILD\n")
		body, _, ok2 := strings.Cut(rest, "-- END REBUILD")
		if !ok1 || !ok2 {
			return "", fmt.Errorf("%s has no rebuild section", name)
		}
		out.WriteString(body)
	}
	return out.String(), nil
}

// RebuildRollups recomputes every derived reporting table (area weights,
// citizen firsts, rollups, area buckets, area and team rollups) from the
// raw rows in one transaction, with the same set-based SQL as the
// migrations' backfills. The triggers keep them
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
