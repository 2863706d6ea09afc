package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"toso/demo"
	"toso/store"
	"toso/store/storetest"
)

// env is a getenv over a map.
func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestImportCommands(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t, "toso.db")
	getenv := env(map[string]string{"TOSO_DB": db, "TOSO_LOG_LEVEL": "error"})

	var out, errOut bytes.Buffer
	err := run(ctx, []string{"import", "areas", "store/testdata/areas_three_level_vi.csv"}, getenv, &out, &errOut)
	if err != nil {
		t.Fatalf("import areas: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"three-level, 5 rows", "province  1        0        0", "commune   5        0        0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	err = run(ctx, []string{"import", "areas", "-db", db, "store/testdata/areas_bad.csv"}, getenv, &out, &errOut)
	if err == nil {
		t.Fatal("import of a bad file succeeded")
	}
	for _, want := range []string{`row 3, column "commune_code": commune code "ABC" must be digits (5 of them)`, "nothing was imported"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}

	// A team to import into, then a roster whose second row has no password.
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	communes, err := st.Areas(ctx, store.System, store.AreaFilter{Code: "06043"})
	if err != nil || len(communes) != 1 {
		t.Fatalf("commune 06043: %v %v", communes, err)
	}
	team, err := st.CreateTeam(ctx, store.System, store.NewTeam{AreaID: communes[0].ID, Name: "Tổ CNSCĐ xã Tân Kim"})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	roster := filepath.Join(t.TempDir(), "roster.csv")
	csv := "Số điện thoại,Họ và tên,Vai trò,Tổ,Mật khẩu\n" +
		"0912000001,Nguyễn Văn An,Tổ trưởng," + strconv.FormatInt(team.ID, 10) + ",mat-khau-an-1\n" +
		"0912000002,Trần Thị Bình,Thành viên," + strconv.FormatInt(team.ID, 10) + ",\n"
	if err := os.WriteFile(roster, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"import", "users", roster}, getenv, &out, &errOut); err != nil {
		t.Fatalf("import users: %v\n%s", err, errOut.String())
	}
	m := regexp.MustCompile(`(?m)^3\s+0912000002\s+Trần Thị Bình\s+(\S+)$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no generated password for row 3 in:\n%s", out.String())
	}
	st, err = store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Authenticate(ctx, "0912000002", m[1]); err != nil {
		t.Errorf("login with the printed password: %v", err)
	}

	// Completions: the ID number never reaches the output, even in a row error.
	done := filepath.Join(t.TempDir(), "completions.csv")
	if err := os.WriteFile(done, []byte("Khóa học,Ngày hoàn thành,Mã xã,Số CCCD\n"+
		"Làm quen với công nghệ số,01/03/2025,6043,038090001234\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"import", "completions", done}, getenv, &out, &errOut); err != nil {
		t.Fatalf("import completions: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "1 completions created") || strings.Contains(out.String(), "038090001234") {
		t.Errorf("import completions printed %q", out.String())
	}
	if err := os.WriteFile(done, []byte("Khóa học,Ngày hoàn thành,Mã xã,Số CCCD\nx,2025-03-01,06043,03809000123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	if err := run(ctx, []string{"import", "completions", done}, getenv, &out, &errOut); err == nil ||
		!strings.Contains(errOut.String(), `row 2, column "Số CCCD": an ID number (CCCD) must be 12 digits`) ||
		strings.Contains(errOut.String(), "03809000123") {
		t.Errorf("a bad completions file: %v, stderr %q", err, errOut.String())
	}

	if err := run(ctx, []string{"import", "teams", roster}, getenv, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("import teams: err = %v, want errUsage", err)
	}
}

// lockedBuffer is a bytes.Buffer safe for the server goroutine, which
// signals once text appears.
type lockedBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if strings.Contains(b.buf.String(), b.want) && b.seen != nil {
		close(b.seen)
		b.seen = nil
	}
	return n, err
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runDemoOnce runs "toso demo" until it prints its accounts, checks that it
// answers /readyz, stops it, and returns its output.
func runDemoOnce(t *testing.T, db, keyFile string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lockedBuffer{want: "0900000004", seen: make(chan struct{})}
	seen := out.seen
	var errOut lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo"}, env(map[string]string{"TOSO_DB": db, "TOSO_ADDR": "127.0.0.1:0", "TOSO_ACCESS_LOG": "false",
			"TOSO_KEY_FILE": keyFile}), out, &errOut)
	}()
	select {
	case <-seen:
	case err := <-done:
		t.Fatalf("demo stopped: %v\n%s", err, errOut.String())
	case <-time.After(8 * time.Minute):
		// Under -race, beside the other packages' tests, making the demo
		// database (four months of activity pushed through store.Push) took
		// 1m40s on the 2-core machine: this checks that it starts, not how fast.
		t.Fatalf("demo did not start:\n%s", errOut.String())
	}
	url := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(out.String())
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz = %d, want 200", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo: %v\n%s", err, errOut.String())
	}
	return out.String() + errOut.String()
}

// keyFileFor is the key file a test gives the binary for db: none on
// SQLite (DB.keys beside it), one in the test's folder on PostgreSQL, where
// a URL has no folder beside it.
func keyFileFor(t *testing.T, db string) string {
	if !store.IsPostgres(db) {
		return ""
	}
	return filepath.Join(t.TempDir(), "toso.keys")
}

func TestDemoCommand(t *testing.T) {
	db := storetest.DB(t, "demo.db")
	keyFile := keyFileFor(t, db)
	first := runDemoOnce(t, db, keyFile)
	for _, want := range []string{"Toso demo: http://127.0.0.1:", "0900000000", "demo-password", "demo database created"} {
		if !strings.Contains(first, want) {
			t.Errorf("first run output lacks %q:\n%s", want, first)
		}
	}
	second := runDemoOnce(t, db, keyFile)
	if !strings.Contains(second, "reusing the demo database") {
		t.Errorf("second run did not reuse the database:\n%s", second)
	}

	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, a := range demo.Accounts() {
		u, err := st.Authenticate(context.Background(), a.Phone, demo.Password)
		if err != nil || u.Role != a.Role {
			t.Errorf("login %s: %v, role %v; want %s", a.Phone, err, u, a.Role)
		}
	}
	users, err := st.Users(context.Background(), store.System, store.UserFilter{Query: "0900000000"})
	if err != nil || len(users) != 1 {
		t.Errorf("admin accounts after two runs = %d (%v), want 1", len(users), err)
	}
}
