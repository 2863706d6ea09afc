package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A generated province (bulk SQL with the triggers off, then the rebuild)
// reports the same figures as a brute-force computation over its rows, and
// its triggers are back in place.
func TestGenerateMatchesBruteForce(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "g.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Generate(ctx, GenerateOptions{Communes: 3, VillagesPerCommune: 4, MergedCommunes: 1, Logs: 3000, SessionsPerTeam: 3, Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := loadBrute(t, s)
	for _, area := range []int64{1, 2, 3} {
		r, err := s.Report(ctx, System, ReportQuery{AreaID: area, From: "2025-02-10", To: "2025-11-20"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(b.figures(area, "2025-02-10", "2025-11-20", 0, 0), flat(r.Totals), approx); diff != "" {
			t.Errorf("area %d (-brute +report):\n%s", area, diff)
		}
	}
	var n int
	s.read.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'log_outcomes'`).Scan(&n)
	if n != 2 {
		t.Errorf("log_outcomes has %d triggers after generation, want 2", n)
	}
}
