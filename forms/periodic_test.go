package forms

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"toso/store"
)

// formRows reads a periodic form back: label (column B) → the cells of
// its row (A..H).
func formRows(t *testing.T, b []byte, sheet string) (map[string][]string, [][]string) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, r := range rows {
		if len(r) > 1 {
			for len(r) < 8 {
				r = append(r, "")
			}
			out[r[1]] = r
		}
	}
	return out, rows
}

// The periodic form of the province and of a commune for a quarter: every
// figure (this quarter, the last one, cumulated; the change; teams,
// members, completions, the DTI ratios, the target's progress) equals a
// count over the raw rows; the national header, the period and the
// signature block are there, in Vietnamese and in English.
func TestPeriodicFormFigures(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	w := newWorld(t, seed)
	w.activity(300)
	ctx := context.Background()
	// Completions: citizens 0..9 finish a course, on days spread over 2026.
	var lines []string
	for k := range 10 {
		lines = append(lines, fmt.Sprintf("Làm quen với công nghệ số,2026-%02d-10,%s,%s", 2+k, []string{"99001", "99002"}[k%2], citizenNumber(k)))
	}
	if _, err := w.s.ImportCompletions(ctx, w.actors["CP"], strings.NewReader("Khóa học,Ngày hoàn thành,Mã xã,Số CCCD\n"+
		strings.Join(lines, "\n")+"\n"), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.CreateTarget(ctx, store.System, store.NewTarget{Indicator: "vneid_l2_activated", AreaID: w.areas["P"].ID,
		Period: "year", Year: 2026, Goal: 500}); err != nil {
		t.Fatal(err)
	}
	b := loadBrute(t, w.s)
	p, err := w.s.Periodic(ctx, w.actors["CP"], w.areas["P"].ID, "2026-Q3")
	if err != nil {
		t.Fatal(err)
	}
	if p.Prev.Period != "2026-Q2" || p.From != "2026-07-01" || p.To != "2026-09-30" {
		t.Fatalf("period %s %s..%s, previous %s", p.Period, p.From, p.To, p.Prev.Period)
	}
	var buf bytes.Buffer
	if err := WritePeriodicXLSX(&buf, p, VI); err != nil {
		t.Fatal(err)
	}
	rows, all := formRows(t, buf.Bytes(), "Biểu báo cáo")
	in := b.inArea(w.areas["P"].ID)
	cur, last, cum := b.count("2026-07-01", "2026-09-30", in), b.count("2026-04-01", "2026-06-30", in), b.count("2020-01-01", "2026-09-30", in)
	checks := map[string]string{
		"Số người dân được hỗ trợ (lần đầu)":                     "citizens",
		"Số lượt hỗ trợ":                                         "visits",
		"Tài khoản định danh điện tử VNeID mức 2 được kích hoạt": "done:vneid_l2",
		"Tài khoản dịch vụ công trực tuyến được tạo":             "done:public_service_account",
		"Hồ sơ dịch vụ công trực tuyến được hỗ trợ nộp":          "logs:public_service_submission",
		"Người được hỗ trợ mở tài khoản thanh toán":              "done:payment_account",
		"Người được hỗ trợ thanh toán không dùng tiền mặt":       "done:cashless_payment",
		"Số buổi tập huấn":                                       "sessions",
		"Số người tham dự":                                       "attendees",
		"Trong đó: nữ":                                           "women",
		"Trong đó: người dân tộc thiểu số":                       "minority",
		"Trong đó: người cao tuổi":                               "elderly",
		"Không có điện thoại thông minh":                         "barrier:no_smartphone",
		"Sai lệch dữ liệu dân cư":                                "barrier:data_mismatch",
	}
	for _, s := range p.Services {
		checks["Hỗ trợ thành công: "+s.Vi] = "done:" + s.Code
	}
	for label, key := range checks {
		r := rows[label]
		if r == nil {
			t.Errorf("no row %q in the form", label)
			continue
		}
		for i, want := range []float64{cur[key], last[key], cum[key]} {
			if got := fnum(t, r[[]int{3, 4, 6}[i]]); got != want {
				t.Errorf("seed %d: %q %s = %v, brute force %v", seed, label, []string{"this quarter", "last quarter", "cumulated"}[i], got, want)
			}
		}
		switch {
		case last[key] > 0:
			if got, want := fnum(t, r[5]), math.Round((cur[key]-last[key])*1000/last[key])/10; got != want {
				t.Errorf("seed %d: %q change %v, want %v", seed, label, got, want)
			}
		case cur[key] > 0 && r[5] != "mới":
			t.Errorf("seed %d: %q change %q, want mới", seed, label, r[5])
		}
	}
	for label, want := range map[string]float64{"Số Tổ công nghệ số cộng đồng": 4, "Số thành viên Tổ công nghệ số cộng đồng": 5,
		"Số thành viên trên 100 dân": math.Round(5*100*100/100000.0) / 100} {
		if got := fnum(t, rows[label][6]); got != want {
			t.Errorf("%q = %v, want %v", label, got, want)
		}
	}
	// Completions by day: citizens 0..9 on the 10th of months 2..11.
	completions := func(from, to string) (n, helped float64) {
		for k := range 10 {
			if day := fmt.Sprintf("2026-%02d-10", 2+k); day >= from && day <= to {
				n++
				if b.helped(w, k) {
					helped++
				}
			}
		}
		return n, helped
	}
	for i, span := range [][2]string{{"2026-07-01", "2026-09-30"}, {"2026-04-01", "2026-06-30"}, {"2020-01-01", "2026-09-30"}} {
		n, helped := completions(span[0], span[1])
		col := []int{3, 4, 6}[i]
		if got := fnum(t, rows["Bình dân học vụ số: lượt hoàn thành khóa học"][col]); got != n {
			t.Errorf("completions %v = %v, want %v", span, got, n)
		}
		if got := fnum(t, rows["Trong đó: của người dân được Tổ hỗ trợ"][col]); got != helped {
			t.Errorf("completions by citizens helped %v = %v, want %v", span, got, helped)
		}
	}
	if got, want := fnum(t, rows["Người được kích hoạt VNeID mức 2 / dân số"][6]), math.Round(cum["done:vneid_l2"]*10000/100000)/100; got != want {
		t.Errorf("DTI VNeID ratio %v, want %v", got, want)
	}
	year := b.count("2026-01-01", "2026-12-31", in)["done:vneid_l2"]
	target := rows["Tài khoản VNeID mức 2 được kích hoạt"]
	if target == nil || fnum(t, target[3]) != 500 || fnum(t, target[4]) != year || fnum(t, target[5]) != math.Round(year*10000/500)/100 {
		t.Errorf("seed %d: target row %q, want goal 500, reached %v", seed, target, year)
	}
	text := fmt.Sprint(all)
	for _, want := range []string{"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "UBND TỈNH THỬ", "BÁO CÁO",
		"Quý III năm 2026 (từ ngày 01/07/2026 đến ngày 30/09/2026)", "Đơn vị báo cáo: Tỉnh Thử (mã 99)", "Kỳ trước (Quý II năm 2026)",
		"NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ", "Tỉnh Thử, ngày 20 tháng 11 năm 2026"} {
		if !strings.Contains(text, want) {
			t.Errorf("the form has no %q", want)
		}
	}

	// A commune: its figures are the export's total (the merged commune's
	// part included), and the form is addressed to the province.
	pa, err := w.s.Periodic(ctx, w.actors["CA"], w.areas["A"].ID, "2026")
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := WritePeriodicXLSX(&buf, pa, EN); err != nil {
		t.Fatal(err)
	}
	rows, all = formRows(t, buf.Bytes(), "Report form")
	u, err := w.s.Upward(ctx, w.actors["CA"], store.ReportQuery{AreaID: w.areas["A"].ID, From: "2026-01-01", To: "2026-12-31"})
	if err != nil {
		t.Fatal(err)
	}
	var total store.UpwardRow
	if err := w.s.UpwardRows(ctx, u, func(r store.UpwardRow) error { total = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := fnum(t, rows["Visits"][3]); got != total.Logs {
		t.Errorf("commune visits %v, the export's total %v", got, total.Logs)
	}
	text = fmt.Sprint(all)
	for _, want := range []string{"SOCIALIST REPUBLIC OF VIETNAM", "To: the People's Committee of Tỉnh Thử", "Year 2026", "HEAD OF THE UNIT"} {
		if !strings.Contains(text, want) {
			t.Errorf("the English form has no %q", want)
		}
	}
	// Members and leads may not make the form; bad periods are refused.
	if _, err := w.s.Periodic(ctx, w.actors["L1"], w.areas["A1"].ID, "2026"); err == nil {
		t.Error("a team lead made the periodic form")
	}
	for _, bad := range []string{"2026-13", "2026-Q5", "26", "2026-1", "x", "1999"} {
		if _, err := w.s.Periodic(ctx, w.actors["CP"], w.areas["P"].ID, bad); err == nil {
			t.Errorf("period %q accepted", bad)
		}
	}
}

func fnum(t *testing.T, s string) float64 {
	t.Helper()
	if s == "" {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return v
}

func TestParsePeriod(t *testing.T) {
	for _, c := range []struct{ in, kind, from, to string }{
		{"2026", "year", "2026-01-01", "2026-12-31"},
		{"2026-Q4", "quarter", "2026-10-01", "2026-12-31"},
		{"2026-q1", "quarter", "2026-01-01", "2026-03-31"},
		{"2024-02", "month", "2024-02-01", "2024-02-29"},
	} {
		kind, from, to, err := store.ParsePeriod(c.in)
		if err != nil || kind != c.kind || from != c.from || to != c.to {
			t.Errorf("ParsePeriod(%q) = %s %s %s %v, want %s %s %s", c.in, kind, from, to, err, c.kind, c.from, c.to)
		}
	}
}
