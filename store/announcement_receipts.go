package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Receipt is one recipient's record of an announcement. The times only
// move earlier once set: the earliest read or ack wins.
type Receipt struct {
	AnnouncementID int64
	UserID         int64
	AreaID         int64
	Role           Role
	DeliveredAt    time.Time
	ReadAt         time.Time
	AckedAt        time.Time
	Version        int64
}

// InboxItem is an announcement as its recipient sees it.
type InboxItem struct {
	Announcement Announcement
	Receipt      Receipt
}

const inboxColumns = `an.id, an.author_id, an.title, an.body, an.priority, an.ack_required, an.audience, an.status,
	COALESCE(an.publish_at, ''), COALESCE(an.published_at, ''), an.expires_at, COALESCE(an.retracted_at, ''),
	an.recipients, an.version, an.created_at, an.updated_at,
	r.area_id, r.role, COALESCE(r.delivered_at, ''), COALESCE(r.read_at, ''), COALESCE(r.acked_at, ''), r.version`

func scanInboxItem(sc interface{ Scan(...any) error }) (*InboxItem, error) {
	var (
		it                          InboxItem
		audience, pa, pd, ex, rt, c string
		u, dl, rd, ak               string
	)
	an := &it.Announcement
	r := &it.Receipt
	err := sc.Scan(&an.ID, &an.AuthorID, &an.Title, &an.Body, &an.Priority, &an.AckRequired, &audience, &an.Status,
		&pa, &pd, &ex, &rt, &an.Recipients, &an.Version, &c, &u,
		&r.AreaID, &r.Role, &dl, &rd, &ak, &r.Version)
	if err != nil {
		return nil, err
	}
	// A recipient does not see the audience (other areas and teams).
	an.PublishAt, an.PublishedAt, an.ExpiresAt, an.RetractedAt = parseTS(pa), parseTS(pd), parseTS(ex), parseTS(rt)
	an.CreatedAt, an.UpdatedAt = parseTS(c), parseTS(u)
	r.AnnouncementID = an.ID
	r.DeliveredAt, r.ReadAt, r.AckedAt = parseTS(dl), parseTS(rd), parseTS(ak)
	return &it, nil
}

// Inbox lists the actor's own published, unretracted announcements, newest
// first (ids below after when after > 0), and marks them delivered.
func (s *Store) Inbox(ctx context.Context, a Actor, after int64, limit int) ([]InboxItem, error) {
	if after <= 0 {
		after = 1<<63 - 1
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+inboxColumns+`
		FROM announcement_receipts r JOIN announcements an ON an.id = r.announcement_id
		WHERE r.user_id = ? AND an.status = 'published' AND an.id < ?
		ORDER BY an.id DESC LIMIT ?`, a.UserID, after, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	out := []InboxItem{}
	var undelivered []int64
	for rows.Next() {
		it, err := scanInboxItem(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("inbox: %w", err)
		}
		it.Receipt.UserID = a.UserID
		if it.Receipt.DeliveredAt.IsZero() {
			undelivered = append(undelivered, it.Announcement.ID)
		}
		out = append(out, *it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(undelivered) > 0 {
		at, err := s.MarkDelivered(ctx, a.UserID, undelivered)
		if err != nil {
			return nil, err
		}
		for i := range out {
			if out[i].Receipt.DeliveredAt.IsZero() {
				out[i].Receipt.DeliveredAt = at
			}
		}
	}
	return out, nil
}

// MarkDelivered records that the user's phone now holds these
// announcements (through the inbox or a sync pull), in one statement.
// Already delivered receipts keep their time, and delivery takes no new
// version (phones do not hold that time). It returns the time recorded.
// Taking no seq, it runs beside the writes of every province (userTx); the
// statement only fills times still empty, so two at once (or a read
// receipt beside it) leave a time that one of them wrote.
func (s *Store) MarkDelivered(ctx context.Context, userID int64, announcementIDs []int64) (time.Time, error) {
	now := Truncate(s.now())
	err := s.userTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE announcement_receipts SET delivered_at = ?1, updated_at = ?1
			WHERE user_id = ?2 AND delivered_at IS NULL AND announcement_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?3))`,
			ts(now), userID, mustJSON(announcementIDs))
		if err != nil {
			return fmt.Errorf("mark delivered: %w", err)
		}
		return nil
	})
	return now, err
}

// MarkRead records that the actor opened the announcement at at (the
// server's clock when zero; a time from the phone is clamped to between
// the publication and now, so no clock can put it outside). Earliest wins.
func (s *Store) MarkRead(ctx context.Context, a Actor, id int64, at time.Time) (*Receipt, error) {
	return s.markReceipt(ctx, a, id, at, false)
}

// MarkAcked records the actor's acknowledgement (which implies reading it).
func (s *Store) MarkAcked(ctx context.Context, a Actor, id int64, at time.Time) (*Receipt, error) {
	return s.markReceipt(ctx, a, id, at, true)
}

// markReceipt takes a seq (the recipient's other devices pull the read):
// it runs under the actor's province lock, as the actor's push of a
// receipt does, beside the writes of other provinces.
func (s *Store) markReceipt(ctx context.Context, a Actor, id int64, at time.Time, ack bool) (*Receipt, error) {
	var r *Receipt
	err := s.provinceTx(ctx, 1, provinceOf(a), func(ctx context.Context, tx *sql.Tx) error {
		var err error
		r, err = s.markReceiptTx(ctx, tx, txSeq(ctx, tx), a, id, at, ack)
		return err
	})
	return r, err
}

// markReceiptTx records a read (or ack) inside tx: sync push applies an
// announcement_receipts mutation with it, in the transaction that stores
// the mutation's result, taking versions from seq. Only the recipient may;
// a retracted announcement is ErrGone.
func (s *Store) markReceiptTx(ctx context.Context, tx *sql.Tx, seq func() (int64, error), a Actor, id int64, at time.Time, ack bool) (*Receipt, error) {
	now := s.now()
	var status, published string
	err := tx.QueryRowContext(ctx, `SELECT an.status, COALESCE(an.published_at, '') FROM announcement_receipts r
		JOIN announcements an ON an.id = r.announcement_id WHERE r.announcement_id = ? AND r.user_id = ?`, id, a.UserID).
		Scan(&status, &published)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("announcement %d: %w", id, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("announcement %d: %w", id, err)
	}
	if status == AnnouncementRetracted {
		return nil, fmt.Errorf("announcement %d: %w", id, errRetracted)
	}
	if at.IsZero() || at.After(now) {
		at = now
	}
	if p := parseTS(published); at.Before(p) {
		at = p
	}
	return s.stampReceipt(ctx, tx, seq, a.UserID, id, Truncate(at), true, ack)
}

// errRetracted is a receipt of a retracted announcement: gone for the
// recipient (not found to the REST API, `deleted` to sync push).
var errRetracted = fmt.Errorf("announcement retracted: %w", ErrNotFound)

// stampReceipt sets delivered (and read, and acked) to at where unset or
// later. A read or ack takes a new version from seq, so the recipient's
// other devices pull it; delivery alone does not: it is the server's
// bookkeeping, not part of the row phones hold.
func (s *Store) stampReceipt(ctx context.Context, tx *sql.Tx, seq func() (int64, error), userID, id int64, at time.Time, read, ack bool) (*Receipt, error) {
	var r Receipt
	var dl, rd, ak string
	err := tx.QueryRowContext(ctx, `SELECT area_id, role, COALESCE(delivered_at, ''), COALESCE(read_at, ''), COALESCE(acked_at, ''), version
		FROM announcement_receipts WHERE announcement_id = ? AND user_id = ?`, id, userID).
		Scan(&r.AreaID, &r.Role, &dl, &rd, &ak, &r.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("announcement %d: %w", id, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("receipt %d/%d: %w", id, userID, err)
	}
	r.AnnouncementID, r.UserID = id, userID
	r.DeliveredAt, r.ReadAt, r.AckedAt = parseTS(dl), parseTS(rd), parseTS(ak)
	delivered, visible := false, false
	earliest := func(t *time.Time, changed *bool) {
		if t.IsZero() || at.Before(*t) {
			*t, *changed = at, true
		}
	}
	earliest(&r.DeliveredAt, &delivered)
	if read || ack {
		earliest(&r.ReadAt, &visible)
	}
	if ack {
		earliest(&r.AckedAt, &visible)
	}
	if !delivered && !visible {
		return &r, nil
	}
	if visible {
		if r.Version, err = seq(); err != nil {
			return nil, err
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE announcement_receipts SET delivered_at = ?, read_at = ?, acked_at = ?, version = ?, updated_at = ?
		WHERE announcement_id = ? AND user_id = ?`,
		tsOrNull(r.DeliveredAt), tsOrNull(r.ReadAt), tsOrNull(r.AckedAt), r.Version, ts(s.now()), id, userID)
	if err != nil {
		return nil, fmt.Errorf("receipt %d/%d: %w", id, userID, err)
	}
	return &r, nil
}

func tsOrNull(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: ts(t), Valid: true}
}

// UserAnnouncementChanges lists, in version order, what changed in the
// user's inbox after seq since: announcements they receive (a retracted
// one is a deletion for the phone) and their own receipts. It is the
// source of the sync user: scope; limit caps the rows returned. Sync pull
// calls userAnnouncementChanges with its read transaction, so the page
// belongs to its snapshot.
func (s *Store) UserAnnouncementChanges(ctx context.Context, userID, since int64, limit int) ([]InboxItem, error) {
	return s.userAnnouncementChanges(ctx, s.read, userID, since, limit)
}

func (s *Store) userAnnouncementChanges(ctx context.Context, q querier, userID, since int64, limit int) ([]InboxItem, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+inboxColumns+`
		FROM announcement_receipts r JOIN announcements an ON an.id = r.announcement_id
		WHERE r.user_id = ?1 AND (r.version > ?2 OR an.version > ?2)
		ORDER BY max(r.version, an.version) LIMIT ?3`, userID, since, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("inbox changes: %w", err)
	}
	defer rows.Close()
	var out []InboxItem
	for rows.Next() {
		it, err := scanInboxItem(rows)
		if err != nil {
			return nil, fmt.Errorf("inbox changes: %w", err)
		}
		it.Receipt.UserID = userID
		out = append(out, *it)
	}
	return out, rows.Err()
}

// Version is the row's sync version: the later of the announcement's and
// the receipt's (the phone stores them as one inbox row).
func (it *InboxItem) Version() int64 { return max(it.Announcement.Version, it.Receipt.Version) }

// ReceiptRollup is one line of an announcement's receipts, per recipient
// area and role.
type ReceiptRollup struct {
	AreaID       int64
	AreaName     string
	Role         Role
	Recipients   int
	Delivered    int // the phone holds it (inbox, sync, read or ack)
	Read         int
	Acknowledged int
	PushSent     int // at least one push accepted by FCM
	PushFailed   int // every push to the recipient ended without being sent
	NoDevice     int // no fresh push token at publish time: sync only
}

// ReceiptRollups rolls up an announcement's receipts per recipient area
// and role, limited to recipients inside the actor's scope.
func (s *Store) ReceiptRollups(ctx context.Context, a Actor, id int64) ([]ReceiptRollup, error) {
	an, err := s.Announcement(ctx, a, id)
	if err != nil {
		return nil, err
	}
	lo, hi := subtreeRange(a.listRoot())
	rows, err := s.read.QueryContext(ctx, `
		WITH push AS (
			SELECT user_id, sum(CASE WHEN state = 'sent' THEN 1 ELSE 0 END) AS sent,
				sum(CASE WHEN state IN ('pending', 'sending') THEN 1 ELSE 0 END) AS pending
			FROM push_outbox WHERE announcement_id = ?1 GROUP BY user_id)
		SELECT ar.id, ar.name, r.role, count(*), count(r.delivered_at), count(r.read_at), count(r.acked_at),
			COALESCE(sum(CASE WHEN p.sent > 0 THEN 1 ELSE 0 END), 0),
			COALESCE(sum(CASE WHEN p.sent = 0 AND p.pending = 0 THEN 1 ELSE 0 END), 0),
			sum(CASE WHEN p.user_id IS NULL THEN 1 ELSE 0 END)
		FROM announcement_receipts r
		JOIN areas ar ON ar.id = r.area_id
		LEFT JOIN push p ON p.user_id = r.user_id
		WHERE r.announcement_id = ?1 AND ar.path >= ?2 AND ar.path < ?3
		GROUP BY ar.id, r.role
		ORDER BY ar.path, r.role`, an.ID, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("receipts of announcement %d: %w", id, err)
	}
	defer rows.Close()
	out := []ReceiptRollup{}
	for rows.Next() {
		var r ReceiptRollup
		if err := rows.Scan(&r.AreaID, &r.AreaName, &r.Role, &r.Recipients, &r.Delivered, &r.Read, &r.Acknowledged,
			&r.PushSent, &r.PushFailed, &r.NoDevice); err != nil {
			return nil, fmt.Errorf("receipts of announcement %d: %w", id, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// txSeq allocates versions with nextSeq, for writes outside a sync push.
func txSeq(ctx context.Context, tx *sql.Tx) func() (int64, error) {
	return func() (int64, error) { return nextSeq(ctx, tx) }
}
