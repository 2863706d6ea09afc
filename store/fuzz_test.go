package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// Fuzz targets for the pull cursor (the opaque string a phone sends back)
// and roster imports. Plain go test replays the seeds and testdata/fuzz; to
// fuzz:
//
//	go test ./store -run '^$' -fuzz FuzzPullCursor -fuzztime 3m
//	go test ./store -run '^$' -fuzz FuzzImportUsers -fuzztime 3m

// FuzzPullCursor pulls the member's team scope from an arbitrary cursor.
// The cursor is refused exactly when parseCursor refuses it; otherwise the
// pull is either a reset (served from 0) or exactly the changes after the
// cursor's seq: never a skipped row, never an error.
func FuzzPullCursor(f *testing.F) {
	ctx := context.Background()
	clock := &steppingClock{t: time.Now(), step: time.Millisecond}
	s, a := syncFixture(f, clock.now)
	if _, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: []Mutation{logMutation(1), logMutation(2), logMutation(3)}}); err != nil {
		f.Fatal(err)
	}
	del := Mutation{Mid: 4, Table: "assistance_logs", Op: "delete", ID: logMutation(2).ID}
	if _, err := s.Push(ctx, a, PushRequest{DeviceID: a.DeviceID, Mutations: []Mutation{del}}); err != nil {
		f.Fatal(err)
	}
	team := teamScope(a.TeamID)
	full, err := s.Pull(ctx, a, PullRequest{DeviceID: a.DeviceID, Cursors: map[string]string{}})
	if err != nil {
		f.Fatal(err)
	}
	snap, _, _, err := parseCursor(full.Scopes[team].Cursor)
	if err != nil || snap == 0 {
		f.Fatalf("full pull cursor %q: %v", full.Scopes[team].Cursor, err)
	}
	for _, c := range []string{"", "0", "1", "2", strconv.FormatInt(snap, 10), strconv.FormatInt(snap+1, 10), "-1", "+2",
		"9223372036854775807", "9223372036854775808", "2.", "2.tag", "2.123456789012345678901", "1e3", " 2", "２", "0x10", "2..3"} {
		f.Add(team, c)
	}
	f.Add("team:999", "5")
	f.Add("catalog", "3.0")
	f.Add("user:1' OR '1'='1", "1")
	f.Fuzz(func(t *testing.T, scope, cursor string) {
		got, err := s.Pull(ctx, a, PullRequest{DeviceID: a.DeviceID, Cursors: map[string]string{scope: cursor}})
		v, _, _, perr := parseCursor(cursor)
		_, mine := full.Scopes[scope]
		if perr != nil && mine {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("cursor %q for %s: err = %v, want ErrInvalid", cursor, scope, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("cursor %q for %s: %v", cursor, scope, err)
		}
		if !mine {
			if len(got.ScopesRemoved) != 1 || got.ScopesRemoved[0] != scope {
				t.Errorf("scope %q is not the member's: scopes_removed = %q", scope, got.ScopesRemoved)
			}
			return
		}
		sc := got.Scopes[scope]
		if sc == nil {
			t.Fatalf("scope %s missing from the answer", scope)
		}
		if next, _, _, err := parseCursor(sc.Cursor); err != nil || next < 0 {
			t.Errorf("returned cursor %q does not parse: %v", sc.Cursor, err)
		}
		reset := strings.Contains(strings.Join(got.Resets, " "), scope)
		if reset {
			v = 0
		}
		if scope != team {
			return
		}
		type change struct {
			op      string
			version int64
		}
		want := map[string]change{}
		for _, c := range full.Scopes[team].Changes {
			if c.Version > v {
				want[c.Table+"/"+c.ID] = change{c.Op, c.Version}
			}
		}
		gotRows := map[string]change{}
		for _, c := range sc.Changes {
			gotRows[c.Table+"/"+c.ID] = change{c.Op, c.Version}
			if c.Version <= v {
				t.Errorf("cursor %q (seq %d): %s %s v%d is not after the cursor", cursor, v, c.Op, c.ID, c.Version)
			}
		}
		if !reflect.DeepEqual(gotRows, want) {
			t.Errorf("cursor %q (seq %d, reset %v): changes %v, want %v", cursor, v, reset, gotRows, want)
		}
	})
}

// FuzzImportUsers: a roster file (CSV, or XLSX when it starts like a zip)
// never panics the reader and is either refused with row errors or yields
// only well-formed users the importer may manage. Nothing is written.
func FuzzImportUsers(f *testing.F) {
	ctx := context.Background()
	s := openTestStore(f)
	tr := newRosterTree(f, s)
	coord := actorFor(f, s, NewUser{Phone: "0900000999", Name: "Điều phối", Role: RoleCoordinator, AreaID: tr.own.ID, Password: "password-coord"})
	files, _ := filepath.Glob(filepath.Join("testdata", "users_*.csv"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	x := excelize.NewFile()
	for i, row := range [][]any{{"Danh sách tổ viên"}, {"SĐT", "Họ tên", "Tổ", "Mã xã"}, {"0912345601", "Hà Văn X", "Tổ CNSCĐ Xóm Đồng Cẩm", "05710"}} {
		if err := x.SetSheetRow("Sheet1", "A"+strconv.Itoa(i+1), &row); err != nil {
			f.Fatal(err)
		}
	}
	var xb bytes.Buffer
	if err := x.Write(&xb); err != nil {
		f.Fatal(err)
	}
	f.Add(xb.Bytes(), true)
	f.Add([]byte("phone;name;role;area_code\n0912345602;A;coordinator;05665\n0912345603;B;admin;\n"), true)
	f.Add([]byte("\xEF\xBB\xBFphone,name,team\n0912345604,\"a\"\"b\",1' OR 1=1 --\n,,\n0912345604,c,2\n"), false)
	f.Add([]byte("\xFF\xFEp\x00h\x00"), false)
	f.Add([]byte("phone,name,phone\n1,2,3\n"), false)
	var users int
	if err := s.read.QueryRow(`SELECT count(*) FROM users`).Scan(&users); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, asCoordinator bool) {
		a := System
		if asCoordinator {
			a = coord
		}
		_, _, rows, err := s.parseRoster(ctx, a, bytes.NewReader(data))
		if err != nil {
			var ie *ImportError
			if !errors.As(err, &ie) || len(ie.Rows) == 0 || len(ie.Rows) > MaxImportErrors {
				t.Fatalf("err = %v, want an *ImportError with 1..%d rows", err, MaxImportErrors)
			}
			for _, r := range ie.Rows {
				if r.Row < 1 || r.Reason == "" || r.ReasonVI == "" {
					t.Errorf("row error %+v: want a row number and reasons in both languages", r)
				}
			}
			return
		}
		phones := map[string]bool{}
		for _, rr := range rows {
			u := rr.user
			if p, err := NormalizePhone(u.Phone); err != nil || p != u.Phone || phones[p] {
				t.Errorf("row %d: phone %q (normalized %q, %v, repeated %v)", rr.row, u.Phone, p, err, phones[p])
			}
			phones[u.Phone] = true
			if n := utf8.RuneCountInString(u.Name); n == 0 || n > 200 || u.Name != cleanName(u.Name) {
				t.Errorf("row %d: name %q", rr.row, u.Name)
			}
			if n := utf8.RuneCountInString(u.Password); n < 8 || n > 128 {
				t.Errorf("row %d: a password of %d characters", rr.row, n)
			}
			switch u.Role {
			case RoleMember, RoleTeamLead:
				if u.TeamID == 0 {
					t.Errorf("row %d: a %s without a team", rr.row, u.Role)
				}
			case RoleCoordinator:
				if u.AreaID == 0 {
					t.Errorf("row %d: a coordinator without an area", rr.row)
				}
			case RoleAdmin:
				if asCoordinator {
					t.Errorf("row %d: a coordinator may not import an admin", rr.row)
				}
			default:
				t.Errorf("row %d: role %q", rr.row, u.Role)
			}
			if asCoordinator && u.TeamID == tr.otherDongCam.ID {
				t.Errorf("row %d: a team outside the coordinator's commune", rr.row)
			}
		}
		var n int
		if err := s.read.QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil || n != users {
			t.Errorf("users = %d (%v), want %d: parsing wrote", n, err, users)
		}
	})
}
