package mobileapi

import (
	"time"

	"github.com/gofiber/fiber/v3"

	"toso/store"
)

type audienceBody struct {
	AreaIDs []int64  `json:"area_ids" validate:"required,min=1,max=100,dive,gt=0"`
	Roles   []string `json:"roles" validate:"max=4,dive,oneof=member team_lead coordinator admin"`
	TeamIDs []int64  `json:"team_ids" validate:"max=500,dive,gt=0"`
}

func (b audienceBody) store() store.Audience {
	au := store.Audience{AreaIDs: b.AreaIDs, TeamIDs: b.TeamIDs}
	for _, r := range b.Roles {
		au.Roles = append(au.Roles, store.Role(r))
	}
	return au
}

func newAudienceBody(au store.Audience) audienceBody {
	b := audienceBody{AreaIDs: au.AreaIDs, TeamIDs: au.TeamIDs, Roles: make([]string, len(au.Roles))}
	for i, r := range au.Roles {
		b.Roles[i] = string(r)
	}
	return b
}

type announcementResponse struct {
	ID          int64        `json:"id"`
	AuthorID    int64        `json:"author_id"`
	Title       string       `json:"title"`
	Body        string       `json:"body"`
	Priority    string       `json:"priority"`
	AckRequired bool         `json:"ack_required"`
	Audience    audienceBody `json:"audience"`
	Status      string       `json:"status"`
	PublishAt   string       `json:"publish_at,omitempty"`
	PublishedAt string       `json:"published_at,omitempty"`
	ExpiresAt   string       `json:"expires_at"`
	RetractedAt string       `json:"retracted_at,omitempty"`
	Recipients  int          `json:"recipients"`
	Version     int64        `json:"version"`
	CreatedAt   string       `json:"created_at"`
	UpdatedAt   string       `json:"updated_at"`
}

func newAnnouncementResponse(an *store.Announcement) announcementResponse {
	return announcementResponse{
		ID: an.ID, AuthorID: an.AuthorID, Title: an.Title, Body: an.Body, Priority: an.Priority,
		AckRequired: an.AckRequired, Audience: newAudienceBody(an.Audience), Status: an.Status,
		PublishAt: rfc3339(an.PublishAt), PublishedAt: rfc3339(an.PublishedAt), ExpiresAt: rfc3339(an.ExpiresAt),
		RetractedAt: rfc3339(an.RetractedAt), Recipients: an.Recipients, Version: an.Version,
		CreatedAt: rfc3339(an.CreatedAt), UpdatedAt: rfc3339(an.UpdatedAt),
	}
}

type createAnnouncementRequest struct {
	Title       string       `json:"title" validate:"required,max=200"`
	Body        string       `json:"body" validate:"required,max=4000"`
	Priority    string       `json:"priority" validate:"omitempty,oneof=normal high urgent"`
	AckRequired bool         `json:"ack_required"`
	Audience    audienceBody `json:"audience"`
	ExpiresAt   *time.Time   `json:"expires_at"`
}

// createAnnouncement handles POST /v1/announcements: a draft, published
// with POST /v1/announcements/:id/publish.
func (a *API) createAnnouncement(c fiber.Ctx) error {
	var req createAnnouncementRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	n := store.NewAnnouncement{Title: req.Title, Body: req.Body, Priority: req.Priority, AckRequired: req.AckRequired,
		Audience: req.Audience.store()}
	if req.ExpiresAt != nil {
		n.ExpiresAt = *req.ExpiresAt
	}
	an, err := a.store.CreateAnnouncement(c.Context(), actor(c), n)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newAnnouncementResponse(an))
}

type previewAudienceRequest struct {
	Audience audienceBody `json:"audience"`
}

type audienceCountResponse struct {
	Users    int `json:"users"`
	Devices  int `json:"devices"`
	NoDevice int `json:"no_device"`
}

// previewAudience handles POST /v1/announcements/preview: how many people
// and devices an audience reaches now.
func (a *API) previewAudience(c fiber.Ctx) error {
	var req previewAudienceRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	n, err := a.store.PreviewAudience(c.Context(), actor(c), req.Audience.store())
	if err != nil {
		return err
	}
	return c.JSON(audienceCountResponse{Users: n.Users, Devices: n.Devices, NoDevice: n.NoDevice})
}

type listAnnouncementsQuery struct {
	Status string `query:"status" validate:"omitempty,oneof=draft scheduled published retracted"`
	After  int64  `query:"after" validate:"gte=0"` // newest first: ids below this
	Limit  int    `query:"limit" validate:"gte=0,lte=500"`
}

// listAnnouncements handles GET /v1/announcements (coordinators, admins).
func (a *API) listAnnouncements(c fiber.Ctx) error {
	var q listAnnouncementsQuery
	if err := c.Bind().Query(&q); err != nil {
		return err
	}
	list, err := a.store.Announcements(c.Context(), actor(c), store.AnnouncementFilter{Status: q.Status, After: q.After, Limit: q.Limit})
	if err != nil {
		return err
	}
	items := make([]announcementResponse, len(list))
	for i := range list {
		items[i] = newAnnouncementResponse(&list[i])
	}
	return c.JSON(newPage(items, q.Limit, func(r announcementResponse) int64 { return r.ID }))
}

// getAnnouncement handles GET /v1/announcements/:id.
func (a *API) getAnnouncement(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	an, err := a.store.Announcement(c.Context(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(newAnnouncementResponse(an))
}

type publishAnnouncementRequest struct {
	PublishAt *time.Time `json:"publish_at"` // absent or past: now
}

// publishAnnouncement handles POST /v1/announcements/:id/publish.
func (a *API) publishAnnouncement(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var req publishAnnouncementRequest
	if len(c.Body()) > 0 {
		if err := c.Bind().JSON(&req); err != nil {
			return err
		}
	}
	var at time.Time
	if req.PublishAt != nil {
		at = *req.PublishAt
	}
	an, err := a.store.PublishAnnouncement(c.Context(), actor(c), id, at)
	if err != nil {
		return err
	}
	return c.JSON(newAnnouncementResponse(an))
}

// retractAnnouncement handles POST /v1/announcements/:id/retract.
func (a *API) retractAnnouncement(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	an, err := a.store.RetractAnnouncement(c.Context(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(newAnnouncementResponse(an))
}

type receiptRollupResponse struct {
	AreaID       int64  `json:"area_id"`
	AreaName     string `json:"area_name"`
	Role         string `json:"role"`
	Recipients   int    `json:"recipients"`
	Delivered    int    `json:"delivered"`
	Read         int    `json:"read"`
	Acknowledged int    `json:"acknowledged"`
	PushSent     int    `json:"push_sent"`
	PushFailed   int    `json:"push_failed"`
	NoDevice     int    `json:"no_device"`
}

// announcementReceipts handles GET /v1/announcements/:id/receipts: the
// receipts rolled up per recipient area and role, within the caller's
// scope, with the totals.
func (a *API) announcementReceipts(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	rs, err := a.store.ReceiptRollups(c.Context(), actor(c), id)
	if err != nil {
		return err
	}
	items := make([]receiptRollupResponse, len(rs))
	var total receiptRollupResponse
	for i, r := range rs {
		items[i] = receiptRollupResponse{AreaID: r.AreaID, AreaName: r.AreaName, Role: string(r.Role), Recipients: r.Recipients,
			Delivered: r.Delivered, Read: r.Read, Acknowledged: r.Acknowledged, PushSent: r.PushSent, PushFailed: r.PushFailed,
			NoDevice: r.NoDevice}
		total.Recipients += r.Recipients
		total.Delivered += r.Delivered
		total.Read += r.Read
		total.Acknowledged += r.Acknowledged
		total.PushSent += r.PushSent
		total.PushFailed += r.PushFailed
		total.NoDevice += r.NoDevice
	}
	return c.JSON(fiber.Map{"items": items, "total": total})
}
