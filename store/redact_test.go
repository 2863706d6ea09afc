package store

import "testing"

// TestRedacted: a PostgreSQL URL loses its password wherever it sits; a
// file path and a URL without one stay as they are.
func TestRedacted(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"file", "/var/lib/toso/toso.db", "/var/lib/toso/toso.db"},
		{"user part", "postgres://toso:s3cret@db:5432/toso?sslmode=disable", "postgres://toso:xxxxx@db:5432/toso?sslmode=disable"},
		{"query", "postgresql://toso@db/toso?password=s3cret&sslmode=require", "postgresql://toso@db/toso?password=xxxxx&sslmode=require"},
		{"none", "postgres://toso@db/toso", "postgres://toso@db/toso"},
		{"unparsable", "postgres://toso:s3cret@db:port/toso", "postgres://(a URL that does not parse)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Redacted(tc.in); got != tc.want {
				t.Errorf("Redacted(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
