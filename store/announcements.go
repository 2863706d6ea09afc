package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Announcement priorities. Urgent ones are pushed with Android priority high.
const (
	PriorityNormal = "normal"
	PriorityHigh   = "high"
	PriorityUrgent = "urgent"
)

// Announcement statuses.
const (
	AnnouncementDraft     = "draft"
	AnnouncementScheduled = "scheduled"
	AnnouncementPublished = "published"
	AnnouncementRetracted = "retracted"
)

// An announcement lives DefaultAnnouncementLife when no expiry is given,
// and at most MaxAnnouncementLife.
const (
	DefaultAnnouncementLife = 30 * 24 * time.Hour
	MaxAnnouncementLife     = 366 * 24 * time.Hour
)

// Audience is who an announcement is for: the active users in any of the
// area subtrees, with one of the roles (every role when empty) and, when
// TeamIDs is not empty, in one of those teams.
type Audience struct {
	AreaIDs []int64 `json:"area_ids"`
	Roles   []Role  `json:"roles"`
	TeamIDs []int64 `json:"team_ids"`
}

// normalize sorts and deduplicates, so equal audiences store equal JSON.
func (au Audience) normalize() Audience {
	out := Audience{
		AreaIDs: slices.Compact(slices.Sorted(slices.Values(au.AreaIDs))),
		Roles:   slices.Compact(slices.Sorted(slices.Values(au.Roles))),
		TeamIDs: slices.Compact(slices.Sorted(slices.Values(au.TeamIDs))),
	}
	if out.AreaIDs == nil {
		out.AreaIDs = []int64{}
	}
	if out.Roles == nil {
		out.Roles = []Role{}
	}
	if out.TeamIDs == nil {
		out.TeamIDs = []int64{}
	}
	return out
}

// Announcement is a message from a coordinator or admin to an audience.
type Announcement struct {
	ID          int64
	AuthorID    int64
	Title       string
	Body        string
	Priority    string
	AckRequired bool
	Audience    Audience
	Status      string
	PublishAt   time.Time // scheduled time, zero if none
	PublishedAt time.Time
	ExpiresAt   time.Time
	RetractedAt time.Time
	Recipients  int // resolved at publish time
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time

	targets    []string // paths of Audience.AreaIDs, for policy questions
	authorPath string   // the author's scope now ("" for an admin), for policy questions
}

// Expired reports whether the announcement's life has ended at now.
func (an *Announcement) Expired(now time.Time) bool { return !now.Before(an.ExpiresAt) }

// NewAnnouncement is what creating a (draft) announcement takes.
type NewAnnouncement struct {
	Title       string
	Body        string
	Priority    string // default normal
	AckRequired bool
	Audience    Audience
	ExpiresAt   time.Time // default DefaultAnnouncementLife after creation
}

const announcementColumns = `id, author_id, title, body, priority, ack_required, audience, status,
	COALESCE(publish_at, ''), COALESCE(published_at, ''), expires_at, COALESCE(retracted_at, ''),
	recipients, version, created_at, updated_at`

func scanAnnouncement(sc interface{ Scan(...any) error }) (*Announcement, error) {
	var (
		an                                                         Announcement
		audience, publishAt, publishedAt, expires, retracted, c, u string
	)
	err := sc.Scan(&an.ID, &an.AuthorID, &an.Title, &an.Body, &an.Priority, &an.AckRequired, &audience, &an.Status,
		&publishAt, &publishedAt, &expires, &retracted, &an.Recipients, &an.Version, &c, &u)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(audience), &an.Audience); err != nil {
		return nil, fmt.Errorf("announcement %d audience: %w", an.ID, err)
	}
	an.PublishAt, an.PublishedAt, an.ExpiresAt, an.RetractedAt = parseTS(publishAt), parseTS(publishedAt), parseTS(expires), parseTS(retracted)
	an.CreatedAt, an.UpdatedAt = parseTS(c), parseTS(u)
	return &an, nil
}

// announcement loads one announcement with the paths of its target areas.
func (s *Store) announcement(ctx context.Context, q querier, id int64) (*Announcement, error) {
	an, err := scanAnnouncement(q.QueryRowContext(ctx, `SELECT `+announcementColumns+` FROM announcements WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("announcement %d: %w", id, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("announcement %d: %w", id, err)
	}
	err = q.QueryRowContext(ctx, `SELECT COALESCE(a.path, '') FROM users u LEFT JOIN areas a ON a.id = u.area_id
		WHERE u.id = ?`, an.AuthorID).Scan(&an.authorPath)
	if err != nil {
		return nil, fmt.Errorf("announcement %d author: %w", id, err)
	}
	rows, err := q.QueryContext(ctx, `SELECT path FROM areas WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) ORDER BY path`,
		mustJSON(an.Audience.AreaIDs))
	if err != nil {
		return nil, fmt.Errorf("announcement %d targets: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		an.targets = append(an.targets, p)
	}
	return an, rows.Err()
}

// Announcement returns an announcement the actor may see from the author's
// side (recipients use Inbox).
func (s *Store) Announcement(ctx context.Context, a Actor, id int64) (*Announcement, error) {
	an, err := s.announcement(ctx, s.read, id)
	if err != nil {
		return nil, err
	}
	if !a.CanSeeAnnouncement(an.AuthorID, an.targets) {
		return nil, fmt.Errorf("announcement %d: %w", id, ErrNotFound)
	}
	return an, nil
}

// AnnouncementFilter narrows Announcements. Zero values mean no filter.
type AnnouncementFilter struct {
	Status string
	After  int64 // keyset pagination: ids below this (newest first)
	Limit  int
}

// Announcements lists, newest first, the announcements the actor may see
// from the author's side: everything for admins; for coordinators their own
// and those whose audience overlaps their scope.
func (s *Store) Announcements(ctx context.Context, a Actor, f AnnouncementFilter) ([]Announcement, error) {
	if !a.CanAnnounce() {
		return nil, fmt.Errorf("list announcements: %w", ErrForbidden)
	}
	lo, hi := subtreeRange(a.listRoot())
	after := f.After
	if after <= 0 {
		after = 1<<63 - 1
	}
	// The scope test mirrors CanSeeAnnouncement: a target inside the scope,
	// or the scope inside a target.
	rows, err := s.read.QueryContext(ctx, `SELECT `+announcementColumns+` FROM announcements an
		WHERE an.id < ? AND (? = '' OR an.status = ?)
		AND (? = 1 OR an.author_id = ? OR EXISTS (
			SELECT 1 FROM json_each(an.audience, '$.area_ids') j JOIN areas ar ON ar.id = CAST(j.value AS BIGINT)
			WHERE (ar.path >= ? AND ar.path < ?) OR substr(?, 1, length(ar.path)) = ar.path))
		ORDER BY an.id DESC LIMIT ?`,
		after, f.Status, f.Status, a.IsAdmin(), a.UserID, lo, hi, a.listRoot(), clampLimit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("announcements: %w", err)
	}
	defer rows.Close()
	out := []Announcement{}
	for rows.Next() {
		an, err := scanAnnouncement(rows)
		if err != nil {
			return nil, fmt.Errorf("announcements: %w", err)
		}
		out = append(out, *an)
	}
	return out, rows.Err()
}

// CreateAnnouncement stores a draft. The audience must lie inside the
// actor's reach.
func (s *Store) CreateAnnouncement(ctx context.Context, a Actor, n NewAnnouncement) (*Announcement, error) {
	if !a.CanAnnounce() {
		return nil, fmt.Errorf("create announcement: %w", ErrForbidden)
	}
	now := s.now()
	if n.Priority == "" {
		n.Priority = PriorityNormal
	}
	if n.ExpiresAt.IsZero() {
		n.ExpiresAt = now.Add(DefaultAnnouncementLife)
	}
	if !n.ExpiresAt.After(now) {
		return nil, fmt.Errorf("expires_at %s is in the past: %w", ts(n.ExpiresAt), ErrInvalid)
	}
	if n.ExpiresAt.Sub(now) > MaxAnnouncementLife {
		return nil, fmt.Errorf("expires_at %s is more than a year away: %w", ts(n.ExpiresAt), ErrInvalid)
	}
	n.Audience = n.Audience.normalize()
	var id int64
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.audienceRanges(ctx, tx, a, n.Audience); err != nil {
			return err
		}
		v, err := nextSeq(ctx, tx)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `
			INSERT INTO announcements (author_id, title, body, priority, ack_required, audience, expires_at,
				version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			a.UserID, n.Title, n.Body, n.Priority, n.AckRequired, mustJSON(n.Audience), ts(n.ExpiresAt),
			v, ts(now), ts(now)).Scan(&id)
		if isForeignKey(err) {
			return fmt.Errorf("create announcement: author %d: %w", a.UserID, ErrForbidden)
		} else if err != nil {
			return fmt.Errorf("create announcement: %w", checkErr(err))
		}
		return s.audit(ctx, tx, a, 0, "create", "announcement", id, map[string]any{
			"title": n.Title, "priority": n.Priority, "audience": n.Audience})
	})
	if err != nil {
		return nil, err
	}
	return s.announcement(ctx, s.read, id)
}

// RetractAnnouncement withdraws an announcement: it leaves the inboxes and
// its pending pushes are cancelled (a push already handed to FCM stays sent).
func (s *Store) RetractAnnouncement(ctx context.Context, a Actor, id int64) (*Announcement, error) {
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		an, err := s.manageable(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if an.Status == AnnouncementRetracted {
			return nil // retracting twice changes nothing
		}
		v, err := nextSeq(ctx, tx)
		if err != nil {
			return err
		}
		now := ts(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE announcements SET status = 'retracted', retracted_at = ?, version = ?, updated_at = ?
			WHERE id = ?`, now, v, now, id); err != nil {
			return fmt.Errorf("retract announcement %d: %w", id, err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE push_outbox SET state = 'cancelled', lease_until = NULL, updated_at = ?
			WHERE announcement_id = ? AND state IN ('pending', 'sending')`, now, id)
		if err != nil {
			return fmt.Errorf("retract announcement %d: %w", id, err)
		}
		cancelled, _ := res.RowsAffected()
		if err := retractReceipts(ctx, tx, id, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, 0, "retract", "announcement", id, map[string]any{"pushes_cancelled": cancelled})
	})
	if err != nil {
		return nil, err
	}
	return s.announcement(ctx, s.read, id)
}

// manageable loads an announcement inside tx and checks that the actor may
// manage it: not visible → not found; visible but not theirs → forbidden.
func (s *Store) manageable(ctx context.Context, tx *sql.Tx, a Actor, id int64) (*Announcement, error) {
	an, err := s.announcement(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if !a.CanSeeAnnouncement(an.AuthorID, an.targets) {
		return nil, fmt.Errorf("announcement %d: %w", id, ErrNotFound)
	}
	if !a.CanManageAnnouncement(an.AuthorID, an.authorPath, an.targets) {
		return nil, fmt.Errorf("manage announcement %d: %w", id, ErrForbidden)
	}
	return an, nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only ever called with slices and structs of plain values
	}
	return string(b)
}
