package dashboard

import (
	"bufio"
	"bytes"
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
	v.Data = newPeriodChoices(s)
	return d.render(r, 200, "downloads", v)
}

// periodChoices are the periodic forms offered: the last month, quarter
// and year, this year to date, and a field for any other period.
type periodChoices struct {
	*scope
	Periods []struct{ Key, Period string }
	Default string
}

func newPeriodChoices(s *scope) *periodChoices {
	t, _ := time.Parse(time.DateOnly, s.Today)
	lastMonth := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	q := (int(t.Month())-1)/3 + 1
	lastQ, lastQYear := q-1, t.Year()
	if lastQ == 0 {
		lastQ, lastQYear = 4, t.Year()-1
	}
	c := &periodChoices{scope: s, Default: lastMonth.Format("2006-01")}
	c.Periods = []struct{ Key, Period string }{
		{"dl.periodic.month", lastMonth.Format("2006-01")},
		{"dl.periodic.quarter", fmt.Sprintf("%d-Q%d", lastQYear, lastQ)},
		{"dl.periodic.year", fmt.Sprint(t.Year() - 1)},
		{"dl.periodic.thisyear", fmt.Sprint(t.Year())},
	}
	return c
}

// periodic handles GET /downloads/periodic.xlsx?area=&period=: the same
// form as GET /v1/reports/periodic.xlsx, in the dashboard's language.
func (d *Dashboard) periodic(r *req) error {
	s, err := d.scope(r, 0)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.c.Context(), 5*time.Minute)
	defer cancel()
	p, err := d.store.Periodic(ctx, r.actor, s.Area.ID, r.c.Query("period"))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := forms.WritePeriodicXLSX(&buf, p, forms.LangOf(r.lang)); err != nil {
		return err
	}
	r.c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	r.c.Set(fiber.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", forms.PeriodicFileName(p)))
	return r.c.Send(buf.Bytes())
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
