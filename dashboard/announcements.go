package dashboard

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v3"

	"toso/store"
)

// composeForm is the announcement form as typed.
type composeForm struct {
	Title    string
	Body     string
	Priority string
	Ack      bool
	AreaID   int64
	Roles    map[string]bool
	Errors   map[string]string // field → message
	Preview  *store.AudienceCount
}

type announcementsData struct {
	*scope
	List  []store.Announcement
	Areas []store.Area // audience choices: the scope area and its children
	Form  composeForm
}

var audienceRoles = []store.Role{store.RoleMember, store.RoleTeamLead, store.RoleCoordinator}

// announcements handles GET /announcements: the compose form and the
// announcements the caller follows.
func (d *Dashboard) announcements(r *req) error {
	form := composeForm{Priority: store.PriorityNormal, Roles: map[string]bool{}}
	return d.showAnnouncements(r, 200, form)
}

func (d *Dashboard) showAnnouncements(r *req, status int, form composeForm) error {
	ctx := r.c.Context()
	s, err := d.scope(r, 0)
	if err != nil {
		return err
	}
	list, err := d.store.Announcements(ctx, r.actor, store.AnnouncementFilter{Limit: 50})
	if err != nil {
		return err
	}
	kids, err := d.store.Areas(ctx, r.actor, store.AreaFilter{ParentID: s.Area.ID, Limit: store.MaxPageSize})
	if err != nil {
		return err
	}
	if form.AreaID == 0 {
		form.AreaID = s.Area.ID
	}
	data := &announcementsData{scope: s, List: list, Areas: append([]store.Area{*s.Area}, kids...), Form: form}
	v := d.newView(r, s, "/announcements", "nav.announcements")
	v.Data = data
	return d.render(r, status, "announcements", v)
}

// readCompose reads and checks the form; Errors names the bad fields.
func readCompose(r *req) (composeForm, store.Audience) {
	c := r.c
	f := composeForm{Title: strings.TrimSpace(c.FormValue("title")), Body: strings.TrimSpace(c.FormValue("body")),
		Priority: c.FormValue("priority"), Ack: c.FormValue("ack") == "on", Roles: map[string]bool{}, Errors: map[string]string{}}
	var au store.Audience
	id, err := strconv.ParseInt(c.FormValue("area_id"), 10, 64)
	if err != nil || id <= 0 {
		f.Errors["area_id"] = tr(r.lang, "ann.err.area")
	} else {
		f.AreaID = id
		au.AreaIDs = []int64{id}
	}
	for _, role := range audienceRoles {
		if c.FormValue("role_"+string(role)) == "on" {
			f.Roles[string(role)] = true
			au.Roles = append(au.Roles, role)
		}
	}
	switch n := utf8.RuneCountInString(f.Title); {
	case n == 0:
		f.Errors["title"] = tr(r.lang, "ann.err.title")
	case n > 200:
		f.Errors["title"] = tr(r.lang, "ann.err.title.long")
	}
	switch n := utf8.RuneCountInString(f.Body); {
	case n == 0:
		f.Errors["body"] = tr(r.lang, "ann.err.body")
	case n > 4000:
		f.Errors["body"] = tr(r.lang, "ann.err.body.long")
	}
	if f.Priority != store.PriorityNormal && f.Priority != store.PriorityHigh && f.Priority != store.PriorityUrgent {
		f.Errors["priority"] = tr(r.lang, "ann.err.priority")
	}
	return f, au
}

// composeAnnouncement handles POST /announcements: action=preview counts
// the audience (PreviewAudience) and shows the form again; action=save
// creates the draft (CreateAnnouncement) and opens it.
func (d *Dashboard) composeAnnouncement(r *req) error {
	form, au := readCompose(r)
	if r.c.FormValue("action") == "preview" {
		delete(form.Errors, "title")
		delete(form.Errors, "body")
	}
	if len(form.Errors) > 0 {
		return d.showAnnouncements(r, fiber.StatusUnprocessableEntity, form)
	}
	ctx := r.c.Context()
	if r.c.FormValue("action") == "preview" {
		n, err := d.store.PreviewAudience(ctx, r.actor, au)
		if err != nil {
			return err
		}
		form.Preview = &n
		return d.showAnnouncements(r, 200, form)
	}
	an, err := d.store.CreateAnnouncement(ctx, r.actor, store.NewAnnouncement{Title: form.Title, Body: form.Body,
		Priority: form.Priority, AckRequired: form.Ack, Audience: au})
	if err != nil {
		return err
	}
	return r.c.Redirect().Status(fiber.StatusSeeOther).To(fmt.Sprintf("/announcements/%d?%s", an.ID, r.c.Request().URI().QueryArgs().String()))
}

type announcementData struct {
	*scope
	Announcement *store.Announcement
	Audience     []string // area names
	Receipts     []store.ReceiptRollup
	Total        store.ReceiptRollup
	Preview      *store.AudienceCount
	Now          time.Time
}

// announcement handles GET /announcements/:id: the announcement, its
// audience (a draft's as it would reach now) and its receipts per area and role.
func (d *Dashboard) announcement(r *req) error {
	ctx := r.c.Context()
	id, err := strconv.ParseInt(r.c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	an, err := d.store.Announcement(ctx, r.actor, id)
	if err != nil {
		return err
	}
	s, err := d.scope(r, 0)
	if err != nil {
		return err
	}
	data := &announcementData{scope: s, Announcement: an, Now: d.now()}
	for _, aid := range an.Audience.AreaIDs {
		if ar, err := d.store.Area(ctx, r.actor, aid); err == nil {
			data.Audience = append(data.Audience, ar.Name)
		}
	}
	if an.Status == store.AnnouncementDraft {
		if n, err := d.store.PreviewAudience(ctx, r.actor, an.Audience); err == nil {
			data.Preview = &n
		}
	} else {
		if data.Receipts, err = d.store.ReceiptRollups(ctx, r.actor, id); err != nil {
			return err
		}
		for _, x := range data.Receipts {
			data.Total.Recipients += x.Recipients
			data.Total.Delivered += x.Delivered
			data.Total.Read += x.Read
			data.Total.Acknowledged += x.Acknowledged
		}
	}
	v := d.newView(r, s, "/announcements", "nav.announcements")
	v.Title = an.Title
	v.Data = data
	return d.render(r, 200, "announcement", v)
}

// publishAnnouncement handles POST /announcements/:id/publish: published
// now (PublishAnnouncement), recipients resolved, pushes queued.
func (d *Dashboard) publishAnnouncement(r *req) error {
	id, err := strconv.ParseInt(r.c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	if _, err := d.store.PublishAnnouncement(r.c.Context(), r.actor, id, time.Time{}); err != nil {
		return err
	}
	return r.c.Redirect().Status(fiber.StatusSeeOther).To(fmt.Sprintf("/announcements/%d?%s", id, r.c.Request().URI().QueryArgs().String()))
}

// retractAnnouncement handles POST /announcements/:id/retract:
// RetractAnnouncement, as POST /v1/announcements/{id}/retract. Phones drop
// it from their inbox at their next sync.
func (d *Dashboard) retractAnnouncement(r *req) error {
	id, err := strconv.ParseInt(r.c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	if _, err := d.store.RetractAnnouncement(r.c.Context(), r.actor, id); err != nil {
		return err
	}
	return r.c.Redirect().Status(fiber.StatusSeeOther).To(fmt.Sprintf("/announcements/%d?%s", id, r.c.Request().URI().QueryArgs().String()))
}
