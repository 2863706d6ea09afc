package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// nationalCSV is a three-level list the size of the pre-2025 country:
// 63 provinces × 11 districts × 15 communes = 10,395 communes.
func nationalCSV() string {
	var b strings.Builder
	b.WriteString("Mã tỉnh,Tên tỉnh,Mã huyện,Tên huyện,Mã xã,Tên xã,Dân số,Số hộ\n")
	for p := 1; p <= 63; p++ {
		for d := 0; d < 11; d++ {
			for c := 0; c < 15; c++ {
				dc, cc := (p-1)*11+d+1, ((p-1)*11+d)*15+c+1
				fmt.Fprintf(&b, "%02d,Tỉnh %d,%03d,Huyện %d,%05d,Xã %d,%d,%d\n", p, p, dc, dc, cc, cc, 5000+c*100, 1300+c*20)
			}
		}
	}
	return b.String()
}

// BenchmarkImportAreasNational imports the national-size list into an empty
// database, then again (all unchanged).
//
//	go test ./store -run '^$' -bench ImportAreasNational -benchtime 1x
func BenchmarkImportAreasNational(b *testing.B) {
	csv := nationalCSV()
	for b.Loop() {
		b.StopTimer()
		s := openTestStore(b)
		b.StartTimer()
		for _, pass := range []string{"create", "re-import"} {
			sum, err := s.ImportAreas(context.Background(), System, strings.NewReader(csv), ImportOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if pass == "create" && sum.Levels["commune"].Created != 10395 {
				b.Fatalf("created %+v", sum.Levels)
			}
		}
	}
}

// BenchmarkImportUsers300 imports a 300-row roster without passwords (each
// gets a generated one, hashed on the store's hash workers).
//
//	go test ./store -run '^$' -bench ImportUsers300 -benchtime 1x
func BenchmarkImportUsers300(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		s := openTestStore(b)
		p, err := s.CreateArea(ctx, System, NewArea{Level: "province", Name: "Tỉnh", Code: "19"})
		if err != nil {
			b.Fatal(err)
		}
		var csv strings.Builder
		csv.WriteString("phone,name,team\n")
		for t := range 30 {
			c, err := s.CreateArea(ctx, System, NewArea{ParentID: p.ID, Level: "commune", Name: "Xã", Code: fmt.Sprintf("%05d", t+1)})
			if err != nil {
				b.Fatal(err)
			}
			team, err := s.CreateTeam(ctx, System, NewTeam{AreaID: c.ID, Name: "Tổ"})
			if err != nil {
				b.Fatal(err)
			}
			for m := range 10 {
				fmt.Fprintf(&csv, "09%08d,Thành viên %d,%d\n", t*10+m, m, team.ID)
			}
		}
		b.StartTimer()
		sum, err := s.ImportUsers(ctx, System, strings.NewReader(csv.String()), ImportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(sum.Passwords) != 300 {
			b.Fatalf("passwords = %d", len(sum.Passwords))
		}
	}
}

// BenchmarkHashPassword calibrates BenchmarkImportUsers300: a roster import
// costs about rows × this / min(cores, hash slots).
func BenchmarkHashPassword(b *testing.B) {
	s := openTestStore(b)
	for b.Loop() {
		s.hashPassword("mat-khau-demo")
	}
}
