package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), testDB(t, "toso.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMigrateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := testDB(t, "toso.db")
	for i := 0; i < 2; i++ {
		s, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		v, err := s.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := migrations()
		if v != len(ms) {
			t.Errorf("open #%d: schema version %d, want %d", i+1, v, len(ms))
		}
		s.Close()
	}
}

func TestReadPoolCannotWrite(t *testing.T) {
	s := openTest(t)
	_, err := s.read.Exec(`INSERT INTO settings (key, value) VALUES ('x', 'y')`)
	if err == nil {
		t.Fatal("insert through the read pool succeeded, want query_only to refuse it")
	}
}

// TestReadTransactionIsASnapshot: a read transaction sees the database as
// of its first statement, whatever commits meanwhile (a pull's seq and rows
// must agree).
func TestReadTransactionIsASnapshot(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	seq := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) int64 {
		t.Helper()
		var v int64
		if err := q.QueryRowContext(ctx, `SELECT value FROM seq WHERE id = 1`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	before := seq(tx)
	if _, err := s.CreateArea(ctx, System, NewArea{Level: "province", Name: "P"}); err != nil {
		t.Fatal(err)
	}
	if got := seq(tx); got != before {
		t.Errorf("seq inside the read transaction moved from %d to %d after a commit, want it to stay", before, got)
	}
	if got := seq(s.read); got <= before {
		t.Errorf("seq outside the transaction %d, want past %d", got, before)
	}
}

func TestAreaTreeAndErrors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	p, err := s.CreateArea(ctx, System, NewArea{Level: "province", Name: "Tỉnh", Code: "01", Population: 100})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateArea(ctx, System, NewArea{ParentID: p.ID, Level: "commune", Name: "Xã", Code: "00001"})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("/%d/%d/", p.ID, c.ID); c.Path != want || c.Depth != 1 {
		t.Errorf("commune path %q depth %d, want %q depth 1", c.Path, c.Depth, want)
	}
	tests := []struct {
		name string
		in   NewArea
		want error
	}{
		{"duplicate code at a level", NewArea{ParentID: p.ID, Level: "commune", Name: "Xã 2", Code: "00001"}, ErrConflict},
		{"root that is not a province", NewArea{Level: "commune", Name: "X"}, ErrInvalid},
		{"province under a commune", NewArea{ParentID: c.ID, Level: "province", Name: "X"}, ErrInvalid},
		{"unknown parent", NewArea{ParentID: 999, Level: "village", Name: "X"}, ErrNotFound},
		{"unknown level", NewArea{ParentID: c.ID, Level: "hamlet", Name: "X"}, ErrInvalid},
		{"validity reversed", NewArea{ParentID: c.ID, Level: "village", Name: "X", ValidFrom: "2025-07-01", ValidTo: "2025-01-01"}, ErrInvalid},
		{"a code with letters", NewArea{ParentID: c.ID, Level: "village", Name: "X", Code: "A1"}, ErrInvalid},
		{"a code that is a formula", NewArea{ParentID: c.ID, Level: "village", Name: "X", Code: "=1+2"}, ErrInvalid},
		{"a code of 21 digits", NewArea{ParentID: c.ID, Level: "village", Name: "X", Code: strings.Repeat("1", 21)}, ErrInvalid},
	}
	for _, tt := range tests {
		if _, err := s.CreateArea(ctx, System, tt.in); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	cu, err := s.CreateUser(ctx, System, NewUser{Phone: "0911111111", Name: "C", Role: RoleCoordinator, AreaID: c.ID, Password: "longenough"})
	if err != nil {
		t.Fatal(err)
	}
	coordC, err := s.Actor(ctx, cu.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateArea(ctx, coordC, NewArea{ParentID: c.ID, Level: "village", Name: "Thôn"}); err != nil {
		t.Errorf("coordinator creating a village in their commune: %v", err)
	}
	if _, err := s.UpdateArea(ctx, System, c.ID, AreaPatch{Code: ptr("-5")}); !errors.Is(err, ErrInvalid) {
		t.Errorf("changing a code to -5: got %v, want ErrInvalid", err)
	}
	if _, err := s.UpdateArea(ctx, coordC, c.ID, AreaPatch{Name: ptr("Đổi tên")}); !errors.Is(err, ErrForbidden) {
		t.Errorf("coordinator renaming their own root: got %v, want ErrForbidden", err)
	}
	if _, err := s.Area(ctx, coordC, p.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("coordinator reading the province above: got %v, want ErrNotFound", err)
	}
	got, err := s.Areas(ctx, coordC, AreaFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Errorf("coordinator lists %d areas, want 2 (commune and village)", len(got))
	}
}

func TestVersionsComeFromOneSequence(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	p, _ := s.CreateArea(ctx, System, NewArea{Level: "province", Name: "P"})
	tm, err := s.CreateTeam(ctx, System, NewTeam{AreaID: p.ID, Name: "T"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, System, NewUser{Phone: "0912345678", Name: "U", Role: RoleMember, TeamID: tm.ID, Password: "longenough"})
	if err != nil {
		t.Fatal(err)
	}
	if !(p.Version < tm.Version && tm.Version < u.Version) {
		t.Errorf("versions %d, %d, %d: want strictly increasing in commit order", p.Version, tm.Version, u.Version)
	}
}

func TestUserRulesAndAuthenticate(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	p, _ := s.CreateArea(ctx, System, NewArea{Level: "province", Name: "P"})
	tm, _ := s.CreateTeam(ctx, System, NewTeam{AreaID: p.ID, Name: "T"})
	u, err := s.CreateUser(ctx, System, NewUser{Phone: "+84 912 345 678", Name: "Nguyễn Văn A", Role: RoleMember, TeamID: tm.ID, Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Phone != "0912345678" {
		t.Errorf("phone stored as %q, want 0912345678", u.Phone)
	}
	if _, err := s.CreateUser(ctx, System, NewUser{Phone: "0912345678", Name: "B", Role: RoleMember, TeamID: tm.ID, Password: "another-password"}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate phone: got %v, want ErrConflict", err)
	}
	if _, err := s.CreateUser(ctx, System, NewUser{Phone: "0912345679", Name: "B", Role: RoleMember, Password: "another-password"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("member without team: got %v, want ErrInvalid", err)
	}
	if _, err := s.Authenticate(ctx, "84912345678", "correct horse"); err != nil {
		t.Errorf("login with another phone form: %v", err)
	}
	for _, pw := range []string{"wrong", ""} {
		if _, err := s.Authenticate(ctx, "0912345678", pw); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("password %q: got %v, want ErrUnauthenticated", pw, err)
		}
	}
	if _, err := s.UpdateUser(ctx, System, u.ID, UserPatch{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "0912345678", "correct horse"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("deactivated user logs in: got %v, want ErrUnauthenticated", err)
	}
	if _, err := s.Actor(ctx, u.ID, ""); !errors.Is(err, ErrForbidden) {
		t.Errorf("deactivated user's actor: got %v, want ErrForbidden", err)
	}
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0912345678", "0912345678"},
		{"+84912345678", "0912345678"},
		{"84 912 345 678", "0912345678"},
		{"0084912345678", "0912345678"},
		{"0912.345.678", "0912345678"},
		{"912345678", "0912345678"},
		{"(091) 234-5678", "0912345678"},
	}
	for _, tt := range tests {
		got, err := NormalizePhone(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "123", "0012345678", "09123456789", "09a2345678", "+8491234567"} {
		if got, err := NormalizePhone(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("NormalizePhone(%q) = %q, %v; want ErrInvalid", bad, got, err)
		}
	}
}

// TestBackupUnderLiveWriter takes a backup while another goroutine keeps
// writing, and checks the copy is consistent.
func TestBackupUnderLiveWriter(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if s.pg {
		if err := s.Backup(ctx, filepath.Join(t.TempDir(), "backup.db")); !errors.Is(err, ErrBackupPG) {
			t.Fatalf("backup on PostgreSQL: got %v, want ErrBackupPG", err)
		}
		t.Skip("PostgreSQL is backed up with pg_dump")
	}
	p, _ := s.CreateArea(ctx, System, NewArea{Level: "province", Name: "P"})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.CreateTeam(ctx, System, NewTeam{AreaID: p.ID, Name: fmt.Sprint("T", i)}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	dest := filepath.Join(t.TempDir(), "backup.db")
	err := s.Backup(ctx, dest)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+dest)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ok string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check = %q, %v", ok, err)
	}
	// Consistent snapshot: every team's version was allocated from seq, so
	// no team can be newer than the sequence in the same copy.
	var maxVersion, seq int64
	db.QueryRow(`SELECT COALESCE(MAX(version), 0) FROM teams`).Scan(&maxVersion)
	db.QueryRow(`SELECT value FROM seq`).Scan(&seq)
	if maxVersion > seq || seq == 0 {
		t.Errorf("backup has team version %d and seq %d: not one snapshot", maxVersion, seq)
	}
	// The live database can still be written after the backup.
	if _, err := s.CreateTeam(ctx, System, NewTeam{AreaID: p.ID, Name: "after"}); err != nil {
		t.Errorf("write after backup: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
