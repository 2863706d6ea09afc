package store

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// fieldReader decodes the fields of a mutation one by one, collecting the
// reasons of every bad field, so a rejection names them all. A field that
// is absent yields nil (not patched).
type fieldReader struct {
	f       map[string]json.RawMessage
	known   map[string]bool
	reasons map[string]string
}

func newFieldReader(f map[string]json.RawMessage) *fieldReader {
	return &fieldReader{f: f, known: map[string]bool{}, reasons: map[string]string{}}
}

func (r *fieldReader) bad(name, reason string) { r.reasons[name] = reason }

// raw returns the field's JSON, or nil when absent or null (null is read
// as "clear" by the typed getters that allow it).
func (r *fieldReader) raw(name string) (json.RawMessage, bool) {
	r.known[name] = true
	v, ok := r.f[name]
	return v, ok
}

func isNull(v json.RawMessage) bool { return strings.TrimSpace(string(v)) == "null" }

// str reads a string of at most max characters; null reads as "".
func (r *fieldReader) str(name string, max int) *string {
	v, ok := r.raw(name)
	if !ok {
		return nil
	}
	var s string
	if !isNull(v) {
		if err := json.Unmarshal(v, &s); err != nil {
			r.bad(name, "must be a string")
			return nil
		}
	}
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		r.bad(name, "too long")
		return nil
	}
	return &s
}

// enum reads a string that must be one of allowed.
func (r *fieldReader) enum(name string, allowed ...string) *string {
	s := r.str(name, 40)
	if s == nil {
		return nil
	}
	for _, a := range allowed {
		if *s == a {
			return s
		}
	}
	r.bad(name, "must be one of "+strings.Join(allowed, ", "))
	return nil
}

func (r *fieldReader) boolean(name string) *bool {
	v, ok := r.raw(name)
	if !ok {
		return nil
	}
	var b bool
	if !isNull(v) {
		if err := json.Unmarshal(v, &b); err != nil {
			r.bad(name, "must be true or false")
			return nil
		}
	}
	return &b
}

// integer reads a whole number in [lo, hi]; null reads as 0.
func (r *fieldReader) integer(name string, lo, hi int64) *int64 {
	v, ok := r.raw(name)
	if !ok {
		return nil
	}
	var n int64
	if !isNull(v) {
		if err := json.Unmarshal(v, &n); err != nil {
			r.bad(name, "must be a whole number")
			return nil
		}
	}
	if n < lo || n > hi {
		r.bad(name, "out of range")
		return nil
	}
	return &n
}

// timestamp reads an RFC 3339 time, kept as given (text), that is not after
// notAfter when that is set. "" (or null) clears.
func (r *fieldReader) timestamp(name string, notAfter time.Time) *string {
	s := r.str(name, 40)
	if s == nil || *s == "" {
		return s
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		r.bad(name, "must be an RFC 3339 time")
		return nil
	}
	if !notAfter.IsZero() && t.After(notAfter) {
		r.bad(name, "must not be in the future")
		return nil
	}
	return s
}

// codes reads a list of catalog codes (at most max, no repeats).
func (r *fieldReader) codes(name string, known map[string]bool, max int) *[]string {
	v, ok := r.raw(name)
	if !ok {
		return nil
	}
	var cs []string
	if !isNull(v) {
		if err := json.Unmarshal(v, &cs); err != nil {
			r.bad(name, "must be a list of codes")
			return nil
		}
	}
	if len(cs) > max {
		r.bad(name, "too many")
		return nil
	}
	seen := map[string]bool{}
	for _, c := range cs {
		if !known[c] || seen[c] {
			r.bad(name, "unknown or repeated code")
			return nil
		}
		seen[c] = true
	}
	if cs == nil {
		cs = []string{}
	}
	return &cs
}

// ignore marks server-owned fields: accepted and never trusted.
func (r *fieldReader) ignore(names ...string) {
	for _, n := range names {
		r.known[n] = true
	}
}

// result is nil when every field was known and valid.
func (r *fieldReader) result() *Result {
	for name := range r.f {
		if !r.known[name] {
			r.bad(name, "unknown field")
		}
	}
	if len(r.reasons) == 0 {
		return nil
	}
	return &Result{Status: StatusRejected, Code: CodeValidation, Fields: r.reasons}
}

// jsonText marshals v for a JSON column (v is always marshalable here).
func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// text reads free text (notes, names, places) as str does, with every
// number that could identify a citizen masked (MaskNumbers) before it is
// stored.
func (r *fieldReader) text(name string, max int) *string {
	s := r.str(name, max)
	if s != nil {
		*s = MaskNumbers(*s)
	}
	return s
}
