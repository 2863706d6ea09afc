package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Charts are SVG drawn on the server: stacked bars, vertical (a trend over
// weeks) or horizontal (areas with long names). Each has a title and a
// description for screen readers; the page shows the same figures in a
// table next to it.

// palette: the Okabe–Ito colours (distinguishable with colour blindness),
// then grey for "other".
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#7A6F00", "#6B6B6B"}

// series is one stacked layer: a name, a colour and a value per category.
type series struct {
	Name   string
	Color  string
	Values []float64
}

// chart is a stacked bar chart.
type chart struct {
	Title      string
	Desc       string
	Categories []string
	Series     []series
	Lang       string
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func (ch chart) totals() []float64 {
	t := make([]float64, len(ch.Categories))
	for _, s := range ch.Series {
		for i, v := range s.Values {
			t[i] += v
		}
	}
	return t
}

// countTicks is the top of a count axis with four gridlines: whole-number
// steps of 1, 2, 2.5 (from 25 up) or 5 × a power of ten, at least 1, so
// an empty chart reads 0 1 2 3 4, never 0,3 0,5 0,8.
func countTicks(v float64) (top, step float64) {
	need := v / 4
	for p := 1.0; ; p *= 10 {
		for _, m := range []float64{1, 2, 2.5, 5} {
			s := m * p
			if s != math.Trunc(s) {
				continue
			}
			if s >= need {
				return 4 * s, s
			}
		}
	}
}

// niceMax rounds a maximum up to 1, 2 or 5 × a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow10(int(math.Floor(math.Log10(v))))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// open starts the chart's scroll box: on a phone the chart keeps a
// readable scale and scrolls sideways in it (by touch or, focused, by the
// arrow keys). legend closes it.
func (ch chart) open(b *strings.Builder) {
	b.WriteString(`<div class="scroll chart-scroll" tabindex="0">`) // named by the SVG inside (role img)
}

// legend is HTML after the SVG, not text inside it: an SVG scales down
// with the screen (at 375 px its 13 px legend shrank to about 5 px), HTML
// text does not. Beside the chart on a wide screen, below it on a narrow
// one (style.css). The swatches are SVG fills: the page's CSP forbids
// inline styles.
func (ch chart) legend(b *strings.Builder) {
	b.WriteString(`</div><ul class="legend">`)
	for _, s := range ch.Series {
		fmt.Fprintf(b, `<li><svg class="sw" viewBox="0 0 12 12" aria-hidden="true"><rect width="12" height="12" fill="%s"/></svg>%s</li>`,
			s.Color, esc(s.Name))
	}
	b.WriteString(`</ul>`)
}

// vertical draws the categories left to right (weeks), the legend after.
func (ch chart) vertical() template.HTML {
	const w, h, left, top, bottom = 640.0, 300.0, 52.0, 16.0, 46.0
	plotW, plotH := w-left-16, h-top-bottom
	max, step := countTicks(maxOf(ch.totals()))
	var b strings.Builder
	ch.open(&b)
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`,
		w, h, chartID(ch.Title), chartID(ch.Title))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, chartID(ch.Title), esc(ch.Title), chartID(ch.Title), esc(ch.Desc))
	for i := 0; i <= 4; i++ {
		v := step * float64(i)
		y := top + plotH - plotH*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="grid"/>`, left, left+plotW, y, y)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="ax" text-anchor="end">%s</text>`, left-6, y+4, formatNumber(ch.Lang, v, 0))
	}
	n := float64(len(ch.Categories))
	slot := plotW / math.Max(n, 1)
	barW := slot * 0.7
	for i, c := range ch.Categories {
		x := left + slot*float64(i) + (slot-barW)/2
		y := top + plotH
		for _, s := range ch.Series {
			v := s.Values[i]
			if v <= 0 {
				continue
			}
			hh := plotH * v / max
			y -= hh
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %s</title></rect>`,
				x, y, barW, hh, s.Color, esc(c), esc(s.Name), formatNumber(ch.Lang, v, 1))
		}
		if len(ch.Categories) <= 16 || i%2 == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="ax" text-anchor="middle">%s</text>`, x+barW/2, top+plotH+16, esc(c))
		}
	}
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="axis"/>`, left, left+plotW, top+plotH, top+plotH)
	b.WriteString(`</svg>`)
	ch.legend(&b)
	return template.HTML(b.String())
}

// horizontal draws one bar per category (area) top to bottom, the legend
// after.
func (ch chart) horizontal() template.HTML {
	const w, left, right, rowH, top = 760.0, 190.0, 60.0, 24.0, 10.0
	plotW := w - left - right
	rows := float64(len(ch.Categories))
	h := top + rows*rowH + 10
	max := niceMax(maxOf(ch.totals()))
	var b strings.Builder
	id := chartID(ch.Title)
	ch.open(&b)
	fmt.Fprintf(&b, `<svg class="chart bars" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`, w, h, id, id)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(ch.Title), id, esc(ch.Desc))
	totals := ch.totals()
	for i, c := range ch.Categories {
		y := top + float64(i)*rowH
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="ax" text-anchor="end">%s</text>`, left-8, y+rowH/2+4, esc(truncate(c, 28)))
		x := left
		for _, s := range ch.Series {
			v := s.Values[i]
			if v <= 0 {
				continue
			}
			ww := plotW * v / max
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %s</title></rect>`,
				x, y+3, ww, rowH-6, s.Color, esc(c), esc(s.Name), formatNumber(ch.Lang, v, 1))
			x += ww
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="ax">%s</text>`, x+4, y+rowH/2+4, formatNumber(ch.Lang, totals[i], 0))
	}
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="axis"/>`, left, left, top, top+rows*rowH)
	b.WriteString(`</svg>`)
	ch.legend(&b)
	return template.HTML(b.String())
}

func maxOf(vs []float64) float64 {
	m := 0.0
	for _, v := range vs {
		m = math.Max(m, v)
	}
	return m
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// chartID makes an id attribute from a title.
func chartID(title string) string {
	h := uint32(2166136261)
	for _, c := range []byte(title) {
		h = (h ^ uint32(c)) * 16777619
	}
	return fmt.Sprintf("c%08x", h)
}
