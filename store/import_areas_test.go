package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func openTestStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), testDB(t, "toso.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// count returns the number of rows of a table (a constant name from the test).
func count(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.read.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func importAreasFile(t testing.TB, s *Store, a Actor, name string) (*AreaImport, error) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return s.ImportAreas(context.Background(), a, bytes.NewReader(b), ImportOptions{})
}

func areaByCode(t testing.TB, s *Store, level, code string) *Area {
	t.Helper()
	list, err := s.Areas(context.Background(), System, AreaFilter{Level: level, Code: code})
	if err != nil || len(list) != 1 {
		t.Fatalf("%s %s: got %d areas, err %v; want 1", level, code, len(list), err)
	}
	return &list[0]
}

func TestImportAreasShapes(t *testing.T) {
	tests := []struct {
		file       string
		wantShape  string
		wantLevels map[string]ImportCounts
		check      func(t *testing.T, s *Store)
	}{
		{
			file:      "areas_two_level.csv",
			wantShape: "two-level",
			wantLevels: map[string]ImportCounts{
				"province": {Created: 1}, "commune": {Created: 5},
			},
			check: func(t *testing.T, s *Store) {
				p, c := areaByCode(t, s, "province", "19"), areaByCode(t, s, "commune", "05440")
				got := []any{c.ParentID, c.Name, c.Population, c.Adults, c.WorkingAge, c.Households, c.ValidFrom}
				want := []any{p.ID, "Phường Phan Đình Phùng", int64(48210), int64(35102), int64(31050), int64(13120), "2025-07-01"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("commune 05440 (-want +got):\n%s", diff)
				}
			},
		},
		{
			file:      "areas_three_level_vi.csv",
			wantShape: "three-level",
			wantLevels: map[string]ImportCounts{
				"province": {Created: 1}, "district": {Created: 2}, "commune": {Created: 5},
			},
			check: func(t *testing.T, s *Store) {
				d, c := areaByCode(t, s, "district", "174"), areaByCode(t, s, "commune", "06043")
				got := []any{c.ParentID, c.Name, c.Population, c.Households, d.Name}
				want := []any{d.ID, "Xã Tân Kim", int64(7430), int64(1960), "Huyện Phú Bình"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("commune 06043 (-want +got):\n%s", diff)
				}
			},
		},
		{
			file:      "areas_villages_semicolon.csv",
			wantShape: "two-level",
			wantLevels: map[string]ImportCounts{
				"province": {Created: 1}, "commune": {Created: 1},
				"village": {Created: 2}, "residential_group": {Created: 1},
			},
			check: func(t *testing.T, s *Store) {
				c := areaByCode(t, s, "commune", "05710") // "5710" lost its leading zero
				kids, err := s.Areas(context.Background(), System, AreaFilter{ParentID: c.ID})
				if err != nil {
					t.Fatal(err)
				}
				type v struct {
					Level, Name, From string
					Pop, Adults       int64
				}
				var got []v
				for _, k := range kids {
					got = append(got, v{k.Level, k.Name, k.ValidFrom, k.Population, k.Adults})
				}
				want := []v{
					{"village", "Xóm Đồng Cẩm", "2025-07-01", 1245, 905},
					{"village", "Xóm Làng Lớn", "2025-07-01", 987, 702},
					{"residential_group", "Tổ dân phố Chợ", "2025-07-01", 1530, 1120},
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("villages (-want +got):\n%s", diff)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s := openTestStore(t)
			got, err := importAreasFile(t, s, System, tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if got.Shape != tt.wantShape {
				t.Errorf("shape = %q, want %q", got.Shape, tt.wantShape)
			}
			if diff := cmp.Diff(tt.wantLevels, got.Levels); diff != "" {
				t.Errorf("levels (-want +got):\n%s", diff)
			}
			tt.check(t, s)
		})
	}
}

func TestImportAreasIdempotent(t *testing.T) {
	s := openTestStore(t)
	if _, err := importAreasFile(t, s, System, "areas_three_level_vi.csv"); err != nil {
		t.Fatal(err)
	}
	areas := count(t, s, "areas")
	again, err := importAreasFile(t, s, System, "areas_three_level_vi.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ImportCounts{"province": {Unchanged: 1}, "district": {Unchanged: 2}, "commune": {Unchanged: 5}}
	if diff := cmp.Diff(want, again.Levels); diff != "" {
		t.Errorf("second import (-want +got):\n%s", diff)
	}
	if got := count(t, s, "areas"); got != areas {
		t.Errorf("areas after re-import = %d, want %d", got, areas)
	}

	// A corrected figure and a renamed commune update in place.
	csv := "\uFEFFMã tỉnh,Tên tỉnh,Mã huyện,Tên huyện,Mã xã,Tên xã,Dân số\n" +
		"19,Tỉnh Thái Nguyên,173,Huyện Đại Từ,05668,Xã Phúc Lương,5500\n" +
		"19,Tỉnh Thái Nguyên,173,Huyện Đại Từ,05671,Xã Minh Tiến Mới,\n"
	upd, err := s.ImportAreas(context.Background(), System, strings.NewReader(csv), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]ImportCounts{"province": {Unchanged: 1}, "district": {Unchanged: 1}, "commune": {Updated: 2}}
	if diff := cmp.Diff(want, upd.Levels); diff != "" {
		t.Errorf("update import (-want +got):\n%s", diff)
	}
	c1, c2 := areaByCode(t, s, "commune", "05668"), areaByCode(t, s, "commune", "05671")
	got := []any{c1.Population, c1.Households, c2.Name, c2.Population}
	wantVals := []any{int64(5500), int64(1390), "Xã Minh Tiến Mới", int64(4920)} // empty cells keep figures
	if diff := cmp.Diff(wantVals, got); diff != "" {
		t.Errorf("updated communes (-want +got):\n%s", diff)
	}
	if got := count(t, s, "areas"); got != areas {
		t.Errorf("areas after update = %d, want %d", got, areas)
	}
}

func TestImportAreasBadRowsChangeNothing(t *testing.T) {
	s := openTestStore(t)
	if _, err := importAreasFile(t, s, System, "areas_two_level.csv"); err != nil {
		t.Fatal(err)
	}
	areas, audit, seq := count(t, s, "areas"), count(t, s, "audit_log"), s.seqValue(t)
	_, err := importAreasFile(t, s, System, "areas_bad.csv")
	var ie *ImportError
	if !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want an *ImportError wrapping ErrInvalid", err)
	}
	want := []rowEN{
		{3, "commune_code", `commune code "ABC" must be digits (5 of them)`},
		{4, "commune_name", "missing commune name"},
		{5, "adults", "1200 is more than the population 1000"},
		{6, "province_name", `province 19 is named "Tỉnh Thái Nguyên" on row 2`},
		{7, "population", `"-5" is not a whole number from 0 to 1,000,000,000`},
		{8, "commune_code", `commune "Phường Phan Đình Phùng" is already described on row 2`},
	}
	if diff := cmp.Diff(want, en(ie.Rows)); diff != "" {
		t.Errorf("row errors (-want +got):\n%s", diff)
	}
	if got, want := ie.Rows[0].ReasonVI, `mã xã "ABC" phải gồm 5 chữ số`; got != want {
		t.Errorf("Vietnamese reason = %q, want %q", got, want)
	}
	if got := []int{count(t, s, "areas"), count(t, s, "audit_log"), s.seqValue(t)}; !cmp.Equal(got, []int{areas, audit, seq}) {
		t.Errorf("areas, audit rows, seq after a rejected file = %v, want %v", got, []int{areas, audit, seq})
	}
}

func (s *Store) seqValue(t *testing.T) int {
	t.Helper()
	var v int
	if err := s.read.QueryRow(`SELECT value FROM seq`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestImportAreasHeaderProblems(t *testing.T) {
	tests := []struct {
		name, csv string
		want      []rowEN
	}{
		{"no commune", "province_code,province_name\n19,X\n", []rowEN{
			{1, "commune_code", "missing column (the header needs province_code, province_name, [district_code, district_name,] commune_code, commune_name)"},
			{1, "commune_name", "missing column (the header needs province_code, province_name, [district_code, district_name,] commune_code, commune_name)"},
		}},
		{"half a district", "Mã tỉnh,Tên tỉnh,Mã huyện,Mã xã,Tên xã\n", []rowEN{
			{1, "district_name", "missing column: a three-level file needs both district_code and district_name"},
		}},
		{"same column twice", "Mã tỉnh,PROVINCE CODE,Tên tỉnh,Mã xã,Tên xã\n", []rowEN{
			{1, "PROVINCE CODE", `the same column as "Mã tỉnh"`},
		}},
		{"empty", "", []rowEN{{1, "", "the file is empty"}}},
		{"utf-16", "\xff\xfea\x00", []rowEN{{1, "", `the file is UTF-16 text; save it as "CSV UTF-8"`}}},
		{"latin-1 cell", "Mã tỉnh,Tên tỉnh,Mã xã,Tên xã\n19,T\xe9,00001,X\n", []rowEN{
			{2, "Tên tỉnh", `not UTF-8 text; save the file as "CSV UTF-8"`},
		}},
		{"bad kind and date", "province_code,province_name,commune_code,commune_name,cap,valid_from\n19,T,00001,X,Huyện,2025-13-01\n", []rowEN{
			{2, "cap", `"Huyện" is not a kind of commune`},
			{2, "valid_from", `"2025-13-01" is not a date (YYYY-MM-DD or DD/MM/YYYY)`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTestStore(t)
			_, err := s.ImportAreas(context.Background(), System, strings.NewReader(tt.csv), ImportOptions{})
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *ImportError", err)
			}
			if diff := cmp.Diff(tt.want, en(ie.Rows)); diff != "" {
				t.Errorf("row errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestImportAreasTooManyErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("province_code,province_name,commune_code,commune_name\n")
	for range MaxImportErrors + 20 {
		b.WriteString("19,T,bad,X\n")
	}
	_, err := openTestStore(t).ImportAreas(context.Background(), System, strings.NewReader(b.String()), ImportOptions{})
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Rows) != MaxImportErrors || !ie.Truncated {
		t.Fatalf("err = %v; want %d rows and Truncated", err, MaxImportErrors)
	}
}

// TestImportAreasAuthorization: a commune coordinator may add and update
// villages of their commune, naming the province and commune above for
// context, but nothing elsewhere; members may not import at all.
func TestImportAreasAuthorization(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if _, err := importAreasFile(t, s, System, "areas_two_level.csv"); err != nil {
		t.Fatal(err)
	}
	own := areaByCode(t, s, "commune", "05710")
	coord := actorFor(t, s, NewUser{Phone: "0911000001", Name: "Điều phối", Role: RoleCoordinator, AreaID: own.ID, Password: "password-1"})

	sum, err := importAreasFile(t, s, coord, "areas_villages_semicolon.csv")
	if err != nil {
		t.Fatalf("own commune: %v", err)
	}
	if got, want := sum.Levels["village"].Created, 2; got != want {
		t.Errorf("villages created = %d, want %d", got, want)
	}

	before := count(t, s, "areas")
	for name, csv := range map[string]string{
		"another commune's village":  "province_code,province_name,commune_code,commune_name,village_name\n19,Tỉnh Thái Nguyên,05665,Xã Đại Từ,Xóm Mới\n",
		"renaming their own commune": "province_code,province_name,commune_code,commune_name\n19,Tỉnh Thái Nguyên,05710,Xã Đức Lương Mới\n",
		"a new province":             "province_code,province_name,commune_code,commune_name\n20,Tỉnh Khác,07000,Xã Khác\n",
	} {
		_, err := s.ImportAreas(ctx, coord, strings.NewReader(csv), ImportOptions{})
		var ie *ImportError
		if !errors.As(err, &ie) || !strings.HasPrefix(ie.Rows[0].Reason, "outside your area") {
			t.Errorf("%s: err = %v, want an outside-your-area row error", name, err)
		}
	}
	if got := count(t, s, "areas"); got != before {
		t.Errorf("areas = %d after rejected imports, want %d", got, before)
	}

	team, err := s.CreateTeam(ctx, System, NewTeam{AreaID: own.ID, Name: "Tổ"})
	if err != nil {
		t.Fatal(err)
	}
	member := actorFor(t, s, NewUser{Phone: "0911000002", Name: "Tổ viên", Role: RoleMember, TeamID: team.ID, Password: "password-2"})
	if _, err := importAreasFile(t, s, member, "areas_villages_semicolon.csv"); !errors.Is(err, ErrForbidden) {
		t.Errorf("member: err = %v, want ErrForbidden", err)
	}
}

func actorFor(t testing.TB, s *Store, n NewUser) Actor {
	t.Helper()
	u, err := s.CreateUser(context.Background(), System, n)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Actor(context.Background(), u.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// FuzzImportAreas: the parser never panics, and whatever it accepts is
// well formed: every unit has a level and a name, parents come first.
func FuzzImportAreas(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "areas_*.csv"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("province_code,province_name,commune_code,commune_name,village_name\n1,\"a\"\"b\",2,c,d\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		af, err := parseAreaFile(bytes.NewReader(data))
		if err != nil {
			var ie *ImportError
			if !errors.As(err, &ie) || len(ie.Rows) == 0 || len(ie.Rows) > MaxImportErrors {
				t.Fatalf("err = %v, want an *ImportError with 1..%d rows", err, MaxImportErrors)
			}
			return
		}
		seen := map[string]bool{"": true}
		for _, u := range af.units {
			if !ValidLevel(u.level) || u.name == "" || !seen[u.parentKey] {
				t.Fatalf("bad unit %+v", u)
			}
			seen[u.key] = true
		}
	})
}

// rowEN is a RowError without its Vietnamese reason, for table tests.
type rowEN struct {
	Row            int
	Column, Reason string
}

func en(rows []RowError) []rowEN {
	out := make([]rowEN, len(rows))
	for i, r := range rows {
		out[i] = rowEN{r.Row, r.Column, r.Reason}
	}
	return out
}

// A village code is an identifier, digits only: a formula or letters in
// it reject the file (a commune coordinator once slipped a HYPERLINK into
// the province's export through a village row).
func TestImportAreasVillageCodesAreDigits(t *testing.T) {
	s := openTestStore(t)
	file := "province_code,province_name,commune_code,commune_name,village_code,village_name\n" +
		"19,Tỉnh Thái Nguyên,05440,Phường Phan Đình Phùng,001,Tổ 1\n" +
		"19,Tỉnh Thái Nguyên,05440,Phường Phan Đình Phùng,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",Tổ 2\n" +
		"19,Tỉnh Thái Nguyên,05440,Phường Phan Đình Phùng,T3,Tổ 3\n"
	_, err := s.ImportAreas(context.Background(), System, strings.NewReader(file), ImportOptions{})
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want an *ImportError", err)
	}
	want := []rowEN{
		{3, "village_code", `code "=HYPERLINK(\"http://evil.example\",\"x\")" must be 1 to 20 digits`},
		{4, "village_code", `code "T3" must be 1 to 20 digits`},
	}
	if diff := cmp.Diff(want, en(ie.Rows)); diff != "" {
		t.Errorf("row errors (-want +got):\n%s", diff)
	}
	if n := count(t, s, "areas"); n != 0 {
		t.Errorf("%d areas after a rejected file, want 0", n)
	}
}
