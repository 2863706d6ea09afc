package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The inbox in sync: the user: scope's announcement_receipts rows. A row is
// the recipient's copy of one announcement (its id is the announcement's),
// with the announcement's text and the recipient's own read and ack times,
// at the receipt's version. Publishing gives every receipt its own seq, a
// read or ack a new one, and a retraction leaves a tombstone in each
// recipient's user: scope; announcements are not edited after publication,
// so the receipt's version covers the whole row.

// receiptFields is a parsed announcement_receipts patch.
type receiptFields struct {
	ID     int64
	ReadAt time.Time // zero: not set by this patch
	AckAt  time.Time
	Ack    bool
}

func receiptTable() *syncTable {
	return &syncTable{
		name:  "announcement_receipts",
		scope: scopeUser,
		pullCols: `json_object('id', CAST(r.announcement_id AS TEXT), 'announcement_id', r.announcement_id,
			'title', an.title, 'body', an.body, 'priority', an.priority, 'ack_required', ` + jbool("an.ack_required") + `,
			'author', (SELECT u.name FROM users u WHERE u.id = an.author_id),
			'published_at', an.published_at, 'expires_at', an.expires_at,
			'read_at', r.read_at, 'acked_at', r.acked_at, 'version', r.version)`,
		pullFrom:   `announcement_receipts r JOIN announcements an ON an.id = r.announcement_id`,
		idCol:      `r.announcement_id`,
		pageKey:    `r.announcement_id`,
		live:       `an.status = 'published'`,
		validID:    validAnnouncementID,
		parse:      parseReceipt,
		apply:      applyReceipt,
		versionSQL: `SELECT version FROM announcement_receipts WHERE announcement_id = ?1 AND user_id = ?2`,
	}
}

// validAnnouncementID reports whether s is an announcement id as the pull
// sends it: a positive decimal integer.
func validAnnouncementID(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n > 0 && strconv.FormatInt(n, 10) == s
}

func parseReceipt(s *Store, m *Mutation, c *catalog, now time.Time) (any, *Result) {
	if m.Op != "patch" {
		return nil, reject(CodeReadOnly, "op", "receipts are created by the server; mark one read or acknowledged with a patch")
	}
	f := receiptFields{}
	f.ID, _ = strconv.ParseInt(m.ID, 10, 64)
	r := newFieldReader(m.Fields)
	r.ignore("id", "announcement_id", "title", "body", "priority", "ack_required", "author", "published_at",
		"expires_at", "version")
	// A time from the phone's clock: the server clamps it between the
	// publication and now, so it is not refused for being ahead.
	stamp := func(name string) time.Time {
		v := r.timestamp(name, time.Time{})
		if v == nil {
			return time.Time{}
		}
		if *v == "" {
			r.bad(name, "cannot be cleared")
			return time.Time{}
		}
		t, _ := time.Parse(time.RFC3339, *v)
		return t
	}
	f.ReadAt = stamp("read_at")
	f.AckAt = stamp("acked_at")
	f.Ack = !f.AckAt.IsZero()
	if rej := r.result(); rej != nil {
		return nil, rej
	}
	if f.ReadAt.IsZero() && !f.Ack {
		return nil, reject(CodeValidation, "read_at", "a receipt patch sets read_at or acked_at")
	}
	return &f, nil
}

func applyReceipt(p *pushTx, m *Mutation, parsed any) (Result, error) {
	f := parsed.(*receiptFields)
	seq := func() (int64, error) { return p.nextSeq(), nil }
	var rc *Receipt
	var err error
	if !f.ReadAt.IsZero() {
		rc, err = p.s.markReceiptTx(p.ctx, p.tx, seq, p.actor, f.ID, f.ReadAt, false)
	}
	if err == nil && f.Ack {
		rc, err = p.s.markReceiptTx(p.ctx, p.tx, seq, p.actor, f.ID, f.AckAt, true)
	}
	switch {
	case errors.Is(err, errRetracted):
		return *reject(CodeDeleted), nil
	case errors.Is(err, ErrNotFound): // not a recipient, or no such announcement
		return *reject(CodeNotFound), nil
	case err != nil:
		return Result{}, err
	}
	return Result{Status: StatusApplied, Version: rc.Version}, nil
}

// retractReceipts leaves a tombstone in each recipient's user: scope, one
// seq each (tombstones are keyed by seq), so their phones drop the row.
func retractReceipts(ctx context.Context, tx *sql.Tx, id int64, now string) error {
	var v int64
	if err := tx.QueryRowContext(ctx, `SELECT value FROM seq WHERE id = 1`).Scan(&v); err != nil {
		return fmt.Errorf("retract receipts: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO tombstones (seq, scope, tbl, row_id, created_at)
		SELECT ?1 + row_number() OVER (ORDER BY user_id), 'user:' || user_id, 'announcement_receipts', CAST(announcement_id AS TEXT), ?3
		FROM announcement_receipts WHERE announcement_id = ?2`, v, id, now)
	if err != nil {
		return fmt.Errorf("retract receipts of announcement %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `UPDATE seq SET value = value + ? WHERE id = 1`, n); err != nil {
		return fmt.Errorf("retract receipts: %w", err)
	}
	return nil
}
