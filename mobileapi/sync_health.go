package mobileapi

import (
	"github.com/gofiber/fiber/v3"

	"toso/store"
)

type syncHealthQuery struct {
	AreaID          int64  `query:"area_id" validate:"gte=0"`
	AppVersionBelow string `query:"app_version_below" validate:"omitempty,semver"`
	StaleDays       int    `query:"stale_days" validate:"gte=0,lte=365"`
	OnlyStale       bool   `query:"only_stale"`
	After           int64  `query:"after" validate:"gte=0"`
	Limit           int    `query:"limit" validate:"gte=0,lte=500"`
}

// deviceHealthResponse is one member's phone; a member without a phone
// has one entry without device_id.
type deviceHealthResponse struct {
	DeviceID          string         `json:"device_id,omitempty"`
	UserID            int64          `json:"user_id"`
	UserName          string         `json:"user_name"`
	Role              string         `json:"role"`
	Platform          string         `json:"platform,omitempty"`
	AppVersion        string         `json:"app_version"`
	LastPushAt        string         `json:"last_push_at,omitempty"`
	LastPullAt        string         `json:"last_pull_at,omitempty"`
	LastSyncAt        string         `json:"last_sync_at,omitempty"`
	LastLoginAt       string         `json:"last_login_at,omitempty"`
	LastSeenAt        string         `json:"last_seen_at,omitempty"`
	PushToken         string         `json:"push_token"`
	PendingMutations  *int           `json:"pending_mutations"`
	PendingReportedAt string         `json:"pending_reported_at,omitempty"`
	Rejected7d        map[string]int `json:"rejected_7d"`
	ConflictsOpen     int            `json:"conflicts_open"`
}

type teamHealthResponse struct {
	TeamID     int64                  `json:"team_id"`
	TeamName   string                 `json:"team_name"`
	AreaID     int64                  `json:"area_id"`
	LastSyncAt string                 `json:"last_sync_at,omitempty"`
	LastSyncBy string                 `json:"last_sync_by,omitempty"`
	Stale      bool                   `json:"stale"`
	Devices    []deviceHealthResponse `json:"devices"`
}

type syncHealthResponse struct {
	AreaID    int64                `json:"area_id"`
	AsOf      string               `json:"as_of"`
	StaleDays int                  `json:"stale_days"`
	Items     []teamHealthResponse `json:"items"`
	NextAfter *int64               `json:"next_after"`
}

// syncHealth handles GET /v1/sync-health: the phones of every team in an
// area, a page of teams at a time (by team id).
func (a *API) syncHealth(c fiber.Ctx) error {
	var q syncHealthQuery
	if err := c.Bind().Query(&q); err != nil {
		return err
	}
	p, err := a.store.SyncHealth(c.Context(), actor(c), store.SyncHealthFilter{AreaID: q.AreaID,
		AppVersionBelow: q.AppVersionBelow, StaleDays: q.StaleDays, OnlyStale: q.OnlyStale, After: q.After, Limit: q.Limit})
	if err != nil {
		return err
	}
	out := syncHealthResponse{AreaID: p.Area.ID, AsOf: rfc3339(p.AsOf), StaleDays: p.StaleDays,
		Items: make([]teamHealthResponse, len(p.Teams))}
	if p.Next > 0 {
		out.NextAfter = &p.Next
	}
	for i, t := range p.Teams {
		tr := teamHealthResponse{TeamID: t.TeamID, TeamName: t.TeamName, AreaID: t.AreaID, LastSyncAt: rfc3339(t.LastSync),
			LastSyncBy: t.LastSyncBy, Stale: t.Stale, Devices: make([]deviceHealthResponse, len(t.Devices))}
		for j, d := range t.Devices {
			dr := deviceHealthResponse{DeviceID: d.DeviceID, UserID: d.UserID, UserName: d.UserName, Role: string(d.Role),
				Platform: d.Platform, AppVersion: d.AppVersion, LastPushAt: rfc3339(d.LastPushAt), LastPullAt: rfc3339(d.LastPullAt),
				LastSyncAt: rfc3339(d.LastSync()), LastLoginAt: rfc3339(d.LastLoginAt), LastSeenAt: rfc3339(d.LastSeenAt),
				PushToken: d.PushToken, PendingReportedAt: rfc3339(d.PendingAt), Rejected7d: d.Rejected, ConflictsOpen: d.ConflictsOpen}
			if !d.PendingAt.IsZero() {
				n := d.Pending
				dr.PendingMutations = &n
			}
			if dr.Rejected7d == nil {
				dr.Rejected7d = map[string]int{}
			}
			tr.Devices[j] = dr
		}
		out.Items[i] = tr
	}
	return c.JSON(out)
}
