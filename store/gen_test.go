package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A generated province (bulk SQL, then the rebuild) reports the same
// figures as a brute-force computation over its rows, and serves the
// phones digests that match its rows.
func TestGenerateMatchesBruteForce(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testDB(t, "g.db"), Options{})
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
	// The phones' digests: what generation writes must be what a scan of
	// the rows gives, for every team and every area (issue 12: generation
	// used to drop the digest triggers and leave team_digests empty).
	if n := checkDigestsMatchScan(t, s, "after generation"); n == 0 {
		t.Fatal("no team holds rows: the digest check compares nothing")
	}
}

// checkDigestsMatchScan compares the kept digest of every team and area
// scope with a scan of its rows and returns how many scopes hold rows.
func checkDigestsMatchScan(t *testing.T, s *Store, when string) int {
	t.Helper()
	ctx := context.Background()
	tx, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var scopes []scope
	rows, err := tx.Query(`SELECT 't', id, '' FROM teams UNION ALL SELECT 'a', id, path FROM areas`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var kind, path string
		var id int64
		if err := rows.Scan(&kind, &id, &path); err != nil {
			t.Fatal(err)
		}
		if kind == "t" {
			scopes = append(scopes, scope{name: fmt.Sprintf("team %d", id), kind: scopeTeam, team: id})
		} else {
			scopes = append(scopes, scope{name: fmt.Sprintf("area %d", id), kind: scopeTeam, area: path})
		}
	}
	rows.Close()
	nonEmpty := 0
	for _, sc := range scopes {
		kept, err := teamDigest(ctx, tx, sc)
		if err != nil {
			t.Fatal(err)
		}
		scanned, err := s.scanDigest(ctx, tx, System, sc)
		if err != nil {
			t.Fatal(err)
		}
		if *kept != *scanned {
			t.Errorf("%s: %s digest kept %+v, scanned %+v", when, sc.name, *kept, *scanned)
		}
		if scanned.Count > 0 {
			nonEmpty++
		}
	}
	return nonEmpty
}
