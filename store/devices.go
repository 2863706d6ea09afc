package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Device is a phone (or browser) a user signs in from. Its id is a UUID the
// app chose; the first user who logs in with it owns it for good.
type Device struct {
	ID                 string
	UserID             int64
	Platform           string // android, ios or web
	AppVersion         string
	PushToken          string
	PushTokenUpdatedAt time.Time
	LastSeenAt         time.Time
	CreatedAt          time.Time
}

// DeviceInfo is what the app says about itself at login. An empty PushToken
// keeps the stored one.
type DeviceInfo struct {
	ID         string
	Platform   string
	AppVersion string
	PushToken  string
}

// bindDevice creates the device for the user or refreshes what the app says
// about it, refusing a device that belongs to someone else. A released
// device is taken over (takeOver).
func (s *Store) bindDevice(ctx context.Context, tx *sql.Tx, userID int64, d DeviceInfo, now time.Time) error {
	if err := s.takeOver(ctx, tx, userID, d.ID); err != nil {
		return err
	}
	var pushAt sql.NullString
	if d.PushToken != "" {
		pushAt = nullStr(ts(now))
	}
	var owner int64
	err := tx.QueryRowContext(ctx, `
		INSERT INTO devices (id, user_id, platform, app_version, push_token, push_token_updated_at, last_seen_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			platform = excluded.platform,
			app_version = excluded.app_version,
			push_token = COALESCE(excluded.push_token, devices.push_token),
			push_token_updated_at = COALESCE(excluded.push_token_updated_at, devices.push_token_updated_at),
			last_seen_at = excluded.last_seen_at
		WHERE devices.user_id = excluded.user_id
		RETURNING user_id`,
		d.ID, userID, d.Platform, d.AppVersion, nullStr(d.PushToken), pushAt, ts(now), ts(now),
	).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) { // the WHERE refused the update: another user's device
		return fmt.Errorf("device %s: %w", d.ID, ErrDeviceBound)
	} else if err != nil {
		return fmt.Errorf("device %s: %w", d.ID, checkErr(err))
	}
	return nil
}

// takeOver binds a released device to userID. For its old owner it simply
// comes back; for anyone else it starts afresh: last_mid 0 and none of the
// old owner's stored push results, so the new user's mutation ids cannot
// be answered with the old owner's results.
func (s *Store) takeOver(ctx context.Context, tx *sql.Tx, userID int64, deviceID string) error {
	var owner int64
	err := tx.QueryRowContext(ctx, `SELECT user_id FROM devices WHERE id = ? AND released_at IS NOT NULL`, deviceID).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("device %s: %w", deviceID, err)
	}
	if owner != userID {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sync_results WHERE device_id = ?`, deviceID); err != nil {
			return fmt.Errorf("take over device %s: %w", deviceID, err)
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE devices SET released_at = NULL, user_id = ?,
		last_mid = CASE WHEN user_id = ? THEN last_mid ELSE 0 END WHERE id = ?`, userID, userID, deviceID)
	if err != nil {
		return fmt.Errorf("take over device %s: %w", deviceID, err)
	}
	return nil
}

const deviceColumns = `id, user_id, platform, app_version, COALESCE(push_token, ''), COALESCE(push_token_updated_at, ''),
	last_seen_at, created_at`

func scanDevice(sc interface{ Scan(...any) error }) (*Device, error) {
	var d Device
	var pushAt, seen, created string
	if err := sc.Scan(&d.ID, &d.UserID, &d.Platform, &d.AppVersion, &d.PushToken, &pushAt, &seen, &created); err != nil {
		return nil, err
	}
	d.PushTokenUpdatedAt, d.LastSeenAt, d.CreatedAt = parseTS(pushAt), parseTS(seen), parseTS(created)
	return &d, nil
}

// Devices lists the actor's own devices, most recently seen first.
func (s *Store) Devices(ctx context.Context, a Actor) ([]Device, error) {
	return s.devicesOf(ctx, a.UserID)
}

// UserDevices lists the devices bound to a user: the actor's own, or those
// of a user the actor manages (an admin, a coordinator for the users of
// their area). A user the actor cannot see is ErrNotFound; one they see but
// do not manage (a teammate) is ErrForbidden.
func (s *Store) UserDevices(ctx context.Context, a Actor, userID int64) ([]Device, error) {
	if userID != a.UserID {
		u, err := s.User(ctx, a, userID)
		if err != nil {
			return nil, err
		}
		if !a.CanManageUser(u.Place()) {
			return nil, fmt.Errorf("devices of user %d: %w", userID, ErrForbidden)
		}
	}
	return s.devicesOf(ctx, userID)
}

func (s *Store) devicesOf(ctx context.Context, userID int64) ([]Device, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE user_id = ? AND released_at IS NULL
		ORDER BY last_seen_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	defer rows.Close()
	out := []Device{}
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("devices: %w", err)
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// DeviceBoundTo reports whether the device is bound to the account of phone
// (any spelling of it). The login throttle lets such a device through
// whatever strangers do to the phone.
func (s *Store) DeviceBoundTo(ctx context.Context, deviceID, phone string) (bool, error) {
	norm, err := NormalizePhone(phone)
	if err != nil {
		return false, nil
	}
	var one int
	err = s.read.QueryRowContext(ctx, `SELECT 1 FROM devices d JOIN users u ON u.id = d.user_id
		WHERE d.id = ? AND d.released_at IS NULL AND u.phone = ?`, strings.ToLower(deviceID), norm).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("device %s: %w", deviceID, err)
	}
	return true, nil
}

// UnbindDevice releases a device, for a lost or handed-over phone: every
// session on it ends, its push token and pending pushes are dropped, and
// the next user to log in on it takes it over (bindDevice). Users may
// release their own devices; admins and coordinators those of the users
// they manage. A device the actor cannot see is ErrNotFound.
func (s *Store) UnbindDevice(ctx context.Context, a Actor, deviceID string) error {
	deviceID = strings.ToLower(deviceID)
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var owner int64
		err := tx.QueryRowContext(ctx, `SELECT user_id FROM devices WHERE id = ? AND released_at IS NULL`, deviceID).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("device %s: %w", deviceID, ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("device %s: %w", deviceID, err)
		}
		if owner != a.UserID {
			u, err := s.user(ctx, tx, owner)
			if err != nil {
				return err
			}
			if !a.CanSeeUser(u.Place()) {
				return fmt.Errorf("device %s: %w", deviceID, ErrNotFound)
			}
			if !a.CanManageUser(u.Place()) {
				return fmt.Errorf("unbind device %s: %w", deviceID, ErrForbidden)
			}
		}
		if err := s.releaseDevices(ctx, tx, `id = ?`, deviceID); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, 0, "unbind", "device", deviceID, map[string]int64{"owner": owner})
	})
}

// releaseDevices releases the devices matching where (with arg): their
// sessions end, their push tokens and pending pushes go.
func (s *Store) releaseDevices(ctx context.Context, tx *sql.Tx, where string, arg any) error {
	now := ts(s.now())
	stmts := []string{
		`UPDATE refresh_tokens SET revoked_at = ?1 WHERE revoked_at IS NULL AND device_id IN
			(SELECT id FROM devices WHERE released_at IS NULL AND ` + where + `)`,
		`UPDATE push_outbox SET state = 'cancelled', lease_until = NULL, updated_at = ?1
			WHERE state IN ('pending', 'sending') AND device_id IN (SELECT id FROM devices WHERE released_at IS NULL AND ` + where + `)`,
		`UPDATE devices SET released_at = ?1, push_token = NULL, push_token_updated_at = ?1
			WHERE released_at IS NULL AND ` + where,
	}
	for _, q := range stmts {
		// ?1 is now; the plain ? in where is numbered after it (?2).
		if _, err := tx.ExecContext(ctx, q, now, arg); err != nil {
			return fmt.Errorf("release devices: %w", err)
		}
	}
	return nil
}

// SetPushToken sets (or, with "", clears) the push token of one of the
// actor's own devices. Another user's device is ErrNotFound. One statement
// on one unsynced row, no seq: it runs beside the writes of every province
// (userTx); what unbinds or releases a device holds all writers off.
func (s *Store) SetPushToken(ctx context.Context, a Actor, deviceID, token string) (*Device, error) {
	deviceID = strings.ToLower(deviceID)
	var d *Device
	err := s.userTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := ts(s.now())
		var updatedAt sql.NullString
		if token != "" {
			updatedAt = nullStr(now)
		}
		var err error
		d, err = scanDevice(tx.QueryRowContext(ctx, `
			UPDATE devices SET push_token = ?, push_token_updated_at = ?, last_seen_at = ?
			WHERE id = ? AND user_id = ?
			RETURNING `+deviceColumns, nullStr(token), updatedAt, now, deviceID, a.UserID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("device %s: %w", deviceID, ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("device %s: %w", deviceID, checkErr(err))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
