package store

import (
	"errors"
	"testing"
	"time"
)

func TestRewritePG(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"bare placeholders", `SELECT a FROM t WHERE x = ? AND y = ?`, `SELECT a FROM t WHERE x = $1 AND y = $2`},
		{"numbered", `WHERE x = ?2 OR y = ?1 OR z = ?2`, `WHERE x = $2 OR y = $1 OR z = $2`},
		{"bare after numbered", `WHERE x = ?3 AND y = ?`, `WHERE x = $3 AND y = $4`},
		{"string literal", `SELECT '?', 'it''s ?' || ?`, `SELECT '?', 'it''s ?' || $1`},
		{"quoted identifier", `SELECT "a?b" FROM t WHERE c = ?`, `SELECT "a?b" FROM t WHERE c = $1`},
		{"line comment", "SELECT 1 -- what?\nWHERE x = ?", "SELECT 1 -- what?\nWHERE x = $1"},
		{"block comment", `SELECT /* ? */ ?`, `SELECT /* ? */ $1`},
		{"rename", `SELECT json_object('a', r.a) FROM r`, `SELECT json_build_object('a', r.a) FROM r`},
		{"no rename without a call", `SELECT json_object FROM r`, `SELECT json_object FROM r`},
		{"no rename inside a word", `SELECT my_json_object(1)`, `SELECT my_json_object(1)`},
		{"index hint", "FROM t r INDEXED BY t_by_x\n\tON r.a = ?", "FROM t r \n\tON r.a = $1"},
	}
	for _, tt := range tests {
		if got := rewritePG(tt.in); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestPGArg(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	tests := []struct {
		in, want any
	}{
		{true, int64(1)},
		{false, int64(0)},
		{at, "2025-01-02T03:04:05.000Z"},
		{"x", "x"},
		{int64(7), int64(7)},
		{nil, nil},
	}
	for _, tt := range tests {
		if got, err := pgArg(tt.in); err != nil || got != tt.want {
			t.Errorf("pgArg(%v) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"a\xffb", "a\x00b"} {
		if _, err := pgArg(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("pgArg(%q): got %v, want ErrInvalid", bad, err)
		}
	}
}
