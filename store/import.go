package store

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/unicode/norm"
)

// MaxImportErrors caps the row errors an import reports: past that, the file
// is wrong in a way a longer list would not explain better.
const MaxImportErrors = 100

// RowError is one problem in an imported file.
type RowError struct {
	Row      int    // as numbered in the file: the header is row 1
	Column   string // the header as written in the file; "" for the whole row
	Reason   string // English
	ReasonVI string // Vietnamese
}

// ImportError rejects a whole file: nothing was imported. It wraps ErrInvalid.
type ImportError struct {
	Rows      []RowError // sorted by row, at most MaxImportErrors
	Truncated bool       // the list stopped at MaxImportErrors: there may be more
}

func (e *ImportError) Error() string {
	if len(e.Rows) == 0 {
		return "import failed"
	}
	r := e.Rows[0]
	return fmt.Sprintf("import failed with %d problem(s), first at row %d, column %q: %s", len(e.Rows), r.Row, r.Column, r.Reason)
}

func (e *ImportError) Unwrap() error { return ErrInvalid }

func (e *RowError) Error() string { return fmt.Sprintf("row %d, %s: %s", e.Row, e.Column, e.Reason) }

// rowErrors collects the problems of one import.
type rowErrors struct{ ImportError }

func (e *rowErrors) add(row int, column string, m msg) {
	if len(e.Rows) >= MaxImportErrors {
		e.Truncated = true
		return
	}
	e.Rows = append(e.Rows, RowError{Row: row, Column: column, Reason: m.en, ReasonVI: m.vi})
}

// msg is a reason given in English and Vietnamese: the people reading
// import errors are Vietnamese coordinators; API clients may ask for English.
type msg struct{ en, vi string }

// term is an argument of say that differs by language (a level, a role).
type term struct{ en, vi string }

// say renders a reason from its English and Vietnamese templates.
func say(en, vi string, args ...any) msg {
	ea, va := make([]any, len(args)), make([]any, len(args))
	for i, a := range args {
		if t, ok := a.(term); ok {
			ea[i], va[i] = t.en, t.vi
		} else {
			ea[i], va[i] = a, a
		}
	}
	return msg{fmt.Sprintf(en, ea...), fmt.Sprintf(vi, va...)}
}

// Reasons used in several places.
var (
	outsideArea = msg{"outside your area", "ngoài địa bàn của bạn"}
)

// levelTerm names an area level in both languages.
func levelTerm(level string) term {
	vi := map[string]string{"province": "tỉnh", "district": "huyện", "commune": "xã", "village": "thôn",
		"residential_group": "tổ dân phố"}[level]
	return term{strings.ReplaceAll(level, "_", " "), vi}
}

// storeReason is an ErrInvalid or ErrConflict from a shared insert, as a reason.
func storeReason(err error) msg {
	en := strings.TrimSuffix(strings.TrimSuffix(err.Error(), ": "+ErrInvalid.Error()), ": "+ErrConflict.Error())
	return msg{en, "dữ liệu không hợp lệ: " + en}
}

func (e *rowErrors) full() bool { return len(e.Rows) >= MaxImportErrors }

// err is nil when nothing was collected, else an *ImportError.
func (e *rowErrors) err() error {
	if len(e.Rows) == 0 {
		return nil
	}
	slices.SortStableFunc(e.Rows, func(a, b RowError) int { return a.Row - b.Row })
	return &ImportError{Rows: e.Rows, Truncated: e.Truncated}
}

// table is a file read into cells: the header (row 1) and data rows with the
// row numbers a person sees in a spreadsheet or text editor.
type table struct {
	header []string // as written, BOM and surrounding spaces removed
	rows   [][]string
	nums   []int // nums[i] is the file row of rows[i]
}

// readTable reads CSV (comma, semicolon or tab separated, UTF-8 with or
// without BOM) or XLSX (first sheet), told apart by their first bytes.
func readTable(r io.Reader) (*table, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return readXLSX(br)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return nil, fileError(say(`the file is UTF-16 text; save it as "CSV UTF-8"`, `tệp là văn bản UTF-16; hãy lưu lại dạng "CSV UTF-8"`))
	}
	return readCSV(br)
}

func fileError(m msg) error { return rowError(1, m) }

func rowError(row int, m msg) error {
	return &ImportError{Rows: []RowError{{Row: row, Reason: m.en, ReasonVI: m.vi}}}
}

func readCSV(br *bufio.Reader) (*table, error) {
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xEF\xBB\xBF")) {
		br.Discard(3)
	}
	// Spreadsheets in Vietnamese locales write ";" (the comma is their
	// decimal mark); pick whichever separator the header uses most.
	first, _ := br.Peek(4096)
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	if n := bytes.Count(first, []byte(";")); n > bytes.Count(first, []byte(",")) {
		cr.Comma = ';'
	} else if bytes.Count(first, []byte("\t")) > bytes.Count(first, []byte(",")) {
		cr.Comma = '\t'
	}
	t := &table{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, rowError(pe.StartLine, say("unreadable CSV: %v", "không đọc được CSV: %v", pe.Err))
		} else if err != nil {
			return nil, fmt.Errorf("read CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if t.header == nil {
			t.header = cleanHeader(rec)
			continue
		}
		t.rows = append(t.rows, rec)
		t.nums = append(t.nums, line)
	}
	if t.header == nil {
		return nil, fileError(say("the file is empty", "tệp trống"))
	}
	return t, nil
}

// maxUnzippedXLSX bounds what an uploaded workbook may unzip to (excelize's
// default is 16 GB, spilled to temporary files): a roster of 100,000 rows is
// about 20 MB unzipped, a 16 MiB zip bomb would be gigabytes.
const maxUnzippedXLSX = 128 << 20

func readXLSX(r io.Reader) (*table, error) {
	f, err := excelize.OpenReader(r, excelize.Options{UnzipSizeLimit: maxUnzippedXLSX})
	if err != nil {
		return nil, fileError(say("unreadable XLSX file: %v", "không đọc được tệp XLSX: %v", err))
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, fileError(say("the workbook has no sheet", "tệp không có trang tính nào"))
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return nil, fileError(say("unreadable sheet: %v", "không đọc được trang tính: %v", err))
	}
	defer rows.Close()
	t := &table{}
	for n := 1; rows.Next(); n++ {
		rec, err := rows.Columns()
		if err != nil {
			return nil, rowError(n, say("unreadable row: %v", "không đọc được dòng: %v", err))
		}
		if t.header == nil {
			if filled(rec) < 2 {
				continue // a title row or spacing above the header
			}
			t.header = cleanHeader(rec)
			continue
		}
		t.rows = append(t.rows, rec)
		t.nums = append(t.nums, n)
	}
	if t.header == nil {
		return nil, fileError(say("the sheet is empty", "trang tính trống"))
	}
	return t, nil
}

func cleanHeader(rec []string) []string {
	h := make([]string, len(rec))
	for i, c := range rec {
		h[i] = strings.TrimSpace(strings.TrimPrefix(c, "\uFEFF"))
	}
	return h
}

func filled(rec []string) int {
	n := 0
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			n++
		}
	}
	return n
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// fold makes a header or keyword comparable however it was typed: lower
// case, Vietnamese diacritics removed (đ → d), runs of anything but letters
// and digits turned into one "_". "Mã tỉnh" → "ma_tinh", "Province Code" →
// "province_code".
func fold(s string) string {
	s = norm.NFD.String(strings.ToLower(strings.TrimSpace(s)))
	var b strings.Builder
	gap := false
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ':
			r = 'd'
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if gap && b.Len() > 0 {
				b.WriteByte('_')
			}
			gap = false
			b.WriteRune(r)
		} else {
			gap = true
		}
	}
	return b.String()
}

// columns maps canonical column names to their index in a header, given
// the accepted spellings (already folded) of each.
type columns struct {
	idx     map[string]int
	header  []string
	ignored []string
}

// mapColumns finds the known columns of header. Two headers meaning the same
// column are an error; unknown columns are listed as ignored.
func mapColumns(header []string, aliases map[string][]string, errs *rowErrors) *columns {
	byAlias := map[string]string{}
	for canon, list := range aliases {
		for _, a := range list {
			byAlias[a] = canon
		}
	}
	c := &columns{idx: map[string]int{}, header: header}
	for i, h := range header {
		canon, ok := byAlias[fold(h)]
		if !ok {
			if h != "" {
				c.ignored = append(c.ignored, h)
			}
			continue
		}
		if j, dup := c.idx[canon]; dup {
			errs.add(1, h, say("the same column as %q", "trùng với cột %q", header[j]))
			continue
		}
		c.idx[canon] = i
	}
	return c
}

func (c *columns) has(name string) bool { _, ok := c.idx[name]; return ok }

// name is the header of a canonical column as written in the file.
func (c *columns) name(canon string) string {
	if i, ok := c.idx[canon]; ok {
		return c.header[i]
	}
	return canon
}

// get is the trimmed cell of a canonical column in rec ("" when absent).
func (c *columns) get(rec []string, canon string) string {
	i, ok := c.idx[canon]
	if !ok || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// checkCells reports cells that are not UTF-8 or lie beyond the header.
func (c *columns) checkCells(row int, rec []string, errs *rowErrors) bool {
	ok := true
	for i, cell := range rec {
		if !utf8.ValidString(cell) {
			col := ""
			if i < len(c.header) {
				col = c.header[i]
			}
			errs.add(row, col, say(`not UTF-8 text; save the file as "CSV UTF-8"`, `không phải văn bản UTF-8; hãy lưu tệp dạng "CSV UTF-8"`))
			ok = false
		} else if i >= len(c.header) && strings.TrimSpace(cell) != "" {
			errs.add(row, "", say("more cells than the header has columns", "nhiều ô hơn số cột của dòng tiêu đề"))
			ok = false
		}
	}
	return ok
}

// parseCount reads a non-negative whole number, allowing thousands
// separators ("12.345", "12,345", "12 345"). Empty is (0, false, nil).
func parseCount(s string) (int64, bool, *msg) {
	if s == "" {
		return 0, false, nil
	}
	d := strings.ReplaceAll(s, " ", "")
	if len(d) > 4 && strings.ContainsAny(d, ".,") {
		groups := strings.FieldsFunc(d, func(r rune) bool { return r == '.' || r == ',' })
		okGroups := len(groups) > 1 && len(groups[0]) >= 1 && len(groups[0]) <= 3
		for _, g := range groups[1:] {
			okGroups = okGroups && len(g) == 3
		}
		if okGroups {
			d = strings.Join(groups, "")
		}
	}
	n, err := strconv.ParseInt(d, 10, 64)
	if err != nil || n < 0 || n > 1e9 {
		m := say("%q is not a whole number from 0 to 1,000,000,000", "%q không phải số nguyên từ 0 đến 1.000.000.000", s)
		return 0, false, &m
	}
	return n, true, nil
}

// parseDate reads YYYY-MM-DD or the Vietnamese DD/MM/YYYY. Empty is "".
func parseDate(s string) (string, *msg) {
	if s == "" {
		return "", nil
	}
	for _, layout := range []string{"2006-01-02", "02/01/2006", "2/1/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("2006-01-02"), nil
		}
	}
	m := say("%q is not a date (YYYY-MM-DD or DD/MM/YYYY)", "%q không phải ngày (YYYY-MM-DD hoặc DD/MM/YYYY)", s)
	return "", &m
}

// cleanName is a name cell in NFC with runs of spaces collapsed.
func cleanName(s string) string { return strings.Join(strings.Fields(norm.NFC.String(s)), " ") }

// nameKey compares names ignoring case and spacing but not diacritics:
// "Nguyên" and "Nguyễn" are different names.
func nameKey(s string) string { return strings.ToLower(cleanName(s)) }
