package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Area import: the official list of administrative units (GSO), as CSV or
// XLSX, in either shape:
//
//	two-level (from 1 July 2025): province_code, province_name, commune_code, commune_name
//	three-level (before):         province_code, province_name, district_code, district_name, commune_code, commune_name
//
// optionally followed by village_code, village_name, level (the type of the
// row's lowest unit: Xã, Phường, Thôn, Tổ dân phố…), population, adults,
// working_age, households, valid_from and valid_to, which all describe the
// lowest unit named on the row. Vietnamese headers ("Mã tỉnh", "Tên xã"…),
// any case or spacing, a UTF-8 BOM and ";" separators are accepted.
//
// A unit is identified by level and official code (villages, which have no
// national code, by name under their commune). Existing units are updated,
// new ones created under their parent; a unit is never moved. The whole file
// is one transaction: any bad row and nothing is imported.
//
// Authorization: admins import anywhere. A coordinator may create and
// update units strictly below their scope root; the units above it (their
// province, their commune) may appear in the file for context, unchanged.

// ImportCounts is what an import did at one level, counting each distinct
// unit once however many rows name it.
type ImportCounts struct{ Created, Updated, Unchanged int }

// AreaImport summarizes an area import.
type AreaImport struct {
	Shape   string                  // "two-level" or "three-level"
	Rows    int                     // data rows read
	Levels  map[string]ImportCounts // by area level
	Ignored []string                // headers of columns the import does not know
}

// ImportOptions tunes an import; the zero value is fine.
type ImportOptions struct {
	// Progress, if set, is called now and then with the rows done so far.
	Progress func(done, total int)
}

var areaAliases = map[string][]string{
	"province_code": {"province_code", "ma_tinh", "ma_tp", "ma_tinh_tp", "ma_tinh_thanh_pho", "ma_tinh_thanh"},
	"province_name": {"province_name", "province", "ten_tinh", "tinh", "tinh_thanh_pho", "ten_tinh_thanh_pho", "tinh_tp", "ten_tinh_tp", "ten_tp"},
	"district_code": {"district_code", "ma_huyen", "ma_qh", "ma_quan_huyen"},
	"district_name": {"district_name", "district", "ten_huyen", "huyen", "quan_huyen", "ten_quan_huyen", "ten_qh"},
	"commune_code":  {"commune_code", "ward_code", "ma_xa", "ma_px", "ma_phuong_xa", "ma_xa_phuong"},
	"commune_name":  {"commune_name", "commune", "ward_name", "ten_xa", "xa", "phuong_xa", "ten_phuong_xa", "xa_phuong", "ten_xa_phuong", "ten_px"},
	"village_code":  {"village_code", "ma_thon", "ma_thon_to", "ma_thon_to_dan_pho"},
	"village_name":  {"village_name", "village", "ten_thon", "thon", "thon_to_dan_pho", "ten_thon_to_dan_pho", "ten_thon_to", "thon_to"},
	"level":         {"level", "type", "cap", "loai", "cap_hanh_chinh"},
	"population":    {"population", "dan_so", "so_dan", "tong_dan_so"},
	"adults":        {"adults", "nguoi_truong_thanh", "so_nguoi_truong_thanh", "dan_so_truong_thanh", "tu_18_tuoi", "dan_so_tu_18_tuoi"},
	"working_age":   {"working_age", "do_tuoi_lao_dong", "dan_so_do_tuoi_lao_dong", "trong_do_tuoi_lao_dong", "so_nguoi_trong_do_tuoi_lao_dong"},
	"households":    {"households", "so_ho", "ho", "ho_gia_dinh", "so_ho_gia_dinh"},
	"valid_from":    {"valid_from", "hieu_luc_tu", "ngay_hieu_luc", "tu_ngay"},
	"valid_to":      {"valid_to", "hieu_luc_den", "het_hieu_luc", "den_ngay"},
}

// slot is one unit column pair of a row, top down.
type slot struct {
	level      string
	code, name string // canonical column names
	codeDigits int    // official code width (leading zeros lost in a spreadsheet are restored); 0: free-form
	kinds      map[string]string
}

var areaSlots = []slot{
	{"province", "province_code", "province_name", 2, kindMap("province", "tinh", "thanh_pho", "thanh_pho_trung_uong", "thanh_pho_truc_thuoc_trung_uong", "province", "city")},
	{"district", "district_code", "district_name", 3, kindMap("district", "huyen", "quan", "thi_xa", "thanh_pho", "thanh_pho_thuoc_tinh", "district", "town", "city")},
	{"commune", "commune_code", "commune_name", 5, kindMap("commune", "xa", "phuong", "thi_tran", "dac_khu", "commune", "ward", "town", "special_zone")},
	{"village", "village_code", "village_name", 0, mergeKinds(
		kindMap("village", "thon", "ban", "xom", "ap", "lang", "buon", "khom", "soc", "plei", "village", "hamlet"),
		kindMap("residential_group", "to_dan_pho", "khu_pho", "khu_dan_cu", "to", "khu", "residential_group"))},
}

func kindMap(level string, words ...string) map[string]string {
	m := map[string]string{}
	for _, w := range words {
		m[w] = level
	}
	return m
}

func mergeKinds(a, b map[string]string) map[string]string {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// areaUnit is one distinct unit named in the file.
type areaUnit struct {
	key       string // identity in the file: level/code, or parentKey/village/folded name
	parentKey string
	level     string
	code      string
	name      string
	row       int // the row that describes it best (its own row, else its first)
	codeCol   string
	nameCol   string
	// Set only by the row where the unit is the lowest one named.
	own                bool
	figures            [4]int64 // population, adults, working_age, households
	given              [4]bool
	validFrom, validTo string
}

var figureColumns = [4]string{"population", "adults", "working_age", "households"}

// areaFile is a parsed area import, units in first-appearance order
// (parents before children).
type areaFile struct {
	shape   string
	rows    int
	units   []*areaUnit
	ignored []string
}

// parseAreaFile reads and checks a whole file without touching the database.
// Problems come back as an *ImportError.
func parseAreaFile(r io.Reader) (*areaFile, error) {
	t, err := readTable(r)
	if err != nil {
		return nil, err
	}
	errs := &rowErrors{}
	cols := mapColumns(t.header, areaAliases, errs)
	f := &areaFile{shape: "two-level", rows: len(t.rows), ignored: cols.ignored}
	for _, c := range []string{"province_code", "province_name", "commune_code", "commune_name"} {
		if !cols.has(c) {
			errs.add(1, c, "missing column (the header needs %s)", strings.Join(requiredAreaHeaders(), ", "))
		}
	}
	if cols.has("district_code") || cols.has("district_name") {
		f.shape = "three-level"
		for _, c := range []string{"district_code", "district_name"} {
			if !cols.has(c) {
				errs.add(1, c, "missing column: a three-level file needs both district_code and district_name")
			}
		}
	}
	if cols.has("village_code") && !cols.has("village_name") {
		errs.add(1, "village_name", "missing column: village_code needs village_name")
	}
	if len(errs.Rows) > 0 {
		return nil, errs.err()
	}
	byKey := map[string]*areaUnit{}
	for i, rec := range t.rows {
		if errs.full() {
			errs.Truncated = true
			break
		}
		row := t.nums[i]
		if blank(rec) || !cols.checkCells(row, rec, errs) {
			continue
		}
		units := parseAreaRow(row, rec, cols, errs)
		for _, u := range units {
			prev, seen := byKey[u.key]
			if !seen {
				byKey[u.key] = u
				f.units = append(f.units, u)
				continue
			}
			switch {
			case nameKey(prev.name) != nameKey(u.name):
				errs.add(row, u.nameCol, "%s %s is named %q on row %d", u.level, u.code, prev.name, prev.row)
			case prev.parentKey != u.parentKey:
				errs.add(row, u.codeCol, "%s %s is under another unit on row %d", u.level, u.code, prev.row)
			case u.own && prev.own:
				errs.add(row, u.codeCol, "%s %q is already described on row %d", u.level, u.name, prev.row)
			case u.own:
				u.key, u.parentKey = prev.key, prev.parentKey
				*prev = *u
			}
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return f, nil
}

func requiredAreaHeaders() []string {
	return []string{"province_code", "province_name", "[district_code, district_name,] commune_code", "commune_name"}
}

// parseAreaRow turns one row into its units, top down; the lowest carries
// the figures and dates. It returns nil after reporting a problem.
func parseAreaRow(row int, rec []string, cols *columns, errs *rowErrors) []*areaUnit {
	before := len(errs.Rows)
	var units []*areaUnit
	parentKey := ""
	for _, sl := range areaSlots {
		if !cols.has(sl.name) {
			continue
		}
		code, name := cols.get(rec, sl.code), cleanName(cols.get(rec, sl.name))
		codeCol, nameCol := cols.name(sl.code), cols.name(sl.name)
		if code == "" && name == "" {
			if sl.level == "province" || sl.level == "commune" && cols.get(rec, "village_name") != "" {
				errs.add(row, nameCol, "missing %s", sl.level)
				return nil
			}
			continue // no district (three-level rows may skip it), or no village
		}
		if name == "" {
			errs.add(row, nameCol, "missing %s name", sl.level)
		} else if n := utf8.RuneCountInString(name); n > 200 {
			errs.add(row, nameCol, "name longer than 200 characters")
		}
		if sl.codeDigits > 0 {
			if c, ok := officialCode(code, sl.codeDigits); !ok {
				errs.add(row, codeCol, "%s code %q must be digits (%d of them)", sl.level, code, sl.codeDigits)
			} else {
				code = c
			}
		} else if len(code) > 20 || strings.ContainsAny(code, " \t/") {
			errs.add(row, codeCol, "code %q must be at most 20 characters without spaces or /", code)
		}
		u := &areaUnit{level: sl.level, code: code, name: name, row: row, codeCol: codeCol, nameCol: nameCol, parentKey: parentKey}
		if code != "" {
			u.key = sl.level + "/" + code
		} else {
			u.key = parentKey + "/village/" + nameKey(name)
		}
		parentKey = u.key
		units = append(units, u)
	}
	if len(errs.Rows) > before || len(units) == 0 {
		return nil
	}
	own := units[len(units)-1]
	own.own = true
	if k := cols.get(rec, "level"); k != "" {
		sl := areaSlots[levelRank[own.level]-1]
		lvl, ok := sl.kinds[fold(k)]
		if !ok {
			errs.add(row, cols.name("level"), "%q is not a kind of %s", k, own.level)
		} else {
			own.level = lvl // village or residential_group
		}
	}
	for i, c := range figureColumns {
		n, given, err := parseCount(cols.get(rec, c))
		if err != nil {
			errs.add(row, cols.name(c), "%v", err)
		}
		own.figures[i], own.given[i] = n, given
	}
	if own.given[0] {
		for i := 1; i < 4; i++ {
			if own.given[i] && own.figures[i] > own.figures[0] {
				errs.add(row, cols.name(figureColumns[i]), "%d is more than the population %d", own.figures[i], own.figures[0])
			}
		}
	}
	var err error
	if own.validFrom, err = parseDate(cols.get(rec, "valid_from")); err != nil {
		errs.add(row, cols.name("valid_from"), "%v", err)
	}
	if own.validTo, err = parseDate(cols.get(rec, "valid_to")); err != nil {
		errs.add(row, cols.name("valid_to"), "%v", err)
	}
	if own.validFrom != "" && own.validTo != "" && own.validTo < own.validFrom {
		errs.add(row, cols.name("valid_to"), "ends before it starts (%s)", own.validFrom)
	}
	if len(errs.Rows) > before {
		return nil
	}
	return units
}

// officialCode checks a numeric code and restores leading zeros a
// spreadsheet dropped ("1" → "01" for a province).
func officialCode(code string, width int) (string, bool) {
	if code == "" || len(code) > width {
		return "", false
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return strings.Repeat("0", width-len(code)) + code, true
}

// ImportAreas imports an official unit list (see the comment at the top of
// this file). A file with problems returns an *ImportError and changes
// nothing.
func (s *Store) ImportAreas(ctx context.Context, a Actor, r io.Reader, opt ImportOptions) (*AreaImport, error) {
	if !a.IsAdmin() && a.Role != RoleCoordinator {
		return nil, fmt.Errorf("import areas: %w", ErrForbidden)
	}
	f, err := parseAreaFile(r)
	if err != nil {
		return nil, err
	}
	sum := &AreaImport{Shape: f.shape, Rows: f.rows, Levels: map[string]ImportCounts{}, Ignored: f.ignored}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		errs := &rowErrors{}
		ids := map[string]*Area{} // by unit key; absent when the unit failed
		children := map[int64][]*Area{}
		for i, u := range f.units {
			if opt.Progress != nil && i%500 == 0 {
				opt.Progress(i, len(f.units))
			}
			var parent *Area
			if u.parentKey != "" {
				if parent = ids[u.parentKey]; parent == nil {
					continue // its parent failed and was reported
				}
			}
			ar, outcome, err := s.importArea(ctx, tx, a, u, parent, children)
			var re *RowError
			if errors.As(err, &re) {
				errs.add(re.Row, re.Column, "%s", re.Reason)
				if errs.full() {
					break
				}
				continue
			} else if err != nil {
				return err
			}
			ids[u.key] = ar
			c := sum.Levels[ar.Level]
			switch outcome {
			case "created":
				c.Created++
			case "updated":
				c.Updated++
			default:
				c.Unchanged++
			}
			sum.Levels[ar.Level] = c
		}
		if opt.Progress != nil {
			opt.Progress(len(f.units), len(f.units))
		}
		return errs.err()
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

func (e *RowError) Error() string { return fmt.Sprintf("row %d, %s: %s", e.Row, e.Column, e.Reason) }

// importArea creates or updates one unit under parent (nil for a province)
// and says which it did. A problem with the row comes back as a *RowError.
func (s *Store) importArea(ctx context.Context, tx *sql.Tx, a Actor, u *areaUnit, parent *Area, children map[int64][]*Area) (*Area, string, error) {
	rowErr := func(col, format string, args ...any) (*Area, string, error) {
		return nil, "", &RowError{Row: u.row, Column: col, Reason: fmt.Sprintf(format, args...)}
	}
	var parentID int64
	if parent != nil {
		parentID = parent.ID
	}
	cur, err := s.findImportedArea(ctx, tx, u, parentID, children)
	if err != nil {
		return nil, "", err
	}
	if cur == nil {
		n := NewArea{ParentID: parentID, Level: u.level, Name: u.name, Code: u.code, ValidFrom: u.validFrom, ValidTo: u.validTo,
			Population: u.figures[0], Adults: u.figures[1], WorkingAge: u.figures[2], Households: u.figures[3]}
		id, err := s.insertArea(ctx, tx, a, n)
		switch {
		case errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotFound):
			return rowErr(u.nameCol, "outside your area: you may add units only below your own")
		case errors.Is(err, ErrInvalid) || errors.Is(err, ErrConflict):
			return rowErr(u.nameCol, "%s", strings.TrimSuffix(err.Error(), ": "+ErrInvalid.Error()))
		case err != nil:
			return nil, "", err
		}
		ar, err := scanArea(tx.QueryRowContext(ctx, `SELECT `+areaColumns+` FROM areas WHERE id = ?`, id))
		if err != nil {
			return nil, "", fmt.Errorf("import area %d: %w", id, err)
		}
		if parent != nil {
			children[parent.ID] = append(children[parent.ID], ar)
		}
		return ar, "created", nil
	}
	if cur.ParentID != parentID {
		return rowErr(u.codeCol, "%s %s already exists under another unit (area %d); an import does not move units", u.level, u.code, cur.ParentID)
	}
	if cur.Level != u.level {
		return rowErr(u.nameCol, "%q already exists as a %s", u.name, cur.Level)
	}
	p := AreaPatch{}
	changed := false
	if cur.Name != u.name {
		p.Name, changed = &u.name, true
	}
	if u.own {
		for i, fig := range []*int64{&cur.Population, &cur.Adults, &cur.WorkingAge, &cur.Households} {
			if u.given[i] && *fig != u.figures[i] {
				changed = true
				switch i {
				case 0:
					p.Population = &u.figures[0]
				case 1:
					p.Adults = &u.figures[1]
				case 2:
					p.WorkingAge = &u.figures[2]
				case 3:
					p.Households = &u.figures[3]
				}
			}
		}
		if u.validFrom != "" && u.validFrom != cur.ValidFrom {
			p.ValidFrom, changed = &u.validFrom, true
		}
		if u.validTo != "" && u.validTo != cur.ValidTo {
			p.ValidTo, changed = &u.validTo, true
		}
	}
	if !changed {
		if !a.CanSeeArea(cur.Path) && !strings.HasPrefix(a.AreaPath, cur.Path) {
			return rowErr(u.nameCol, "outside your area")
		}
		return cur, "unchanged", nil
	}
	if !a.CanManageArea(cur.Path) {
		return rowErr(u.nameCol, "outside your area: you may change only units below your own")
	}
	if err := s.writeArea(ctx, tx, a, cur, p); errors.Is(err, ErrInvalid) {
		return rowErr(u.nameCol, "%s", strings.TrimSuffix(err.Error(), ": "+ErrInvalid.Error()))
	} else if err != nil {
		return nil, "", err
	}
	return cur, "updated", nil
}

// findImportedArea finds the existing area a unit of the file stands for:
// by level and code, or for a village without a code by name under its
// commune. nil when there is none.
func (s *Store) findImportedArea(ctx context.Context, tx *sql.Tx, u *areaUnit, parentID int64, children map[int64][]*Area) (*Area, error) {
	if u.code != "" {
		cur, err := scanArea(tx.QueryRowContext(ctx, `SELECT `+areaColumns+` FROM areas WHERE level = ? AND code = ?`, u.level, u.code))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		} else if err != nil {
			return nil, fmt.Errorf("import area %s %s: %w", u.level, u.code, err)
		}
		return cur, nil
	}
	kids, ok := children[parentID]
	if !ok {
		rows, err := tx.QueryContext(ctx, `SELECT `+areaColumns+` FROM areas WHERE parent_id = ? AND level IN ('village', 'residential_group')`, parentID)
		if err != nil {
			return nil, fmt.Errorf("import area: villages of %d: %w", parentID, err)
		}
		defer rows.Close()
		for rows.Next() {
			ar, err := scanArea(rows)
			if err != nil {
				return nil, fmt.Errorf("import area: villages of %d: %w", parentID, err)
			}
			kids = append(kids, ar)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		children[parentID] = kids
	}
	for _, k := range kids {
		if k.Code == "" && nameKey(k.Name) == nameKey(u.name) {
			return k, nil
		}
	}
	return nil, nil
}
