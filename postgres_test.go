package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"toso/store"
	"toso/store/storetest"
)

// TestPostgresCommands runs the binary's commands on PostgreSQL (with
// TOSO_TEST_PG): serve refuses to start without keys, and with --key-file
// creates the file (mode 0600) and keeps the keys out of the database;
// backup and restore name pg_dump and pg_restore; restore
// --after-pg-restore is refused while a node is connected and then moves
// the sequence ahead; no output names the URL's password.
func TestPostgresCommands(t *testing.T) {
	if !storetest.PG() {
		t.Skip("PostgreSQL only: set " + storetest.PGEnv + " (scripts/pg-test.sh)")
	}
	ctx := context.Background()
	u, err := url.Parse(storetest.DB(t, "toso.db"))
	if err != nil {
		t.Fatal(err)
	}
	const password = "pw-never-logged-4711" // the test cluster trusts loopback: any password connects
	u.User = url.UserPassword(u.User.Username(), password)
	db := u.String()
	var out, errOut bytes.Buffer
	defer func() {
		if strings.Contains(out.String()+errOut.String(), password) {
			t.Errorf("the output names the URL's password:\n%s\n%s", out.String(), errOut.String())
		}
	}()

	serveArgs := []string{"serve", "-db", db, "-addr", "127.0.0.1:0", "-access-log=false", "-push", "off", "-metrics-addr", "off"}
	err = run(ctx, serveArgs, env(nil), &out, &errOut)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "TOSO_KEY_FILE") || !strings.Contains(err.Error(), "TOSO_CITIZEN_KEY") {
		t.Fatalf("serve without keys: %v, want a usage error naming TOSO_KEY_FILE and TOSO_CITIZEN_KEY", err)
	}

	keyFile := filepath.Join(t.TempDir(), "toso.keys")
	_, stop := serveWith(t, append(serveArgs, "-key-file", keyFile), &errOut)
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want it created with 0600", err, fi)
	}
	k, err := readKeyFile(keyFile)
	if err != nil || len(k["citizen_key"]) < 32 || len(k["jwt_secret"]) < 32 {
		t.Fatalf("key file holds %d keys (%v), want citizen_key and jwt_secret", len(k), err)
	}
	raw, err := store.OpenReader(db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow(`SELECT count(*) FROM settings WHERE value IN (?, ?)`, k["citizen_key"], k["jwt_secret"]).Scan(&n); err != nil || n != 0 {
		t.Errorf("settings rows holding a key: %d (%v), want 0", n, err)
	}

	// A node is connected: the restore's mark is refused.
	err = run(ctx, []string{"restore", "-db", db, "-after-pg-restore"}, env(nil), &out, &errOut)
	if !errors.Is(err, store.ErrInUse) {
		t.Errorf("restore --after-pg-restore beside a running node: %v, want ErrInUse", err)
	}
	stop()
	raw.Close() // its idle connection counts as a session too

	err = run(ctx, []string{"backup", "-db", db, filepath.Join(t.TempDir(), "b.db")}, env(nil), &out, &errOut)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("backup: %v, want a usage error naming pg_dump", err)
	}
	err = run(ctx, []string{"restore", "-db", db, "b.db"}, env(nil), &out, &errOut)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "pg_restore") {
		t.Errorf("restore: %v, want a usage error naming pg_restore", err)
	}
	out.Reset()
	if err := run(ctx, []string{"restore", "-db", db, "-after-pg-restore"}, env(nil), &out, &errOut); err != nil {
		t.Fatalf("restore --after-pg-restore: %v", err)
	}
	if !strings.Contains(out.String(), "phones will pull their scopes again") {
		t.Errorf("restore --after-pg-restore printed %q", out.String())
	}
	var seq int64
	if err := rawQuery(t, db, `SELECT value FROM seq WHERE id = 1`, &seq); seq < 1_000_000_000 {
		t.Errorf("seq after the restore's mark = %d (%v), want it moved ahead by 10⁹", seq, err)
	}
	if err := run(ctx, []string{"migrate", "-db", db}, env(nil), &out, &errOut); err != nil {
		t.Errorf("migrate needs no keys: %v", err)
	}
	if !strings.Contains(out.String(), "xxxxx") {
		t.Errorf("migrate printed %q, want the URL with its password masked", out.String())
	}
}

// rawQuery reads one value from the database at db.
func rawQuery(t *testing.T, db, query string, dest any) error {
	t.Helper()
	r, err := store.OpenReader(db)
	if err != nil {
		return err
	}
	defer r.Close()
	return r.QueryRow(query).Scan(dest)
}

// serveWith runs toso with args until it listens; stop ends it.
func serveWith(t *testing.T, args []string, logs io.Writer) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	lines := &lineWriter{addr: make(chan string, 1)}
	var mine lockedLog
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, env(nil), io.Discard, io.MultiWriter(lines, &mine)) }()
	select {
	case addr := <-lines.addr:
		base = "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("serve stopped: %v\n%s", err, mine.String())
	}
	return base, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, mine.String())
		}
		logs.Write([]byte(mine.String()))
	}
}
