package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"toso/store"
)

// fileHolds reports whether the database file or its WAL holds s.
func fileHolds(t *testing.T, path, s string) bool {
	t.Helper()
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

// legacyDB makes a database as an older Toso left it: its secrets in
// settings.
func legacyDB(t *testing.T, citizenKey, jwtSecret string) string {
	t.Helper()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "toso.db")
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	raw, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`INSERT INTO settings (key, value) VALUES ('citizen_key', ?), ('jwt_secret', ?)`, citizenKey, jwtSecret); err != nil {
		t.Fatal(err)
	}
	return db
}

// A copy of the database alone must reveal no citizen: the citizen key and
// the JWT secret live in a key file beside it (mode 0600), which `serve`
// creates and `backup` never copies; a key an older Toso kept in the
// database is moved out, leaving no trace in the file or its WAL.
func TestSecretsLiveOutsideTheDatabase(t *testing.T) {
	ctx := context.Background()
	const citizenKey = "legacy-citizen-key-0123456789abcdef0123456789"
	const jwtSecret = "legacy-jwt-secret-0123456789abcdef0123456789"
	db := legacyDB(t, citizenKey, jwtSecret)
	if !fileHolds(t, db, citizenKey) {
		t.Fatal("the legacy database does not hold its key: the test would prove nothing")
	}
	var logs bytes.Buffer
	st, k, err := openStore(ctx, Config{DB: db}, slog.New(slog.NewJSONHandler(&logs, nil)), true)
	if err != nil {
		t.Fatal(err)
	}
	if k.CitizenKey != citizenKey || k.JWTSecret != jwtSecret {
		t.Errorf("keys %+v, want the ones the database kept (its citizen refs were made with them)", k)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := st.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if !strings.Contains(logs.String(), "moved secrets out of the database") || !strings.Contains(logs.String(), "citizen_key, jwt_secret") {
		t.Errorf("no clear log line about the move:\n%s", logs.String())
	}
	for _, f := range []string{db, backup} {
		for _, secret := range []string{citizenKey, jwtSecret} {
			if fileHolds(t, f, secret) {
				t.Errorf("%s still holds %q", filepath.Base(f), secret[:12])
			}
		}
	}
	if _, err := os.Stat(keyFile(Config{DB: backup})); !os.IsNotExist(err) {
		t.Errorf("the backup has a key file beside it: %v", err)
	}
	fi, err := os.Stat(keyFile(Config{DB: db}))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(keyFile(Config{DB: db}))
	if !strings.Contains(string(b), "citizen_key="+citizenKey) || !strings.Contains(string(b), "jwt_secret="+jwtSecret) {
		t.Errorf("the key file does not hold the keys:\n%s", b)
	}

	// The next start reads the key file and changes nothing.
	logs.Reset()
	st, k2, err := openStore(ctx, Config{DB: db}, slog.New(slog.NewJSONHandler(&logs, nil)), true)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if k2 != k || logs.Len() != 0 {
		t.Errorf("second start: keys %+v (want %+v), log %q", k2, k, logs.String())
	}
}

func TestNewDatabaseGetsAKeyFile(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "toso.db")
	discard := slog.New(slog.NewJSONHandler(io.Discard, nil))
	st, k, err := openStore(ctx, Config{DB: db}, discard, true)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if len(k.CitizenKey) < 32 || len(k.JWTSecret) < 32 || k.CitizenKey == k.JWTSecret {
		t.Fatalf("keys %+v: want two distinct random keys", k)
	}
	if fileHolds(t, db, k.CitizenKey) || fileHolds(t, db, k.JWTSecret) {
		t.Error("the database holds a key")
	}
	// Commands that create nothing (migrate, backup) make no key file.
	other := filepath.Join(t.TempDir(), "other.db")
	st, k, err = openStore(ctx, Config{DB: other}, discard, false)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := os.Stat(keyFile(Config{DB: other})); !os.IsNotExist(err) || k.CitizenKey != "" {
		t.Errorf("migrate made a key file (%v) or a key (%q)", err, k.CitizenKey)
	}
	// Given in the environment, a key is not written to the file.
	given := filepath.Join(t.TempDir(), "given.db")
	const env = "citizen-key-from-the-environment-0123456789"
	st, k, err = openStore(ctx, Config{DB: given, CitizenKey: env}, discard, true)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	b, _ := os.ReadFile(keyFile(Config{DB: given}))
	if k.CitizenKey != env || strings.Contains(string(b), env) || !strings.Contains(string(b), "jwt_secret=") {
		t.Errorf("key %q, key file %q: want the given key used and not written, the JWT secret written", k.CitizenKey, b)
	}
}

func TestKeyFileMistakesAreRefused(t *testing.T) {
	ctx := context.Background()
	discard := slog.New(slog.NewJSONHandler(io.Discard, nil))
	// A citizen key that differs from the one the database's refs were made with.
	db := legacyDB(t, "legacy-citizen-key-0123456789abcdef0123456789", "legacy-jwt-secret-0123456789abcdef0123456789")
	if _, _, err := openStore(ctx, Config{DB: db, CitizenKey: "another-citizen-key-0123456789abcdef01234"}, discard, true); err == nil ||
		!strings.Contains(err.Error(), "differs") {
		t.Errorf("a different citizen key: err = %v, want a refusal", err)
	}
	// A key file others can read.
	db = filepath.Join(t.TempDir(), "toso.db")
	st, _, err := openStore(ctx, Config{DB: db}, discard, true)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := os.Chmod(keyFile(Config{DB: db}), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openStore(ctx, Config{DB: db}, discard, true); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a key file of mode 0644: err = %v, want a refusal", err)
	}
}

// A database restored without its key file must not get a new citizen key
// silently: every citizen would be counted again.
func TestMissingCitizenKeyIsNotReplaced(t *testing.T) {
	ctx := context.Background()
	discard := slog.New(slog.NewJSONHandler(io.Discard, nil))
	db := filepath.Join(t.TempDir(), "toso.db")
	st, _, err := openStore(ctx, Config{DB: db}, discard, true)
	if err != nil {
		t.Fatal(err)
	}
	if has, err := store.HasCitizenRefs(ctx, db); err != nil || has {
		t.Fatalf("a new database: HasCitizenRefs = %v, %v", has, err)
	}
	// One member logs one citizen helped, by ID-card number.
	p, err := st.CreateArea(ctx, store.System, store.NewArea{Level: "province", Name: "Tỉnh", Code: "98"})
	if err != nil {
		t.Fatal(err)
	}
	team, err := st.CreateTeam(ctx, store.System, store.NewTeam{AreaID: p.ID, Name: "Tổ"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(ctx, store.System, store.NewUser{Phone: "0912000009", Name: "An", Role: store.RoleMember,
		TeamID: team.ID, Password: "password-member"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.Actor(ctx, u.ID, "00000000-0000-4000-8000-000000000001")
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Push(ctx, a, store.PushRequest{DeviceID: a.DeviceID, Mutations: []store.Mutation{{Mid: 1, Table: "assistance_logs",
		Op: "create", ID: "00000000-0000-4000-8000-0000000000aa", Fields: map[string]json.RawMessage{
			"citizen_id_number": json.RawMessage(`"038090001234"`), "consent": json.RawMessage(`true`),
			"occurred_at": json.RawMessage(`"` + time.Now().UTC().Add(-time.Hour).Format(time.RFC3339) + `"`),
			"outcomes":    json.RawMessage(`[{"service": "vneid_l2", "result": "done"}]`)}}}})
	if err != nil || res.Results[0].Status != "applied" {
		t.Fatalf("push: %+v %v", res, err)
	}
	st.Close()
	if has, err := store.HasCitizenRefs(ctx, db); err != nil || !has {
		t.Fatalf("after the push: HasCitizenRefs = %v, %v", has, err)
	}
	if err := os.Remove(keyFile(Config{DB: db})); err != nil { // restored without its key file
		t.Fatal(err)
	}
	_, _, err = openStore(ctx, Config{DB: db}, discard, true)
	if err == nil || !strings.Contains(err.Error(), "citizen key is missing") {
		t.Errorf("serve without the key file: err = %v, want a refusal", err)
	}
	if _, err := os.Stat(keyFile(Config{DB: db})); !os.IsNotExist(err) {
		t.Errorf("a new key file was written: %v", err)
	}
}
