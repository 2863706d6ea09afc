package forms

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"toso/store"
)

// Every CSV and XLSX Toso writes, with a commune and villages renamed to
// formulas by coordinators: no cell that carries one starts like a formula
// (those that would get the apostrophe SafeText adds), so no spreadsheet
// program evaluates it; the names appear whole, inside other text too.
func TestEveryWriterNeutralizesFormulas(t *testing.T) {
	w := newWorld(t, 11)
	w.activity(60)
	ctx := context.Background()
	for _, c := range []struct{ who, area, name string }{
		{"CP", "A", `=cmd|' /C calc'!A0`},
		{"CA", "A2", `@SUM(1+1)*cmd|' /C calc'!A0`},
		{"CA", "A1", "\t=1+1"},
	} {
		name := c.name
		if _, err := w.s.UpdateArea(ctx, w.actors[c.who], w.areas[c.area].ID, store.AreaPatch{Name: &name}); err != nil {
			t.Fatal(err)
		}
	}
	evil := func(s string) bool {
		return strings.Contains(s, "cmd|") || strings.Contains(s, "SUM(") || strings.Contains(s, "=1+1")
	}
	check := func(t *testing.T, what string, cells [][]string) {
		t.Helper()
		seen, neutralized := 0, 0
		for _, row := range cells {
			for _, c := range row {
				if evil(c) {
					seen++
					if trimmed := strings.TrimLeft(c, " "); c[0] == '\t' || strings.ContainsRune("=+-@", rune(trimmed[0])) {
						t.Errorf("%s: cell %q is not neutralized", what, c)
					}
					if strings.HasPrefix(c, "'") {
						neutralized++
					}
				}
			}
		}
		if seen == 0 || neutralized == 0 {
			t.Errorf("%s: %d cells carry the renamed areas, %d of them neutralized; want some of each", what, seen, neutralized)
		}
	}
	sheets := func(t *testing.T, b []byte) map[string][][]string {
		t.Helper()
		f, err := excelize.OpenReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		out := map[string][][]string{}
		for _, name := range f.GetSheetList() {
			rows, err := f.GetRows(name)
			if err != nil {
				t.Fatal(err)
			}
			out[name] = rows
		}
		return out
	}
	u, err := w.s.Upward(ctx, w.actors["CP"], store.ReportQuery{AreaID: w.areas["P"].ID, From: "2025-01-01", To: "2026-11-20"})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("upward CSV", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteUpwardCSV(ctx, &buf, w.s, u, VI); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(buf.Bytes(), []byte("\uFEFF")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		check(t, "upward CSV", recs)
	})
	t.Run("upward XLSX", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteUpwardXLSX(ctx, &buf, w.s, u, EN); err != nil {
			t.Fatal(err)
		}
		for name, rows := range sheets(t, buf.Bytes()) {
			check(t, "upward XLSX sheet "+name, rows)
		}
	})
	t.Run("periodic XLSX", func(t *testing.T) {
		p, err := w.s.Periodic(ctx, w.actors["CP"], w.areas["A"].ID, "2026")
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WritePeriodicXLSX(&buf, p, VI); err != nil {
			t.Fatal(err)
		}
		for name, rows := range sheets(t, buf.Bytes()) {
			check(t, "periodic XLSX sheet "+name, rows)
		}
	})
}
