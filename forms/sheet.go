package forms

import (
	"strings"

	"github.com/xuri/excelize/v2"
)

// Sheet is a valid worksheet name: at most 31 characters, none of
// : \ / ? * [ ].
func Sheet(name string) string {
	name = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`:\/?*[]`, r) {
			return '-'
		}
		return r
	}, name)
	if r := []rune(name); len(r) > 31 {
		name = string(r[:31])
	}
	return name
}

// styles are the cell styles the forms use.
type styles struct {
	title, note, header, subtotal, total, bold, center, italic int
}

func newStyles(f *excelize.File) (*styles, error) {
	var s styles
	border := []excelize.Border{{Type: "left", Color: "999999", Style: 1}, {Type: "right", Color: "999999", Style: 1},
		{Type: "top", Color: "999999", Style: 1}, {Type: "bottom", Color: "999999", Style: 1}}
	for _, d := range []struct {
		into  *int
		style excelize.Style
	}{
		{&s.title, excelize.Style{Font: &excelize.Font{Bold: true, Size: 13}}},
		{&s.note, excelize.Style{Font: &excelize.Font{Italic: true, Size: 9, Color: "555555"},
			Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}},
		{&s.header, excelize.Style{Font: &excelize.Font{Bold: true}, Border: border,
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
			Alignment: &excelize.Alignment{WrapText: true, Vertical: "center", Horizontal: "center"}}},
		{&s.subtotal, excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"F2F2F2"}}}},
		{&s.total, excelize.Style{Font: &excelize.Font{Bold: true}, Border: border,
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9D9D9"}}}},
		{&s.bold, excelize.Style{Font: &excelize.Font{Bold: true}}},
		{&s.center, excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: &excelize.Alignment{Horizontal: "center", WrapText: true}}},
		{&s.italic, excelize.Style{Font: &excelize.Font{Italic: true}, Alignment: &excelize.Alignment{Horizontal: "center", WrapText: true}}},
	} {
		id, err := f.NewStyle(&d.style)
		if err != nil {
			return nil, err
		}
		*d.into = id
	}
	return &s, nil
}

// sheetWriter writes rows one after the other through a StreamWriter,
// every text cell through SafeText.
type sheetWriter struct {
	sw     *excelize.StreamWriter
	styles *styles
	line   int
}

func newSheetWriter(f *excelize.File, name string, st *styles, cols int) (*sheetWriter, error) {
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return nil, err
	}
	// Widths before any row: the unit column is wide, the rest narrow.
	for c, w := range map[int]float64{1: 16, 2: 22, 3: 46, 4: 12} {
		if c <= cols {
			if err := sw.SetColWidth(c, c, w); err != nil {
				return nil, err
			}
		}
	}
	if cols > 4 {
		if err := sw.SetColWidth(5, cols, 13); err != nil {
			return nil, err
		}
	}
	return &sheetWriter{sw: sw, styles: st}, nil
}

// row writes the next row with a style (0: none).
func (s *sheetWriter) row(values []any, style int) error { return s.rowOpts(values, style) }

// rowOpts writes the next row with a style and row options.
func (s *sheetWriter) rowOpts(values []any, style int, opts ...excelize.RowOpts) error {
	s.line++
	name, err := excelize.CoordinatesToCellName(1, s.line)
	if err != nil {
		return err
	}
	cells := make([]any, len(values))
	for i, v := range values {
		if v == nil {
			continue
		}
		cells[i] = excelize.Cell{StyleID: style, Value: cell(v)}
	}
	return s.sw.SetRow(name, cells, opts...)
}

// titleBlock writes the title lines, each merged across the table's width
// (notes in small italics), and an empty line.
func (s *sheetWriter) titleBlock(lines []string, cols int) error {
	for i, t := range lines {
		style, opts := s.styles.note, []excelize.RowOpts{{Height: 40}}
		switch {
		case i == 0:
			style, opts = s.styles.title, nil
		case i < 4:
			style, opts = s.styles.bold, nil
		}
		if err := s.rowOpts([]any{t}, style, opts...); err != nil {
			return err
		}
		if cols > 1 {
			from, _ := excelize.CoordinatesToCellName(1, s.line)
			to, _ := excelize.CoordinatesToCellName(min(cols, 12), s.line)
			if err := s.sw.MergeCell(from, to); err != nil {
				return err
			}
		}
	}
	return s.row(nil, 0)
}
