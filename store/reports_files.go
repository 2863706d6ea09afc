package store

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"
)

// UpwardTable is the upward report as a header and rows of cells: per
// commune and village, teams, members, members per 100 residents, people
// reached by service, VNeID level 1/2 activations, trainings and
// attendees, barriers; the last row is the total. The JSON API's exports
// and the dashboard's downloads both write it.
type UpwardTable struct {
	Header []string
	Rows   [][]any
}

// UpwardTable lays the report out as the upward report's table.
func (r *Report) UpwardTable() UpwardTable {
	services, barriers := r.ServiceKeys(), r.BarrierKeys()
	h := []string{"Xã/phường (commune)", "Thôn/tổ dân phố (village)", "Mã (code)", "Cấp (level)", "Tỷ lệ sáp nhập (share)",
		"Số tổ (teams)", "Thành viên (members)", "Dân số (population)", "Thành viên/100 dân (members per 100)",
		"Người dân được hỗ trợ (citizens reached)", "Lượt hỗ trợ (visits)", "VNeID mức 1 (level 1)", "VNeID mức 2 (level 2)"}
	for _, s := range services {
		h = append(h, "Đạt: "+s+" (reached)")
	}
	h = append(h, "Buổi tập huấn (trainings)", "Người tham dự (attendees)", "Nữ (women)", "DTTS (minority)", "Cao tuổi (elderly)")
	for _, b := range barriers {
		h = append(h, "Rào cản: "+b+" (barrier)")
	}
	t := UpwardTable{Header: h}
	add := func(commune, name, code, level string, weight float64, teams, members int, pop int64, per100 float64, f Figures) {
		row := []any{commune, name, code, level, weight, teams, members, pop, round2(per100), round2(f.Citizens), round2(f.Logs),
			round2(f.Reached["vneid_l1"]), round2(f.Reached["vneid_l2"])}
		for _, s := range services {
			row = append(row, round2(f.Reached[s]))
		}
		row = append(row, round2(f.Sessions), round2(f.Attendees), round2(f.Women), round2(f.Minority), round2(f.Elderly))
		for _, b := range barriers {
			row = append(row, round2(f.Barriers[b]))
		}
		t.Rows = append(t.Rows, row)
	}
	for _, u := range r.UpwardRows() {
		village := ""
		if u.Level != "commune" {
			village = u.Name
		}
		add(u.Commune, village, u.Code, u.Level, u.Weight, u.Teams, u.Members, u.Population, u.MembersPer100, u.Figures)
	}
	teams := 0
	for _, tm := range r.Teams {
		if tm.Members > 0 || tm.Active {
			teams++
		}
	}
	add("TỔNG (TOTAL) "+r.Area.Name, "", "", r.Area.Level, 1, teams, r.Members, r.Population, r.MembersPer100, r.Totals)
	return t
}

func round2(v float64) float64 {
	if v < 0 {
		return float64(int64(v*100-0.5)) / 100
	}
	return float64(int64(v*100+0.5)) / 100
}

// FileName is the download name of the report as a file with extension ext.
func (r *Report) FileName(ext string) string {
	return fmt.Sprintf("toso-%d-%s-%s.%s", r.Area.ID, r.From, r.To, ext)
}

// WriteCSV writes the upward table as CSV, UTF-8 with a byte-order mark so
// spreadsheet programs read Vietnamese.
func (t UpwardTable) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("\uFEFF")
	cw := csv.NewWriter(bw)
	cw.Write(t.Header)
	rec := make([]string, len(t.Header))
	for _, row := range t.Rows {
		for i, v := range row {
			rec[i] = cell(v)
		}
		cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export csv: %w", err)
	}
	return bw.Flush()
}

func cell(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// XLSX builds the upward table as a workbook (excelize's StreamWriter: rows
// go to a temporary file, not a DOM) titled with the report's area and
// period. The caller writes it (f.Write) and closes it.
func (r *Report) XLSX(t UpwardTable) (*excelize.File, error) {
	f := excelize.NewFile()
	const sheet = "Sheet1"
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("export xlsx: %w", err)
	}
	title := fmt.Sprintf("Báo cáo Tổ CNSCĐ: %s, %s – %s", r.Area.Name, r.From, r.To)
	if err := sw.SetRow("A1", []any{title}); err != nil {
		f.Close()
		return nil, fmt.Errorf("export xlsx: %w", err)
	}
	head := make([]any, len(t.Header))
	for i, h := range t.Header {
		head[i] = h
	}
	if err := sw.SetRow("A2", head); err != nil {
		f.Close()
		return nil, fmt.Errorf("export xlsx: %w", err)
	}
	for i, row := range t.Rows {
		cellName, _ := excelize.CoordinatesToCellName(1, i+3)
		if err := sw.SetRow(cellName, row); err != nil {
			f.Close()
			return nil, fmt.Errorf("export xlsx: %w", err)
		}
	}
	if err := sw.Flush(); err != nil {
		f.Close()
		return nil, fmt.Errorf("export xlsx: %w", err)
	}
	return f, nil
}
