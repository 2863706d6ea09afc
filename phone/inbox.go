package phone

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The inbox: announcements arrive as announcement_receipts rows in the
// user's user:<id> scope (one row per announcement, its id the
// announcement's); the app marks them read or acknowledged with patches
// that travel in the next push, so opening an announcement works offline.

// InboxItem is one announcement as the phone holds it.
type InboxItem struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Body        string `json:"body"`
	Priority    string `json:"priority"` // normal, high, urgent
	AckRequired bool   `json:"ack_required"`
	Author      string `json:"author"`
	PublishedAt string `json:"published_at"`
	ExpiresAt   string `json:"expires_at"`
	ReadAt      string `json:"read_at"`  // "" until the server confirms a read
	AckedAt     string `json:"acked_at"` // "" until the server confirms an ack
	Version     int64  `json:"version"`
}

// Inbox lists the announcements the phone holds, newest first.
func (c *Client) Inbox(ctx context.Context) ([]InboxItem, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT data FROM rows
		WHERE scope = ? AND tbl = 'announcement_receipts' ORDER BY json_extract(data, '$.published_at') DESC, id DESC`,
		"user:"+strconv.FormatInt(c.userID, 10))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []InboxItem
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var it InboxItem
		if err := json.Unmarshal([]byte(data), &it); err != nil {
			return nil, fmt.Errorf("phone: inbox row: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// MarkRead queues "opened at at" for an announcement (the phone's clock;
// the server clamps it between publication and its own now).
func (c *Client) MarkRead(ctx context.Context, id string, at time.Time) (int64, error) {
	return c.Patch(ctx, "announcement_receipts", id, 0, map[string]string{"read_at": at.UTC().Format(time.RFC3339Nano)}, "")
}

// Acknowledge queues the user's acknowledgement (which implies a read).
func (c *Client) Acknowledge(ctx context.Context, id string, at time.Time) (int64, error) {
	t := at.UTC().Format(time.RFC3339Nano)
	return c.Patch(ctx, "announcement_receipts", id, 0, map[string]string{"read_at": t, "acked_at": t}, "")
}
