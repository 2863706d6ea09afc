package mobileapi

import "fmt"

// Problem is an API error with a stable code. The server's error handler
// turns it into the envelope {"error": {"code", "message", "fields",
// "request_id"}} in the caller's language. Codes are in the catalog in
// messages.go; Fields maps JSON field names to a reason.
type Problem struct {
	Status int
	Code   string
	Fields map[string]string
	// Extra members of the error object, e.g. "expected" for mid_gap or
	// "rows" for an import.
	Extra map[string]any
	// ExtraVI, when set, replaces Extra in a Vietnamese response (an
	// import's row reasons).
	ExtraVI map[string]any
	// Detail, when set, replaces the catalog message (English) ...
	Detail string
	// ... and DetailVI its Vietnamese form.
	DetailVI string
	// RetryAfter, in seconds, becomes a Retry-After header.
	RetryAfter int
}

func (p *Problem) Error() string {
	if p.Detail != "" {
		return fmt.Sprintf("%s: %s", p.Code, p.Detail)
	}
	return p.Code
}

func problem(status int, code string) *Problem { return &Problem{Status: status, Code: code} }

// fieldProblem is a 422 naming one offending field.
func fieldProblem(field, reason string) *Problem {
	return &Problem{Status: 422, Code: "validation_failed", Fields: map[string]string{field: reason}}
}
