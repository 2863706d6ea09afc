package dashboard

import "testing"

func TestFormatNumber(t *testing.T) {
	for _, c := range []struct {
		lang string
		v    float64
		dec  int
		want string
	}{
		{"vi", 1234, 0, "1.234"}, {"vi", 1234567.25, 2, "1.234.567,25"}, {"en", 1234567.25, 2, "1,234,567.25"},
		{"vi", 0.283, 2, "0,28"}, {"vi", 12.5, 0, "13"}, {"vi", -1500, 0, "-1.500"}, {"vi", 999, 1, "999"},
	} {
		if got := formatNumber(c.lang, c.v, c.dec); got != c.want {
			t.Errorf("formatNumber(%s, %v, %d): got %q, want %q", c.lang, c.v, c.dec, got, c.want)
		}
	}
	if got, want := formatDate("vi", "2026-11-22"), "22/11/2026"; got != want {
		t.Errorf("formatDate vi: got %q, want %q", got, want)
	}
}

func TestParseNumber(t *testing.T) {
	for in, want := range map[string]float64{"1.234": 1234, "1,234": 1234, "1.234,5": 1234.5, "1,234.5": 1234.5, "12,5": 12.5, "80": 80} {
		got, err := parseNumber(in)
		if err != nil || got != want {
			t.Errorf("parseNumber(%q): got %v, %v, want %v", in, got, err, want)
		}
	}
}

func TestEveryTextIsTranslated(t *testing.T) {
	for k, m := range messages {
		if m[0] == "" || m[1] == "" {
			t.Errorf("message %q lacks a language: %q", k, m)
		}
	}
}
