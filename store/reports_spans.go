package store

import "time"

// span is a range of rows of one grain of the area and team rollups.
type span struct{ grain, lo, hi string }

// spans splits [from, to] into ranges of the coarsest rows that cover it
// exactly: days before the first whole month, whole months before the
// first whole year, whole years, then whole months and days after them.
// A whole year is one row per key; any period is at most ~60 rows per key.
func spans(from, to string) []span {
	f, _ := time.Parse(time.DateOnly, from)
	t, _ := time.Parse(time.DateOnly, to)
	day := func(d time.Time) string { return d.Format(time.DateOnly) }
	fm := f // first day of the first whole month
	if f.Day() != 1 {
		fm = time.Date(f.Year(), f.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	}
	lm := time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, time.UTC) // last day of the last whole month
	if !lm.Equal(t) {
		lm = time.Date(t.Year(), t.Month(), 0, 0, 0, 0, 0, time.UTC)
	}
	if fm.After(lm) {
		return []span{{"d", from, to}}
	}
	var out []span
	if fm.After(f) {
		out = append(out, span{"d", from, day(fm.AddDate(0, 0, -1))})
	}
	fy := fm // first day of the first whole year
	if fm.Month() != time.January {
		fy = time.Date(fm.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	ly := lm // last day of the last whole year
	if lm.Month() != time.December {
		ly = time.Date(lm.Year(), 1, 0, 0, 0, 0, 0, time.UTC)
	}
	month := func(d time.Time) string { return d.Format("2006-01") }
	if fy.After(ly) {
		out = append(out, span{"m", month(fm), month(lm)})
	} else {
		if fy.After(fm) {
			out = append(out, span{"m", month(fm), month(fy.AddDate(0, 0, -1))})
		}
		out = append(out, span{"y", fy.Format("2006"), ly.Format("2006")})
		if lm.After(ly) {
			out = append(out, span{"m", month(ly.AddDate(0, 0, 1)), month(lm)})
		}
	}
	if t.After(lm) {
		out = append(out, span{"d", day(lm.AddDate(0, 0, 1)), to})
	}
	return out
}
