package forms

import (
	"strconv"
	"strings"
	"time"

	"toso/store"
)

// Lang is the language of a form: "vi" (the default) or "en".
type Lang string

const (
	VI Lang = "vi"
	EN Lang = "en"
)

// LangOf is "en" for "en" and Vietnamese for anything else.
func LangOf(s string) Lang {
	if s == "en" {
		return EN
	}
	return VI
}

// pick is the text in the form's language.
func (l Lang) pick(vi, en string) string {
	if l == EN {
		return en
	}
	return vi
}

// label is a catalog entry's label in the form's language.
func (l Lang) label(x store.Label) string { return l.pick(x.Vi, x.En) }

// level names an area level.
func (l Lang) level(level string) string {
	vi := map[string]string{"province": "Tỉnh", "district": "Huyện", "commune": "Xã", "village": "Thôn",
		"residential_group": "Tổ dân phố"}[level]
	en := map[string]string{"province": "Province", "district": "District", "commune": "Commune", "village": "Village",
		"residential_group": "Residential group"}[level]
	if vi == "" {
		return level
	}
	return l.pick(vi, en)
}

// date writes a YYYY-MM-DD day as DD/MM/YYYY in Vietnamese, as it is in
// English.
func (l Lang) date(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil || l == EN {
		return day
	}
	return t.Format("02/01/2006")
}

// number writes a whole number with the language's thousands separator
// (12.345 in Vietnamese, 12,345 in English).
func (l Lang) number(n float64) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	sep := l.pick(".", ",")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
