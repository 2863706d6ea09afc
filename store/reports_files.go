package store

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"
)

// The upward report as a file, written row by row as UpwardRows reads
// them: per commune and village, teams, members, members per 100
// residents, people reached by service, VNeID level 1/2 activations,
// trainings and attendees, barriers; the last row is the total. The JSON
// API's exports and the dashboard's downloads both write these.

// FileName is the download name of the report as a file with extension ext.
func (u *Upward) FileName(ext string) string {
	return fmt.Sprintf("toso-%d-%s-%s.%s", u.Area.ID, u.From, u.To, ext)
}

// UpwardColumns is the header of the upward report.
func (u *Upward) UpwardColumns() []any {
	h := []any{"Xã/phường (commune)", "Thôn/tổ dân phố (village)", "Mã (code)", "Cấp (level)", "Tỷ lệ sáp nhập (share)",
		"Số tổ (teams)", "Thành viên (members)", "Dân số (population)", "Thành viên/100 dân (members per 100)",
		"Người dân được hỗ trợ (citizens reached)", "Lượt hỗ trợ (visits)", "VNeID mức 1 (level 1)", "VNeID mức 2 (level 2)"}
	for _, s := range u.Services {
		h = append(h, "Đạt: "+s+" (reached)")
	}
	h = append(h, "Buổi tập huấn (trainings)", "Người tham dự (attendees)", "Nữ (women)", "DTTS (minority)", "Cao tuổi (elderly)")
	for _, b := range u.Barriers {
		h = append(h, "Rào cản: "+b+" (barrier)")
	}
	return h
}

// upwardCells lays one row out in the columns of UpwardColumns, into row
// (reused between rows).
func (u *Upward) upwardCells(r UpwardRow, row []any) []any {
	village := ""
	if r.Level != "commune" && r.Level != "province" && r.Level != "district" {
		village = r.Name
	}
	f := r.Figures
	row = append(row[:0], r.Commune, village, r.Code, r.Level, r.Weight, r.Teams, r.Members, r.Population, round2(r.MembersPer100),
		round2(f.Citizens), round2(f.Logs), round2(f.Reached["vneid_l1"]), round2(f.Reached["vneid_l2"]))
	for _, s := range u.Services {
		row = append(row, round2(f.Reached[s]))
	}
	row = append(row, round2(f.Sessions), round2(f.Attendees), round2(f.Women), round2(f.Minority), round2(f.Elderly))
	for _, b := range u.Barriers {
		row = append(row, round2(f.Barriers[b]))
	}
	return row
}

func round2(v float64) float64 {
	if v < 0 {
		return float64(int64(v*100-0.5)) / 100
	}
	return float64(int64(v*100+0.5)) / 100
}

// eachUpwardRow calls set with the header, every row and the total.
func (s *Store) eachUpwardRow(ctx context.Context, u *Upward, set func([]any) error) error {
	if err := set(u.UpwardColumns()); err != nil {
		return err
	}
	var row []any
	err := s.UpwardRows(ctx, u, func(r UpwardRow) error {
		row = u.upwardCells(r, row)
		return set(row)
	})
	if err != nil {
		return err
	}
	return set(u.upwardCells(u.Total, row))
}

// WriteUpwardCSV writes the upward report as CSV, UTF-8 with a byte-order
// mark so spreadsheet programs read Vietnamese.
func (s *Store) WriteUpwardCSV(ctx context.Context, w io.Writer, u *Upward) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	var rec []string
	err := s.eachUpwardRow(ctx, u, func(row []any) error {
		rec = rec[:0]
		for _, v := range row {
			rec = append(rec, cell(v))
		}
		return cw.Write(rec)
	})
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
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

// WriteUpwardXLSX writes the upward report as a workbook. Rows go from the
// store's cursor into excelize's StreamWriter (which spills them to a
// temporary file past 16 MiB, not a DOM), and the workbook is zipped
// straight into w.
func (s *Store) WriteUpwardXLSX(ctx context.Context, w io.Writer, u *Upward) error {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return err
	}
	line := 0
	set := func(row []any) error {
		line++
		name, err := excelize.CoordinatesToCellName(1, line)
		if err != nil {
			return err
		}
		return sw.SetRow(name, row)
	}
	if err := set([]any{fmt.Sprintf("Báo cáo Tổ CNSCĐ: %s, %s – %s", u.Area.Name, u.From, u.To)}); err != nil {
		return err
	}
	if err := s.eachUpwardRow(ctx, u, set); err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.Write(w)
}
