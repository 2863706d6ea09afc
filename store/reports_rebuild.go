package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// rebuildFiles are the migrations whose backfill sections, in order,
// compute every derived reporting table: 0005 the place rollups from the
// raw rows, 0008 the area and team rollups from the place rollups, 0009
// the teams' running totals and last active days and the weekly trend from
// those.
var rebuildFiles = [...]string{"migrations/0005_reports.sql", "migrations/0008_area_rollups.sql", "migrations/0009_report_reads.sql"}

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
// migrations' backfills. The triggers keep them current; this is for bulk
// loads made with the triggers off, and repairs.
func (s *Store) RebuildRollups(ctx context.Context) error {
	return s.rebuildRollups(ctx, func(int, int) {})
}

// rebuildRollups is RebuildRollups reporting each statement done (a 5M-log
// province takes minutes).
func (s *Store) rebuildRollups(ctx context.Context, progress func(done, total int)) error {
	q, err := rebuildSQL()
	if err != nil {
		return err
	}
	var stmts []string
	for _, st := range strings.Split(q, ";\n") {
		if strings.TrimSpace(stripComments(st)) != "" {
			stmts = append(stmts, st)
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for i, st := range stmts {
			progress(i, len(stmts))
			if _, err := tx.ExecContext(ctx, st); err != nil {
				return fmt.Errorf("rebuild rollups: %w", err)
			}
		}
		progress(len(stmts), len(stmts))
		return nil
	})
}

// stripComments drops the "--" comment lines of a statement.
func stripComments(q string) string {
	var b strings.Builder
	for _, line := range strings.Split(q, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
