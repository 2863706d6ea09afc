package store

import (
	"math"
	"sort"
)

// Arithmetic on Figures for the upward report: sums, whole numbers, and
// the split of a former unit's whole counts among its successors.

// addAll adds k × every figure of g to f.
func (f *Figures) addAll(g Figures, k float64) {
	f.Logs += k * g.Logs
	f.Citizens += k * g.Citizens
	f.Sessions += k * g.Sessions
	f.Attendees += k * g.Attendees
	f.Women += k * g.Women
	f.Minority += k * g.Minority
	f.Elderly += k * g.Elderly
	for _, m := range [...][2]map[string]float64{{f.Reached, g.Reached}, {f.Outcomes, g.Outcomes},
		{f.Barriers, g.Barriers}, {f.Topics, g.Topics}, {f.Manual, g.Manual}} {
		for key, v := range m[1] {
			m[0][key] += k * v
		}
	}
}

// scalars are pointers to f's single figures, in a fixed order.
func (f *Figures) scalars() []*float64 {
	return []*float64{&f.Logs, &f.Citizens, &f.Sessions, &f.Attendees, &f.Women, &f.Minority, &f.Elderly}
}

// counted are f's maps of whole counts (Manual, the sum of progress
// report values, need not be whole).
func (f *Figures) counted() []map[string]float64 {
	return []map[string]float64{f.Reached, f.Outcomes, f.Barriers, f.Topics}
}

// wholeFigures is g with every count rounded to a whole number (Manual to
// 1e-9), a copy.
func wholeFigures(g Figures) Figures {
	f := newFigures()
	f.addAll(g, 1)
	f.round()
	return f
}

// round rounds every count of f to a whole number (Manual to 1e-9), in
// place: sums of whole counts carry float noise.
func (f *Figures) round() {
	for _, p := range f.scalars() {
		*p = math.Round(*p)
	}
	for _, m := range f.counted() {
		for k, v := range m {
			m[k] = math.Round(v)
		}
	}
	for k, v := range f.Manual {
		f.Manual[k] = math.Round(v*1e9) / 1e9
	}
}

func (f Figures) isZero() bool {
	for _, p := range f.scalars() {
		if *p != 0 {
			return false
		}
	}
	for _, m := range append(f.counted(), f.Manual) {
		for _, v := range m {
			if v != 0 {
				return false
			}
		}
	}
	return true
}

// splitWhole splits whole figures into parts by fractions (summing to 1):
// each count by largest remainder, so the parts are whole and add up to
// the whole (ties go to the earlier part); Manual in proportion.
func splitWhole(g Figures, fractions []float64) []Figures {
	g = wholeFigures(g)
	parts := make([]Figures, len(fractions))
	for i := range parts {
		parts[i] = newFigures()
	}
	split := func(n float64, set func(i int, v float64)) {
		shares := largestRemainder(n, fractions)
		for i, v := range shares {
			if v != 0 {
				set(i, v)
			}
		}
	}
	for s := range g.scalars() {
		split(*g.scalars()[s], func(i int, v float64) { *parts[i].scalars()[s] = v })
	}
	for m, src := range g.counted() {
		for k, n := range src {
			split(n, func(i int, v float64) { parts[i].counted()[m][k] = v })
		}
	}
	for k, v := range g.Manual {
		for i, fr := range fractions {
			if fr > 0 {
				parts[i].Manual[k] = v * fr
			}
		}
	}
	return parts
}

// largestRemainder splits the whole number n by fractions into whole
// numbers that add up to n.
func largestRemainder(n float64, fractions []float64) []float64 {
	out := make([]float64, len(fractions))
	if n == 0 {
		return out
	}
	sign := 1.0
	if n < 0 {
		sign, n = -1, -n
	}
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, len(fractions))
	left := n
	for i, fr := range fractions {
		exact := n * fr
		out[i] = math.Floor(exact + 1e-9)
		left -= out[i]
		rems[i] = rem{i, exact - out[i]}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r+1e-12 })
	for k := 0; left > 0.5 && k < len(rems); k++ {
		if fractions[rems[k].i] > 0 {
			out[rems[k].i]++
			left--
		}
	}
	for i := range out {
		out[i] *= sign
	}
	return out
}
