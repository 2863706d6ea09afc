package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// Push outbox states. pending and sending rows are the queue; the others
// are final.
const (
	PushPending   = "pending"
	PushSending   = "sending"
	PushSent      = "sent"
	PushFailed    = "failed"    // FCM refused the message (bad payload); token kept
	PushInvalid   = "invalid"   // the token is dead (unregistered, or cleared)
	PushExpired   = "expired"   // the announcement expired before delivery
	PushGaveUp    = "gave_up"   // too many transient failures
	PushCancelled = "cancelled" // the announcement was retracted
)

// PushJob is one claimed outbox row: one device token to push to.
type PushJob struct {
	ID       int64
	DeviceID string
	Token    string
	Attempts int // including this one
}

// PushBatch is the claimed rows of one announcement with what the message
// needs.
type PushBatch struct {
	AnnouncementID int64
	Title          string
	Body           string
	Priority       string
	ExpiresAt      time.Time
	Jobs           []PushJob
}

// ClaimPush leases up to limit due outbox rows (pending, or sending with an
// expired lease) until now+lease and returns them grouped by announcement,
// in due order. In the same transaction, claimed rows whose announcement
// has expired or been retracted, or whose device token has been cleared,
// are closed instead of returned, and a token the phone has refreshed since
// publication replaces the snapshot.
func (s *Store) ClaimPush(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]PushBatch, error) {
	// An idle queue is the common case: look on the read pool before taking
	// the write lock.
	var due bool
	if err := s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM push_outbox
		WHERE state IN ('pending', 'sending') AND next_attempt_at <= ?)`, ts(now)).Scan(&due); err != nil {
		return nil, fmt.Errorf("claim push: %w", err)
	}
	if !due {
		return nil, nil
	}
	until := ts(now.Add(lease))
	var batches []PushBatch
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		batches = nil
		rows, err := tx.QueryContext(ctx, `
			UPDATE push_outbox SET state = 'sending', attempts = attempts + 1, lease_until = ?1, next_attempt_at = ?1, updated_at = ?2
			WHERE id IN (SELECT id FROM push_outbox WHERE state IN ('pending', 'sending') AND next_attempt_at <= ?2
				ORDER BY next_attempt_at, id LIMIT ?3)
			RETURNING id`, until, ts(now), limit)
		if err != nil {
			return fmt.Errorf("claim push: %w", err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return err
		}
		slices.Sort(ids)
		rows, err = tx.QueryContext(ctx, `
			SELECT o.id, o.device_id, o.token, COALESCE(d.push_token, ''), o.attempts,
				an.id, an.title, an.body, an.priority, an.expires_at, an.status
			FROM push_outbox o JOIN devices d ON d.id = o.device_id JOIN announcements an ON an.id = o.announcement_id
			WHERE o.id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) ORDER BY o.next_attempt_at, o.id`, mustJSON(ids))
		if err != nil {
			return fmt.Errorf("claim push: %w", err)
		}
		type closing struct {
			id    int64
			state string
		}
		var (
			closed  []closing
			renewed []PushJob
			index   = map[int64]int{}
		)
		for rows.Next() {
			var (
				j              PushJob
				current        string
				b              PushBatch
				expires, state string
			)
			if err := rows.Scan(&j.ID, &j.DeviceID, &j.Token, &current, &j.Attempts,
				&b.AnnouncementID, &b.Title, &b.Body, &b.Priority, &expires, &state); err != nil {
				rows.Close()
				return err
			}
			b.ExpiresAt = parseTS(expires)
			switch {
			case state == AnnouncementRetracted:
				closed = append(closed, closing{j.ID, PushCancelled})
				continue
			case !now.Before(b.ExpiresAt):
				closed = append(closed, closing{j.ID, PushExpired})
				continue
			case current == "":
				closed = append(closed, closing{j.ID, PushInvalid})
				continue
			case current != j.Token:
				j.Token = current
				renewed = append(renewed, j)
			}
			i, ok := index[b.AnnouncementID]
			if !ok {
				i = len(batches)
				index[b.AnnouncementID] = i
				batches = append(batches, b)
			}
			batches[i].Jobs = append(batches[i].Jobs, j)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range closed {
			if _, err := tx.ExecContext(ctx, `UPDATE push_outbox SET state = ?, lease_until = NULL, updated_at = ? WHERE id = ?`,
				c.state, ts(now), c.id); err != nil {
				return fmt.Errorf("claim push: %w", err)
			}
		}
		for _, j := range renewed {
			if _, err := tx.ExecContext(ctx, `UPDATE push_outbox SET token = ? WHERE id = ?`, j.Token, j.ID); err != nil {
				return fmt.Errorf("claim push: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return batches, nil
}

// PushResult is the outcome of one claimed row.
type PushResult struct {
	ID        int64
	Attempts  int    // as claimed: a row re-claimed by someone else is left alone
	State     string // a final state, or pending for a retry at NextAttempt
	Next      time.Time
	Error     string // error class, "" when sent
	MessageID string
	// InvalidateToken clears the device's token (when it still is Token)
	// and closes the other queued rows for that token.
	InvalidateToken bool
	DeviceID        string
	Token           string
	// Uncounted gives back the attempt the claim counted (rows released
	// unsent, or held back by a quota pause).
	Uncounted bool
}

// RecordPush stores the outcomes of a batch in one transaction. It returns
// how many tokens it invalidated.
func (s *Store) RecordPush(ctx context.Context, now time.Time, results []PushResult) (int, error) {
	invalidated := 0
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		invalidated = 0
		upd, err := tx.PrepareContext(ctx, `
			UPDATE push_outbox SET state = ?, next_attempt_at = ?, lease_until = NULL, last_error = ?, message_id = ?,
				sent_at = ?, updated_at = ?, attempts = attempts - ?
			WHERE id = ? AND state = 'sending' AND attempts = ?`)
		if err != nil {
			return fmt.Errorf("record push: %w", err)
		}
		defer upd.Close()
		for _, r := range results {
			next := r.Next
			if next.IsZero() {
				next = now
			}
			var sent sql.NullString
			if r.State == PushSent {
				sent = sql.NullString{String: ts(now), Valid: true}
			}
			uncounted := 0
			if r.Uncounted {
				uncounted = 1
			}
			if _, err := upd.ExecContext(ctx, r.State, ts(next), r.Error, r.MessageID, sent, ts(now), uncounted, r.ID, r.Attempts); err != nil {
				return fmt.Errorf("record push %d: %w", r.ID, err)
			}
			if r.InvalidateToken {
				n, err := s.invalidateToken(ctx, tx, now, r.DeviceID, r.Token, r.Error)
				if err != nil {
					return err
				}
				invalidated += n
			}
		}
		return nil
	})
	return invalidated, err
}

// InvalidatePushToken clears a device's push token if it still is token
// (FCM said it is dead; a newer token from the phone is kept), and closes
// the queued pushes to it. It reports whether the token was cleared.
func (s *Store) InvalidatePushToken(ctx context.Context, deviceID, token, reason string) (bool, error) {
	var n int
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		n, err = s.invalidateToken(ctx, tx, s.now(), deviceID, token, reason)
		return err
	})
	return n > 0, err
}

func (s *Store) invalidateToken(ctx context.Context, tx *sql.Tx, now time.Time, deviceID, token, reason string) (int, error) {
	res, err := tx.ExecContext(ctx, `UPDATE devices SET push_token = NULL, push_token_updated_at = ? WHERE id = ? AND push_token = ?`,
		ts(now), deviceID, token)
	if err != nil {
		return 0, fmt.Errorf("invalidate token of device %s: %w", deviceID, err)
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `UPDATE push_outbox SET state = 'invalid', last_error = ?, lease_until = NULL, updated_at = ?
		WHERE token = ? AND state = 'pending'`, reason, ts(now), token); err != nil {
		return 0, fmt.Errorf("invalidate token of device %s: %w", deviceID, err)
	}
	return int(n), nil
}

// PruneTokens clears the push tokens of devices unseen (and not refreshed)
// for TokenDeadAfter and returns how many it cleared.
func (s *Store) PruneTokens(ctx context.Context) (int, error) {
	now := s.now()
	var n int64
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE devices SET push_token = NULL, push_token_updated_at = ?
			WHERE push_token IS NOT NULL AND max(last_seen_at, COALESCE(push_token_updated_at, '')) < ?`,
			ts(now), ts(now.Add(-TokenDeadAfter)))
		if err != nil {
			return fmt.Errorf("prune tokens: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// PushQueue is the state of the outbox queue, for metrics.
type PushQueue struct {
	Depth     int       // pending and sending rows
	Due       int       // of which due now
	OldestDue time.Time // next_attempt_at of the oldest due row, zero if none
}

// PushQueueStats reads the queue's depth and its oldest due row.
func (s *Store) PushQueueStats(ctx context.Context, now time.Time) (PushQueue, error) {
	var q PushQueue
	var oldest string
	err := s.read.QueryRowContext(ctx, `
		SELECT count(*), COALESCE(sum(CASE WHEN next_attempt_at <= ?1 THEN 1 ELSE 0 END), 0), COALESCE(min(CASE WHEN next_attempt_at <= ?1 THEN next_attempt_at END), '')
		FROM push_outbox WHERE state IN ('pending', 'sending')`, ts(now)).Scan(&q.Depth, &q.Due, &oldest)
	if err != nil {
		return PushQueue{}, fmt.Errorf("push queue: %w", err)
	}
	q.OldestDue = parseTS(oldest)
	return q, nil
}

// PushOutboxRow is an outbox row as stored, for tests and support.
type PushOutboxRow struct {
	ID             int64
	AnnouncementID int64
	UserID         int64
	DeviceID       string
	Token          string
	State          string
	Attempts       int
	NextAttemptAt  time.Time
	LastError      string
	MessageID      string
}

// PushOutbox lists an announcement's outbox rows by id.
func (s *Store) PushOutbox(ctx context.Context, announcementID int64) ([]PushOutboxRow, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, announcement_id, user_id, device_id, token, state, attempts, next_attempt_at,
		last_error, message_id FROM push_outbox WHERE announcement_id = ? ORDER BY id`, announcementID)
	if err != nil {
		return nil, fmt.Errorf("push outbox: %w", err)
	}
	defer rows.Close()
	var out []PushOutboxRow
	for rows.Next() {
		var r PushOutboxRow
		var next string
		if err := rows.Scan(&r.ID, &r.AnnouncementID, &r.UserID, &r.DeviceID, &r.Token, &r.State, &r.Attempts, &next,
			&r.LastError, &r.MessageID); err != nil {
			return nil, err
		}
		r.NextAttemptAt = parseTS(next)
		out = append(out, r)
	}
	return out, rows.Err()
}
