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

// User is a person who logs in to Toso.
type User struct {
	ID        int64
	Phone     string
	Name      string
	Role      Role
	TeamID    int64 // members and leads
	AreaID    int64 // coordinators
	AreaPath  string
	Gender    string
	Active    bool
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Place is where the user sits in the tree, for policy questions.
func (u *User) Place() UserPlace {
	return UserPlace{UserID: u.ID, Role: u.Role, TeamID: u.TeamID, AreaPath: u.AreaPath}
}

// NewUser is what creating a user takes. Phone is normalized here.
type NewUser struct {
	Phone    string
	Name     string
	Role     Role
	TeamID   int64
	AreaID   int64
	Gender   string
	Password string
}

// UserPatch changes the fields that are set. Setting Role may require
// TeamID or AreaID to be set as well (members need a team, coordinators an area).
type UserPatch struct {
	Name     *string
	Role     *Role
	TeamID   *int64
	AreaID   *int64
	Gender   *string
	Active   *bool
	Password *string // an admin or coordinator resetting a password
}

const userColumns = `u.id, u.phone, u.name, u.role, COALESCE(u.team_id, 0), COALESCE(u.area_id, 0),
	COALESCE(a.path, ''), u.gender, u.active, u.version, u.created_at, u.updated_at`

const userFrom = ` FROM users u LEFT JOIN teams t ON t.id = u.team_id LEFT JOIN areas a ON a.id = COALESCE(u.area_id, t.area_id)`

func scanUser(sc interface{ Scan(...any) error }) (*User, error) {
	var u User
	var created, updated string
	err := sc.Scan(&u.ID, &u.Phone, &u.Name, &u.Role, &u.TeamID, &u.AreaID, &u.AreaPath, &u.Gender, &u.Active,
		&u.Version, &created, &updated)
	if err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = parseTS(created), parseTS(updated)
	return &u, nil
}

func (s *Store) user(ctx context.Context, q querier, id int64) (*User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE u.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("user %d: %w", id, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("user %d: %w", id, err)
	}
	return u, nil
}

// User returns the user if the actor may see them.
func (s *Store) User(ctx context.Context, a Actor, id int64) (*User, error) {
	u, err := s.user(ctx, s.read, id)
	if err != nil {
		return nil, err
	}
	if !a.CanSeeUser(u.Place()) {
		return nil, fmt.Errorf("user %d: %w", id, ErrNotFound)
	}
	return u, nil
}

// UserFilter narrows Users. Zero values mean no filter.
type UserFilter struct {
	TeamID int64
	AreaID int64 // users whose team or scope lies in this subtree
	Role   Role
	Query  string // name (case and diacritics folded, see Fold) or phone substring
	Active *bool
	After  int64
	Limit  int
}

// Users lists the users the actor may see.
func (s *Store) Users(ctx context.Context, a Actor, f UserFilter) ([]User, error) {
	var (
		where []string
		args  []any
	)
	switch {
	case a.InTeamRole():
		where = append(where, "u.team_id = ?")
		args = append(args, a.TeamID)
	case a.Role == RoleCoordinator:
		lo, hi := subtreeRange(a.AreaPath)
		where = append(where, "a.path >= ? AND a.path < ? AND u.role <> 'admin'")
		args = append(args, lo, hi)
	}
	if f.TeamID != 0 {
		where = append(where, "u.team_id = ?")
		args = append(args, f.TeamID)
	}
	if f.AreaID != 0 {
		ar, err := s.Area(ctx, a, f.AreaID)
		if err != nil {
			return nil, err
		}
		lo, hi := subtreeRange(ar.Path)
		where = append(where, "a.path >= ? AND a.path < ?")
		args = append(args, lo, hi)
	}
	if f.Role != "" {
		where = append(where, "u.role = ?")
		args = append(args, f.Role)
	}
	if f.Query != "" {
		where = append(where, "(instr(u.name_fold, ?) > 0 OR instr(u.phone, ?) > 0)")
		args = append(args, Fold(f.Query), f.Query)
	}
	if f.Active != nil {
		where = append(where, "u.active = ?")
		args = append(args, *f.Active)
	}
	where = append(where, "u.id > ?")
	args = append(args, f.After, clampLimit(f.Limit))
	rows, err := s.read.QueryContext(ctx, `SELECT `+userColumns+userFrom+` WHERE `+
		strings.Join(where, " AND ")+` ORDER BY u.id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

// placeOf resolves where a user with this role, team and area would sit,
// checking that the team or area exists and is visible to the actor, and
// that a user joining a team (one other than fromTeam, 0 for a new user)
// joins an active one: members of an inactive team cannot sign in.
func (s *Store) placeOf(ctx context.Context, q querier, a Actor, id int64, role Role, teamID, areaID, fromTeam int64) (UserPlace, error) {
	p := UserPlace{UserID: id, Role: role}
	switch role {
	case RoleMember, RoleTeamLead:
		if teamID == 0 || areaID != 0 {
			return p, fmt.Errorf("a %s needs a team and no area: %w", role, ErrInvalid)
		}
		var active bool
		err := q.QueryRowContext(ctx, `SELECT a.path, t.active FROM teams t JOIN areas a ON a.id = t.area_id WHERE t.id = ?`, teamID).
			Scan(&p.AreaPath, &active)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !a.CanSeeTeam(teamID, p.AreaPath)) {
			return p, fmt.Errorf("team %d: %w", teamID, ErrNotFound)
		} else if err != nil {
			return p, fmt.Errorf("team %d: %w", teamID, err)
		}
		if !active && teamID != fromTeam {
			return p, fmt.Errorf("team %d is inactive: %w", teamID, ErrInvalid)
		}
		p.TeamID = teamID
	case RoleCoordinator:
		if areaID == 0 || teamID != 0 {
			return p, fmt.Errorf("a coordinator needs an area and no team: %w", ErrInvalid)
		}
		path, err := s.areaPathFor(ctx, q, a, areaID)
		if err != nil {
			return p, err
		}
		p.AreaPath = path
	case RoleAdmin:
		if teamID != 0 || areaID != 0 {
			return p, fmt.Errorf("an admin has no team or area: %w", ErrInvalid)
		}
	default:
		return p, fmt.Errorf("role %q: %w", role, ErrInvalid)
	}
	return p, nil
}

// CreateUser adds a user the actor may manage.
func (s *Store) CreateUser(ctx context.Context, a Actor, n NewUser) (*User, error) {
	// Refuse what the actor may not do before paying for the hash (~27 ms
	// and 19 MiB), so refused requests cannot be used to load the server.
	// insertUser checks again inside the transaction.
	if err := CheckPassword(n.Password, n.Phone, n.Role); err != nil {
		return nil, err
	}
	p, err := s.placeOf(ctx, s.read, a, 0, n.Role, n.TeamID, n.AreaID, 0)
	if err != nil {
		return nil, err
	}
	if !a.CanManageUser(p) {
		return nil, fmt.Errorf("create %s: %w", n.Role, ErrForbidden)
	}
	hash := s.hashPassword(n.Password) // slow: before the write transaction
	var id int64
	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		id, err = s.insertUser(ctx, tx, a, n, hash)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.user(ctx, s.read, id)
}

func (s *Store) insertUser(ctx context.Context, tx *sql.Tx, a Actor, n NewUser, hash string) (int64, error) {
	n.Name = MaskNumbers(n.Name) // a number typed into a name is not kept (nor audited)
	phone, err := NormalizePhone(n.Phone)
	if err != nil {
		return 0, err
	}
	p, err := s.placeOf(ctx, tx, a, 0, n.Role, n.TeamID, n.AreaID, 0)
	if err != nil {
		return 0, err
	}
	if !a.CanManageUser(p) {
		return 0, fmt.Errorf("create %s: %w", n.Role, ErrForbidden)
	}
	v, err := nextSeq(ctx, tx)
	if err != nil {
		return 0, err
	}
	now := ts(s.now())
	var id int64
	err = s.guard(ctx, tx, func() error { // phoneTaken reads on after a duplicate
		return tx.QueryRowContext(ctx, `
			INSERT INTO users (phone, name, name_fold, role, team_id, area_id, gender, password_hash, version,
				password_changed_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			phone, n.Name, Fold(n.Name), n.Role, nullInt(n.TeamID), nullInt(n.AreaID), n.Gender, hash, v, now, now, now).Scan(&id)
	})
	if isUnique(err) {
		return 0, s.phoneTaken(ctx, tx, a, phone)
	} else if err != nil {
		return 0, fmt.Errorf("create user: %w", checkErr(err))
	}
	s.touchNew(kindMember, strconv.FormatInt(id, 10))
	n.Password = ""
	n.Phone = phone
	return id, s.audit(ctx, tx, a, 0, "create", "user", id, n)
}

// phoneTaken explains why phone cannot be registered to a new user. The
// holder of a number inside the actor's reach is named (the actor can see
// them anyway); outside it the answer says only that the number cannot be
// used here, so importing numbers does not tell a coordinator who else, in
// which province, uses Toso.
func (s *Store) phoneTaken(ctx context.Context, q querier, a Actor, phone string) error {
	var id int64
	if err := q.QueryRowContext(ctx, `SELECT id FROM users WHERE phone = ?`, phone).Scan(&id); err != nil {
		return fmt.Errorf("phone %s: %w", phone, err)
	}
	u, err := s.user(ctx, q, id)
	if err != nil {
		return err
	}
	if a.CanSeeUser(u.Place()) {
		return &FieldError{Field: "phone", Kind: ErrConflict,
			Reason:   fmt.Sprintf("already registered (user %d, %s)", u.ID, u.Name),
			ReasonVI: fmt.Sprintf("đã được đăng ký (người dùng %d, %s)", u.ID, u.Name)}
	}
	return &FieldError{Field: "phone", Kind: ErrConflict,
		Reason:   "cannot be used here; ask an administrator",
		ReasonVI: "không dùng được ở đây; hãy hỏi quản trị viên"}
}

// UpdateUser changes a user's name, role, team or scope, gender, active flag
// or password. The actor must manage the user both before and after.
func (s *Store) UpdateUser(ctx context.Context, a Actor, id int64, p UserPatch) (*User, error) {
	if p.Name != nil {
		masked := MaskNumbers(*p.Name) // a number typed into a name is not kept (nor audited)
		p.Name = &masked
	}
	var hash string
	if p.Password != nil {
		// As in CreateUser: no hash for a reset the actor may not make.
		cur, err := s.User(ctx, a, id)
		if err != nil {
			return nil, err
		}
		if !a.CanManageUser(cur.Place()) {
			return nil, fmt.Errorf("update user %d: %w", id, ErrForbidden)
		}
		role := cur.Role
		if p.Role != nil {
			role = *p.Role
		}
		if err := CheckPassword(*p.Password, cur.Phone, role); err != nil {
			return nil, err
		}
		hash = s.hashPassword(*p.Password)
	}
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		cur, err := s.user(ctx, tx, id)
		if err != nil {
			return err
		}
		if !a.CanSeeUser(cur.Place()) {
			return fmt.Errorf("user %d: %w", id, ErrNotFound)
		}
		if !a.CanManageUser(cur.Place()) {
			return fmt.Errorf("update user %d: %w", id, ErrForbidden)
		}
		fromTeam := cur.TeamID
		if p.Role != nil && *p.Role != cur.Role {
			// A new role drops the old team or area unless the patch sets one.
			cur.TeamID, cur.AreaID = 0, 0
		}
		set(&cur.Role, p.Role)
		set(&cur.TeamID, p.TeamID)
		set(&cur.AreaID, p.AreaID)
		set(&cur.Name, p.Name)
		set(&cur.Gender, p.Gender)
		set(&cur.Active, p.Active)
		next, err := s.placeOf(ctx, tx, a, id, cur.Role, cur.TeamID, cur.AreaID, fromTeam)
		if err != nil {
			return err
		}
		if !a.CanManageUser(next) {
			return fmt.Errorf("update user %d: %w", id, ErrForbidden)
		}
		if id == a.UserID && (p.Role != nil || p.Active != nil) {
			return fmt.Errorf("changing your own role or active flag: %w", ErrForbidden)
		}
		v, err := nextSeq(ctx, tx)
		if err != nil {
			return err
		}
		now := ts(s.now())
		if err := s.touchMember(ctx, tx, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE users SET name = ?, name_fold = ?, role = ?, team_id = ?, area_id = ?, gender = ?, active = ?, version = ?, updated_at = ?
			WHERE id = ?`,
			cur.Name, Fold(cur.Name), cur.Role, nullInt(cur.TeamID), nullInt(cur.AreaID), cur.Gender, cur.Active, v, now, id)
		if err != nil {
			return fmt.Errorf("update user %d: %w", id, checkErr(err))
		}
		if hash != "" {
			if err := s.setPassword(ctx, tx, id, hash); err != nil {
				return err
			}
		}
		if !cur.Active || hash != "" {
			// Deactivation or a reset ends every session of the user.
			if err := s.revokeUserTokens(ctx, tx, id); err != nil {
				return err
			}
		}
		if !cur.Active {
			// A deactivated user's phones are free for whoever gets them next.
			if err := s.releaseDevices(ctx, tx, `user_id = ?`, id); err != nil {
				return err
			}
		}
		p.Password = nil
		return s.audit(ctx, tx, a, 0, "update", "user", id, p)
	})
	if err != nil {
		return nil, err
	}
	return s.user(ctx, s.read, id)
}

func (s *Store) setPassword(ctx context.Context, tx *sql.Tx, id int64, hash string) error {
	now := ts(s.now())
	_, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_changed_at = ?, updated_at = ? WHERE id = ?`,
		hash, now, now, id)
	if err != nil {
		return fmt.Errorf("set password of user %d: %w", id, err)
	}
	return nil
}

func (s *Store) revokeUserTokens(ctx context.Context, tx *sql.Tx, userID int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`,
		ts(s.now()), userID)
	if err != nil {
		return fmt.Errorf("revoke tokens of user %d: %w", userID, err)
	}
	return nil
}

// Authenticate checks a phone number and password. Every failure (unknown
// phone, wrong password, deactivated) is the same ErrUnauthenticated, and an
// unknown phone costs as much time as a wrong password.
func (s *Store) Authenticate(ctx context.Context, phone, password string) (*User, error) {
	norm, err := NormalizePhone(phone)
	if err != nil {
		return nil, fmt.Errorf("login: %w", ErrUnauthenticated)
	}
	var id int64
	var hash string
	var active bool
	err = s.read.QueryRowContext(ctx, `SELECT id, password_hash, active FROM users WHERE phone = ?`, norm).
		Scan(&id, &hash, &active)
	if errors.Is(err, sql.ErrNoRows) {
		s.checkPassword(dummyHash, password)
		return nil, fmt.Errorf("login: %w", ErrUnauthenticated)
	} else if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	if !s.checkPassword(hash, password) || !active {
		return nil, fmt.Errorf("login: %w", ErrUnauthenticated)
	}
	if _, err := s.Actor(ctx, id, ""); err != nil { // deactivated team, lost scope
		return nil, fmt.Errorf("login: %w", ErrUnauthenticated)
	}
	return s.user(ctx, s.read, id)
}

// dummyHash makes a login with an unknown phone take as long as a real one.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2jy/GJ0vq0cwK5Gm7Gwt9nkw9Pjp1LOHbUOXWCSdXrE"

// ChangePassword changes the actor's own password after checking the old
// one, and ends their other sessions.
func (s *Store) ChangePassword(ctx context.Context, a Actor, old, new string) error {
	var hash, phone string
	err := s.read.QueryRowContext(ctx, `SELECT password_hash, phone FROM users WHERE id = ?`, a.UserID).Scan(&hash, &phone)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if !s.checkPassword(hash, old) {
		return fmt.Errorf("change password: %w", ErrUnauthenticated)
	}
	if err := CheckPassword(new, phone, a.Role); err != nil {
		return err
	}
	newHash := s.hashPassword(new)
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.setPassword(ctx, tx, a.UserID, newHash); err != nil {
			return err
		}
		if err := s.revokeUserTokens(ctx, tx, a.UserID); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, 0, "change_password", "user", a.UserID, nil)
	})
}
