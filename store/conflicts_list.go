package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Conflict is a value that lost a same-field race (or a status that would
// have moved backwards), with the value that won, for review.
type Conflict struct {
	ID         string
	TeamID     int64
	TeamName   string
	TeamPath   string
	Table      string
	RowID      string
	Field      string
	LostValue  json.RawMessage
	WonValue   json.RawMessage
	LostBy     int64
	LostByName string
	WonBy      int64
	WonByName  string
	DeviceID   string // the phone whose push raised it (its edit overwrote a value changed meanwhile)
	Resolved   bool
	Resolution string
	ResolvedBy int64
	Version    int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ConflictFilter selects conflicts of the teams of an area's subtree.
type ConflictFilter struct {
	AreaID int64 // default: the actor's root (a member's or lead's: their team's area)
	// Status: "open" (the default), "resolved" or "all".
	Status string
	After  int64 // keyset: versions above this
	Limit  int
}

// Conflicts lists sync conflicts by version (oldest change first): admins
// anywhere, coordinators of the area, a team lead their team's, a member
// only those they lost (CanResolveConflict says who may see and resolve).
func (s *Store) Conflicts(ctx context.Context, a Actor, f ConflictFilter) ([]Conflict, error) {
	switch f.Status {
	case "":
		f.Status = "open"
	case "open", "resolved", "all":
	default:
		return nil, fmt.Errorf("status must be open, resolved or all: %w", ErrInvalid)
	}
	if f.AreaID == 0 {
		if a.IsAdmin() {
			return nil, fmt.Errorf("area_id is required: %w", ErrInvalid)
		}
		f.AreaID = a.AreaID
	}
	ar, err := s.reportArea(ctx, a, f.AreaID)
	if err != nil {
		return nil, err
	}
	var team, lostBy int64
	switch a.Role {
	case RoleTeamLead:
		team = a.TeamID
	case RoleMember:
		team, lostBy = a.TeamID, a.UserID
	}
	lo, hi := subtreeRange(ar.Path)
	rows, err := s.read.QueryContext(ctx, `SELECT c.id, c.team_id, t.name, ta.path, c.tbl, c.row_id, c.field, c.lost_value, c.won_value,
			COALESCE(c.lost_by, 0), COALESCE(ul.name, ''), COALESCE(c.won_by, 0), COALESCE(uw.name, ''), COALESCE(c.device_id, ''),
			c.resolved, c.resolution, COALESCE(c.resolved_by, 0), c.version, c.created_at, c.updated_at
		FROM areas ta JOIN teams t ON t.area_id = ta.id JOIN sync_conflicts c ON c.team_id = t.id
		LEFT JOIN users ul ON ul.id = c.lost_by LEFT JOIN users uw ON uw.id = c.won_by
		WHERE ta.path >= ?1 AND ta.path < ?2 AND (?3 = 0 OR t.id = ?3) AND (?4 = 0 OR c.lost_by = ?4)
			AND (?5 = 'all' OR c.resolved = CASE WHEN ?5 = 'resolved' THEN 1 ELSE 0 END) AND c.version > ?6
		ORDER BY c.version LIMIT ?7`, lo, hi, team, lostBy, f.Status, f.After, clampLimit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("conflicts: %w", err)
	}
	defer rows.Close()
	out := []Conflict{}
	for rows.Next() {
		var c Conflict
		var lost, won, created, updated string
		if err := rows.Scan(&c.ID, &c.TeamID, &c.TeamName, &c.TeamPath, &c.Table, &c.RowID, &c.Field, &lost, &won,
			&c.LostBy, &c.LostByName, &c.WonBy, &c.WonByName, &c.DeviceID, &c.Resolved, &c.Resolution, &c.ResolvedBy,
			&c.Version, &created, &updated); err != nil {
			return nil, fmt.Errorf("conflicts: %w", err)
		}
		c.LostValue, c.WonValue = json.RawMessage(lost), json.RawMessage(won)
		c.CreatedAt, c.UpdatedAt = parseTS(created), parseTS(updated)
		out = append(out, c)
	}
	return out, rows.Err()
}
