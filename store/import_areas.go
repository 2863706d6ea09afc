package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
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
	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
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
				errs.add(re.Row, re.Column, msg{re.Reason, re.ReasonVI})
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
		if err := errs.err(); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, 0, "import", "import", "areas", sum)
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// importArea creates or updates one unit under parent (nil for a province)
// and says which it did. A problem with the row comes back as a *RowError.
func (s *Store) importArea(ctx context.Context, tx *sql.Tx, a Actor, u *areaUnit, parent *Area, children map[int64][]*Area) (*Area, string, error) {
	rowErr := func(col string, m msg) (*Area, string, error) {
		return nil, "", &RowError{Row: u.row, Column: col, Reason: m.en, ReasonVI: m.vi}
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
			return rowErr(u.nameCol, say("outside your area: you may add units only below your own",
				"ngoài địa bàn của bạn: chỉ được thêm đơn vị bên dưới địa bàn của mình"))
		case errors.Is(err, ErrInvalid) || errors.Is(err, ErrConflict):
			return rowErr(u.nameCol, storeReason(err))
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
		return rowErr(u.codeCol, say("%s %s already exists under another unit (area %d); an import does not move units",
			"%s %s đã có, thuộc đơn vị khác (khu vực %d); nhập tệp không chuyển đơn vị", levelTerm(u.level), u.code, cur.ParentID))
	}
	if cur.Level != u.level {
		return rowErr(u.nameCol, say("%q already exists as a %s", "%q đã có với cấp %s", u.name, levelTerm(cur.Level)))
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
			return rowErr(u.nameCol, outsideArea)
		}
		return cur, "unchanged", nil
	}
	if !a.CanManageArea(cur.Path) {
		return rowErr(u.nameCol, say("outside your area: you may change only units below your own",
			"ngoài địa bàn của bạn: chỉ được sửa đơn vị bên dưới địa bàn của mình"))
	}
	if err := s.writeArea(ctx, tx, a, cur, p); errors.Is(err, ErrInvalid) {
		return rowErr(u.nameCol, storeReason(err))
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
