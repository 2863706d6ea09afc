package mobileapi

import (
	"errors"

	"github.com/gofiber/fiber/v3"

	"toso/store"
)

type receiptAreasQuery struct {
	AreaID int64  `query:"area_id" validate:"gte=0"`
	Role   string `query:"role" validate:"omitempty,oneof=member team_lead coordinator admin"`
}

type receiptCountsResponse struct {
	Recipients   int `json:"recipients"`
	Delivered    int `json:"delivered"`
	Read         int `json:"read"`
	Acknowledged int `json:"acknowledged"`
}

func newReceiptCounts(c store.ReceiptCounts) receiptCountsResponse {
	return receiptCountsResponse{Recipients: c.Recipients, Delivered: c.Delivered, Read: c.Read, Acknowledged: c.Acknowledged}
}

type areaReceiptsResponse struct {
	areaRef
	receiptCountsResponse
}

type receiptTreeResponse struct {
	Area     areaRef                `json:"area"`
	Role     string                 `json:"role,omitempty"`
	Total    receiptCountsResponse  `json:"total"`
	Here     receiptCountsResponse  `json:"here"`
	Children []areaReceiptsResponse `json:"children"`
	Up       []areaRef              `json:"up"`
}

// receiptAreas handles GET /v1/announcements/:id/receipts/areas: the
// receipts under one area (the audience's by default) and per area one
// level below it; drill down with ?area_id= of a child.
func (a *API) receiptAreas(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var q receiptAreasQuery
	if err := c.Bind().Query(&q); err != nil {
		return err
	}
	t, err := a.store.ReceiptsByArea(c.Context(), actor(c), id, q.AreaID, store.Role(q.Role))
	if err != nil {
		return err
	}
	out := receiptTreeResponse{Area: areaRef{t.Area.ID, t.Area.Name, t.Area.Level}, Role: string(t.Role),
		Total: newReceiptCounts(t.Total), Here: newReceiptCounts(t.Here),
		Children: make([]areaReceiptsResponse, len(t.Children)), Up: make([]areaRef, len(t.Up))}
	for i, ch := range t.Children {
		out.Children[i] = areaReceiptsResponse{areaRef{ch.Area.ID, ch.Area.Name, ch.Area.Level}, newReceiptCounts(ch.ReceiptCounts)}
	}
	for i, u := range t.Up {
		out.Up[i] = areaRef{u.ID, u.Name, u.Level}
	}
	return c.JSON(out)
}

type unacknowledgedQuery struct {
	AreaID int64  `query:"area_id" validate:"gte=0"`
	Role   string `query:"role" validate:"omitempty,oneof=member team_lead coordinator admin"`
	After  int64  `query:"after" validate:"gte=0"`
	Limit  int    `query:"limit" validate:"gte=0,lte=500"`
}

type pendingRecipientResponse struct {
	UserID      int64  `json:"user_id"`
	Name        string `json:"name"`
	Role        string `json:"role"`
	TeamID      int64  `json:"team_id,omitempty"`
	TeamName    string `json:"team_name,omitempty"`
	AreaID      int64  `json:"area_id"`
	DeliveredAt string `json:"delivered_at,omitempty"`
	ReadAt      string `json:"read_at,omitempty"`
}

// unacknowledged handles GET /v1/announcements/:id/unacknowledged: who
// has not acknowledged an announcement that asks for it, by user id.
func (a *API) unacknowledged(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var q unacknowledgedQuery
	if err := c.Bind().Query(&q); err != nil {
		return err
	}
	ps, err := a.store.Unacknowledged(c.Context(), actor(c), id, q.AreaID, store.Role(q.Role), q.After, q.Limit)
	if errors.Is(err, store.ErrAckNotRequired) {
		return problem(fiber.StatusConflict, "ack_not_required")
	} else if err != nil {
		return err
	}
	items := make([]pendingRecipientResponse, len(ps))
	for i, p := range ps {
		items[i] = pendingRecipientResponse{UserID: p.UserID, Name: p.Name, Role: string(p.Role), TeamID: p.TeamID,
			TeamName: p.TeamName, AreaID: p.AreaID, DeliveredAt: rfc3339(p.DeliveredAt), ReadAt: rfc3339(p.ReadAt)}
	}
	return c.JSON(newPage(items, q.Limit, func(r pendingRecipientResponse) int64 { return r.UserID }))
}
