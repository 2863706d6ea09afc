package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Review actions of coordinators. Each goes through the policy, is
// audited, and takes a new seq so phones pull the change. Locking a log is
// Store.LockLog (the sync code's, reused as is).

// reviewTarget loads the team area path of a row of a team table for a
// review action: not found when the actor cannot see the team, forbidden
// when they see it but may not review.
func (s *Store) reviewTarget(ctx context.Context, tx *sql.Tx, a Actor, table, id string) (teamID int64, path string, err error) {
	var q string
	switch table {
	case "training_sessions":
		q = `SELECT x.team_id, ar.path FROM training_sessions x JOIN teams t ON t.id = x.team_id JOIN areas ar ON ar.id = t.area_id WHERE x.id = ? AND x.deleted = 0`
	case "progress_reports":
		q = `SELECT x.team_id, ar.path FROM progress_reports x JOIN teams t ON t.id = x.team_id JOIN areas ar ON ar.id = t.area_id WHERE x.id = ?`
	case "sync_conflicts":
		q = `SELECT x.team_id, ar.path FROM sync_conflicts x JOIN teams t ON t.id = x.team_id JOIN areas ar ON ar.id = t.area_id WHERE x.id = ?`
	default:
		return 0, "", fmt.Errorf("review %s: %w", table, ErrInvalid)
	}
	err = tx.QueryRowContext(ctx, q, id).Scan(&teamID, &path)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !a.CanSeeTeam(teamID, path)) {
		return 0, "", fmt.Errorf("%s %s: %w", table, id, ErrNotFound)
	} else if err != nil {
		return 0, "", fmt.Errorf("review %s %s: %w", table, id, err)
	}
	if !a.CanReview(path) {
		return 0, "", fmt.Errorf("review %s %s: %w", table, id, ErrForbidden)
	}
	return teamID, path, nil
}

// LockSession moves a held or reported session to locked: members can no
// longer change it (they get `locked`). The status field's version is
// recorded as for a pushed change, so field merge stays consistent.
func (s *Store) LockSession(ctx context.Context, a Actor, id string) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, _, err := s.reviewTarget(ctx, tx, a, "training_sessions", id); err != nil {
			return err
		}
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM training_sessions WHERE id = ?`, id).Scan(&status); err != nil {
			return fmt.Errorf("lock session %s: %w", id, err)
		}
		switch status {
		case "locked":
			return nil
		case "held", "reported":
		default:
			return fmt.Errorf("a %s session cannot be locked: %w", status, ErrConflict)
		}
		v, err := nextSeq(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.touch(ctx, tx, kindSession, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE training_sessions SET status = 'locked',
			field_versions = json_set(field_versions, '$.status', json_object('v', CAST(?1 AS BIGINT), 'by', CAST(?2 AS BIGINT))),
			updated_by = ?2, version = ?1, updated_at = ?3 WHERE id = ?4`, v, a.UserID, ts(s.now()), id)
		if err != nil {
			return fmt.Errorf("lock session %s: %w", id, err)
		}
		return s.audit(ctx, tx, a, 0, "lock", "training_sessions", id, map[string]string{"from": status})
	})
}

// VoidProgress voids (or restores) a progress report; a void report counts
// nowhere. Reports stay append-only: this is the one change allowed.
func (s *Store) VoidProgress(ctx context.Context, a Actor, id string, void bool) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, _, err := s.reviewTarget(ctx, tx, a, "progress_reports", id); err != nil {
			return err
		}
		v, err := nextSeq(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.touch(ctx, tx, kindProgress, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE progress_reports SET void = ?, voided_by = ?, version = ?, updated_at = ? WHERE id = ?`,
			void, nullInt(a.UserID), v, ts(s.now()), id)
		if err != nil {
			return fmt.Errorf("void progress %s: %w", id, err)
		}
		return s.audit(ctx, tx, a, 0, "void", "progress_reports", id, map[string]bool{"void": void})
	})
}

// ResolveConflict marks a sync conflict resolved with a note.
func (s *Store) ResolveConflict(ctx context.Context, a Actor, id, resolution string) error {
	if len([]rune(resolution)) > 1000 {
		return fmt.Errorf("resolution is too long: %w", ErrInvalid)
	}
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, _, err := s.reviewTarget(ctx, tx, a, "sync_conflicts", id); err != nil {
			return err
		}
		v, err := nextSeq(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.touch(ctx, tx, kindConflict, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE sync_conflicts SET resolved = 1, resolution = ?, resolved_by = ?, version = ?, updated_at = ?
			WHERE id = ?`, resolution, nullInt(a.UserID), v, ts(s.now()), id)
		if err != nil {
			return fmt.Errorf("resolve conflict %s: %w", id, err)
		}
		return s.audit(ctx, tx, a, 0, "resolve", "sync_conflicts", id, nil)
	})
}
