package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// timeLayout is how times are stored: UTC, millisecond precision, so what is
// read back equals what was written after truncation.
const timeLayout = "2006-01-02T15:04:05.000Z"

func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTS(s string) time.Time {
	t, _ := time.Parse(timeLayout, s)
	return t
}

// Truncate is the stored precision of times.
func Truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// Secret returns the setting key, generating and storing a random 32-byte hex
// value on first use. given, when not empty, wins and is not stored.
func (s *Store) Secret(ctx context.Context, key, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	var v string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if err == nil {
		return v, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("secret %s: %w", key, err)
	}
	b := make([]byte, 32)
	rand.Read(b)
	v = hex.EncodeToString(b)
	err = s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// Another process may have raced us: keep the first value.
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING`, key, v); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	})
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", key, err)
	}
	return v, nil
}

// nextSeq allocates the next value of the server-wide change sequence inside
// the write transaction tx. Every change to a synced row takes one.
func nextSeq(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, `UPDATE seq SET value = value + 1 WHERE id = 1 RETURNING value`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("next seq: %w", err)
	}
	return v, nil
}
