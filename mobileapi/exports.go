package mobileapi

import (
	"bufio"
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v3"

	"toso/forms"
	"toso/store"
)

type exportQuery struct {
	AreaID int64  `query:"area_id" validate:"required,gt=0"`
	From   string `query:"from" validate:"required,datetime=2006-01-02"`
	To     string `query:"to" validate:"required,datetime=2006-01-02"`
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
	return fmt.Sprintf("attachment; filename=%q", forms.FileName(u, ext))
}

// exportCSV handles GET /v1/reports/export.csv: the upward report as CSV
// (UTF-8 with a byte-order mark, so spreadsheet programs read Vietnamese),
// written row by row as the store reads them, in the caller's language.
func (a *API) exportCSV(c fiber.Ctx) error {
	u, err := a.upward(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, exportName(u, "csv"))
	st, log, base, lang := a.store, a.log, context.WithoutCancel(c.Context()), forms.LangOf(Lang(c))
	return c.SendStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(base, exportTimeout)
		defer cancel()
		if err := forms.WriteUpwardCSV(ctx, w, st, u, lang); err != nil {
			log.Warn("export csv", "area", u.Area.ID, "err", err)
		}
	})
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
	st, log, base, lang := a.store, a.log, context.WithoutCancel(c.Context()), forms.LangOf(Lang(c))
	return c.SendStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(base, exportTimeout)
		defer cancel()
		if err := forms.WriteUpwardXLSX(ctx, w, st, u, lang); err != nil {
			log.Warn("export xlsx", "area", u.Area.ID, "err", err)
		}
		w.Flush()
	})
}
