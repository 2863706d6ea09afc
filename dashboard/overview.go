package dashboard

import (
	"context"
	"html/template"
	"sort"

	"toso/forms"
	"toso/store"
)

// trendWeeks is how many weeks the overview's trend shows.
const trendWeeks = 12

// labels names catalog codes in the request's language.
type labels struct {
	lang       string
	services   map[string]string
	barriers   map[string]string
	indicators map[string]string
	catalog    *store.Catalog
}

func (d *Dashboard) labels(ctx context.Context, lang string) (*labels, error) {
	c, err := d.store.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	l := &labels{lang: lang, services: map[string]string{}, barriers: map[string]string{}, indicators: map[string]string{}, catalog: c}
	pick := func(x store.Label) string {
		if lang == langEn {
			return x.En
		}
		return x.Vi
	}
	for _, x := range c.Services {
		l.services[x.Code] = pick(x)
	}
	for _, x := range c.Barriers {
		l.barriers[x.Code] = pick(x)
	}
	for _, x := range c.Indicators {
		l.indicators[x.Code] = pick(x)
	}
	return l, nil
}

// Indicator names an indicator code (templates).
func (l *labels) Indicator(code string) string { return orCode(l.indicators, code) }

func orCode(m map[string]string, code string) string {
	if v, ok := m[code]; ok {
		return v
	}
	return code
}

// targetRow is a target with its progress bar.
type targetRow struct {
	store.Target
	Label   string
	Area    string
	Percent float64 // of the goal, capped at 100 for the bar
	Reached float64 // of the goal, uncapped
}

func newTargetRow(t store.Target, l *labels, area string) targetRow {
	r := targetRow{Target: t, Label: orCode(l.indicators, t.Indicator), Area: area}
	if t.Goal > 0 {
		r.Reached = t.Value * 100 / t.Goal
		r.Percent = min(100, r.Reached)
	}
	return r
}

type overviewData struct {
	*scope
	Report   *store.Report
	Teams    int // active teams in the area
	Targets  []targetRow
	Trend    template.HTML
	Weeks    []store.Week
	Services []series
	Inactive []store.TeamReport
	Places   map[string]store.Place // beside team names
	More     int                    // inactive teams not listed
	// Daily is today's summary of the area for the Zalo group (copied with
	// the button, static/copy.js); Done the Bình dân học vụ số completions.
	Daily string
	Done  *store.Completions
}

// overview handles GET /: the area's key figures for the period, its
// targets, the weekly trend and the inactive teams.
func (d *Dashboard) overview(r *req) error {
	ctx := r.c.Context()
	s, err := d.scope(r, 0)
	if err != nil {
		return err
	}
	rep, err := d.store.Report(ctx, r.actor, store.ReportQuery{AreaID: s.Area.ID, From: s.From, To: s.To,
		Metrics: store.HeadlineMetrics, TeamFiguresUpTo: -1})
	if err != nil {
		return err
	}
	l, err := d.labels(ctx, r.lang)
	if err != nil {
		return err
	}
	targets, err := d.store.Targets(ctx, r.actor, store.TargetFilter{AreaID: s.Area.ID, From: s.From, To: s.To, Limit: 500})
	if err != nil {
		return err
	}
	weeks, err := d.store.WeeklyReached(ctx, r.actor, s.Area.ID, s.To, trendWeeks)
	if err != nil {
		return err
	}
	data := &overviewData{scope: s, Report: rep, Weeks: weeks}
	for _, t := range rep.Teams {
		if t.Active {
			data.Teams++
		}
	}
	for _, t := range targets {
		if t.AreaID == s.Area.ID {
			data.Targets = append(data.Targets, newTargetRow(t, l, s.Area.Name))
		}
	}
	data.Services = trendSeries(weeks, l)
	cats := make([]string, len(weeks))
	for i, w := range weeks {
		cats[i] = formatDate(r.lang, w.Start)[:5]
		if r.lang == langEn {
			cats[i] = formatDate(r.lang, w.Start)
			cats[i] = cats[i][:len(cats[i])-5]
		}
	}
	data.Trend = chart{Title: tr(r.lang, "overview.trend"), Desc: tr(r.lang, "overview.trend.desc"),
		Categories: cats, Series: data.Services, Lang: r.lang}.vertical()
	daily, err := d.store.DailySummary(ctx, r.actor, store.DailyQuery{AreaID: s.Area.ID, Day: s.Today})
	if err != nil {
		return err
	}
	data.Daily = forms.DailyText(daily, forms.LangOf(r.lang))
	if data.Done, err = d.store.CompletionFigures(ctx, r.actor, s.Area.ID, s.From, s.To, rep.Totals.Citizens); err != nil {
		return err
	}
	data.Inactive = rep.Inactive
	if len(data.Inactive) > 20 {
		data.More = len(data.Inactive) - 20
		data.Inactive = data.Inactive[:20]
	}
	if data.Places, err = d.places(r, teamPaths(data.Inactive, func(t store.TeamReport) string { return t.AreaPath })); err != nil {
		return err
	}
	v := d.newView(r, s, "/", "nav.overview")
	v.Data = data
	return d.render(r, 200, "overview", v)
}

// trendSeries is one series per service, the five largest by name and the
// rest as "other".
func trendSeries(weeks []store.Week, l *labels) []series {
	sum := map[string]float64{}
	for _, w := range weeks {
		for k, v := range w.Reached {
			sum[k] += v
		}
	}
	keys := make([]string, 0, len(sum))
	for k, v := range sum {
		if v > 0 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if sum[keys[i]] != sum[keys[j]] {
			return sum[keys[i]] > sum[keys[j]]
		}
		return keys[i] < keys[j]
	})
	const top = 5
	var out []series
	for i, k := range keys {
		if i == top {
			break
		}
		s := series{Name: orCode(l.services, k), Color: palette[i], Values: make([]float64, len(weeks))}
		for j, w := range weeks {
			s.Values[j] = w.Reached[k]
		}
		out = append(out, s)
	}
	if len(keys) > top {
		other := series{Name: tr(l.lang, "chart.other"), Color: palette[len(palette)-1], Values: make([]float64, len(weeks))}
		for _, k := range keys[top:] {
			for j, w := range weeks {
				other.Values[j] += w.Reached[k]
			}
		}
		out = append(out, other)
	}
	return out
}
