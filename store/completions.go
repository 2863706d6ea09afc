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

// Bình dân học vụ số completions: the national digital-literacy courses
// are taken on a separate platform, whose exports list who finished which
// course, when, in which commune. The import takes such a file, CSV or
// XLSX, one completion a row:
//
//	course, completed_on, commune_code or commune_name, citizen_id_number
//
// with Vietnamese headers accepted ("Khóa học", "Ngày hoàn thành", "Mã xã",
// "Tên xã", "Số CCCD"/"Số định danh"). The ID number becomes the citizen
// ref with the deployment's key, exactly as a pushed log's does, so a
// completion links to the citizens the teams helped; the number is never
// stored, logged or repeated in an error. The whole file is one
// transaction: any bad row and nothing is imported. A citizen and course
// already imported keeps its earliest day (and that day's commune).
//
// Authorization: admins anywhere; coordinators for communes in their
// subtree, their own included (the figures are about their area, not a
// change to it).

// CompletionImport summarizes an import.
type CompletionImport struct {
	Rows                        int
	Created, Updated, Unchanged int
	Ignored                     []string
}

var completionAliases = map[string][]string{
	"course":       {"course", "course_name", "khoa_hoc", "ten_khoa_hoc", "khoa", "ma_khoa_hoc"},
	"completed_on": {"completed_on", "completion_date", "date", "ngay_hoan_thanh", "ngay", "ngay_cap_chung_nhan", "ngay_hoan_thanh_khoa_hoc"},
	"commune_code": {"commune_code", "ward_code", "ma_xa", "ma_phuong_xa", "ma_xa_phuong", "ma_px"},
	"commune_name": {"commune_name", "ward_name", "ten_xa", "xa", "xa_phuong", "ten_xa_phuong", "phuong_xa", "ten_phuong_xa"},
	"citizen_id_number": {"citizen_id_number", "id_number", "so_cccd", "cccd", "so_dinh_danh", "ma_dinh_danh", "so_can_cuoc",
		"can_cuoc", "so_dinh_danh_ca_nhan", "can_cuoc_cong_dan"},
}

// completionRow is one checked row.
type completionRow struct {
	row    int
	ref    string
	course string
	day    string
	area   int64
}

// ImportCompletions imports a file of completions (see above). A file with
// problems returns an *ImportError and changes nothing.
func (s *Store) ImportCompletions(ctx context.Context, a Actor, r io.Reader, opt ImportOptions) (*CompletionImport, error) {
	if !a.IsAdmin() && a.Role != RoleCoordinator {
		return nil, fmt.Errorf("import completions: %w", ErrForbidden)
	}
	t, err := readTable(r)
	if err != nil {
		return nil, err
	}
	errs := &rowErrors{}
	cols := mapColumns(t.header, completionAliases, errs)
	for _, c := range []string{"course", "completed_on", "citizen_id_number"} {
		if !cols.has(c) {
			errs.add(1, c, say("missing column (the header needs course, completed_on, commune_code or commune_name, citizen_id_number)",
				"thiếu cột (dòng tiêu đề cần khóa học, ngày hoàn thành, mã xã hoặc tên xã, số CCCD)"))
		}
	}
	if !cols.has("commune_code") && !cols.has("commune_name") {
		errs.add(1, "commune_code", say("missing column: commune_code or commune_name", "thiếu cột: mã xã hoặc tên xã"))
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	rows, err := s.checkCompletions(ctx, a, t, cols, errs, opt.Progress)
	if err != nil {
		return nil, err
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	sum := &CompletionImport{Rows: len(rows), Ignored: cols.ignored}
	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var importID int64
		err := tx.QueryRowContext(ctx, `INSERT INTO completion_imports (user_id, imported_at, rows, created, updated, unchanged)
			VALUES (?, ?, ?, 0, 0, 0) RETURNING id`, nullInt(a.UserID), ts(s.now()), len(rows)).Scan(&importID)
		if err != nil {
			return fmt.Errorf("import completions: %w", err)
		}
		for _, c := range rows {
			var day string
			err := tx.QueryRowContext(ctx, `SELECT completed_on FROM course_completions WHERE citizen_ref = ? AND course = ?`,
				c.ref, c.course).Scan(&day)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				_, err = tx.ExecContext(ctx, `INSERT INTO course_completions (citizen_ref, course, completed_on, area_id, import_id)
					VALUES (?, ?, ?, ?, ?)`, c.ref, c.course, c.day, c.area, importID)
				sum.Created++
			case err != nil:
			case c.day < day: // an earlier completion: its day and commune win
				_, err = tx.ExecContext(ctx, `UPDATE course_completions SET completed_on = ?, area_id = ?, import_id = ?
					WHERE citizen_ref = ? AND course = ?`, c.day, c.area, importID, c.ref, c.course)
				sum.Updated++
			default:
				sum.Unchanged++
			}
			if err != nil {
				return fmt.Errorf("import completions: %w", checkErr(err))
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE completion_imports SET created = ?, updated = ?, unchanged = ? WHERE id = ?`,
			sum.Created, sum.Updated, sum.Unchanged, importID); err != nil {
			return fmt.Errorf("import completions: %w", err)
		}
		return s.audit(ctx, tx, a, 0, "import", "import", "completions", map[string]any{"rows": sum.Rows,
			"created": sum.Created, "updated": sum.Updated, "unchanged": sum.Unchanged})
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// checkCompletions parses and checks every row against the database (read
// pool) and the policy.
func (s *Store) checkCompletions(ctx context.Context, a Actor, t *table, cols *columns, errs *rowErrors, progress func(int, int)) ([]completionRow, error) {
	var out []completionRow
	seen := map[[2]string]int{}
	communes := map[string]*communeLookup{}
	today := Today(s.now())
	for i, rec := range t.rows {
		if progress != nil && i%1000 == 0 {
			progress(i, len(t.rows))
		}
		if errs.full() {
			errs.Truncated = true
			break
		}
		row := t.nums[i]
		if blank(rec) || !cols.checkCells(row, rec, errs) {
			continue
		}
		before := len(errs.Rows)
		c := completionRow{row: row, course: cleanName(cols.get(rec, "course"))}
		if n := utf8.RuneCountInString(c.course); n == 0 || n > 200 {
			errs.add(row, cols.name("course"), say("a course name of 1 to 200 characters is required", "cần tên khóa học từ 1 đến 200 ký tự"))
		}
		day, bad := parseDate(cols.get(rec, "completed_on"))
		switch {
		case bad != nil:
			errs.add(row, cols.name("completed_on"), *bad)
		case day == "":
			errs.add(row, cols.name("completed_on"), say("the day the course was completed is required", "cần ngày hoàn thành khóa học"))
		case day > today:
			errs.add(row, cols.name("completed_on"), say("%s is in the future", "%s là ngày trong tương lai", day))
		case day < "2020-01-01":
			errs.add(row, cols.name("completed_on"), say("%s is before 2020", "%s trước năm 2020", day))
		}
		c.day = day
		// The raw number is never repeated: the reason names the column only.
		num := strings.ReplaceAll(strings.ReplaceAll(cols.get(rec, "citizen_id_number"), " ", ""), ".", "")
		if len(num) != 12 || strings.Trim(num, "0123456789") != "" {
			errs.add(row, cols.name("citizen_id_number"), say("an ID number (CCCD) must be 12 digits", "số CCCD/định danh phải gồm 12 chữ số"))
		} else {
			c.ref = s.citizenRef("id", num)
		}
		code, name := cols.get(rec, "commune_code"), cleanName(cols.get(rec, "commune_name"))
		key, col := "code:"+code, cols.name("commune_code")
		if code == "" {
			key, col = "name:"+nameKey(name), cols.name("commune_name")
		}
		lk := communes[key]
		if lk == nil {
			var err error
			if lk, err = s.lookupCommune(ctx, a, code, name); err != nil {
				return nil, err
			}
			communes[key] = lk
		}
		if lk.problem != nil {
			errs.add(row, col, *lk.problem)
		}
		c.area = lk.id
		if len(errs.Rows) > before {
			continue
		}
		k := [2]string{c.ref, c.course}
		if first, dup := seen[k]; dup {
			errs.add(row, cols.name("citizen_id_number"), say("the same citizen and course as row %d", "trùng người và khóa học với dòng %d", first))
			continue
		}
		seen[k] = row
		out = append(out, c)
	}
	return out, nil
}

// communeLookup is a commune cell resolved: its id or the problem.
type communeLookup struct {
	id      int64
	problem *msg
}

// lookupCommune finds the commune by official code (leading zeros a
// spreadsheet dropped are restored) or by name within the importer's
// reach, and checks the importer may report on it.
func (s *Store) lookupCommune(ctx context.Context, a Actor, code, name string) (*communeLookup, error) {
	fail := func(m msg) (*communeLookup, error) { return &communeLookup{problem: &m}, nil }
	var (
		rows *sql.Rows
		err  error
	)
	switch {
	case code != "":
		c, ok := officialCode(code, 5)
		if !ok {
			return fail(say("commune code %q must be 5 digits", "mã xã %q phải gồm 5 chữ số", code))
		}
		rows, err = s.read.QueryContext(ctx, `SELECT id, path FROM areas WHERE level = 'commune' AND code = ?`, c)
	case name != "":
		rows, err = s.read.QueryContext(ctx, `SELECT id, path FROM areas WHERE level = 'commune' AND lower(name) = lower(?)`, name)
	default:
		return fail(say("the commune (code or name) is required", "cần mã xã hoặc tên xã"))
	}
	if err != nil {
		return nil, fmt.Errorf("import completions: %w", err)
	}
	defer rows.Close()
	var found []int64
	outside := false
	for rows.Next() {
		var id int64
		var path string
		if err := rows.Scan(&id, &path); err != nil {
			return nil, fmt.Errorf("import completions: %w", err)
		}
		if a.CanReadReports(path) {
			found = append(found, id)
		} else {
			outside = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("import completions: %w", err)
	}
	switch {
	case len(found) == 1:
		return &communeLookup{id: found[0]}, nil
	case len(found) > 1:
		return fail(say("several communes are named %q: give the commune code", "có nhiều xã tên %q: hãy ghi mã xã", name))
	case outside:
		return fail(outsideArea)
	case code != "":
		return fail(say("no commune has code %q", "không có xã mã %q", code))
	}
	return fail(say("no commune is named %q", "không có xã tên %q", name))
}

// Completions are the Bình dân học vụ số figures of an area over a
// period: completions recorded in the area's communes, those of citizens
// the teams helped (a live assistance log with the same citizen ref, any
// team, any day), and the distinct citizens behind each.
type Completions struct {
	Completions       int
	Helped            int // completions by citizens the teams helped
	Completers        int // distinct citizens
	HelpedCompleters  int // distinct citizens the teams helped
	CitizensHelped    float64
	HelpedToCompleted float64 // HelpedCompleters / the citizens helped in the area and period (Report.Totals.Citizens), 0 without any
}

// CompletionFigures computes an area's completions over [from, to] for an
// actor who may read its reports (members and leads: their team's area).
// citizensHelped is the report's unique citizens helped over the same area
// and period, the denominator of the share.
func (s *Store) CompletionFigures(ctx context.Context, a Actor, areaID int64, from, to string, citizensHelped float64) (*Completions, error) {
	if err := validPeriod(from, to); err != nil {
		return nil, err
	}
	ar, err := s.reportArea(ctx, a, areaID)
	if err != nil {
		return nil, err
	}
	lo, hi := subtreeRange(ar.Path)
	var c Completions
	err = s.read.QueryRowContext(ctx, `SELECT count(*), COALESCE(sum(h), 0), count(DISTINCT ref),
			count(DISTINCT CASE WHEN h = 1 THEN ref END)
		FROM (SELECT c.citizen_ref AS ref,
				CASE WHEN EXISTS (SELECT 1 FROM assistance_logs l WHERE l.citizen_ref = c.citizen_ref AND l.deleted = 0) THEN 1 ELSE 0 END AS h
			FROM areas a JOIN course_completions c ON c.area_id = a.id
			WHERE a.path >= ? AND a.path < ? AND c.completed_on BETWEEN ? AND ?) x`, lo, hi, from, to).
		Scan(&c.Completions, &c.Helped, &c.Completers, &c.HelpedCompleters)
	if err != nil {
		return nil, fmt.Errorf("completions: %w", err)
	}
	c.CitizensHelped = citizensHelped
	if citizensHelped > 0 {
		c.HelpedToCompleted = float64(c.HelpedCompleters) / citizensHelped
	}
	return &c, nil
}
