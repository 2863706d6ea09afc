package dashboard

import (
	"strings"
	"testing"
)

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

// A count axis has whole-number ticks, an empty chart included (it read
// 0,3 / 0,5 / 0,8), and its top covers the largest bar.
func TestCountTicks(t *testing.T) {
	for _, c := range []struct{ max, top, step float64 }{
		{0, 4, 1}, {0.5, 4, 1}, {3, 4, 1}, {4, 4, 1}, {5, 8, 2}, {37, 40, 10}, {100, 100, 25}, {101, 200, 50}, {9001, 10000, 2500},
	} {
		top, step := countTicks(c.max)
		if top != c.top || step != c.step {
			t.Errorf("countTicks(%v) = %v, %v; want %v, %v", c.max, top, step, c.top, c.step)
		}
	}
	empty := string(chart{Title: "t", Categories: []string{"a", "b"}, Series: []series{{Name: "s", Color: "#000", Values: []float64{0, 0}}}, Lang: "vi"}.vertical())
	for _, tick := range []string{">0<", ">1<", ">2<", ">3<", ">4<"} {
		if !strings.Contains(empty, tick) {
			t.Errorf("an empty chart lacks the tick %s", tick)
		}
	}
	if strings.Contains(empty, ",") {
		t.Errorf("an empty chart has a decimal tick: %s", empty)
	}
}

func TestRejectionCodes(t *testing.T) {
	if got, want := rejectionCodes(map[string]int{"forbidden": 1, "locked": 2, "deleted": 1}), "locked 2, deleted 1, forbidden 1"; got != want {
		t.Errorf("rejectionCodes: got %q, want %q", got, want)
	}
	if got := rejectionCodes(nil); got != "–" {
		t.Errorf("no rejections: got %q", got)
	}
}
