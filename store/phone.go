package store

import (
	"fmt"
	"strings"
)

// NormalizePhone turns the ways Vietnamese mobile numbers are written
// ("+84 912 345 678", "84912345678", "0912.345.678") into the national
// form 0912345678. Anything else is an error wrapping ErrInvalid.
func NormalizePhone(s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("phone number: unexpected %q: %w", r, ErrInvalid)
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(d, "84") && len(d) == 11:
		d = "0" + d[2:]
	case strings.HasPrefix(d, "0084") && len(d) == 13:
		d = "0" + d[4:]
	case len(d) == 9 && d[0] != '0':
		d = "0" + d // the leading zero lost in a spreadsheet
	}
	if len(d) != 10 || d[0] != '0' || d[1] == '0' {
		return "", fmt.Errorf("phone number must have 10 digits starting with 0 (or +84): %w", ErrInvalid)
	}
	return d, nil
}
