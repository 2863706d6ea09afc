package dashboard

import (
	"html/template"
	"sort"

	"toso/store"
)

// maxBarrierRows bounds the barriers chart; the table lists every row.
const maxBarrierRows = 25

type barrierRow struct {
	Area   store.Area
	Total  float64
	Counts []float64 // per Barriers entry
}

type barriersData struct {
	*scope
	Barriers []store.Label // named in the period, in catalog order
	Names    []string
	Rows     []barrierRow
	Totals   []float64
	Chart    template.HTML
}

// barriers handles GET /barriers: why people could not be helped, per
// child area (villages of a commune), as a chart and a table.
func (d *Dashboard) barriers(r *req) error {
	ctx := r.c.Context()
	s, err := d.scope(r, 0)
	if err != nil {
		return err
	}
	rep, err := d.store.Report(ctx, r.actor, store.ReportQuery{AreaID: s.Area.ID, From: s.From, To: s.To,
		Metrics: append([]string{"barrier"}, store.HeadlineMetrics...), TeamFiguresUpTo: -1})
	if err != nil {
		return err
	}
	l, err := d.labels(ctx, r.lang)
	if err != nil {
		return err
	}
	kids, err := d.children(r, s, rep)
	if err != nil {
		return err
	}
	if len(kids) == 0 { // a village: its own figures
		kids = []childFigures{{Area: *s.Area, Figures: rep.Totals}}
	}
	data := &barriersData{scope: s}
	for _, b := range l.catalog.Barriers {
		if rep.Totals.Barriers[b.Code] > 0 {
			data.Barriers = append(data.Barriers, b)
			data.Names = append(data.Names, orCode(l.barriers, b.Code))
		}
	}
	data.Totals = make([]float64, len(data.Barriers))
	for _, k := range kids {
		row := barrierRow{Area: k.Area, Counts: make([]float64, len(data.Barriers))}
		for i, b := range data.Barriers {
			row.Counts[i] = k.Barriers[b.Code]
			row.Total += row.Counts[i]
			data.Totals[i] += row.Counts[i]
		}
		data.Rows = append(data.Rows, row)
	}
	sort.SliceStable(data.Rows, func(i, j int) bool { return data.Rows[i].Total > data.Rows[j].Total })
	shown := data.Rows
	if len(shown) > maxBarrierRows {
		shown = shown[:maxBarrierRows]
	}
	ch := chart{Title: tr(r.lang, "barriers.chart"), Desc: tr(r.lang, "barriers.chart.desc"), Lang: r.lang}
	for _, row := range shown {
		ch.Categories = append(ch.Categories, row.Area.Name)
	}
	for i, name := range data.Names {
		sr := series{Name: name, Color: palette[i%len(palette)], Values: make([]float64, len(shown))}
		for j, row := range shown {
			sr.Values[j] = row.Counts[i]
		}
		ch.Series = append(ch.Series, sr)
	}
	if len(data.Barriers) > 0 {
		data.Chart = ch.horizontal()
	}
	v := d.newView(r, s, "/barriers", "nav.barriers")
	v.Data = data
	return d.render(r, 200, "barriers", v)
}
