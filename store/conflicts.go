package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// conflictFields is a parsed sync_conflicts mutation: resolving is a patch.
type conflictFields struct {
	Resolved   *bool
	Resolution *string
}

func conflictTable() *syncTable {
	return &syncTable{
		name:  "sync_conflicts",
		scope: scopeTeam,
		pullCols: `json_object('id', r.id, 'team_id', r.team_id, 'table', r.tbl, 'row_id', r.row_id, 'field', r.field,
			'lost_value', json(r.lost_value), 'won_value', json(r.won_value), 'lost_by', r.lost_by, 'won_by', r.won_by,
			'resolved', ` + jbool("r.resolved") + `, 'resolution', r.resolution, 'resolved_by', r.resolved_by,
			'version', r.version, 'created_at', r.created_at, 'updated_at', r.updated_at)`,
		pullFrom:   `sync_conflicts r`,
		live:       `true`,
		parse:      parseConflict,
		apply:      applyConflict,
		versionSQL: `SELECT version FROM sync_conflicts WHERE id = ?1`,
	}
}

func parseConflict(s *Store, m *Mutation, c *catalog, now time.Time) (any, *Result) {
	if m.Op != "patch" {
		return nil, reject(CodeReadOnly, "op", "conflicts are created by the server; resolve one with a patch")
	}
	var f conflictFields
	r := newFieldReader(m.Fields)
	r.ignore("id", "version", "team_id", "table", "row_id", "field", "lost_value", "won_value", "lost_by", "won_by",
		"resolved_by", "created_at", "updated_at")
	f.Resolved = r.boolean("resolved")
	f.Resolution = r.text("resolution", 1000)
	if rej := r.result(); rej != nil {
		return nil, rej
	}
	return &f, nil
}

func applyConflict(p *pushTx, m *Mutation, parsed any) (Result, error) {
	f := parsed.(*conflictFields)
	var teamID int64
	var lostBy sql.NullInt64
	var resolved bool
	var resolution string
	row, err := p.queryRow(`SELECT team_id, lost_by, resolved, resolution FROM sync_conflicts WHERE id = ?`, m.ID)
	if err != nil {
		return Result{}, err
	}
	err = row.Scan(&teamID, &lostBy, &resolved, &resolution)
	if errors.Is(err, sql.ErrNoRows) {
		return *reject(CodeNotFound), nil
	} else if err != nil {
		return Result{}, err
	}
	tp, _, err := p.team(teamID)
	if err != nil {
		return Result{}, err
	}
	if !p.actor.CanResolveConflict(TeamRow{TeamID: teamID, TeamPath: tp.Path}, lostBy.Int64) {
		return *reject(CodeForbidden), nil
	}
	set(&resolved, f.Resolved)
	set(&resolution, f.Resolution)
	v := p.nextSeq()
	if err := p.s.touch(p.ctx, p.tx, kindConflict, m.ID); err != nil {
		return Result{}, err
	}
	err = p.exec(`UPDATE sync_conflicts SET resolved = ?, resolution = ?, resolved_by = ?, version = ?, updated_at = ?
		WHERE id = ?`, resolved, resolution, nullInt(p.actor.UserID), v, p.now, m.ID)
	return Result{Status: StatusApplied, Version: v}, err
}

// LockLog locks (or unlocks) a reviewed assistance log: coordinators of the
// area and admins only. A locked log rejects member edits with `locked`.
func (s *Store) LockLog(ctx context.Context, a Actor, id string, locked bool) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var teamID int64
		var path string
		err := tx.QueryRowContext(ctx, `SELECT l.team_id, ar.path FROM assistance_logs l JOIN teams t ON t.id = l.team_id
			JOIN areas ar ON ar.id = t.area_id WHERE l.id = ? AND l.deleted = 0`, id).Scan(&teamID, &path)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !a.CanSeeTeam(teamID, path)) {
			return fmt.Errorf("log %s: %w", id, ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("lock log %s: %w", id, err)
		}
		if !a.CanEditLocked(path) {
			return fmt.Errorf("lock log %s: %w", id, ErrForbidden)
		}
		v, err := nextSeq(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.touch(ctx, tx, kindLog, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assistance_logs SET locked = ?, version = ?, updated_at = ? WHERE id = ?`,
			locked, v, ts(s.now()), id); err != nil {
			return fmt.Errorf("lock log %s: %w", id, err)
		}
		return s.audit(ctx, tx, a, 0, "lock", "assistance_logs", id, map[string]bool{"locked": locked})
	})
}
