package mobileapi

import (
	"github.com/gofiber/fiber/v3"

	"toso/store"
)

type deviceResponse struct {
	ID                 string `json:"id"`
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
		ID: d.ID, Platform: d.Platform, AppVersion: d.AppVersion, HasPushToken: d.PushToken != "",
		PushTokenUpdatedAt: rfc3339(d.PushTokenUpdatedAt), LastSeenAt: rfc3339(d.LastSeenAt),
		CreatedAt: rfc3339(d.CreatedAt), Current: d.ID == current,
	}
}

// listDevices handles GET /v1/devices: the caller's own devices. A user has
// a handful, so there is one page.
func (a *API) listDevices(c fiber.Ctx) error {
	act := actor(c)
	devices, err := a.store.Devices(c.Context(), act)
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
	PushToken string `json:"push_token" validate:"max=4096"` // "" clears it
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
	d, err := a.store.SetPushToken(c.Context(), act, p.ID, req.PushToken)
	if err != nil {
		return err
	}
	return c.JSON(newDeviceResponse(d, act.DeviceID))
}
