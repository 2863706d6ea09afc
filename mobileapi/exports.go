package mobileapi

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/xuri/excelize/v2"

	"toso/store"
)

type exportQuery struct {
	AreaID int64  `query:"area_id" validate:"required,gt=0"`
	From   string `query:"from" validate:"required,datetime=2006-01-02"`
	To     string `query:"to" validate:"required,datetime=2006-01-02"`
}

// upwardColumns is the header of the upward report: per commune and
// village, teams, members, members per 100 residents, people reached by
// service, VNeID level 1/2 activations, trainings and attendees, barriers.
func upwardColumns(u *store.Upward) []any {
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

// upwardCells lays one row out in the columns of upwardColumns, into row
// (reused between rows).
func upwardCells(u *store.Upward, r store.UpwardRow, row []any) []any {
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

func round2(v float64) float64 { return float64(int64(v*100+0.5*sign(v))) / 100 }

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

// exportTimeout bounds an export's reads once streaming has started (the
// request's context is gone by then).
const exportTimeout = 5 * time.Minute

// upward checks the query and computes the report's head; errors here
// are answered normally, before anything is streamed.
func (a *API) upward(c fiber.Ctx) (*store.Upward, error) {
	var q exportQuery
	if err := c.Bind().Query(&q); err != nil {
		return nil, err
	}
	return a.store.Upward(c.Context(), actor(c), store.ReportQuery{AreaID: q.AreaID, From: q.From, To: q.To})
}

func exportName(u *store.Upward, ext string) string {
	return fmt.Sprintf("attachment; filename=\"toso-%d-%s-%s.%s\"", u.Area.ID, u.From, u.To, ext)
}

// exportCSV handles GET /v1/reports/export.csv: the upward report as CSV
// (UTF-8 with a byte-order mark, so spreadsheet programs read Vietnamese),
// written row by row as the store reads them.
func (a *API) exportCSV(c fiber.Ctx) error {
	u, err := a.upward(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, exportName(u, "csv"))
	st, log, base := a.store, a.log, context.WithoutCancel(c.Context())
	return c.SendStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(base, exportTimeout)
		defer cancel()
		w.WriteString("\uFEFF")
		cw := csv.NewWriter(w)
		head := upwardColumns(u)
		rec := make([]string, len(head))
		write := func(row []any) error {
			for i, v := range row {
				rec[i] = cell(v)
			}
			return cw.Write(rec)
		}
		write(head)
		var row []any
		err := st.UpwardRows(ctx, u, func(r store.UpwardRow) error {
			row = upwardCells(u, r, row)
			return write(row)
		})
		if err == nil {
			err = write(upwardCells(u, u.Total, row))
		}
		cw.Flush()
		if err == nil {
			err = cw.Error()
		}
		if err != nil {
			log.Warn("export csv", "area", u.Area.ID, "err", err)
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
// workbook. Rows go from the store's cursor into excelize's StreamWriter
// (which spills them to a temporary file past 16 MiB, not a DOM), and the
// workbook is zipped straight into the response.
func (a *API) exportXLSX(c fiber.Ctx) error {
	u, err := a.upward(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	c.Set(fiber.HeaderContentDisposition, exportName(u, "xlsx"))
	st, log, base := a.store, a.log, context.WithoutCancel(c.Context())
	return c.SendStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(base, exportTimeout)
		defer cancel()
		if err := writeXLSX(ctx, st, u, w); err != nil {
			log.Warn("export xlsx", "area", u.Area.ID, "err", err)
		}
		w.Flush()
	})
}

func writeXLSX(ctx context.Context, st *store.Store, u *store.Upward, w io.Writer) error {
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
	if err := set(upwardColumns(u)); err != nil {
		return err
	}
	var row []any
	err = st.UpwardRows(ctx, u, func(r store.UpwardRow) error {
		row = upwardCells(u, r, row)
		return set(row)
	})
	if err != nil {
		return err
	}
	if err := set(upwardCells(u, u.Total, row)); err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.Write(w)
}
