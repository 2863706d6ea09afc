package dashboard

import (
	"bufio"
	"fmt"

	"github.com/gofiber/fiber/v3"

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
	rep, err := d.store.Report(r.c.Context(), r.actor, store.ReportQuery{AreaID: s.Area.ID, From: s.From, To: s.To})
	if err != nil {
		return err
	}
	t := rep.UpwardTable()
	r.c.Set(fiber.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", rep.FileName(ext)))
	log := d.log
	if ext == "csv" {
		r.c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		return r.c.SendStreamWriter(func(w *bufio.Writer) {
			if err := t.WriteCSV(w); err != nil {
				log.Warn("download csv", "err", err)
			}
		})
	}
	f, err := rep.XLSX(t)
	if err != nil {
		return err
	}
	r.c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	return r.c.SendStreamWriter(func(w *bufio.Writer) {
		defer f.Close()
		if err := f.Write(w); err != nil {
			log.Warn("download xlsx", "err", err)
		}
		w.Flush()
	})
}
