package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Bulk is one write transaction for generators (the demo data, benchmark
// provinces): many creates, one commit, through the same checked inserts
// as the API, so generated data obeys the same rules as real data.
type Bulk struct {
	s  *Store
	tx *sql.Tx
	a  Actor
}

// Bulk runs fn in one write transaction acting as a. Nothing is kept if fn
// fails.
func (s *Store) Bulk(ctx context.Context, a Actor, fn func(b *Bulk) error) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error { return fn(&Bulk{s: s, tx: tx, a: a}) })
}

// PasswordHash is an argon2id hash from HashPassword, never a plain password.
type PasswordHash string

// HashPassword hashes a password (about 27 ms) for Bulk.CreateUser. A
// generator may hash once and give the same hash to many users: they then
// share one salt, which is acceptable for demo and benchmark data only.
func (s *Store) HashPassword(password string) PasswordHash {
	return PasswordHash(s.hashPassword(password))
}

// CreateArea creates an area (see CreateArea) and returns its id.
func (b *Bulk) CreateArea(ctx context.Context, n NewArea) (int64, error) {
	return b.s.insertArea(ctx, b.tx, b.a, n)
}

// CreateTeam creates a team (see CreateTeam) and returns its id.
func (b *Bulk) CreateTeam(ctx context.Context, n NewTeam) (int64, error) {
	return b.s.insertTeam(ctx, b.tx, b.a, n)
}

// CreateUser creates a user with an already hashed password; n.Password is
// ignored.
func (b *Bulk) CreateUser(ctx context.Context, n NewUser, hash PasswordHash) (int64, error) {
	if hash == "" {
		return 0, fmt.Errorf("create user: no password hash: %w", ErrInvalid)
	}
	n.Password = ""
	return b.s.insertUser(ctx, b.tx, b.a, n, string(hash))
}

// OpenSession opens a session for a user on a device, as OpenSession does,
// without a password: load-test warm-ups sign thousands of phones in ahead
// (a login hashes a password, ~30 ms each). Admins (System) only.
func (b *Bulk) OpenSession(ctx context.Context, userID int64, d DeviceInfo, ttl time.Duration) (*Session, error) {
	if !b.a.IsAdmin() {
		return nil, fmt.Errorf("open session: %w", ErrForbidden)
	}
	d.ID = strings.ToLower(d.ID)
	now := b.s.now()
	sess := newSession(uuid.NewString(), userID, d.ID, now, ttl)
	if err := b.s.bindDevice(ctx, b.tx, userID, d, now); err != nil {
		return nil, err
	}
	if err := b.s.startSession(ctx, b.tx, sess, now); err != nil {
		return nil, err
	}
	return sess, nil
}

// AddLineage records a lineage edge (admins only, as AddLineage).
func (b *Bulk) AddLineage(ctx context.Context, l Lineage) error {
	if !b.a.IsAdmin() {
		return fmt.Errorf("add lineage: %w", ErrForbidden)
	}
	return b.s.insertLineage(ctx, b.tx, b.a, l)
}

// SetSetting stores a deployment setting (admins only), e.g. a marker that
// generated data is complete: it commits with the data or not at all.
func (b *Bulk) SetSetting(ctx context.Context, key, value string) error {
	if !b.a.IsAdmin() {
		return fmt.Errorf("set setting %s: %w", key, ErrForbidden)
	}
	_, err := b.tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("set setting %s: %w", key, err)
	}
	return nil
}

// Setting returns a deployment setting, or an error wrapping ErrNotFound.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("setting %s: %w", key, ErrNotFound)
	} else if err != nil {
		return "", fmt.Errorf("setting %s: %w", key, err)
	}
	return v, nil
}

// UpdateArea changes an area (see UpdateArea).
func (b *Bulk) UpdateArea(ctx context.Context, id int64, p AreaPatch) error {
	cur, err := scanArea(b.tx.QueryRowContext(ctx, `SELECT `+areaColumns+` FROM areas WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("area %d: %w", id, ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("area %d: %w", id, err)
	}
	if !b.a.CanManageArea(cur.Path) {
		return fmt.Errorf("update area %d: %w", id, ErrForbidden)
	}
	return b.s.writeArea(ctx, b.tx, b.a, cur, p)
}
