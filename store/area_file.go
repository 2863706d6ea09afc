package store

import (
	"io"
	"strings"
	"unicode/utf8"
)

// The area file: reading and checking an official unit list (see
// import_areas.go) without touching the database.

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
			h := strings.Join(requiredAreaHeaders(), ", ")
			errs.add(1, c, say("missing column (the header needs %s)", "thiếu cột (dòng tiêu đề cần có %s)", h))
		}
	}
	if cols.has("district_code") || cols.has("district_name") {
		f.shape = "three-level"
		for _, c := range []string{"district_code", "district_name"} {
			if !cols.has(c) {
				errs.add(1, c, say("missing column: a three-level file needs both district_code and district_name",
					"thiếu cột: tệp ba cấp cần cả district_code và district_name"))
			}
		}
	}
	if cols.has("village_code") && !cols.has("village_name") {
		errs.add(1, "village_name", say("missing column: village_code needs village_name", "thiếu cột: village_code cần đi kèm village_name"))
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
				errs.add(row, u.nameCol, say("%s %s is named %q on row %d", "%s %s có tên %q ở dòng %d", levelTerm(u.level), u.code, prev.name, prev.row))
			case prev.parentKey != u.parentKey:
				errs.add(row, u.codeCol, say("%s %s is under another unit on row %d", "%s %s thuộc đơn vị khác ở dòng %d", levelTerm(u.level), u.code, prev.row))
			case u.own && prev.own:
				errs.add(row, u.codeCol, say("%s %q is already described on row %d", "%s %q đã có ở dòng %d", levelTerm(u.level), u.name, prev.row))
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
				errs.add(row, nameCol, say("missing %s", "thiếu %s", levelTerm(sl.level)))
				return nil
			}
			continue // no district (three-level rows may skip it), or no village
		}
		if name == "" {
			errs.add(row, nameCol, say("missing %s name", "thiếu tên %s", levelTerm(sl.level)))
		} else if n := utf8.RuneCountInString(name); n > 200 {
			errs.add(row, nameCol, say("name longer than 200 characters", "tên dài quá 200 ký tự"))
		}
		if sl.codeDigits > 0 {
			if c, ok := officialCode(code, sl.codeDigits); !ok {
				errs.add(row, codeCol, say("%s code %q must be digits (%d of them)", "mã %s %q phải gồm %d chữ số", levelTerm(sl.level), code, sl.codeDigits))
			} else {
				code = c
			}
		} else if !ValidAreaCode(code) {
			errs.add(row, codeCol, say("code %q must be 1 to 20 digits", "mã %q phải gồm 1 đến 20 chữ số", code))
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
			errs.add(row, cols.name("level"), say("%q is not a kind of %s", "%q không phải một loại %s", k, levelTerm(own.level)))
		} else {
			own.level = lvl // village or residential_group
		}
	}
	for i, c := range figureColumns {
		n, given, bad := parseCount(cols.get(rec, c))
		if bad != nil {
			errs.add(row, cols.name(c), *bad)
		}
		own.figures[i], own.given[i] = n, given
	}
	if own.given[0] {
		for i := 1; i < 4; i++ {
			if own.given[i] && own.figures[i] > own.figures[0] {
				errs.add(row, cols.name(figureColumns[i]), say("%d is more than the population %d", "%d lớn hơn dân số %d", own.figures[i], own.figures[0]))
			}
		}
	}
	var bad *msg
	if own.validFrom, bad = parseDate(cols.get(rec, "valid_from")); bad != nil {
		errs.add(row, cols.name("valid_from"), *bad)
	}
	if own.validTo, bad = parseDate(cols.get(rec, "valid_to")); bad != nil {
		errs.add(row, cols.name("valid_to"), *bad)
	}
	if own.validFrom != "" && own.validTo != "" && own.validTo < own.validFrom {
		errs.add(row, cols.name("valid_to"), say("ends before it starts (%s)", "kết thúc trước ngày bắt đầu (%s)", own.validFrom))
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
