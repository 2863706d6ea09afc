package dashboard

import (
	"bufio"
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v3"

	"toso/forms"
	"toso/store"
)

// downloads handles GET /downloads: the upward report of the area and
// period as XLSX or CSV.
func (d *Dashboard) downloads(r *req) error {
	s, err := d.scope(r, 0)
	if err != nil {
		return err
	}
	v := d.newView(r, s, "/downloads", "nav.downloads")
	v.Data = s
	return d.render(r, 200, "downloads", v)
}

// download handles GET /downloads/report.xlsx and .csv: the same report
// and the same file as GET /v1/reports/export.xlsx and .csv.
func (d *Dashboard) download(r *req) error {
	ext := r.c.Params("ext")
	if ext != "xlsx" && ext != "csv" {
		return fiber.ErrNotFound
	}
	s, err := d.scope(r, 0)
	if err != nil {
		return err
	}
	u, err := d.store.Upward(r.c.Context(), r.actor, store.ReportQuery{AreaID: s.Area.ID, From: s.From, To: s.To})
	if err != nil {
		return err
	}
	r.c.Set(fiber.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", forms.FileName(u, ext)))
	write, ctype := forms.WriteUpwardXLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	if ext == "csv" {
		write, ctype = forms.WriteUpwardCSV, "text/csv; charset=utf-8"
	}
	r.c.Set(fiber.HeaderContentType, ctype)
	log, base, st, lang := d.log, context.WithoutCancel(r.c.Context()), d.store, forms.LangOf(r.lang)
	return r.c.SendStreamWriter(func(w *bufio.Writer) {
		// The request's context ends when the handler returns; the rows
		// are read while the response streams.
		ctx, cancel := context.WithTimeout(base, 5*time.Minute)
		defer cancel()
		if err := write(ctx, w, st, u, lang); err != nil {
			log.Warn("download", "ext", ext, "area", u.Area.ID, "err", err)
		}
		w.Flush()
	})
}
