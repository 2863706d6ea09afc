package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// testDB is where a test's store lives: a fresh SQLite file named name in
// the test's temporary folder, or, when TOSO_TEST_PG is a PostgreSQL server
// URL (scripts/pg-test.sh prints one), a fresh database on that server,
// dropped when the test ends. Every test that opens a store takes its path
// from here, so the whole package runs on either engine.
func testDB(t testing.TB, name string) string {
	t.Helper()
	server := os.Getenv("TOSO_TEST_PG")
	if server == "" {
		return filepath.Join(t.TempDir(), name)
	}
	b := make([]byte, 6)
	rand.Read(b)
	db := "toso_t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE DATABASE ` + db); err != nil {
		t.Fatalf("TOSO_TEST_PG: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", server)
		if err != nil {
			t.Error(err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + db + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop %s: %v", db, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	return u.String()
}

// testPG reports whether the tests run on PostgreSQL.
func testPG() bool { return os.Getenv("TOSO_TEST_PG") != "" }

// TestOpenUsesPostgres checks that a store opened on TOSO_TEST_PG keeps its
// rows in PostgreSQL (a URL given to SQLite would open a file of that name).
func TestOpenUsesPostgres(t *testing.T) {
	if !testPG() {
		t.Skip("TOSO_TEST_PG is not set")
	}
	ctx := context.Background()
	path := testDB(t, "toso.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateArea(ctx, System, NewArea{Level: "province", Name: "P"}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM areas WHERE name = 'P'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("areas named P in PostgreSQL: %d, %v; want 1", n, err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != LatestSchema() {
		t.Errorf("schema version %d, %v; want %d", v, err, LatestSchema())
	}
}
