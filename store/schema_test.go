package store

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite store/schema.sql from the migrations")

// schema.sql is the schema after every migration, for readers: the
// migrations are history, this is what is. `go test ./store -update`
// rewrites it; the test fails while it is stale.
func TestSchemaSnapshot(t *testing.T) {
	if testPG() {
		t.Skip("schema.sql is SQLite's schema; PostgreSQL's is store/pg/0001_baseline.sql")
	}
	s, err := Open(context.Background(), testDB(t, "schema.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.read.Query(`SELECT type, name, sql FROM sqlite_schema
		WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'
		ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END, tbl_name, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	b.WriteString("-- The schema after every migration (store/migrations), written by\n" +
		"-- `go test ./store -update`; TestSchemaSnapshot fails while it is stale.\n" +
		"-- Read this to know the tables; change them with a new migration.\n")
	version, err := s.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString(fmt.Sprintf("-- Schema version %d.\n", version))
	n := 0
	for rows.Next() {
		var typ, name, sql string
		if err := rows.Scan(&typ, &name, &sql); err != nil {
			t.Fatal(err)
		}
		b.WriteString("\n" + strings.TrimSpace(sql) + ";\n")
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("only %d schema objects: the snapshot would say little", n)
	}
	got := b.String()
	if *update {
		if err := os.WriteFile("schema.sql", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("schema.sql")
	if err != nil {
		t.Fatalf("%v: run go test ./store -update", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("store/schema.sql is stale: run go test ./store -run TestSchemaSnapshot -update (-file +migrations):\n%s", diff)
	}
	if strings.Contains(got, "CREATE TRIGGER") {
		t.Error("the schema has a trigger: derived tables are kept by the fold (fold.go), not by triggers")
	}
}
