package mobileapi

import (
	"bufio"
	"fmt"

	"github.com/gofiber/fiber/v3"

	"toso/store"
)

type exportQuery struct {
	AreaID int64  `query:"area_id" validate:"required,gt=0"`
	From   string `query:"from" validate:"required,datetime=2006-01-02"`
	To     string `query:"to" validate:"required,datetime=2006-01-02"`
}

func (a *API) exportReport(c fiber.Ctx) (*store.Report, error) {
	var q exportQuery
	if err := c.Bind().Query(&q); err != nil {
		return nil, err
	}
	return a.store.Report(c.Context(), actor(c), store.ReportQuery{AreaID: q.AreaID, From: q.From, To: q.To})
}

func exportName(r *store.Report, ext string) string {
	return fmt.Sprintf("attachment; filename=%q", r.FileName(ext))
}

// exportCSV handles GET /v1/reports/export.csv: the upward report as CSV
// (UTF-8 with a byte-order mark, so spreadsheet programs read Vietnamese).
func (a *API) exportCSV(c fiber.Ctx) error {
	r, err := a.exportReport(c)
	if err != nil {
		return err
	}
	t := r.UpwardTable()
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, exportName(r, "csv"))
	log := a.log
	return c.SendStreamWriter(func(w *bufio.Writer) {
		if err := t.WriteCSV(w); err != nil {
			log.Warn("export csv", "err", err)
		}
	})
}

// exportXLSX handles GET /v1/reports/export.xlsx: the upward report as a
// workbook, sent as a stream.
func (a *API) exportXLSX(c fiber.Ctx) error {
	r, err := a.exportReport(c)
	if err != nil {
		return err
	}
	f, err := r.XLSX(r.UpwardTable())
	if err != nil {
		return err
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
