package mobileapi

import (
	"time"

	"github.com/gofiber/fiber/v3"

	"toso/store"
)

type inboxItemResponse struct {
	ID          int64  `json:"id"`
	Title       string `json:"title"`
	Body        string `json:"body"`
	Priority    string `json:"priority"`
	AckRequired bool   `json:"ack_required"`
	PublishedAt string `json:"published_at"`
	ExpiresAt   string `json:"expires_at"`
	DeliveredAt string `json:"delivered_at,omitempty"`
	ReadAt      string `json:"read_at,omitempty"`
	AckedAt     string `json:"acked_at,omitempty"`
	Version     int64  `json:"version"`
}

func newInboxItemResponse(it *store.InboxItem) inboxItemResponse {
	an, r := &it.Announcement, &it.Receipt
	return inboxItemResponse{
		ID: an.ID, Title: an.Title, Body: an.Body, Priority: an.Priority, AckRequired: an.AckRequired,
		PublishedAt: rfc3339(an.PublishedAt), ExpiresAt: rfc3339(an.ExpiresAt),
		DeliveredAt: rfc3339(r.DeliveredAt), ReadAt: rfc3339(r.ReadAt), AckedAt: rfc3339(r.AckedAt),
		Version: it.Version(),
	}
}

type inboxQuery struct {
	After int64 `query:"after" validate:"gte=0"` // newest first: ids below this
	Limit int   `query:"limit" validate:"gte=0,lte=500"`
}

// inbox handles GET /v1/inbox: the caller's own announcements, newest
// first. Listing them marks them delivered.
func (a *API) inbox(c fiber.Ctx) error {
	var q inboxQuery
	if err := c.Bind().Query(&q); err != nil {
		return err
	}
	items, err := a.store.Inbox(c.Context(), actor(c), q.After, q.Limit)
	if err != nil {
		return err
	}
	out := make([]inboxItemResponse, len(items))
	for i := range items {
		out[i] = newInboxItemResponse(&items[i])
	}
	return c.JSON(newPage(out, q.Limit, func(r inboxItemResponse) int64 { return r.ID }))
}

type receiptRequest struct {
	// At is when the phone opened (or acknowledged) it, if it was offline
	// then; the server clamps it between publication and now.
	At *time.Time `json:"at"`
}

type receiptResponse struct {
	AnnouncementID int64  `json:"announcement_id"`
	DeliveredAt    string `json:"delivered_at,omitempty"`
	ReadAt         string `json:"read_at,omitempty"`
	AckedAt        string `json:"acked_at,omitempty"`
	Version        int64  `json:"version"`
}

// markRead handles POST /v1/announcements/:id/read (the recipient).
func (a *API) markRead(c fiber.Ctx) error { return a.markReceipt(c, false) }

// markAcked handles POST /v1/announcements/:id/ack (the recipient).
func (a *API) markAcked(c fiber.Ctx) error { return a.markReceipt(c, true) }

func (a *API) markReceipt(c fiber.Ctx, ack bool) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var req receiptRequest
	if len(c.Body()) > 0 {
		if err := c.Bind().JSON(&req); err != nil {
			return err
		}
	}
	var at time.Time
	if req.At != nil {
		at = *req.At
	}
	mark := a.store.MarkRead
	if ack {
		mark = a.store.MarkAcked
	}
	r, err := mark(c.Context(), actor(c), id, at)
	if err != nil {
		return err
	}
	return c.JSON(receiptResponse{AnnouncementID: r.AnnouncementID, DeliveredAt: rfc3339(r.DeliveredAt),
		ReadAt: rfc3339(r.ReadAt), AckedAt: rfc3339(r.AckedAt), Version: r.Version})
}
