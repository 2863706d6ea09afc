package store

import (
	"context"
	"slices"
	"testing"

	"golang.org/x/text/unicode/norm"
)

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Nguyễn Văn Đức":                  "nguyen van duc",
		norm.NFD.String("Nguyễn Văn Đức"): "nguyen van duc",
		"NGUYỄN":                          "nguyen",
		"  Trần   Thị\tỞ ":                "tran thi o",
		"ĐẶNG Ưu Ơn":                      "dang uu on",
		"Tổ CNSCĐ thôn Bản Phố 2":         "to cnscd thon ban pho 2",
		"":                                "",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNameSearchFoldsCaseAndDiacritics: users, teams and areas are found by
// their names whatever the case, the diacritics and the Unicode form of the
// query, including rows written without the folded column (filled at Open).
func TestNameSearchFoldsCaseAndDiacritics(t *testing.T) {
	ctx := context.Background()
	path := testDB(t, "toso.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	prov, err := s.CreateArea(ctx, System, NewArea{Level: "province", Name: "Tỉnh Điện Biên"})
	if err != nil {
		t.Fatal(err)
	}
	village, err := s.CreateArea(ctx, System, NewArea{ParentID: prov.ID, Level: "village", Name: "Bản Nậm Nhừ"})
	if err != nil {
		t.Fatal(err)
	}
	team, err := s.CreateTeam(ctx, System, NewTeam{AreaID: village.ID, Name: "Tổ CNSCĐ bản Nậm Nhừ"})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"Nguyễn Văn Đức", "Nguyễn Thị Lan", "Lò Văn Nguyên", "Trần Minh"}
	for i, n := range names {
		if _, err := s.CreateUser(ctx, System, NewUser{Phone: "091200000" + string(rune('1'+i)), Name: n,
			Role: RoleMember, TeamID: team.ID, Password: "password-member"}); err != nil {
			t.Fatal(err)
		}
	}
	// A rename keeps the folded column in step.
	if _, err := s.UpdateUser(ctx, System, 4, UserPatch{Name: ptr("Trần Đình Nguyện")}); err != nil {
		t.Fatal(err)
	}

	check := func(s *Store) {
		t.Helper()
		for q, want := range map[string][]string{
			"Nguyễn":                  {"Nguyễn Văn Đức", "Nguyễn Thị Lan", "Lò Văn Nguyên", "Trần Đình Nguyện"},
			"nguyen":                  {"Nguyễn Văn Đức", "Nguyễn Thị Lan", "Lò Văn Nguyên", "Trần Đình Nguyện"},
			"NGUYỄN VĂN":              {"Nguyễn Văn Đức"},
			norm.NFD.String("Nguyễn"): {"Nguyễn Văn Đức", "Nguyễn Thị Lan", "Lò Văn Nguyên", "Trần Đình Nguyện"},
			"duc":                     {"Nguyễn Văn Đức"},
			"ĐÌNH":                    {"Trần Đình Nguyện"},
			"0912000002":              {"Nguyễn Thị Lan"},
			"tran minh":               nil, // renamed
		} {
			us, err := s.Users(ctx, System, UserFilter{Query: q})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range us {
				got = append(got, u.Name)
			}
			if !slices.Equal(got, want) {
				t.Errorf("users q=%q: got %q, want %q", q, got, want)
			}
		}
		for _, q := range []string{"nam nhu", "NẬM NHỪ", norm.NFD.String("Nậm Nhừ")} {
			ts, err := s.Teams(ctx, System, TeamFilter{Query: q})
			if err != nil || len(ts) != 1 || ts[0].ID != team.ID {
				t.Errorf("teams q=%q: %v %v, want team %d", q, ts, err, team.ID)
			}
			as, err := s.Areas(ctx, System, AreaFilter{Query: q})
			if err != nil || len(as) != 1 || as[0].ID != village.ID {
				t.Errorf("areas q=%q: %v %v, want area %d", q, as, err, village.ID)
			}
		}
		if as, err := s.Areas(ctx, System, AreaFilter{Query: "dien bien"}); err != nil || len(as) != 1 {
			t.Errorf("areas q=dien bien: %v %v, want the province", as, err)
		}
	}
	check(s)

	// Rows written by a raw insert without the column (the generator's),
	// or before it existed: filled when the store opens.
	for _, table := range []string{"users", "teams", "areas"} {
		if _, err := s.write.ExecContext(ctx, `UPDATE `+table+` SET name_fold = NULL`); err != nil {
			t.Fatal(err)
		}
	}
	if us, _ := s.Users(ctx, System, UserFilter{Query: "nguyen"}); len(us) != 0 {
		t.Fatalf("the test cleared nothing: %d users found", len(us))
	}
	s.Close()
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s)
}
