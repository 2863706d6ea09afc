// Package storetest gives tests a fresh database for store.Open on the engine
// the environment selects: SQLite by default, PostgreSQL when TOSO_TEST_PG
// is a server URL (scripts/pg-test.sh starts one and prints it).
package storetest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for CREATE and DROP DATABASE
)

// PGEnv is the environment variable naming the PostgreSQL server tests use.
const PGEnv = "TOSO_TEST_PG"

// PG reports whether tests run on PostgreSQL.
func PG() bool { return os.Getenv(PGEnv) != "" }

// DB returns where a test's store lives: the file name in the test's
// temporary folder, or, on PostgreSQL, the URL of a database created for
// the test (toso_t_ and random hex) and dropped when it ends.
func DB(t testing.TB, name string) string {
	t.Helper()
	server := os.Getenv(PGEnv)
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
		t.Fatalf("%s: %v", PGEnv, err)
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
