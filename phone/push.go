package phone

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// PushStats says what one Push did.
type PushStats struct {
	Requests int
	Results  int
	Rejected int
}

// ErrRetryLater means the server processed part of a batch and asked the
// phone to come back after RetryAfter.
type ErrRetryLater struct{ RetryAfter time.Duration }

func (e *ErrRetryLater) Error() string {
	return fmt.Sprintf("server busy: retry after %s", e.RetryAfter)
}

// maxPushBytes keeps a push under the server's 512 KB limit.
const maxPushBytes = 480 << 10

// Push sends the pending outbox in mid order, in batches, and records each
// result in the same local transaction that marks the entry done. It stops
// at the first transport error: nothing is lost, the next Push resends, and
// the server answers already-processed mids from its stored results.
func (c *Client) Push(ctx context.Context) (PushStats, error) {
	var st PushStats
	reopened := false
	for {
		batch, err := c.pendingBatch(ctx, c.cfg.BatchSize, maxPushBytes)
		if err != nil || len(batch) == 0 {
			return st, err
		}
		waiting, err := c.Pending(ctx)
		if err != nil {
			return st, err
		}
		var resp pushResponse
		st.Requests++
		err = c.post(ctx, "/v1/sync/push", pushRequest{
			Protocol: Protocol, DeviceID: c.deviceID, SchemaVersion: SchemaVersion, AppVersion: c.cfg.AppVersion,
			Mutations: batch, PendingMutations: &waiting,
		}, &resp, true)
		if err != nil {
			var ae *APIError
			if errors.As(err, &ae) && ae.Code == "mid_gap" && !reopened {
				// The server's record of this device ends before the
				// outbox does: it was restored from a backup taken before
				// this phone's last pushes. What it lost is still in the
				// outbox from mid `expected` on: send it again.
				n, rerr := c.reopenFrom(ctx, ae.Expected)
				if rerr != nil {
					return st, rerr
				}
				if n > 0 {
					reopened = true
					continue
				}
			}
			if errors.As(err, &ae) && ae.Code == "mid_gap" {
				return st, fmt.Errorf("phone: server expects mid %d but the outbox starts at %d and does not hold it: %w", ae.Expected, batch[0].Mid, err)
			}
			return st, err
		}
		if err := c.recordResults(ctx, resp.Results); err != nil {
			return st, err
		}
		st.Results += len(resp.Results)
		for _, r := range resp.Results {
			if r.Status == "rejected" {
				st.Rejected++
			}
		}
		if len(resp.Results) < len(batch) {
			wait := time.Duration(resp.RetryAfter) * time.Second
			return st, &ErrRetryLater{RetryAfter: max(wait, time.Second)}
		}
	}
}

func (c *Client) recordResults(ctx context.Context, results []Result) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, r := range results {
		_, err := tx.ExecContext(ctx, `
			UPDATE outbox SET status = ?, code = ?, version = ?, conflict_id = ?, server_id = ? WHERE mid = ? AND status IS NULL`,
			r.Status, r.Code, r.Version, r.ConflictID, r.ID, r.Mid)
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}

// reopenFrom makes the outbox entries from mid on pending again (their
// results came from a server state that a restore took back), if the
// outbox still holds mid itself; it returns how many it reopened.
func (c *Client) reopenFrom(ctx context.Context, mid int64) (int64, error) {
	res, err := c.db.ExecContext(ctx, `
		UPDATE outbox SET status = NULL, code = '', version = 0, conflict_id = '', server_id = ''
		WHERE mid >= ?1 AND EXISTS (SELECT 1 FROM outbox WHERE mid = ?1)`, mid)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
