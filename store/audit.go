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
	r, err := s.auditRow(a, mid, action, entity, entityID, detail)
	if err != nil {
		return err
	}
	return s.auditMany(ctx, tx, []auditLine{r})
}

// auditLine is one audit_log row before it is written.
type auditLine struct {
	at, device, action, entity, id, detail string
	user, mid                              int64
}

// auditRow makes the row audit writes (a push collects its rows and writes
// them with auditMany, a statement per hundred instead of one each).
func (s *Store) auditRow(a Actor, mid int64, action, entity string, entityID any, detail any) (auditLine, error) {
	d := []byte("{}")
	if detail != nil {
		var err error
		if d, err = json.Marshal(detail); err != nil {
			return auditLine{}, fmt.Errorf("audit: %w", err)
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
	return auditLine{at: ts(s.now()), user: a.UserID, device: a.DeviceID, mid: mid, action: action, entity: entity,
		id: id, detail: string(d)}, nil
}

// auditMany writes rows in order, a hundred a statement.
func (s *Store) auditMany(ctx context.Context, tx *sql.Tx, rows []auditLine) error {
	for len(rows) > 0 {
		n := min(len(rows), 100)
		q := `INSERT INTO audit_log (at, user_id, device_id, mid, action, entity, entity_id, detail) VALUES `
		args := make([]any, 0, 8*n)
		for i, r := range rows[:n] {
			if i > 0 {
				q += ", "
			}
			q += "(?, ?, ?, ?, ?, ?, ?, ?)"
			args = append(args, r.at, nullInt(r.user), nullStr(r.device), nullInt(r.mid), r.action, r.entity, r.id, r.detail)
		}
		if _, err := s.wstmts.exec(ctx, tx, q, args...); err != nil {
			return fmt.Errorf("audit %s %s: %w", rows[0].action, rows[0].entity, err)
		}
		rows = rows[n:]
	}
	return nil
}

// AuditTrail lists the audit entries for one entity, oldest first. The
// create of a pushed log is not in the entity index (migration 0015): it is
// the entry of the log's author, at the log's creation time, naming it.
func (s *Store) AuditTrail(ctx context.Context, entity, entityID string) ([]AuditEntry, error) {
	const cols = `a.id, a.at, COALESCE(a.user_id, 0), COALESCE(a.device_id, ''), COALESCE(a.mid, 0), a.action, a.entity, a.entity_id, a.detail`
	rows, err := s.read.QueryContext(ctx, `
		SELECT `+cols+` FROM audit_log a WHERE a.entity = ?1 AND a.entity_id = ?2
			AND (a.action <> 'create' OR a.entity <> 'assistance_logs')
		UNION ALL
		SELECT `+cols+` FROM assistance_logs l JOIN audit_log a ON a.user_id = l.created_by AND a.at = l.created_at
			WHERE ?1 = 'assistance_logs' AND l.id = ?2 AND a.entity = 'assistance_logs' AND a.entity_id = l.id AND a.action = 'create'
		ORDER BY 1`, entity, entityID)
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
