package phone

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Write records a local change in the outbox and returns its mid. The mid
// comes from a counter in the same local transaction, so it is never reused.
func (c *Client) Write(ctx context.Context, m Mutation) (int64, error) {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var next int64
	err = tx.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'next_mid'`).Scan(&next)
	if err == sql.ErrNoRows {
		next = 1
	} else if err != nil {
		return 0, err
	}
	var fields sql.NullString
	if len(m.Fields) > 0 {
		fields = sql.NullString{String: string(m.Fields), Valid: true}
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO outbox (mid, tx, tbl, op, id, base_version, fields, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		next, m.Tx, m.Table, m.Op, m.ID, m.BaseVersion, fields, c.cfg.Now().UTC().Format(time.RFC3339))
	if err != nil {
		return 0, err
	}
	if err := c.setMeta(ctx, tx, "next_mid", fmt.Sprint(next+1)); err != nil {
		return 0, err
	}
	return next, tx.Commit()
}

// Create queues the creation of a row with fields (marshalled to JSON).
func (c *Client) Create(ctx context.Context, table, id string, fields any, tx string) (int64, error) {
	f, err := json.Marshal(fields)
	if err != nil {
		return 0, err
	}
	return c.Write(ctx, Mutation{Table: table, Op: "create", ID: id, Fields: f, Tx: tx})
}

// Patch queues a field patch against the version the phone last saw.
func (c *Client) Patch(ctx context.Context, table, id string, baseVersion int64, fields any, tx string) (int64, error) {
	f, err := json.Marshal(fields)
	if err != nil {
		return 0, err
	}
	return c.Write(ctx, Mutation{Table: table, Op: "patch", ID: id, BaseVersion: baseVersion, Fields: f, Tx: tx})
}

// Delete queues a deletion.
func (c *Client) Delete(ctx context.Context, table, id string, baseVersion int64) (int64, error) {
	return c.Write(ctx, Mutation{Table: table, Op: "delete", ID: id, BaseVersion: baseVersion})
}

// Entry is an outbox entry with its result, once known.
type Entry struct {
	Mutation
	Status     string // "" while pending
	Code       string
	Version    int64
	ConflictID string
	ServerID   string // the row's id on the server when it differs from ID
}

// Outbox lists every entry, pending or done, by mid.
func (c *Client) Outbox(ctx context.Context) ([]Entry, error) {
	rows, err := c.db.QueryContext(ctx, `
		SELECT mid, tx, tbl, op, id, base_version, COALESCE(fields, ''), COALESCE(status, ''), code, version, conflict_id, server_id
		FROM outbox ORDER BY mid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var fields string
		if err := rows.Scan(&e.Mid, &e.Tx, &e.Table, &e.Op, &e.ID, &e.BaseVersion, &fields, &e.Status, &e.Code, &e.Version, &e.ConflictID, &e.ServerID); err != nil {
			return nil, err
		}
		if fields != "" {
			e.Fields = json.RawMessage(fields)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Pending counts the entries still waiting for a result.
func (c *Client) Pending(ctx context.Context) (int, error) {
	var n int
	err := c.db.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE status IS NULL`).Scan(&n)
	return n, err
}

// pendingBatch returns up to n pending mutations in mid order, cut so the
// JSON stays under maxBytes.
func (c *Client) pendingBatch(ctx context.Context, n, maxBytes int) ([]Mutation, error) {
	rows, err := c.db.QueryContext(ctx, `
		SELECT mid, tx, tbl, op, id, base_version, COALESCE(fields, '')
		FROM outbox WHERE status IS NULL ORDER BY mid LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		out  []Mutation
		size = 200
	)
	for rows.Next() {
		var m Mutation
		var fields string
		if err := rows.Scan(&m.Mid, &m.Tx, &m.Table, &m.Op, &m.ID, &m.BaseVersion, &fields); err != nil {
			return nil, err
		}
		if fields != "" {
			m.Fields = json.RawMessage(fields)
		}
		size += len(fields) + len(m.ID) + len(m.Tx) + 120
		if len(out) > 0 && size > maxBytes {
			break
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
