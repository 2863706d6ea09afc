package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
)

// AuditEntry is one line of the audit trail.
type AuditEntry struct {
	ID       int64
	At       string
	UserID   int64
	DeviceID string
	Mid      int64
	Action   string
	Entity   string
	EntityID string
	Detail   json.RawMessage
}

// audit records who did what inside the write transaction of the change.
// detail is marshalled to JSON; it must never hold raw citizen numbers.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, a Actor, mid int64, action, entity string, entityID any, detail any) error {
	d := []byte("{}")
	if detail != nil {
		var err error
		if d, err = json.Marshal(detail); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	var id string
	switch v := entityID.(type) {
	case int64:
		id = strconv.FormatInt(v, 10)
	case string:
		id = v
	default:
		id = fmt.Sprint(v)
	}
	_, err := s.wstmts.exec(ctx, tx, `
		INSERT INTO audit_log (at, user_id, device_id, mid, action, entity, entity_id, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		ts(s.now()), nullInt(a.UserID), nullStr(a.DeviceID), nullInt(mid), action, entity, id, string(d))
	if err != nil {
		return fmt.Errorf("audit %s %s: %w", action, entity, err)
	}
	return nil
}

// AuditTrail lists the audit entries for one entity, oldest first.
func (s *Store) AuditTrail(ctx context.Context, entity, entityID string) ([]AuditEntry, error) {
	rows, err := s.read.QueryContext(ctx, `
		SELECT id, at, COALESCE(user_id, 0), COALESCE(device_id, ''), COALESCE(mid, 0), action, entity, entity_id, detail
		FROM audit_log WHERE entity = ? AND entity_id = ? ORDER BY id`, entity, entityID)
	if err != nil {
		return nil, fmt.Errorf("audit trail: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var d string
		if err := rows.Scan(&e.ID, &e.At, &e.UserID, &e.DeviceID, &e.Mid, &e.Action, &e.Entity, &e.EntityID, &d); err != nil {
			return nil, fmt.Errorf("audit trail: %w", err)
		}
		e.Detail = json.RawMessage(d)
		out = append(out, e)
	}
	return out, rows.Err()
}

func nullInt(v int64) sql.NullInt64 { return sql.NullInt64{Int64: v, Valid: v != 0} }

func nullStr(v string) sql.NullString { return sql.NullString{String: v, Valid: v != ""} }
