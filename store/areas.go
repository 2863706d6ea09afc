package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Area levels, from the top. Villages and residential groups are the same
// rank (thôn/bản vs tổ dân phố), both under a commune.
var levelRank = map[string]int{
	"province": 1, "district": 2, "commune": 3, "village": 4, "residential_group": 4,
}

// ValidLevel reports whether level is a known area level.
func ValidLevel(level string) bool { _, ok := levelRank[level]; return ok }

// Area is a node of the administrative tree.
type Area struct {
	ID         int64
	ParentID   int64 // 0 for a root
	Path       string
	Depth      int
	Level      string
	Name       string
	Code       string
	ValidFrom  string // YYYY-MM-DD or ""
	ValidTo    string
	Population int64
	Adults     int64
	WorkingAge int64
	Households int64
	Version    int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// NewArea is what creating an area takes.
type NewArea struct {
	ParentID   int64
	Level      string
	Name       string
	Code       string
	ValidFrom  string
	ValidTo    string
	Population int64
	Adults     int64
	WorkingAge int64
	Households int64
}

// AreaPatch changes the fields that are set.
type AreaPatch struct {
	Name       *string
	Code       *string
	ValidFrom  *string
	ValidTo    *string
	Population *int64
	Adults     *int64
	WorkingAge *int64
	Households *int64
}

const areaColumns = `id, COALESCE(parent_id, 0), path, depth, level, name, COALESCE(code, ''),
	COALESCE(valid_from, ''), COALESCE(valid_to, ''), population, adults, working_age, households,
	version, created_at, updated_at`

func scanArea(sc interface{ Scan(...any) error }) (*Area, error) {
	var a Area
	var created, updated string
	err := sc.Scan(&a.ID, &a.ParentID, &a.Path, &a.Depth, &a.Level, &a.Name, &a.Code,
		&a.ValidFrom, &a.ValidTo, &a.Population, &a.Adults, &a.WorkingAge, &a.Households,
		&a.Version, &created, &updated)
	if err != nil {
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt = parseTS(created), parseTS(updated)
	return &a, nil
}

// Area returns the area with the given id if the actor may see it; an area
// outside the actor's reach is reported as not found.
func (s *Store) Area(ctx context.Context, a Actor, id int64) (*Area, error) {
	ar, err := scanArea(s.read.QueryRowContext(ctx, `SELECT `+areaColumns+` FROM areas WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !a.CanSeeArea(ar.Path)) {
		return nil, fmt.Errorf("area %d: %w", id, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("area %d: %w", id, err)
	}
	return ar, nil
}

// AreaFilter narrows Areas. Zero values mean no filter.
type AreaFilter struct {
	ParentID int64
	Level    string
	Code     string
	Query    string // substring of the name (case and diacritics folded, see Fold)
	Under    int64  // only this area's subtree (itself included)
	After    int64  // keyset pagination: ids greater than this
	Limit    int
}

// Areas lists the areas the actor may see, by id, filtered.
func (s *Store) Areas(ctx context.Context, a Actor, f AreaFilter) ([]Area, error) {
	limit := clampLimit(f.Limit)
	var (
		where []string
		args  []any
	)
	if a.InTeamRole() {
		// Team members see their team's area and its ancestors.
		ids := pathIDs(a.AreaPath)
		where = append(where, "id IN ("+placeholders(len(ids))+")")
		for _, id := range ids {
			args = append(args, id)
		}
	} else {
		lo, hi := subtreeRange(a.listRoot())
		where = append(where, "path >= ? AND path < ?")
		args = append(args, lo, hi)
	}
	if f.Under != 0 {
		ar, err := s.Area(ctx, a, f.Under)
		if err != nil {
			return nil, err
		}
		lo, hi := subtreeRange(ar.Path)
		where = append(where, "path >= ? AND path < ?")
		args = append(args, lo, hi)
	}
	if f.ParentID != 0 {
		where = append(where, "parent_id = ?")
		args = append(args, f.ParentID)
	}
	if f.Level != "" {
		where = append(where, "level = ?")
		args = append(args, f.Level)
	}
	if f.Code != "" {
		where = append(where, "code = ?")
		args = append(args, f.Code)
	}
	if f.Query != "" {
		where = append(where, "instr(name_fold, ?) > 0")
		args = append(args, Fold(f.Query))
	}
	where = append(where, "id > ?")
	args = append(args, f.After, limit)
	rows, err := s.read.QueryContext(ctx, `SELECT `+areaColumns+` FROM areas WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("areas: %w", err)
	}
	defer rows.Close()
	out := []Area{}
	for rows.Next() {
		ar, err := scanArea(rows)
		if err != nil {
			return nil, fmt.Errorf("areas: %w", err)
		}
		out = append(out, *ar)
	}
	return out, rows.Err()
}

// InTeamRole reports whether the actor is a member or team lead.
func (a Actor) InTeamRole() bool { return a.Role.InTeam() }

// pathIDs splits "/1/7/42/" into [1 7 42].
func pathIDs(path string) []int64 {
	var ids []int64
	for _, p := range strings.Split(strings.Trim(path, "/"), "/") {
		if id, err := strconv.ParseInt(p, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

func placeholders(n int) string {
	if n == 0 {
		return "NULL"
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// MaxPageSize caps every list.
const MaxPageSize = 500

func clampLimit(n int) int {
	if n <= 0 {
		return 100
	}
	return min(n, MaxPageSize)
}

// ValidAreaCode reports whether code may be an area's code: empty, or 1 to
// 20 digits. Official codes (GSO) are digits; a code is an identifier, never
// text, so nothing that starts like a spreadsheet formula can be one.
func ValidAreaCode(code string) bool {
	if len(code) > 20 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

func checkAreaCode(code string) error {
	if !ValidAreaCode(code) {
		return fmt.Errorf("an area code must be 1 to 20 digits: %w", ErrInvalid)
	}
	return nil
}

// CreateArea adds an area under ParentID (a root must be a province).
func (s *Store) CreateArea(ctx context.Context, a Actor, n NewArea) (*Area, error) {
	var id int64
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		id, err = s.insertArea(ctx, tx, a, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Area(ctx, System, id)
}

// insertArea checks and inserts one area inside tx; imports share it.
func (s *Store) insertArea(ctx context.Context, tx *sql.Tx, a Actor, n NewArea) (int64, error) {
	rank, ok := levelRank[n.Level]
	if !ok {
		return 0, fmt.Errorf("area level %q: %w", n.Level, ErrInvalid)
	}
	if err := checkAreaCode(n.Code); err != nil {
		return 0, err
	}
	parentPath, depth := "/", 0
	if n.ParentID == 0 {
		if !a.IsAdmin() {
			return 0, fmt.Errorf("create root area: %w", ErrForbidden)
		}
		if n.Level != "province" {
			return 0, fmt.Errorf("a root area must be a province, not %s: %w", n.Level, ErrInvalid)
		}
	} else {
		var parentLevel string
		err := tx.QueryRowContext(ctx, `SELECT path, depth, level FROM areas WHERE id = ?`, n.ParentID).
			Scan(&parentPath, &depth, &parentLevel)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("parent area %d: %w", n.ParentID, ErrNotFound)
		} else if err != nil {
			return 0, fmt.Errorf("parent area %d: %w", n.ParentID, err)
		}
		if !a.CanSeeArea(parentPath) {
			return 0, fmt.Errorf("parent area %d: %w", n.ParentID, ErrNotFound)
		}
		// A new child is strictly below the parent, so a coordinator may add
		// under any area of their subtree, their root included. A team
		// member sees their own area and its ancestors, and may not add
		// under them: forbidden, like every change to what they can see.
		if !a.CanManageArea(parentPath + "x/") {
			return 0, fmt.Errorf("create area under %d: %w", n.ParentID, ErrForbidden)
		}
		if levelRank[parentLevel] >= rank {
			return 0, fmt.Errorf("a %s cannot be under a %s: %w", n.Level, parentLevel, ErrInvalid)
		}
		depth++
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM areas`).Scan(&id); err != nil {
		return 0, err
	}
	v, err := nextSeq(ctx, tx)
	if err != nil {
		return 0, err
	}
	now := ts(s.now())
	_, err = tx.ExecContext(ctx, `
		INSERT INTO areas (id, parent_id, path, depth, level, name, name_fold, code, valid_from, valid_to,
			population, adults, working_age, households, version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, nullInt(n.ParentID), parentPath+strconv.FormatInt(id, 10)+"/", depth, n.Level, n.Name, Fold(n.Name),
		nullStr(n.Code), nullStr(n.ValidFrom), nullStr(n.ValidTo),
		n.Population, n.Adults, n.WorkingAge, n.Households, v, now, now)
	if isUnique(err) {
		return 0, fmt.Errorf("a %s with code %s already exists: %w", n.Level, n.Code, ErrConflict)
	} else if err != nil {
		return 0, fmt.Errorf("create area: %w", checkErr(err))
	}
	s.foldEvent(evAreaAdded, id)
	if err := s.audit(ctx, tx, a, 0, "create", "area", id, n); err != nil {
		return 0, err
	}
	return id, nil
}

// UpdateArea changes an area's name, code, validity or population figures.
func (s *Store) UpdateArea(ctx context.Context, a Actor, id int64, p AreaPatch) (*Area, error) {
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		cur, err := scanArea(tx.QueryRowContext(ctx, `SELECT `+areaColumns+` FROM areas WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !a.CanSeeArea(cur.Path)) {
			return fmt.Errorf("area %d: %w", id, ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("area %d: %w", id, err)
		}
		if !a.CanManageArea(cur.Path) {
			return fmt.Errorf("update area %d: %w", id, ErrForbidden)
		}
		return s.writeArea(ctx, tx, a, cur, p)
	})
	if err != nil {
		return nil, err
	}
	return s.Area(ctx, System, id)
}

// writeArea applies p to cur (already checked) inside tx; imports share it.
func (s *Store) writeArea(ctx context.Context, tx *sql.Tx, a Actor, cur *Area, p AreaPatch) error {
	id := cur.ID
	if p.Population != nil || p.Adults != nil || p.WorkingAge != nil || p.Households != nil {
		s.foldEvent(evPopulation, id) // denominators of the area's targets
	}
	set(&cur.Name, p.Name)
	set(&cur.Code, p.Code)
	set(&cur.ValidFrom, p.ValidFrom)
	set(&cur.ValidTo, p.ValidTo)
	set(&cur.Population, p.Population)
	set(&cur.Adults, p.Adults)
	set(&cur.WorkingAge, p.WorkingAge)
	set(&cur.Households, p.Households)
	if p.Code != nil {
		if err := checkAreaCode(*p.Code); err != nil {
			return err
		}
	}
	v, err := nextSeq(ctx, tx)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `
		UPDATE areas SET name = ?, name_fold = ?, code = ?, valid_from = ?, valid_to = ?, population = ?, adults = ?,
			working_age = ?, households = ?, version = ?, updated_at = ?
		WHERE id = ?`,
		cur.Name, Fold(cur.Name), nullStr(cur.Code), nullStr(cur.ValidFrom), nullStr(cur.ValidTo), cur.Population,
		cur.Adults, cur.WorkingAge, cur.Households, v, ts(s.now()), id)
	if isUnique(err) {
		return fmt.Errorf("a %s with code %s already exists: %w", cur.Level, cur.Code, ErrConflict)
	} else if err != nil {
		return fmt.Errorf("update area %d: %w", id, checkErr(err))
	}
	return s.audit(ctx, tx, a, 0, "update", "area", id, p)
}

// Lineage is one edge of a merger or split.
type Lineage struct {
	OldAreaID   int64
	NewAreaID   int64
	Share       float64
	EffectiveOn string
}

// AddLineage records that (a share of) old became new on a date. Admins only.
func (s *Store) AddLineage(ctx context.Context, a Actor, l Lineage) error {
	if !a.IsAdmin() {
		return fmt.Errorf("add lineage: %w", ErrForbidden)
	}
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.insertLineage(ctx, tx, a, l) })
}

// insertLineage records one lineage edge inside tx (admins; checked by the caller).
func (s *Store) insertLineage(ctx context.Context, tx *sql.Tx, a Actor, l Lineage) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO area_lineage (old_area_id, new_area_id, share, effective_on) VALUES (?, ?, ?, ?)
		ON CONFLICT (old_area_id, new_area_id) DO UPDATE SET share = excluded.share, effective_on = excluded.effective_on`,
		l.OldAreaID, l.NewAreaID, l.Share, l.EffectiveOn)
	if isForeignKey(err) {
		return fmt.Errorf("lineage %d → %d: %w", l.OldAreaID, l.NewAreaID, ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("lineage %d → %d: %w", l.OldAreaID, l.NewAreaID, checkErr(err))
	}
	s.foldEvent(evLineage, l.OldAreaID)
	return s.audit(ctx, tx, a, 0, "lineage", "area", l.OldAreaID, l)
}

// AreaLineage lists the lineage edges touching area id (as old or new).
func (s *Store) AreaLineage(ctx context.Context, a Actor, id int64) ([]Lineage, error) {
	if _, err := s.Area(ctx, a, id); err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, `
		SELECT old_area_id, new_area_id, share, effective_on FROM area_lineage
		WHERE old_area_id = ? OR new_area_id = ? ORDER BY effective_on, old_area_id, new_area_id`, id, id)
	if err != nil {
		return nil, fmt.Errorf("lineage %d: %w", id, err)
	}
	defer rows.Close()
	out := []Lineage{}
	for rows.Next() {
		var l Lineage
		if err := rows.Scan(&l.OldAreaID, &l.NewAreaID, &l.Share, &l.EffectiveOn); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
