package phone

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// PullStats says what one Pull did.
type PullStats struct {
	Requests int
	Changes  int
	Resets   int
	Mismatch int // scopes whose digest disagreed and were pulled again
	LastMid  int64
}

// Pull fetches every scope until none has more, applying each response in
// one local transaction together with the new cursors. A reset (or a digest
// that disagrees) pushes the outbox first, then empties the scope and pulls
// it again from 0.
func (c *Client) Pull(ctx context.Context) (PullStats, error) {
	var st PullStats
	for round := 0; ; round++ {
		if round > 10000 {
			return st, fmt.Errorf("phone: pull did not settle")
		}
		cursors, err := c.cursors(ctx)
		if err != nil {
			return st, err
		}
		waiting, err := c.Pending(ctx)
		if err != nil {
			return st, err
		}
		var resp pullResponse
		st.Requests++
		err = c.post(ctx, "/v1/sync/pull", pullRequest{
			Protocol: Protocol, DeviceID: c.deviceID, SchemaVersion: SchemaVersion, Cursors: cursors, Limit: c.cfg.PageLimit,
			PendingMutations: &waiting,
		}, &resp, true)
		if err != nil {
			return st, err
		}
		if resp.CampaignRanks != nil {
			if err := c.keepCampaignRanks(ctx, resp.CampaignRanks); err != nil {
				return st, err
			}
		}
		st.LastMid = resp.LastMid
		if len(resp.Resets) > 0 {
			// Nothing local may be lost: push first, then start the scopes over.
			if _, err := c.Push(ctx); err != nil {
				return st, err
			}
			if err := c.dropScopes(ctx, resp.Resets); err != nil {
				return st, err
			}
			st.Resets += len(resp.Resets)
			continue
		}
		more, mismatched, n, err := c.apply(ctx, &resp)
		if err != nil {
			return st, err
		}
		st.Changes += n
		if len(mismatched) > 0 {
			if _, err := c.Push(ctx); err != nil {
				return st, err
			}
			if err := c.dropScopes(ctx, mismatched); err != nil {
				return st, err
			}
			st.Mismatch += len(mismatched)
			continue
		}
		if !more {
			return st, nil
		}
	}
}

func (c *Client) cursors(ctx context.Context) (map[string]string, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT scope, cursor FROM cursors`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var s, cur string
		if err := rows.Scan(&s, &cur); err != nil {
			return nil, err
		}
		out[s] = cur
	}
	return out, rows.Err()
}

// Cursor is the stored cursor of scope ("" when the phone has none).
func (c *Client) Cursor(ctx context.Context, scope string) (string, error) {
	var cur string
	err := c.db.QueryRowContext(ctx, `SELECT cursor FROM cursors WHERE scope = ?`, scope).Scan(&cur)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return cur, err
}

func (c *Client) dropScopes(ctx context.Context, scopes []string) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range scopes {
		if _, err := tx.ExecContext(ctx, `DELETE FROM rows WHERE scope = ?`, s); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM cursors WHERE scope = ?`, s); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// apply writes one pull response: removed scopes, changed rows and the new
// cursors, in one local transaction. It reports whether any scope has more,
// the scopes whose digest disagrees with the local copy, and the number of
// changes.
func (c *Client) apply(ctx context.Context, resp *pullResponse) (more bool, mismatched []string, n int, err error) {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return false, nil, 0, err
	}
	defer tx.Rollback()
	for _, s := range resp.ScopesRemoved {
		if _, err := tx.ExecContext(ctx, `DELETE FROM rows WHERE scope = ?`, s); err != nil {
			return false, nil, 0, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM cursors WHERE scope = ?`, s); err != nil {
			return false, nil, 0, err
		}
	}
	// A page holds up to PageLimit changes: each statement is prepared
	// once for the page, not parsed again for every row.
	var put, del *sql.Stmt
	defer func() {
		if put != nil {
			put.Close()
		}
		if del != nil {
			del.Close()
		}
	}()
	for scope, page := range resp.Scopes {
		for _, ch := range page.Changes {
			n++
			switch ch.Op {
			case "put":
				if put == nil {
					if put, err = tx.PrepareContext(ctx, `
						INSERT INTO rows (scope, tbl, id, version, data) VALUES (?, ?, ?, ?, ?)
						ON CONFLICT (scope, tbl, id) DO UPDATE SET version = excluded.version, data = excluded.data
						WHERE excluded.version >= rows.version`); err != nil {
						return false, nil, 0, err
					}
				}
				_, err = put.ExecContext(ctx, scope, ch.Table, ch.ID, ch.Version, string(ch.Row))
			case "del":
				if del == nil {
					if del, err = tx.PrepareContext(ctx,
						`DELETE FROM rows WHERE scope = ? AND tbl = ? AND id = ? AND version <= ?`); err != nil {
						return false, nil, 0, err
					}
				}
				_, err = del.ExecContext(ctx, scope, ch.Table, ch.ID, ch.Version)
			default:
				err = fmt.Errorf("phone: unknown change op %q", ch.Op)
			}
			if err != nil {
				return false, nil, 0, err
			}
		}
		if err := c.advance(ctx, tx, scope, page.Cursor); err != nil {
			return false, nil, 0, err
		}
		more = more || page.HasMore
		if !page.HasMore && page.Digest != nil {
			local, err := digestOf(ctx, tx, scope)
			if err != nil {
				return false, nil, 0, err
			}
			if local != *page.Digest {
				mismatched = append(mismatched, scope)
			}
		}
	}
	return more, mismatched, n, tx.Commit()
}

// advance stores a scope's cursor. Cursors are opaque to the app ("9050",
// "9050.<tag>", either with "~<horizon>" after it while a first pull pages
// below the tombstone horizon), but their number never goes backwards: a client that
// sees it do so has found a server bug, and says so.
func (c *Client) advance(ctx context.Context, tx *sql.Tx, scope, cursor string) error {
	next, ok := cursorSeq(cursor)
	if !ok {
		return fmt.Errorf("phone: scope %s: bad cursor %q", scope, cursor)
	}
	var cur string
	err := tx.QueryRowContext(ctx, `SELECT cursor FROM cursors WHERE scope = ?`, scope).Scan(&cur)
	if err != nil && err != sql.ErrNoRows {
		return err
	}
	if prev, _ := cursorSeq(cur); cur != "" && next < prev {
		return fmt.Errorf("phone: scope %s: cursor went backwards from %s to %s", scope, cur, cursor)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO cursors (scope, cursor) VALUES (?, ?) ON CONFLICT (scope) DO UPDATE SET cursor = excluded.cursor`,
		scope, cursor)
	return err
}

// cursorSeq is the sequence number at the front of a cursor.
func cursorSeq(cursor string) (int64, bool) {
	n, _, _ := strings.Cut(cursor, "~")
	n, _, _ = strings.Cut(n, ".")
	v, err := strconv.ParseInt(n, 10, 64)
	return v, err == nil && v >= 0
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// digestOf computes the digest of the local copy of scope the way the
// server does: the row count, and the sum modulo 2^64 of FNV-1a-64 over
// "table:id:version" for every row, as 16 hex digits. A sum does not depend
// on the order of rows.
func digestOf(ctx context.Context, q queryer, scope string) (Digest, error) {
	rows, err := q.QueryContext(ctx, `SELECT tbl, id, version FROM rows WHERE scope = ?`, scope)
	if err != nil {
		return Digest{}, err
	}
	defer rows.Close()
	var (
		d   Digest
		sum uint64
	)
	for rows.Next() {
		var tbl, id string
		var v int64
		if err := rows.Scan(&tbl, &id, &v); err != nil {
			return Digest{}, err
		}
		h := fnv.New64a()
		h.Write([]byte(tbl + ":" + id + ":" + strconv.FormatInt(v, 10)))
		sum += h.Sum64()
		d.Count++
	}
	d.Hash = fmt.Sprintf("%016x", sum)
	return d, rows.Err()
}

// Digest is the local digest of a scope.
func (c *Client) Digest(ctx context.Context, scope string) (Digest, error) {
	return digestOf(ctx, c.db, scope)
}

// Row is a locally held row.
type Row struct {
	Scope   string
	Table   string
	ID      string
	Version int64
	Data    json.RawMessage
}

// Rows lists the local rows of a scope ("" for all), by table and id.
func (c *Client) Rows(ctx context.Context, scope string) ([]Row, error) {
	rows, err := c.db.QueryContext(ctx, `
		SELECT scope, tbl, id, version, data FROM rows WHERE ? = '' OR scope = ? ORDER BY scope, tbl, id`, scope, scope)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var data string
		if err := rows.Scan(&r.Scope, &r.Table, &r.ID, &r.Version, &data); err != nil {
			return nil, err
		}
		r.Data = json.RawMessage(data)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Scopes lists the scopes the phone holds a cursor for.
func (c *Client) Scopes(ctx context.Context) ([]string, error) {
	cur, err := c.cursors(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(cur))
	for s := range cur {
		out = append(out, s)
	}
	return out, nil
}

// Sync pushes the outbox, then pulls until quiet.
func (c *Client) Sync(ctx context.Context) error {
	if _, err := c.Push(ctx); err != nil {
		return err
	}
	_, err := c.Pull(ctx)
	return err
}

// keepCampaignRanks stores the latest campaign ranks the server sent.
func (c *Client) keepCampaignRanks(ctx context.Context, ranks []CampaignRank) error {
	b, err := json.Marshal(ranks)
	if err != nil {
		return err
	}
	return c.setMeta(ctx, c.db, "campaign_ranks", string(b))
}

// CampaignRanks is what the last pull said about the team's standing in
// the running campaigns (team leads only; nil before any).
func (c *Client) CampaignRanks(ctx context.Context) ([]CampaignRank, error) {
	v, err := c.meta(ctx, "campaign_ranks")
	if err != nil || v == "" {
		return nil, err
	}
	var out []CampaignRank
	return out, json.Unmarshal([]byte(v), &out)
}
