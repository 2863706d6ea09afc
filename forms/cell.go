// Package forms lays report figures out for people: the upward export
// (CSV and XLSX), the periodic report form (XLSX) and the daily summary
// (plain text for a Zalo group). It reads figures through the store's
// report APIs and holds no SQL.
package forms

import (
	"fmt"
	"strconv"
	"strings"
)

// SafeText neutralizes a text cell a spreadsheet program would read as a
// formula: one whose first character, after any spaces, is =, +, - or @,
// or which starts with a tab or a carriage return, gets a leading
// apostrophe (OWASP's advice for CSV injection). Excel and LibreOffice
// then show the text as text; the apostrophe stays visible, which is the
// price of a name like "=HYPERLINK(…)" or "-Xóm" being harmless. Every
// CSV and XLSX cell of text Toso writes goes through this one function.
func SafeText(s string) string {
	if s == "" {
		return s
	}
	if s[0] == '\t' || s[0] == '\r' {
		return "'" + s
	}
	if t := strings.TrimLeft(s, " "); t != "" && strings.ContainsRune("=+-@", rune(t[0])) {
		return "'" + s
	}
	return s
}

// cell is a value as a spreadsheet cell: text through SafeText, numbers
// as they are.
func cell(v any) any {
	if s, ok := v.(string); ok {
		return SafeText(s)
	}
	return v
}

// csvCell is a value as a CSV field: text through SafeText, whole
// numbers without decimals, others with as many as they need.
func csvCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return SafeText(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return SafeText(fmt.Sprint(v))
}
