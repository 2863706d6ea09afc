package mobileapi

import "time"

// page is the shape of every list: items and, when more may follow, the
// value to pass as ?after= for the next page.
type page[T any] struct {
	Items     []T    `json:"items"`
	NextAfter *int64 `json:"next_after"`
}

func newPage[T any](items []T, limit int, id func(T) int64) page[T] {
	p := page[T]{Items: items}
	if limit <= 0 {
		limit = 100
	}
	if len(items) > 0 && len(items) >= min(limit, 500) {
		next := id(items[len(items)-1])
		p.NextAfter = &next
	}
	return p
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
