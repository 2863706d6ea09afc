package store

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
)

// rosterTree is the tree roster tests import into: communes 05710 (villages
// Đồng Cẩm and Làng Lớn, each with a team) and 05665 (a village also named
// Đồng Cẩm, with a team of the same name).
type rosterTree struct {
	own, other       *Area
	dongCam, langLon *Team
	otherDongCam     *Team
}

func newRosterTree(t testing.TB, s *Store) rosterTree {
	t.Helper()
	ctx := context.Background()
	for _, f := range []string{"areas_two_level.csv", "areas_villages_semicolon.csv"} {
		if _, err := importAreasFile(t, s, System, f); err != nil {
			t.Fatal(err)
		}
	}
	csv := "province_code,province_name,commune_code,commune_name,village_name\n19,Tỉnh Thái Nguyên,05665,Xã Đại Từ,Xóm Đồng Cẩm\n"
	if _, err := s.ImportAreas(ctx, System, strings.NewReader(csv), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	tr := rosterTree{own: areaByCode(t, s, "commune", "05710"), other: areaByCode(t, s, "commune", "05665")}
	team := func(commune *Area, village, name string) *Team {
		vs, err := s.Areas(ctx, System, AreaFilter{ParentID: commune.ID, Query: village})
		if err != nil || len(vs) != 1 {
			t.Fatalf("village %s: %v %v", village, vs, err)
		}
		tm, err := s.CreateTeam(ctx, System, NewTeam{AreaID: vs[0].ID, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tr.dongCam = team(tr.own, "Đồng Cẩm", "Tổ CNSCĐ Xóm Đồng Cẩm")
	tr.langLon = team(tr.own, "Làng Lớn", "Tổ CNSCĐ Xóm Làng Lớn")
	tr.otherDongCam = team(tr.other, "Đồng Cẩm", "Tổ CNSCĐ Xóm Đồng Cẩm")
	return tr
}

func importUsersFile(t *testing.T, s *Store, a Actor, name string) (*UserImport, error) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return s.ImportUsers(context.Background(), a, bytes.NewReader(b), ImportOptions{})
}

func TestImportUsersCSV(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	tr := newRosterTree(t, s)
	sum, err := importUsersFile(t, s, System, "users_roster_vi.csv")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[Role]int{RoleTeamLead: 1, RoleMember: 2, RoleCoordinator: 1}, sum.Created); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	if len(sum.Passwords) != 1 || sum.Passwords[0].Row != 3 || sum.Passwords[0].Phone != "0912345002" {
		t.Fatalf("generated passwords = %+v, want one for row 3 (0912345002)", sum.Passwords)
	}

	type u struct {
		Phone, Name string
		Role        Role
		TeamID      int64
		AreaID      int64
		Gender      string
	}
	var got []u
	for _, p := range []struct{ phone, password string }{
		{"0912345001", "mat-khau-an-1"},
		{"0912345002", sum.Passwords[0].Password},
		{"0912345003", "mat-khau-cuong"},
		{"0912345004", "mat-khau-dung"},
	} {
		usr, err := s.Authenticate(ctx, p.phone, p.password)
		if err != nil {
			t.Fatalf("login %s: %v", p.phone, err)
		}
		got = append(got, u{usr.Phone, usr.Name, usr.Role, usr.TeamID, usr.AreaID, usr.Gender})
	}
	want := []u{
		{"0912345001", "Nguyễn Văn An", RoleTeamLead, tr.dongCam.ID, 0, "male"},
		{"0912345002", "Trần Thị Bình", RoleMember, tr.dongCam.ID, 0, "female"},
		{"0912345003", "Lê Văn Cường", RoleMember, tr.langLon.ID, 0, "male"},
		{"0912345004", "Phạm Thị Dung", RoleCoordinator, 0, tr.own.ID, "female"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}

	// The same roster again: every phone is now taken, nothing changes.
	before := count(t, s, "users")
	_, err = importUsersFile(t, s, System, "users_roster_vi.csv")
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Rows) != 4 || !strings.HasPrefix(ie.Rows[0].Reason, "already registered (user ") {
		t.Errorf("re-import: err = %v, want 4 already-registered rows", err)
	}
	if got := count(t, s, "users"); got != before {
		t.Errorf("users after a rejected re-import = %d, want %d", got, before)
	}
}

func TestImportUsersBadRowsChangeNothing(t *testing.T) {
	s := openTestStore(t)
	tr := newRosterTree(t, s)
	actorFor(t, s, NewUser{Phone: "0900000200", Name: "Đỗ Thị Có", Role: RoleMember, TeamID: tr.dongCam.ID, Password: "password-0"})
	users, audit := count(t, s, "users"), count(t, s, "audit_log")

	_, err := importUsersFile(t, s, System, "users_bad.csv")
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want *ImportError", err)
	}
	want := []rowEN{
		{3, "phone", "the same phone as row 2"},
		{4, "phone", "already registered (user 1, Đỗ Thị Có)"},
		{5, "phone", "phone number must have 10 digits starting with 0 (or +84)"},
		{6, "role", `"chief" is not a role (member, team_lead, coordinator, admin)`},
		{7, "team", `no active team named "Tổ Không Có" in area 05710`},
		{8, "password", "the password must have at least 8 characters"},
		{9, "area_code", "a coordinator needs the code of their area"},
		{10, "team", `2 teams are named "Tổ CNSCĐ Xóm Đồng Cẩm": give the team id or an area_code`},
	}
	if diff := cmp.Diff(want, en(ie.Rows)); diff != "" {
		t.Errorf("row errors (-want +got):\n%s", diff)
	}
	if got := []int{count(t, s, "users"), count(t, s, "audit_log")}; !cmp.Equal(got, []int{users, audit}) {
		t.Errorf("users, audit rows after a rejected file = %v, want %v", got, []int{users, audit})
	}
}

func TestImportUsersXLSX(t *testing.T) {
	s := openTestStore(t)
	tr := newRosterTree(t, s)
	f := excelize.NewFile()
	sheet := f.GetSheetName(0)
	rows := [][]any{
		{"Danh sách thành viên Tổ CNSCĐ"}, // a title row above the header
		{},
		{"Số điện thoại", "Họ và tên", "Vai trò", "Tổ", "Giới tính"},
		{912345201, "Hoàng Thị Lan", "Tổ viên", tr.langLon.ID, "Nữ"}, // a number cell: the leading 0 is gone
		{"0912345202", "Ma Văn Sơn", "Tổ trưởng", tr.langLon.ID, "Nam"},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	sum, err := s.ImportUsers(context.Background(), System, &buf, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[Role]int{RoleMember: 1, RoleTeamLead: 1}, sum.Created); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	var gotRows []int
	for _, p := range sum.Passwords {
		gotRows = append(gotRows, p.Row)
	}
	if diff := cmp.Diff([]int{4, 5}, gotRows); diff != "" {
		t.Errorf("rows of generated passwords (-want +got):\n%s", diff)
	}
	members, err := s.Users(context.Background(), System, UserFilter{TeamID: tr.langLon.ID})
	if err != nil {
		t.Fatal(err)
	}
	var phones []string
	for _, m := range members {
		phones = append(phones, m.Phone+" "+m.Name+" "+string(m.Role))
	}
	if diff := cmp.Diff([]string{"0912345201 Hoàng Thị Lan member", "0912345202 Ma Văn Sơn team_lead"}, phones); diff != "" {
		t.Errorf("team members (-want +got):\n%s", diff)
	}
}

// TestImportUsersAuthorization: a commune coordinator imports into their
// own commune's teams only; members cannot import.
func TestImportUsersAuthorization(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	tr := newRosterTree(t, s)
	coord := actorFor(t, s, NewUser{Phone: "0911000001", Name: "Điều phối xã", Role: RoleCoordinator, AreaID: tr.own.ID, Password: "password-1"})
	before := count(t, s, "users")

	csv := "phone,name,team,area_code,role,password\n" +
		"0912345301,Một,Tổ CNSCĐ Xóm Đồng Cẩm,05710,member,password-1\n" +
		"0912345302,Hai,Tổ CNSCĐ Xóm Đồng Cẩm,05665,member,password-2\n" +
		"0912345303,Ba,,05710,coordinator,password-3\n" +
		"0912345304,Bốn,,,admin,password-4\n"
	_, err := s.ImportUsers(ctx, coord, strings.NewReader(csv), ImportOptions{})
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want *ImportError", err)
	}
	want := []rowEN{
		{3, "team", "outside your area"},
		{4, "area_code", "outside your area"}, // a coordinator of their own commune: not strictly below them
		{5, "role", "outside your area"},
	}
	if diff := cmp.Diff(want, en(ie.Rows)); diff != "" {
		t.Errorf("row errors (-want +got):\n%s", diff)
	}
	if got := count(t, s, "users"); got != before {
		t.Errorf("users = %d after a rejected import, want %d", got, before)
	}

	ok := "phone,name,team,password\n0912345301,Một," + itoa(tr.dongCam.ID) + ",password-1\n"
	if _, err := s.ImportUsers(ctx, coord, strings.NewReader(ok), ImportOptions{}); err != nil {
		t.Errorf("own team by id: %v", err)
	}
	byID := "phone,name,team,password\n0912345305,Năm," + itoa(tr.otherDongCam.ID) + ",password-5\n"
	if _, err := s.ImportUsers(ctx, coord, strings.NewReader(byID), ImportOptions{}); !errors.As(err, &ie) || ie.Rows[0].Reason != "outside your area" {
		t.Errorf("other commune's team by id: err = %v, want outside your area", err)
	}
	member := actorFor(t, s, NewUser{Phone: "0911000002", Name: "Tổ viên", Role: RoleMember, TeamID: tr.dongCam.ID, Password: "password-2"})
	if _, err := s.ImportUsers(ctx, member, strings.NewReader(ok), ImportOptions{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("member: err = %v, want ErrForbidden", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A team cell that is an id of an inactive team, or 0, is a row error (the
// fuzzer found "0" returning a bare ErrInvalid, i.e. no row to point at).
func TestImportUsersTeamIDRowErrors(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	tr := newRosterTree(t, s)
	off := false
	if _, err := s.UpdateTeam(ctx, System, tr.langLon.ID, TeamPatch{Active: &off}); err != nil {
		t.Fatal(err)
	}
	csv := "phone,name,team\n0912345701,Một,0\n0912345702,Hai," + strconv.FormatInt(tr.langLon.ID, 10) + "\n0912345703,Ba,-4\n"
	_, err := s.ImportUsers(ctx, System, strings.NewReader(csv), ImportOptions{})
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want an *ImportError", err)
	}
	var rows []int
	for _, r := range ie.Rows {
		rows = append(rows, r.Row)
	}
	if diff := cmp.Diff([]int{2, 3, 4}, rows); diff != "" {
		t.Errorf("rows with errors (-want +got):\n%s\n%+v", diff, ie.Rows)
	}
}

// A workbook that would unzip past maxUnzippedXLSX is refused before it is
// unzipped (a zip bomb: tiny upload, gigabytes of sheet).
func TestImportRefusesZipBomb(t *testing.T) {
	s := openTestStore(t)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "xl/worksheets/sheet1.xml", Method: zip.Deflate,
		CompressedSize64: 2, UncompressedSize64: 4 << 30})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte{3, 0})
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = s.ImportUsers(context.Background(), System, &buf, ImportOptions{})
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Rows) != 1 || !strings.Contains(ie.Rows[0].Reason, "unzip size") {
		t.Fatalf("err = %v, want an unreadable-XLSX row error naming the unzip size", err)
	}
}
