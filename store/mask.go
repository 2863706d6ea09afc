package store

import "strings"

// MaskNumbers replaces, in free text (notes, names, places), every number
// that could identify a citizen: a run of at least 9 digits, which covers
// the 9-digit identity card, the 12-digit citizen ID card and phone numbers
// (0912345678, +84 912 345 678, 0912.345.678). Digit groups joined by '.'
// or '-' count as one number, and so do groups of at least 3 digits joined
// by spaces ("038 090 001 234", "+84 912 345 678"); dates and times
// ("12-11-2026 10:30") stay.
// The number becomes "***" before anything is stored: a raw number typed
// into a note must not outlive the request, exactly like citizen_id_number.
func MaskNumbers(s string) string {
	if !hasLongDigits(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		start, end, digits := numberAt(s, i)
		if digits == 0 {
			b.WriteByte(s[i])
			i++
			continue
		}
		if digits >= 9 {
			b.WriteString("***")
		} else {
			b.WriteString(s[start:end])
		}
		i = end
	}
	return b.String()
}

// hasLongDigits is a quick test: at least 9 digits in the whole string.
func hasLongDigits(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			if n++; n >= 9 {
				return true
			}
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// numberAt reads the number starting at i (a '+' before digits belongs to
// it) and returns its bounds and how many digits it holds; 0 digits when
// none starts at i.
func numberAt(s string, i int) (start, end, digits int) {
	start, j := i, i
	plus := s[j] == '+'
	if plus {
		j++
	}
	if j >= len(s) || !isDigit(s[j]) || (j > 0 && j == i && isDigit(s[j-1])) {
		return i, i, 0
	}
	group := 0
	for j < len(s) {
		switch c := s[j]; {
		case isDigit(c):
			digits++
			group++
			j++
			continue
		case (c == '.' || c == '-' || c == ' ') && j+1 < len(s) && isDigit(s[j+1]):
			next := 0
			for k := j + 1; k < len(s) && isDigit(s[k]); k++ {
				next++
			}
			if c != ' ' || ((group >= 3 || plus) && next >= 3) {
				j++
				group = 0
				continue
			}
		}
		break
	}
	return start, j, digits
}
