package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"toso/store/storetest"
)

// testDB is where a test's store lives (storetest.DB): a fresh SQLite file
// named name, or a fresh PostgreSQL database when TOSO_TEST_PG is set. Every
// test that opens a store takes its path from here, so the whole package
// runs on either engine.
func testDB(t testing.TB, name string) string { return storetest.DB(t, name) }

// testPG reports whether the tests run on PostgreSQL.
func testPG() bool { return storetest.PG() }

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

// TestTwoStoresOnePostgres: two stores on one database (two Toso
// processes) write at once. Each write transaction takes the write lock, so
// every write succeeds (no serialization failure reaches the caller) and
// versions come from the one sequence without a duplicate. Writes of
// provinces in parallel and the cursors: engine_pg_locks_test.go.
func TestTwoStoresOnePostgres(t *testing.T) {
	if !testPG() {
		t.Skip("TOSO_TEST_PG is not set")
	}
	ctx := context.Background()
	path := testDB(t, "toso.db")
	var stores [2]*Store
	for i := range stores {
		s, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		defer s.Close()
		stores[i] = s
	}
	p, err := stores[0].CreateArea(ctx, System, NewArea{Level: "province", Name: "P"})
	if err != nil {
		t.Fatal(err)
	}
	const each = 40
	versions := make(chan int64, 2*each)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			for n := range each {
				tm, err := s.CreateTeam(ctx, System, NewTeam{AreaID: p.ID, Name: fmt.Sprintf("T%d-%d", i, n)})
				if err != nil {
					t.Errorf("store #%d, team %d: %v", i+1, n, err)
					return
				}
				versions <- tm.Version
			}
		})
	}
	wg.Wait()
	close(versions)
	seen := map[int64]bool{}
	for v := range versions {
		if seen[v] {
			t.Errorf("version %d given twice", v)
		}
		seen[v] = true
	}
	if len(seen) != 2*each {
		t.Errorf("%d distinct versions, want %d", len(seen), 2*each)
	}
	teams, err := stores[1].Teams(ctx, System, TeamFilter{AreaID: p.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(teams) != 2*each {
		t.Errorf("store #2 lists %d teams, want %d", len(teams), 2*each)
	}
}

// TestWriteTakesTheLock: while a write transaction runs, another session
// cannot take the write lock, and can once it commits; so a second Toso
// process's write waits for the first's whole transaction (a seq row lock
// alone would let writes that take no seq interleave).
func TestWriteTakesTheLock(t *testing.T) {
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
	other, err := sql.Open("pgx", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	try := func() bool {
		t.Helper()
		var got bool
		if err := other.QueryRow(`SELECT pg_try_advisory_xact_lock($1)`, PGWriteLock).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	inside, release := make(chan bool), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('lock-test', 'x')`)
			inside <- try()
			<-release
			return err
		})
	}()
	if <-inside {
		t.Error("another session took the write lock during a write transaction")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !try() {
		t.Error("another session cannot take the write lock after the write committed")
	}
}

// TestPGSchemaMatchesSQLite: the PostgreSQL schema (pg/) has the tables,
// columns (in order, with their types and NOT NULL) and named indexes of
// the SQLite schema after every migration, so a SQLite migration without a
// faithful PostgreSQL twin fails here.
func TestPGSchemaMatchesSQLite(t *testing.T) {
	if !testPG() {
		t.Skip("TOSO_TEST_PG is not set")
	}
	ctx := context.Background()
	lite, err := Open(ctx, filepath.Join(t.TempDir(), "toso.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg, err := Open(ctx, testDB(t, "toso.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	pgType := map[string]string{"INTEGER": "bigint", "REAL": "double precision", "TEXT": "text", "BLOB": "bytea"}
	schema := func(s *Store, q string) []string {
		t.Helper()
		rows, err := s.read.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var table, col, typ string
			var notNull bool
			if err := rows.Scan(&table, &col, &typ, &notNull); err != nil {
				t.Fatal(err)
			}
			if mapped, ok := pgType[typ]; ok {
				typ = mapped
			}
			out = append(out, fmt.Sprintf("%s.%s %s notnull=%v", table, col, typ, notNull))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// A primary key column is NOT NULL on PostgreSQL whatever it says;
	// SQLite's INTEGER PRIMARY KEY (the rowid) cannot be NULL either.
	want := schema(lite, `SELECT m.name, c.name, c.type, c."notnull" OR c.pk > 0 FROM sqlite_schema m
		JOIN pragma_table_info(m.name) c WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, c.cid`)
	got := schema(pg, `SELECT table_name, column_name, data_type, is_nullable = 'NO' FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name NOT IN ('schema_version', 'seq_leases') ORDER BY table_name, ordinal_position`)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("columns (-SQLite +PostgreSQL):\n%s", diff)
	}
	names := func(s *Store, q string) []string {
		t.Helper()
		rows, err := s.read.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	wantIx := names(lite, `SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`)
	gotIx := names(pg, `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()
		AND indexname NOT LIKE '%\_pkey' AND indexname NOT LIKE '%\_key' ORDER BY indexname`)
	if diff := cmp.Diff(wantIx, gotIx); diff != "" {
		t.Errorf("named indexes (-SQLite +PostgreSQL):\n%s", diff)
	}
}

// TestHasCitizenRefsOnPostgres: main asks before making a new citizen key;
// on PostgreSQL the answer must come from the database, not from a file
// named like its URL.
func TestHasCitizenRefsOnPostgres(t *testing.T) {
	if !testPG() {
		t.Skip("TOSO_TEST_PG is not set")
	}
	ctx := context.Background()
	path := testDB(t, "toso.db")
	if has, err := HasCitizenRefs(ctx, path); err != nil || has {
		t.Fatalf("an empty database: %v, %v; want false", has, err)
	}
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if has, err := HasCitizenRefs(ctx, path); err != nil || has {
		t.Fatalf("a database without refs: %v, %v; want false", has, err)
	}
	if err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO areas (id, path, depth, level, name, created_at, updated_at) VALUES (1, '/1/', 0, 'province', 'P', '', '')`)
		if err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `INSERT INTO teams (id, area_id, name, created_at, updated_at) VALUES (1, 1, 'T', '', '')`); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `INSERT INTO users (id, phone, name, role, team_id, password_hash, password_changed_at, created_at, updated_at)
			VALUES (1, '0912345678', 'U', 'member', 1, 'x', '', '', '')`); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO assistance_logs (id, team_id, area_id, created_by, occurred_at, citizen_ref, version, created_at, updated_at)
			VALUES (?, 1, 1, 1, '2026-01-01T00:00:00Z', ?, 1, '', '')`, "01940000-0000-7000-8000-000000000001", strings.Repeat("ab", 32))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if has, err := HasCitizenRefs(ctx, path); err != nil || !has {
		t.Errorf("a database with a citizen ref: %v, %v; want true", has, err)
	}
}

// TestDateFunctions: date() in checks, indexes and reports gives the same
// day on both engines (on PostgreSQL it is compat.sql's).
func TestDateFunctions(t *testing.T) {
	s := openTest(t)
	tests := []struct {
		in, modifier string
		want         sql.NullString
	}{
		{"2025-02-28", "", sql.NullString{String: "2025-02-28", Valid: true}},
		{"2024-02-29", "", sql.NullString{String: "2024-02-29", Valid: true}},
		{"2025-02-30", "", sql.NullString{String: "2025-03-02", Valid: true}}, // rolls over, so date(x) = x refuses it
		{"2025-13-01", "", sql.NullString{}},
		{"garbage", "", sql.NullString{}},
		{"2025-08-01T03:00:00.000Z", "", sql.NullString{String: "2025-08-01", Valid: true}},
		{"2025-08-01T20:00:00+07:00", "", sql.NullString{String: "2025-08-01", Valid: true}},
		{"2025-08-01T20:00:00.000Z", "+7 hours", sql.NullString{String: "2025-08-02", Valid: true}},
		{"2025-08-01T16:59:59.999Z", "+7 hours", sql.NullString{String: "2025-08-01", Valid: true}},
	}
	for _, tt := range tests {
		q, args := `SELECT date(?)`, []any{tt.in}
		if tt.modifier != "" {
			q, args = `SELECT date(?, ?)`, []any{tt.in, tt.modifier}
		}
		var got sql.NullString
		if err := s.read.QueryRow(q, args...).Scan(&got); err != nil {
			t.Fatalf("date(%q, %q): %v", tt.in, tt.modifier, err)
		}
		if got != tt.want {
			t.Errorf("date(%q, %q) = %v, want %v", tt.in, tt.modifier, got, tt.want)
		}
	}
}

// TestPGPushRedoesWithSavepoints: on PostgreSQL a push runs without a
// savepoint per mutation, and a failed statement aborts the transaction
// there. A mutation whose row the database refuses (here a trigger raising
// a check violation, standing for a CHECK the parser did not foresee) must
// still be rejected alone, the push's other mutations applied once: the
// push runs again with savepoints (errPGRedo).
func TestPGPushRedoesWithSavepoints(t *testing.T) {
	if !testPG() {
		t.Skip("TOSO_TEST_PG is not set: SQLite undoes a failed statement alone")
	}
	s, a := syncFixture(t, nil)
	ctx := context.Background()
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF NEW.place = 'boom' THEN RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END IF;
				RETURN NEW;
			END $$;
			CREATE TRIGGER refuse_boom BEFORE INSERT ON training_sessions FOR EACH ROW EXECUTE FUNCTION refuse_boom()`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var muts []Mutation
	for i, place := range []string{"Nhà văn hóa", "boom", "Trường học"} {
		muts = append(muts, Mutation{Mid: int64(i + 1), Table: "training_sessions", Op: "create",
			ID:     fmt.Sprintf("01930000-0000-7000-8000-%012d", i+1),
			Fields: map[string]json.RawMessage{"place": json.RawMessage(`"` + place + `"`)}})
	}
	res, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: muts})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Results {
		got = append(got, r.Status+"/"+r.Code)
	}
	if want := []string{"applied/", "rejected/validation_failed", "applied/"}; !cmp.Equal(got, want) || res.LastMid != 3 {
		t.Fatalf("results %v, last_mid %d; want %v, 3", got, res.LastMid, want)
	}
	var places []string
	rows, err := s.read.QueryContext(ctx, `SELECT place FROM training_sessions ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		rows.Scan(&p)
		places = append(places, p)
	}
	if want := []string{"Nhà văn hóa", "Trường học"}; !cmp.Equal(places, want) {
		t.Errorf("sessions %v, want %v (each once, the refused one absent)", places, want)
	}
}
