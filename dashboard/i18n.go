package dashboard

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
)

// Languages: Vietnamese by default, English on request (?lang=en, kept in
// a cookie).
const (
	langVi = "vi"
	langEn = "en"
)

// lang picks the request's language; ?lang= also sets the cookie.
func (d *Dashboard) lang(c fiber.Ctx) string {
	if q := c.Query("lang"); q == langVi || q == langEn {
		d.setCookie(c, langCookie, q, d.now().AddDate(1, 0, 0), 366*24*3600)
		return q
	}
	if c.Cookies(langCookie) == langEn {
		return langEn
	}
	return langVi
}

// tr translates key; an unknown key shows itself, so a missing text is
// visible (and caught by TestEveryTextIsTranslated).
func tr(lang, key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if lang == langEn {
		return m[1]
	}
	return m[0]
}

// formatNumber writes n with Vietnamese (1.234,5) or English (1,234.5)
// separators, with at most decimals digits after the point (trailing
// zeros dropped).
func formatNumber(lang string, n float64, decimals int) string {
	thousands, point := ".", ","
	if lang == langEn {
		thousands, point = ",", "."
	}
	neg := n < 0
	p := math.Pow10(decimals)
	n = math.Round(math.Abs(n)*p) / p
	s := strconv.FormatFloat(n, 'f', decimals, 64)
	whole, frac, _ := strings.Cut(s, ".")
	frac = strings.TrimRight(frac, "0")
	var b strings.Builder
	if neg && (whole != "0" || frac != "") {
		b.WriteByte('-')
	}
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(thousands)
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteString(point)
		b.WriteString(frac)
	}
	return b.String()
}

// formatDate writes a YYYY-MM-DD day as 22/11/2026 (vi) or 22 Nov 2026 (en).
func formatDate(lang, day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	if lang == langEn {
		return t.Format("2 Jan 2006")
	}
	return t.Format("02/01/2006")
}

// formatTime writes an instant in Vietnam time.
func formatTime(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(time.FixedZone("ICT", 7*3600))
	if lang == langEn {
		return t.Format("2 Jan 2006 15:04")
	}
	return t.Format("15:04 02/01/2006")
}
