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
// about it, refusing a device that belongs to someone else.
func (s *Store) bindDevice(ctx context.Context, tx *sql.Tx, userID int64, d DeviceInfo, now time.Time) error {
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
	rows, err := s.read.QueryContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE user_id = ?
		ORDER BY last_seen_at DESC, id`, a.UserID)
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

// SetPushToken sets (or, with "", clears) the push token of one of the
// actor's own devices. Another user's device is ErrNotFound.
func (s *Store) SetPushToken(ctx context.Context, a Actor, deviceID, token string) (*Device, error) {
	deviceID = strings.ToLower(deviceID)
	var d *Device
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
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
