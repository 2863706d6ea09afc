package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Push token freshness: a token whose device has not been seen (nor the
// token refreshed) for TokenStaleAfter is skipped when recipients are
// resolved, and cleared by PruneTokens after TokenDeadAfter (FCM drops
// Android tokens after 270 days of inactivity).
const (
	TokenStaleAfter = 60 * 24 * time.Hour
	TokenDeadAfter  = 270 * 24 * time.Hour
)

// audienceRanges checks an audience against the actor's reach and returns
// the subtree ranges of its areas as a JSON array of [lo, hi) pairs.
func (s *Store) audienceRanges(ctx context.Context, q querier, a Actor, au Audience) (string, error) {
	if len(au.AreaIDs) == 0 {
		return "", fmt.Errorf("an audience needs at least one area: %w", ErrInvalid)
	}
	for _, r := range au.Roles {
		if !r.Valid() {
			return "", fmt.Errorf("audience role %q: %w", r, ErrInvalid)
		}
	}
	ranges := make([][2]string, 0, len(au.AreaIDs))
	for _, id := range au.AreaIDs {
		var path string
		err := q.QueryRowContext(ctx, `SELECT path FROM areas WHERE id = ?`, id).Scan(&path)
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("audience area %d: %w", id, ErrNotFound)
		} else if err != nil {
			return "", fmt.Errorf("audience area %d: %w", id, err)
		}
		if !a.CanTargetArea(path) {
			return "", fmt.Errorf("audience area %d is outside your scope: %w", id, ErrForbidden)
		}
		lo, hi := subtreeRange(path)
		ranges = append(ranges, [2]string{lo, hi})
	}
	for _, id := range au.TeamIDs {
		var path string
		err := q.QueryRowContext(ctx, `SELECT a.path FROM teams t JOIN areas a ON a.id = t.area_id WHERE t.id = ?`, id).Scan(&path)
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("audience team %d: %w", id, ErrNotFound)
		} else if err != nil {
			return "", fmt.Errorf("audience team %d: %w", id, err)
		}
		if !a.CanTargetArea(path) {
			return "", fmt.Errorf("audience team %d is outside your scope: %w", id, ErrForbidden)
		}
	}
	return mustJSON(ranges), nil
}

// recipientsSQL selects the audience's recipients: ?1 the ranges JSON, ?2
// the roles JSON, ?3 the team ids JSON. Columns: user id, the area they
// stand in (team area or coordinator scope), role.
const recipientsSQL = `
	SELECT u.id, COALESCE(u.area_id, t.area_id) AS area_id, u.role
	FROM users u
	LEFT JOIN teams t ON t.id = u.team_id
	JOIN areas a ON a.id = COALESCE(u.area_id, t.area_id)
	WHERE u.active = 1 AND COALESCE(t.active, 1) = 1
	AND EXISTS (SELECT 1 FROM json_each(?1) r WHERE a.path >= r.value ->> 0 AND a.path < r.value ->> 1)
	AND (json_array_length(?2) = 0 OR u.role IN (SELECT value FROM json_each(?2)))
	AND (json_array_length(?3) = 0 OR u.team_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?3)))`

// freshToken is true for a device whose push token is worth sending to
// (param, a placeholder such as ?4, is now minus TokenStaleAfter).
func freshToken(param string) string {
	return `d.push_token IS NOT NULL AND max(d.last_seen_at, COALESCE(d.push_token_updated_at, '')) >= ` + param
}

// AudienceCount is how many an audience would reach now.
type AudienceCount struct {
	Users    int // recipients
	Devices  int // device tokens a push would go to
	NoDevice int // recipients without a fresh token: they get it at their next sync
}

// PreviewAudience counts the recipients and devices an audience reaches,
// as publishing now would resolve them.
func (s *Store) PreviewAudience(ctx context.Context, a Actor, au Audience) (AudienceCount, error) {
	if !a.CanAnnounce() {
		return AudienceCount{}, fmt.Errorf("preview audience: %w", ErrForbidden)
	}
	au = au.normalize()
	ranges, err := s.audienceRanges(ctx, s.read, a, au)
	if err != nil {
		return AudienceCount{}, err
	}
	var c AudienceCount
	err = s.read.QueryRowContext(ctx, `
		WITH rc AS (`+recipientsSQL+`),
		dev AS (SELECT rc.id, count(DISTINCT d.push_token) AS n FROM rc JOIN devices d ON d.user_id = rc.id
			WHERE `+freshToken("?4")+` GROUP BY rc.id)
		SELECT (SELECT count(*) FROM rc), COALESCE((SELECT sum(n) FROM dev), 0), (SELECT count(*) FROM rc) - (SELECT count(*) FROM dev)`,
		ranges, mustJSON(au.Roles), mustJSON(au.TeamIDs), ts(s.now().Add(-TokenStaleAfter)),
	).Scan(&c.Users, &c.Devices, &c.NoDevice)
	if err != nil {
		return AudienceCount{}, fmt.Errorf("preview audience: %w", err)
	}
	return c, nil
}

// PublishAnnouncement publishes a draft (or a scheduled announcement) now
// when at is zero or not in the future, otherwise schedules it for at.
// Publishing resolves the recipients into receipt rows and push outbox
// rows in the same transaction.
func (s *Store) PublishAnnouncement(ctx context.Context, a Actor, id int64, at time.Time) (*Announcement, error) {
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		an, err := s.manageable(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if an.Status != AnnouncementDraft && an.Status != AnnouncementScheduled {
			return fmt.Errorf("announcement %d is %s: %w", id, an.Status, ErrConflict)
		}
		// The audience is checked again: the actor may not be its author.
		if _, err := s.audienceRanges(ctx, tx, a, an.Audience); err != nil {
			return err
		}
		now := s.now()
		if !at.IsZero() && at.After(now) {
			if !an.ExpiresAt.After(at) {
				return fmt.Errorf("publish_at %s is not before expires_at %s: %w", ts(at), ts(an.ExpiresAt), ErrInvalid)
			}
			v, err := nextSeq(ctx, tx)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE announcements SET status = 'scheduled', publish_at = ?, version = ?, updated_at = ?
				WHERE id = ?`, ts(at), v, ts(now), id); err != nil {
				return fmt.Errorf("schedule announcement %d: %w", id, err)
			}
			return s.audit(ctx, tx, a, 0, "schedule", "announcement", id, map[string]string{"publish_at": ts(at)})
		}
		if an.Expired(now) {
			return fmt.Errorf("announcement %d expired at %s: %w", id, ts(an.ExpiresAt), ErrInvalid)
		}
		n, err := s.resolve(ctx, tx, an, now)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, a, 0, "publish", "announcement", id, map[string]int{"recipients": n})
	})
	if err != nil {
		return nil, err
	}
	return s.announcement(ctx, s.read, id)
}

// PublishDue publishes the scheduled announcements whose time has come,
// each in its own transaction, and returns how many it published. Those
// that expired before their time are retracted. The notifications worker
// calls it on every round.
func (s *Store) PublishDue(ctx context.Context) (int, error) {
	now := s.now()
	rows, err := s.read.QueryContext(ctx, `SELECT id FROM announcements WHERE status = 'scheduled' AND publish_at <= ? ORDER BY publish_at, id`, ts(now))
	if err != nil {
		return 0, fmt.Errorf("due announcements: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	published := 0
	for _, id := range ids {
		err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			an, err := s.announcement(ctx, tx, id)
			if err != nil {
				return err
			}
			if an.Status != AnnouncementScheduled { // retracted or published meanwhile
				return nil
			}
			if an.Expired(now) {
				v, err := nextSeq(ctx, tx)
				if err != nil {
					return err
				}
				_, err = tx.ExecContext(ctx, `UPDATE announcements SET status = 'retracted', retracted_at = ?, version = ?, updated_at = ? WHERE id = ?`,
					ts(now), v, ts(now), id)
				return err
			}
			n, err := s.resolve(ctx, tx, an, now)
			if err != nil {
				return err
			}
			published++
			return s.audit(ctx, tx, System, 0, "publish", "announcement", id, map[string]any{"recipients": n, "scheduled": true})
		})
		if err != nil {
			return published, fmt.Errorf("publish scheduled announcement %d: %w", id, err)
		}
	}
	return published, nil
}

// resolve turns the audience into receipt rows (each with its own seq
// version, for sync) and push outbox rows (one per fresh device token),
// and marks the announcement published, inside tx.
func (s *Store) resolve(ctx context.Context, tx *sql.Tx, an *Announcement, now time.Time) (int, error) {
	ranges, err := s.audienceRanges(ctx, tx, System, an.Audience)
	if err != nil {
		return 0, err
	}
	v, err := nextSeq(ctx, tx)
	if err != nil {
		return 0, err
	}
	// Receipts take the versions v+1 … v+n, then seq jumps to v+n: one
	// statement instead of n sequence updates, still one seq per row.
	res, err := tx.ExecContext(ctx, `
		INSERT INTO announcement_receipts (announcement_id, user_id, area_id, role, version, created_at, updated_at)
		SELECT ?4, rc.id, rc.area_id, rc.role, ?5 + row_number() OVER (ORDER BY rc.id), ?6, ?6
		FROM (`+recipientsSQL+`) rc`,
		ranges, mustJSON(an.Audience.Roles), mustJSON(an.Audience.TeamIDs), an.ID, v, ts(now))
	if err != nil {
		return 0, fmt.Errorf("resolve recipients of announcement %d: %w", an.ID, err)
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `UPDATE seq SET value = value + ? WHERE id = 1`, n); err != nil {
		return 0, fmt.Errorf("resolve recipients: %w", err)
	}
	// One outbox row per distinct fresh token (two device rows with one
	// token would otherwise get the push twice).
	_, err = tx.ExecContext(ctx, `
		INSERT INTO push_outbox (announcement_id, user_id, device_id, token, next_attempt_at, created_at, updated_at)
		SELECT ?1, d.user_id, d.id, d.push_token, ?2, ?2, ?2
		FROM (SELECT min(d.id) AS id FROM announcement_receipts r JOIN devices d ON d.user_id = r.user_id
			WHERE r.announcement_id = ?1 AND `+freshToken("?3")+`
			GROUP BY d.push_token) m
		JOIN devices d ON d.id = m.id`,
		an.ID, ts(now), ts(now.Add(-TokenStaleAfter)))
	if err != nil {
		return 0, fmt.Errorf("resolve devices of announcement %d: %w", an.ID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE announcements SET status = 'published', published_at = ?, recipients = ?, version = ?, updated_at = ?
		WHERE id = ?`, ts(now), n, v, ts(now), an.ID); err != nil {
		return 0, fmt.Errorf("publish announcement %d: %w", an.ID, err)
	}
	return int(n), nil
}
