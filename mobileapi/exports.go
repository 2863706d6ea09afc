package mobileapi

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v3"
	"github.com/xuri/excelize/v2"

	"toso/store"
)

type exportQuery struct {
	AreaID int64  `query:"area_id" validate:"required,gt=0"`
	From   string `query:"from" validate:"required,datetime=2006-01-02"`
	To     string `query:"to" validate:"required,datetime=2006-01-02"`
}

// upwardTable is the upward report as a header and rows of cells: per
// commune and village, teams, members, members per 100 residents, people
// reached by service, VNeID level 1/2 activations, trainings and
// attendees, barriers.
type upwardTable struct {
	header []string
	rows   [][]any
}

func newUpwardTable(r *store.Report) upwardTable {
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
	t := upwardTable{header: h}
	add := func(commune, name, code, level string, weight float64, teams, members int, pop int64, per100 float64, f store.Figures) {
		row := []any{commune, name, code, level, weight, teams, members, pop, round2(per100), round2(f.Citizens), round2(f.Logs),
			round2(f.Reached["vneid_l1"]), round2(f.Reached["vneid_l2"])}
		for _, s := range services {
			row = append(row, round2(f.Reached[s]))
		}
		row = append(row, round2(f.Sessions), round2(f.Attendees), round2(f.Women), round2(f.Minority), round2(f.Elderly))
		for _, b := range barriers {
			row = append(row, round2(f.Barriers[b]))
		}
		t.rows = append(t.rows, row)
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

func round2(v float64) float64 { return float64(int64(v*100+0.5*sign(v))) / 100 }

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

func (a *API) exportReport(c fiber.Ctx) (*store.Report, error) {
	var q exportQuery
	if err := c.Bind().Query(&q); err != nil {
		return nil, err
	}
	return a.store.Report(c.Context(), actor(c), store.ReportQuery{AreaID: q.AreaID, From: q.From, To: q.To})
}

func exportName(r *store.Report, ext string) string {
	return fmt.Sprintf("attachment; filename=\"toso-%d-%s-%s.%s\"", r.Area.ID, r.From, r.To, ext)
}

// exportCSV handles GET /v1/reports/export.csv: the upward report as CSV
// (UTF-8 with a byte-order mark, so spreadsheet programs read Vietnamese).
func (a *API) exportCSV(c fiber.Ctx) error {
	r, err := a.exportReport(c)
	if err != nil {
		return err
	}
	t := newUpwardTable(r)
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, exportName(r, "csv"))
	log := a.log
	return c.SendStreamWriter(func(w *bufio.Writer) {
		w.WriteString("\uFEFF")
		cw := csv.NewWriter(w)
		cw.Write(t.header)
		rec := make([]string, len(t.header))
		for _, row := range t.rows {
			for i, v := range row {
				rec[i] = cell(v)
			}
			cw.Write(rec)
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			log.Warn("export csv", "err", err)
		}
	})
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

// exportXLSX handles GET /v1/reports/export.xlsx: the upward report as a
// workbook written with excelize's StreamWriter (rows go to a temporary
// file, not a DOM), sent as a stream.
func (a *API) exportXLSX(c fiber.Ctx) error {
	r, err := a.exportReport(c)
	if err != nil {
		return err
	}
	t := newUpwardTable(r)
	f := excelize.NewFile()
	const sheet = "Sheet1"
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		f.Close()
		return fmt.Errorf("export xlsx: %w", err)
	}
	title := fmt.Sprintf("Báo cáo Tổ CNSCĐ: %s, %s – %s", r.Area.Name, r.From, r.To)
	if err := sw.SetRow("A1", []any{title}); err != nil {
		f.Close()
		return fmt.Errorf("export xlsx: %w", err)
	}
	head := make([]any, len(t.header))
	for i, h := range t.header {
		head[i] = h
	}
	if err := sw.SetRow("A2", head); err != nil {
		f.Close()
		return fmt.Errorf("export xlsx: %w", err)
	}
	for i, row := range t.rows {
		cellName, _ := excelize.CoordinatesToCellName(1, i+3)
		if err := sw.SetRow(cellName, row); err != nil {
			f.Close()
			return fmt.Errorf("export xlsx: %w", err)
		}
	}
	if err := sw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("export xlsx: %w", err)
	}
	c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	c.Set(fiber.HeaderContentDisposition, exportName(r, "xlsx"))
	log := a.log
	return c.SendStreamWriter(func(w *bufio.Writer) {
		defer f.Close()
		if err := f.Write(w); err != nil {
			log.Warn("export xlsx", "err", err)
		}
		w.Flush()
	})
}
