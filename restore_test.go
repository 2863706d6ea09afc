package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"toso/phone"
	"toso/store"
)

// TestBackupRestoreServe is the operator's procedure end to end: a phone
// syncs, `toso backup` copies the live database, the phone pushes more (the
// changes the restore will take back), the server stops, `toso restore`
// puts the backup in place, the server starts again, and the phone's next
// sync continues: it sends again what the server lost, every scope
// starts again, and its copy ends equal to the server's with every log once.
func TestBackupRestoreServe(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, backup := filepath.Join(dir, "toso.db"), filepath.Join(dir, "backup.db")

	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prov, err := st.CreateArea(ctx, store.System, store.NewArea{Level: "province", Name: "Tỉnh"})
	if err != nil {
		t.Fatal(err)
	}
	village, err := st.CreateArea(ctx, store.System, store.NewArea{ParentID: prov.ID, Level: "village", Name: "Thôn"})
	if err != nil {
		t.Fatal(err)
	}
	team, err := st.CreateTeam(ctx, store.System, store.NewTeam{AreaID: village.ID, Name: "Tổ"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, store.System, store.NewUser{Phone: "0912000001", Name: "Lan", Role: store.RoleMember,
		TeamID: team.ID, Password: "password-member"}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	base, stop := serveForTest(t, db)
	ph, err := phone.Open(ctx, filepath.Join(dir, "phone.db"), phone.Config{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	defer ph.Close()
	if err := ph.Login(ctx, "0912000001", "password-member"); err != nil {
		t.Fatal(err)
	}
	logIDs := []string{"01930000-0000-7000-8000-000000000001", "01930000-0000-7000-8000-000000000002",
		"01930000-0000-7000-8000-000000000003"}
	createLog := func(id string) {
		t.Helper()
		_, err := ph.Create(ctx, "assistance_logs", id, map[string]any{"occurred_at": "2026-11-20T09:12:00Z",
			"outcomes": []map[string]any{{"service": "vneid_l2", "result": "done"}}}, "")
		if err != nil {
			t.Fatal(err)
		}
	}
	createLog(logIDs[0])
	if err := ph.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	// A backup of the live database, then a restore refused while it serves.
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"backup", "-db", db, backup}, env(nil), &out, &errOut); err != nil {
		t.Fatalf("backup: %v\n%s", err, errOut.String())
	}
	err = run(ctx, []string{"restore", "-db", db, backup}, env(nil), &out, &errOut)
	if !errors.Is(err, store.ErrInUse) {
		t.Fatalf("restore while serving: %v, want ErrInUse", err)
	}

	// After the backup: a log the restore will take back.
	createLog(logIDs[1])
	if err := ph.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	stop()

	// Not a database: refused, nothing touched.
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte("not a database at all"), 0o600)
	if err := run(ctx, []string{"restore", "-db", db, junk}, env(nil), &out, &errOut); err == nil ||
		!strings.Contains(err.Error(), "not an SQLite database") {
		t.Errorf("restore of a text file: %v", err)
	}

	out.Reset()
	if err := run(ctx, []string{"restore", "-db", db, backup}, env(nil), &out, &errOut); err != nil {
		t.Fatalf("restore: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "integrity ok") || !strings.Contains(out.String(), "the previous database is kept as "+db+".before-restore-") {
		t.Errorf("restore printed:\n%s", out.String())
	}
	kept, _ := filepath.Glob(db + ".before-restore-*")
	if len(kept) != 1 {
		t.Errorf("kept databases %q, want one", kept)
	}
	if _, err := os.Stat(backup + "-wal"); err == nil {
		t.Errorf("the backup file was opened (it has a WAL): restore must work on a copy")
	}

	st, err = store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Integrity(ctx); err != nil {
		t.Errorf("restored database: %v", err)
	}
	st.Close()

	// The server again: the phone continues.
	base, stop = serveForTest(t, db)
	defer stop()
	ph2, err := phone.Open(ctx, filepath.Join(dir, "phone.db"), phone.Config{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	defer ph2.Close()
	// Signed in again: the refresh token it holds was issued after the
	// backup, and the restored server never saw it.
	if err := ph2.Login(ctx, "0912000001", "password-member"); err != nil {
		t.Fatal(err)
	}
	ph.Close()
	ph = ph2
	createLog(logIDs[2])
	if err := ph.Sync(ctx); err != nil {
		t.Fatalf("sync after the restore: %v", err)
	}
	outbox, err := ph.Outbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range outbox {
		if e.Status != "applied" {
			t.Errorf("mid %d: %s %s, want applied", e.Mid, e.Status, e.Code)
		}
	}
	rows, err := ph.Rows(ctx, "team:"+strconv.FormatInt(team.ID, 10))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		if r.Table == "assistance_logs" {
			got = append(got, r.ID)
		}
	}
	if !slices.Equal(got, logIDs) {
		t.Errorf("the phone holds logs %q, want %q", got, logIDs)
	}

	st, err = store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Integrity(ctx); err != nil {
		t.Errorf("after the sync: %v", err)
	}
}
