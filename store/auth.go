package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Sessions. A login opens a session on one device: a family of rotating
// refresh tokens (refresh_tokens.family_id). Each refresh spends the
// presented token and issues its successor in the same family; presenting a
// spent token again revokes the whole family (it was stolen, or the app is
// broken: either way nobody should hold that session any more). Access
// tokens name the family ("sid"), so ending a session ends its access tokens
// at once (SessionActor).
//
// A refresh token is "<family id>.<32 random bytes, base64url>". Only its
// SHA-256 is stored. The family id is not secret: it lets the server tell a
// spent token whose row was pruned (reuse: revoke the family) from garbage
// (unauthenticated), so spent rows need not be kept for 60 days. Each family
// holds one live token plus the tokens spent (or replaced) in the last
// RefreshGrace.

// RefreshGrace is how long after a refresh the spent token may be presented
// once more, from the same device, to recover from a response lost on a
// flaky link. It is safe because the retry kills (revokes) the successor the
// client may or may not have received: if the retry came from a thief, the
// real app's next refresh presents that successor, and a revoked token in a
// family that is still live counts as reuse, so the family dies. Only the
// first successor can be replaced, so a token buys one retry.
const RefreshGrace = 10 * time.Second

var (
	// ErrDeviceBound: the device id is bound to another user.
	ErrDeviceBound = fmt.Errorf("device is bound to another user: %w", ErrConflict)
	// ErrTokenReused: a spent refresh token was presented; its family is revoked.
	ErrTokenReused = fmt.Errorf("refresh token reused: %w", ErrUnauthenticated)
)

// Session is one login of a user on a device, with its current refresh token.
type Session struct {
	ID               string // the refresh token family
	UserID           int64
	DeviceID         string
	RefreshToken     string // handed to the client once, never stored
	RefreshExpiresAt time.Time
}

// Login checks phone and password (Authenticate), binds the device to the
// user (ErrDeviceBound if another user holds it) and opens a session on it,
// ending the device's previous session. ttl is the refresh token lifetime.
func (s *Store) Login(ctx context.Context, phone, password string, d DeviceInfo, ttl time.Duration) (*User, *Session, error) {
	u, err := s.Authenticate(ctx, phone, password)
	if err != nil {
		return nil, nil, err
	}
	sess, err := s.OpenSession(ctx, u.ID, d, ttl)
	if err != nil {
		return nil, nil, err
	}
	return u, sess, nil
}

// OpenSession binds the device to the user and opens a new session on it.
// The caller must have authenticated the user (Login does; tests use it to
// skip password hashing).
func (s *Store) OpenSession(ctx context.Context, userID int64, d DeviceInfo, ttl time.Duration) (*Session, error) {
	d.ID = strings.ToLower(d.ID)
	now := s.now()
	sess := newSession(uuid.NewString(), userID, d.ID, now, ttl)
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.bindDevice(ctx, tx, userID, d, now); err != nil {
			return err
		}
		return s.startSession(ctx, tx, sess, now)
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

// RenewSession opens a new session on the actor's current device, for
// example after a password change has ended all of the user's sessions.
func (s *Store) RenewSession(ctx context.Context, a Actor, ttl time.Duration) (*Session, error) {
	now := s.now()
	sess := newSession(uuid.NewString(), a.UserID, a.DeviceID, now, ttl)
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var owner int64
		err := tx.QueryRowContext(ctx, `SELECT user_id FROM devices WHERE id = ?`, a.DeviceID).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != a.UserID) {
			return fmt.Errorf("renew session on device %s: %w", a.DeviceID, ErrUnauthenticated)
		} else if err != nil {
			return fmt.Errorf("renew session: %w", err)
		}
		return s.startSession(ctx, tx, sess, now)
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

func newSession(family string, userID int64, deviceID string, now time.Time, ttl time.Duration) *Session {
	secret := make([]byte, 32)
	rand.Read(secret)
	return &Session{
		ID: family, UserID: userID, DeviceID: deviceID,
		RefreshToken:     family + "." + base64.RawURLEncoding.EncodeToString(secret),
		RefreshExpiresAt: Truncate(now.Add(ttl)),
	}
}

// startSession ends the device's previous sessions of this user (one session
// per device), prunes the user's expired tokens and stores the first token
// of sess.
func (s *Store) startSession(ctx context.Context, tx *sql.Tx, sess *Session, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND device_id = ? AND revoked_at IS NULL`,
		ts(now), sess.UserID, sess.DeviceID); err != nil {
		return fmt.Errorf("end previous session: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE user_id = ? AND expires_at < ?`, sess.UserID, ts(now)); err != nil {
		return fmt.Errorf("prune expired tokens: %w", err)
	}
	if err := s.insertRefreshToken(ctx, tx, sess, now); err != nil {
		return err
	}
	return s.audit(ctx, tx, Actor{UserID: sess.UserID, DeviceID: sess.DeviceID}, 0, "login", "device", sess.DeviceID, nil)
}

func (s *Store) insertRefreshToken(ctx context.Context, tx *sql.Tx, sess *Session, now time.Time) error {
	_, err := s.wstmts.exec(ctx, tx, `
		INSERT INTO refresh_tokens (token_hash, family_id, user_id, device_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		hashToken(sess.RefreshToken), sess.ID, sess.UserID, sess.DeviceID, ts(now), ts(sess.RefreshExpiresAt))
	if err != nil {
		return fmt.Errorf("store refresh token: %w", err)
	}
	return nil
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// familyOf returns the family id a well-formed refresh token names.
func familyOf(token string) (string, bool) {
	family, secret, ok := strings.Cut(token, ".")
	if !ok || len(secret) != 43 {
		return "", false
	}
	if _, err := uuid.Parse(family); err != nil || len(family) != 36 {
		return "", false
	}
	return family, true
}

type refreshRow struct {
	userID             int64
	deviceID           string
	expiresAt          string
	spentAt, revokedAt sql.NullString
}

// Refresh spends the refresh token presented by device and returns the
// session with its successor token. A dead token (unknown, expired, revoked,
// another device's, or a deactivated user's) wraps ErrUnauthenticated; a
// spent one revokes its family and returns ErrTokenReused.
func (s *Store) Refresh(ctx context.Context, token, deviceID string, ttl time.Duration) (*Session, error) {
	family, ok := familyOf(token)
	if !ok {
		return nil, fmt.Errorf("refresh: malformed token: %w", ErrUnauthenticated)
	}
	deviceID = strings.ToLower(deviceID)
	hash := hashToken(token)
	now := s.now()
	var (
		sess    *Session
		outcome error // a refusal that must still commit (a family revoked)
	)
	// A refresh writes its session's tokens and its device's last_seen_at,
	// no synced row, no seq: it runs beside the pushes of every province.
	// Refreshes of one session take turns (lockFamily); whatever revokes
	// more (a logout, a login on the device, a deactivation) holds all
	// writers off.
	err := s.userTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := lockFamily(ctx, tx, family); err != nil {
			return err
		}
		var r refreshRow
		err := s.wstmts.queryRow(ctx, tx, `
			SELECT user_id, device_id, expires_at, spent_at, revoked_at FROM refresh_tokens
			WHERE token_hash = ? AND family_id = ?`, hash, family,
		).Scan(&r.userID, &r.deviceID, &r.expiresAt, &r.spentAt, &r.revokedAt)
		if errors.Is(err, sql.ErrNoRows) {
			// Not stored, yet it names a family: a spent token pruned after
			// the grace window, or a forgery by someone who held a token of
			// the family. Either way the family is compromised.
			n, err := revokeFamily(ctx, tx, family, now)
			outcome = fmt.Errorf("refresh: unknown token: %w", ErrUnauthenticated)
			if n > 0 {
				outcome = fmt.Errorf("refresh: pruned spent token of family %s: %w", family, ErrTokenReused)
			}
			return err
		} else if err != nil {
			return fmt.Errorf("refresh: %w", err)
		}
		var replaced []byte // a grace retry's successor, killed instead of spending the token
		switch {
		case r.revokedAt.Valid:
			// A family is revoked whole, except for a successor killed by a
			// grace retry: if the family lives on, that successor reached
			// someone, and whoever holds the family's live token is suspect.
			n, err := revokeFamily(ctx, tx, family, now)
			outcome = fmt.Errorf("refresh: revoked token: %w", ErrUnauthenticated)
			if n > 0 {
				outcome = fmt.Errorf("refresh: replaced token of family %s: %w", family, ErrTokenReused)
			}
			return err
		case r.deviceID != deviceID:
			// The real app never sends its token from another device id.
			_, err := revokeFamily(ctx, tx, family, now)
			outcome = fmt.Errorf("refresh: token of device %s presented by %s: %w", r.deviceID, deviceID, ErrUnauthenticated)
			return err
		case r.expiresAt <= ts(now):
			outcome = fmt.Errorf("refresh: expired token: %w", ErrUnauthenticated)
			return nil
		case r.spentAt.Valid:
			successor, ok, err := graceSuccessor(ctx, tx, family, hash, r.spentAt.String, now)
			if err != nil {
				return err
			}
			if !ok {
				_, err := revokeFamily(ctx, tx, family, now)
				outcome = fmt.Errorf("refresh: spent token of family %s: %w", family, ErrTokenReused)
				return err
			}
			replaced = successor
		}
		var active bool
		err = s.wstmts.queryRow(ctx, tx, `
			SELECT u.active = 1 AND COALESCE(t.active, 1) = 1 FROM users u LEFT JOIN teams t ON t.id = u.team_id
			WHERE u.id = ?`, r.userID).Scan(&active)
		if err != nil {
			return fmt.Errorf("refresh: user %d: %w", r.userID, err)
		}
		if !active {
			outcome = fmt.Errorf("refresh: user %d is deactivated: %w", r.userID, ErrUnauthenticated)
			return nil
		}
		if replaced != nil {
			if _, err := s.wstmts.exec(ctx, tx, `UPDATE refresh_tokens SET revoked_at = ? WHERE token_hash = ?`, ts(now), replaced); err != nil {
				return fmt.Errorf("refresh: replace successor: %w", err)
			}
		} else if _, err := s.wstmts.exec(ctx, tx, `UPDATE refresh_tokens SET spent_at = ? WHERE token_hash = ?`, ts(now), hash); err != nil {
			return fmt.Errorf("refresh: spend: %w", err)
		}
		if _, err := s.wstmts.exec(ctx, tx, `DELETE FROM refresh_tokens WHERE family_id = ? AND (spent_at < ? OR revoked_at < ?)`,
			family, ts(now.Add(-RefreshGrace)), ts(now.Add(-RefreshGrace))); err != nil {
			return fmt.Errorf("refresh: prune: %w", err)
		}
		sess = newSession(family, r.userID, r.deviceID, now, ttl)
		if err := s.insertRefreshToken(ctx, tx, sess, now); err != nil {
			return err
		}
		_, err = s.wstmts.exec(ctx, tx, `UPDATE devices SET last_seen_at = ? WHERE id = ?`, ts(now), r.deviceID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if outcome != nil {
		return nil, outcome
	}
	return sess, nil
}

// graceSuccessor returns the token that replaced token (spent at spentAt),
// if that was within RefreshGrace of now, the successor is still unused and
// it was never replaced before (a token buys one retry).
func graceSuccessor(ctx context.Context, tx *sql.Tx, family string, token []byte, spentAt string, now time.Time) ([]byte, bool, error) {
	if spentAt < ts(now.Add(-RefreshGrace)) {
		return nil, false, nil
	}
	rows, err := tx.QueryContext(ctx, `
		SELECT token_hash, spent_at IS NULL AND revoked_at IS NULL FROM refresh_tokens
		WHERE family_id = ? AND created_at = ? AND token_hash <> ?`, family, spentAt, token)
	if err != nil {
		return nil, false, fmt.Errorf("refresh: successor: %w", err)
	}
	defer rows.Close()
	var (
		h    []byte
		live bool
		n    int
	)
	for rows.Next() {
		if err := rows.Scan(&h, &live); err != nil {
			return nil, false, fmt.Errorf("refresh: successor: %w", err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("refresh: successor: %w", err)
	}
	return h, n == 1 && live, nil
}

func revokeFamily(ctx context.Context, tx *sql.Tx, family string, now time.Time) (int64, error) {
	res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`,
		ts(now), family)
	if err != nil {
		return 0, fmt.Errorf("revoke family %s: %w", family, err)
	}
	return res.RowsAffected()
}

// Logout ends the session of the actor's device: its refresh tokens die
// and, through SessionActor, its access tokens too.
func (s *Store) Logout(ctx context.Context, a Actor) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND device_id = ? AND revoked_at IS NULL`,
			ts(s.now()), a.UserID, a.DeviceID); err != nil {
			return fmt.Errorf("logout: %w", err)
		}
		return s.audit(ctx, tx, a, 0, "logout", "device", a.DeviceID, nil)
	})
}
