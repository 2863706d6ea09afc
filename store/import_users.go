package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Roster import: team members, leads and coordinators from CSV or XLSX
// (first sheet), one user per row:
//
//	phone, name[, role][, team][, area_code][, gender][, password]
//
// with Vietnamese headers accepted ("Số điện thoại", "Họ và tên", "Vai trò",
// "Tổ", "Mã địa bàn", "Giới tính", "Mật khẩu"). role defaults to member.
// team is a team id, or a team name found in the subtree of area_code (or
// among the teams the importer can see). Coordinators need area_code (their
// scope). Phones are normalized (+84, a lost leading 0).
//
// A phone repeated in the file or already registered is a row error; so is
// a row the importer may not manage (the policy's CanManageUser, per row).
// Any error and nothing is imported. A row without a password gets a random
// one, returned in UserImport.Passwords so the coordinator can hand them out
// (they are not stored anywhere else).

// UserImport summarizes a roster import.
type UserImport struct {
	Rows      int
	Created   map[Role]int
	Passwords []IssuedPassword // generated passwords, in file order
	Ignored   []string
}

// IssuedPassword is a password the import generated for one user.
type IssuedPassword struct {
	Row      int
	Phone    string
	Name     string
	Password string
}

var userAliases = map[string][]string{
	"phone":     {"phone", "phone_number", "mobile", "so_dien_thoai", "sdt", "dien_thoai", "so_dt", "dtdd"},
	"name":      {"name", "full_name", "ho_va_ten", "ho_ten", "hoten", "ten"},
	"role":      {"role", "vai_tro", "chuc_vu", "chuc_danh"},
	"team":      {"team", "team_id", "team_name", "to", "ten_to", "to_cnscd", "ma_to", "to_cong_nghe_so"},
	"area_code": {"area_code", "area", "ma_dia_ban", "ma_khu_vuc", "ma_don_vi", "dia_ban", "ma_xa"},
	"gender":    {"gender", "sex", "gioi_tinh"},
	"password":  {"password", "mat_khau"},
}

var roleWords = map[string]Role{
	"": RoleMember, "member": RoleMember, "thanh_vien": RoleMember, "to_vien": RoleMember, "to_pho": RoleMember,
	"team_lead": RoleTeamLead, "lead": RoleTeamLead, "to_truong": RoleTeamLead,
	"coordinator": RoleCoordinator, "dieu_phoi": RoleCoordinator, "dieu_phoi_vien": RoleCoordinator, "can_bo_dieu_phoi": RoleCoordinator,
	"admin": RoleAdmin, "quan_tri": RoleAdmin, "quan_tri_vien": RoleAdmin,
}

var genderWords = map[string]string{
	"": "", "female": "female", "f": "female", "nu": "female",
	"male": "male", "m": "male", "nam": "male",
	"other": "other", "khac": "other",
}

// rosterRow is one checked row, ready to insert.
type rosterRow struct {
	row       int
	user      NewUser
	generated bool
	hash      string
}

// ImportUsers imports a roster (see the comment at the top of this file).
// A file with problems returns an *ImportError and changes nothing.
func (s *Store) ImportUsers(ctx context.Context, a Actor, r io.Reader, opt ImportOptions) (*UserImport, error) {
	t, cols, rows, err := s.parseRoster(ctx, a, r)
	if err != nil {
		return nil, err
	}
	errs := &rowErrors{}
	s.hashRoster(rows, opt.Progress) // slow: before the write transaction
	sum := &UserImport{Rows: len(t.rows), Created: map[Role]int{}, Ignored: cols.ignored}
	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var fe *FieldError
		for _, rr := range rows {
			_, err := s.insertUser(ctx, tx, a, rr.user, rr.hash)
			switch {
			case err == nil:
			case errors.As(err, &fe):
				errs.add(rr.row, cols.name(fe.Field), msg{fe.Reason, fe.ReasonVI})
				continue
			case errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotFound):
				errs.add(rr.row, "", outsideArea)
				continue
			case errors.Is(err, ErrInvalid):
				errs.add(rr.row, "", storeReason(err))
				continue
			default:
				return err
			}
			sum.Created[rr.user.Role]++
			if rr.generated {
				sum.Passwords = append(sum.Passwords, IssuedPassword{Row: rr.row, Phone: rr.user.Phone, Name: rr.user.Name, Password: rr.user.Password})
			}
		}
		if err := errs.err(); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, 0, "import", "import", "users", map[string]any{"rows": sum.Rows, "created": sum.Created})
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// parseRoster reads a roster file and checks every row without writing:
// the rows to insert, or an *ImportError naming every bad row.
func (s *Store) parseRoster(ctx context.Context, a Actor, r io.Reader) (*table, *columns, []*rosterRow, error) {
	if !a.IsAdmin() && a.Role != RoleCoordinator {
		return nil, nil, nil, fmt.Errorf("import users: %w", ErrForbidden)
	}
	t, err := readTable(r)
	if err != nil {
		return nil, nil, nil, err
	}
	errs := &rowErrors{}
	cols := mapColumns(t.header, userAliases, errs)
	for _, c := range []string{"phone", "name"} {
		if !cols.has(c) {
			errs.add(1, c, say("missing column (the header needs at least phone and name)", "thiếu cột (dòng tiêu đề cần ít nhất số điện thoại và họ tên)"))
		}
	}
	if err := errs.err(); err != nil {
		return nil, nil, nil, err
	}
	rows, err := s.checkRoster(ctx, a, t, cols, errs)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := errs.err(); err != nil {
		return nil, nil, nil, err
	}
	return t, cols, rows, nil
}

// checkRoster parses and checks every row against the database (read
// pool) and the policy, so that a bad file is rejected before any password
// is hashed.
func (s *Store) checkRoster(ctx context.Context, a Actor, t *table, cols *columns, errs *rowErrors) ([]*rosterRow, error) {
	var out []*rosterRow
	phones := map[string]int{}
	teams := map[string]teamRef{}
	areas := map[string]areaRef{}
	for i, rec := range t.rows {
		if errs.full() {
			errs.Truncated = true
			break
		}
		row := t.nums[i]
		if blank(rec) || !cols.checkCells(row, rec, errs) {
			continue
		}
		before := len(errs.Rows)
		rr := &rosterRow{row: row}
		u := &rr.user
		phone, err := NormalizePhone(cols.get(rec, "phone"))
		if err != nil {
			errs.add(row, cols.name("phone"), say("phone number must have 10 digits starting with 0 (or +84)",
				"số điện thoại phải có 10 chữ số, bắt đầu bằng 0 (hoặc +84)"))
		} else if first, dup := phones[phone]; dup {
			errs.add(row, cols.name("phone"), say("the same phone as row %d", "trùng số điện thoại với dòng %d", first))
		} else {
			phones[phone] = row
			var one int
			err := s.read.QueryRowContext(ctx, `SELECT 1 FROM users WHERE phone = ?`, phone).Scan(&one)
			if err == nil {
				var fe *FieldError
				if !errors.As(s.phoneTaken(ctx, s.read, a, phone), &fe) {
					return nil, fmt.Errorf("import users: phone of row %d", row)
				}
				errs.add(row, cols.name("phone"), msg{fe.Reason, fe.ReasonVI})
			} else if !errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("import users: %w", err)
			}
		}
		u.Phone = phone
		u.Name = cleanName(cols.get(rec, "name"))
		if n := utf8.RuneCountInString(u.Name); n == 0 || n > 200 {
			errs.add(row, cols.name("name"), say("a name of 1 to 200 characters is required", "cần họ tên từ 1 đến 200 ký tự"))
		}
		role, ok := roleWords[fold(cols.get(rec, "role"))]
		if !ok {
			errs.add(row, cols.name("role"), say("%q is not a role (member, team_lead, coordinator, admin)",
				"%q không phải vai trò (thành viên, tổ trưởng, điều phối, quản trị)", cols.get(rec, "role")))
		}
		u.Role = role
		if u.Gender, ok = genderWords[fold(cols.get(rec, "gender"))]; !ok {
			errs.add(row, cols.name("gender"), say("%q is not a gender (nam, nữ, khác)", "%q không phải giới tính (nam, nữ, khác)", cols.get(rec, "gender")))
		}
		u.Password = cols.get(rec, "password")
		if u.Password == "" {
			u.Password, rr.generated = randomPassword(), true
		} else if err := CheckPassword(u.Password, u.Phone, role); err != nil {
			fe := err.(*FieldError)
			errs.add(row, cols.name("password"), msg{"the password " + fe.Reason, "mật khẩu " + fe.ReasonVI})
		}
		teamCell, areaCode := cols.get(rec, "team"), cols.get(rec, "area_code")
		switch role {
		case RoleMember, RoleTeamLead:
			if teamCell == "" {
				errs.add(row, cols.name("team"), say("a %s needs a team", "%s cần thuộc một tổ", roleTerm(role)))
				break
			}
			ref, err := s.findTeam(ctx, a, teamCell, areaCode, teams, areas)
			if err != nil {
				return nil, err
			}
			if ref.reason.en != "" {
				errs.add(row, cols.name(ref.column), ref.reason)
			}
			u.TeamID = ref.id
		case RoleCoordinator:
			if areaCode == "" {
				errs.add(row, cols.name("area_code"), say("a coordinator needs the code of their area", "điều phối viên cần mã địa bàn"))
				break
			}
			ref, err := s.findAreaByCode(ctx, areaCode, areas)
			if err != nil {
				return nil, err
			}
			if ref.reason.en != "" {
				errs.add(row, cols.name("area_code"), ref.reason)
			}
			u.AreaID = ref.id
		}
		if len(errs.Rows) > before {
			continue
		}
		p, err := s.placeOf(ctx, s.read, a, 0, u.Role, u.TeamID, u.AreaID, 0)
		if err == nil && !a.CanManageUser(p) {
			err = ErrForbidden
		}
		switch {
		case errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotFound):
			col := "area_code"
			switch role {
			case RoleMember, RoleTeamLead:
				col = "team"
			case RoleAdmin:
				col = "role"
			}
			errs.add(row, cols.name(col), outsideArea)
			continue
		case errors.Is(err, ErrInvalid): // e.g. an inactive team given by id
			errs.add(row, "", storeReason(err))
			continue
		case err != nil:
			return nil, err
		}
		out = append(out, rr)
	}
	return out, nil
}

type areaRef struct {
	id     int64
	path   string
	reason msg // why there is no single area
}

type teamRef struct {
	id     int64
	column string
	reason msg // why there is no single team
}

func roleTerm(r Role) term {
	return term{string(r), map[Role]string{RoleMember: "thành viên", RoleTeamLead: "tổ trưởng",
		RoleCoordinator: "điều phối viên", RoleAdmin: "quản trị viên"}[r]}
}

// findAreaByCode finds the one area with an official code (any level).
func (s *Store) findAreaByCode(ctx context.Context, code string, cache map[string]areaRef) (areaRef, error) {
	if ref, ok := cache[code]; ok {
		return ref, nil
	}
	found, err := s.areasWithCode(ctx, []string{code})
	if err == nil && len(found) == 0 {
		// A spreadsheet may have dropped leading zeros: "5710" for commune 05710.
		var padded []string
		for _, w := range []int{2, 3, 5} {
			if c, ok := officialCode(code, w); ok && c != code {
				padded = append(padded, c)
			}
		}
		found, err = s.areasWithCode(ctx, padded)
	}
	if err != nil {
		return areaRef{}, err
	}
	var ref areaRef
	switch len(found) {
	case 0:
		ref.reason = say("no area has the code %q", "không có địa bàn nào mã %q", code)
	case 1:
		ref = found[0]
	default:
		ref.reason = say("several areas have the code %q", "nhiều địa bàn có mã %q", code)
	}
	cache[code] = ref
	return ref, nil
}

func (s *Store) areasWithCode(ctx context.Context, codes []string) ([]areaRef, error) {
	var found []areaRef
	for _, code := range codes {
		rows, err := s.read.QueryContext(ctx, `SELECT id, path FROM areas WHERE code = ? LIMIT 2`, code)
		if err != nil {
			return nil, fmt.Errorf("import users: area %s: %w", code, err)
		}
		for rows.Next() {
			var r areaRef
			if err := rows.Scan(&r.id, &r.path); err != nil {
				rows.Close()
				return nil, err
			}
			found = append(found, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// findTeam resolves a team cell: an id, or a name within the area with
// areaCode (or within what the actor can see).
func (s *Store) findTeam(ctx context.Context, a Actor, cell, areaCode string, cache map[string]teamRef, areas map[string]areaRef) (teamRef, error) {
	key := areaCode + "\x00" + nameKey(cell)
	if ref, ok := cache[key]; ok {
		return ref, nil
	}
	ref := teamRef{column: "team"}
	if id, err := strconv.ParseInt(cell, 10, 64); err == nil && id > 0 {
		// An id: placeOf checks that it exists and is visible.
		ref.id = id
		cache[key] = ref
		return ref, nil
	}
	root := a.listRoot()
	if areaCode != "" {
		ar, err := s.findAreaByCode(ctx, areaCode, areas)
		if err != nil {
			return ref, err
		}
		if ar.reason.en != "" {
			ref.column, ref.reason = "area_code", ar.reason
			cache[key] = ref
			return ref, nil
		}
		root = ar.path
	}
	lo, hi := subtreeRange(root)
	rows, err := s.read.QueryContext(ctx, `
		SELECT t.id, t.name FROM teams t JOIN areas a ON a.id = t.area_id
		WHERE a.path >= ? AND a.path < ? AND t.active = 1`, lo, hi)
	if err != nil {
		return ref, fmt.Errorf("import users: teams: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return ref, err
		}
		if nameKey(name) == nameKey(cell) {
			ids = append(ids, id)
		}
	}
	if err := rows.Err(); err != nil {
		return ref, err
	}
	switch len(ids) {
	case 0:
		ref.reason = say("no active team named %q", "không có tổ đang hoạt động tên %q", cell)
		if areaCode != "" {
			ref.reason = say("no active team named %q in area %s", "không có tổ đang hoạt động tên %q trong địa bàn %s", cell, areaCode)
		}
	case 1:
		ref.id = ids[0]
	default:
		ref.reason = say("%d teams are named %q: give the team id or an area_code", "có %d tổ tên %q: hãy ghi mã số của tổ hoặc mã địa bàn", len(ids), cell)
	}
	cache[key] = ref
	return ref, nil
}

// hashRoster hashes every row's password with as many workers as the
// store has hash slots (hashPassword itself waits for a slot, so logins
// during an import still get theirs in turn).
func (s *Store) hashRoster(rows []*rosterRow, progress func(done, total int)) {
	work := make(chan *rosterRow)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range cap(s.hashSlots) {
		wg.Go(func() {
			for rr := range work {
				rr.hash = s.hashPassword(rr.user.Password)
				if progress != nil {
					mu.Lock()
					done++
					if done%50 == 0 || done == len(rows) {
						progress(done, len(rows))
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, rr := range rows {
		work <- rr
	}
	close(work)
	wg.Wait()
}

// randomPassword is 10 characters from an alphabet without look-alikes
// (no 0/o, 1/l/i), easy to read out over the phone: about 49 bits.
func randomPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	out := make([]byte, 0, 10)
	b := make([]byte, 16)
	for len(out) < cap(out) {
		rand.Read(b)
		for _, c := range b {
			if int(c) < 256/len(alphabet)*len(alphabet) && len(out) < cap(out) { // no modulo bias
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}
