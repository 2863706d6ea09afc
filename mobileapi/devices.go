package mobileapi

import (
	"github.com/gofiber/fiber/v3"

	"toso/store"
)

type deviceResponse struct {
	ID                 string `json:"id"`
	UserID             int64  `json:"user_id"`
	Platform           string `json:"platform"`
	AppVersion         string `json:"app_version"`
	HasPushToken       bool   `json:"has_push_token"`
	PushTokenUpdatedAt string `json:"push_token_updated_at,omitempty"`
	LastSeenAt         string `json:"last_seen_at"`
	CreatedAt          string `json:"created_at"`
	Current            bool   `json:"current"` // the device of this request
}

func newDeviceResponse(d *store.Device, current string) deviceResponse {
	return deviceResponse{
		ID: d.ID, UserID: d.UserID, Platform: d.Platform, AppVersion: d.AppVersion, HasPushToken: d.PushToken != "",
		PushTokenUpdatedAt: rfc3339(d.PushTokenUpdatedAt), LastSeenAt: rfc3339(d.LastSeenAt),
		CreatedAt: rfc3339(d.CreatedAt), Current: d.ID == current,
	}
}

type listDevicesQuery struct {
	UserID int64 `query:"user_id" validate:"gte=0"`
}

// listDevices handles GET /v1/devices: the caller's own devices, or with
// ?user_id= those of a user the caller manages (an admin; a coordinator for
// the users of their area), to find a lost phone. A user has a handful, so
// there is one page.
func (a *API) listDevices(c fiber.Ctx) error {
	var q listDevicesQuery
	if err := c.Bind().Query(&q); err != nil {
		return err
	}
	act := actor(c)
	if q.UserID == 0 {
		q.UserID = act.UserID
	}
	devices, err := a.store.UserDevices(c.Context(), act, q.UserID)
	if err != nil {
		return err
	}
	items := make([]deviceResponse, len(devices))
	for i := range devices {
		items[i] = newDeviceResponse(&devices[i], act.DeviceID)
	}
	return c.JSON(page[deviceResponse]{Items: items})
}

type pushTokenRequest struct {
	// Required, so a missing or misspelled key is a 422 rather than a
	// silent clear; "" clears the token.
	PushToken *string `json:"push_token" validate:"required,max=4096"`
}

type deviceParams struct {
	ID string `uri:"id" json:"id" validate:"required,uuid"`
}

// setPushToken handles PUT /v1/devices/:id/push-token for one of the
// caller's own devices; anyone else's is 404.
func (a *API) setPushToken(c fiber.Ctx) error {
	var p deviceParams
	if err := c.Bind().URI(&p); err != nil {
		return err
	}
	var req pushTokenRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	act := actor(c)
	d, err := a.store.SetPushToken(c.Context(), act, p.ID, *req.PushToken)
	if err != nil {
		return err
	}
	return c.JSON(newDeviceResponse(d, act.DeviceID))
}

// unbindDevice handles DELETE /v1/devices/:id: the device is released (a
// lost phone): its sessions end, its push token goes, and the next user who
// logs in on it takes it over. Your own devices; an admin or coordinator
// also those of the users they manage.
func (a *API) unbindDevice(c fiber.Ctx) error {
	var p deviceParams
	if err := c.Bind().URI(&p); err != nil {
		return err
	}
	if err := a.store.UnbindDevice(c.Context(), actor(c), p.ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
