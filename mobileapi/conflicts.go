package mobileapi

import (
	"encoding/json"

	"github.com/gofiber/fiber/v3"

	"toso/store"
)

type listConflictsQuery struct {
	AreaID int64  `query:"area_id" validate:"gte=0"`
	Status string `query:"status" validate:"omitempty,oneof=open resolved all"`
	After  int64  `query:"after" validate:"gte=0"`
	Limit  int    `query:"limit" validate:"gte=0,lte=500"`
}

type conflictResponse struct {
	ID         string          `json:"id"`
	TeamID     int64           `json:"team_id"`
	TeamName   string          `json:"team_name"`
	Table      string          `json:"table"`
	RowID      string          `json:"row_id"`
	Field      string          `json:"field"`
	LostValue  json.RawMessage `json:"lost_value"`
	WonValue   json.RawMessage `json:"won_value"`
	LostBy     int64           `json:"lost_by,omitempty"`
	LostByName string          `json:"lost_by_name,omitempty"`
	WonBy      int64           `json:"won_by,omitempty"`
	WonByName  string          `json:"won_by_name,omitempty"`
	DeviceID   string          `json:"device_id,omitempty"`
	Resolved   bool            `json:"resolved"`
	Resolution string          `json:"resolution"`
	ResolvedBy int64           `json:"resolved_by,omitempty"`
	Version    int64           `json:"version"`
	CreatedAt  string          `json:"created_at"`
	UpdatedAt  string          `json:"updated_at"`
}

// listConflicts handles GET /v1/review/conflicts: the sync conflicts of
// the teams in an area (open ones by default), by version.
func (a *API) listConflicts(c fiber.Ctx) error {
	var q listConflictsQuery
	if err := c.Bind().Query(&q); err != nil {
		return err
	}
	cs, err := a.store.Conflicts(c.Context(), actor(c), store.ConflictFilter{AreaID: q.AreaID, Status: q.Status,
		After: q.After, Limit: q.Limit})
	if err != nil {
		return err
	}
	items := make([]conflictResponse, len(cs))
	for i, x := range cs {
		items[i] = conflictResponse{ID: x.ID, TeamID: x.TeamID, TeamName: x.TeamName, Table: x.Table, RowID: x.RowID,
			Field: x.Field, LostValue: x.LostValue, WonValue: x.WonValue, LostBy: x.LostBy, LostByName: x.LostByName,
			WonBy: x.WonBy, WonByName: x.WonByName, DeviceID: x.DeviceID, Resolved: x.Resolved, Resolution: x.Resolution,
			ResolvedBy: x.ResolvedBy, Version: x.Version, CreatedAt: rfc3339(x.CreatedAt), UpdatedAt: rfc3339(x.UpdatedAt)}
	}
	return c.JSON(newPage(items, q.Limit, func(r conflictResponse) int64 { return r.Version }))
}
