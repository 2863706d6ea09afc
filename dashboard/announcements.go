package dashboard

import (
	"fmt"
	"net/url"
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
	Teams    map[int64]bool    // chosen teams (none: every team of the area)
	Errors   map[string]string // field → message
	Preview  *store.AudienceCount
}

type announcementsData struct {
	*scope
	List   []store.Announcement
	Areas  []store.Area // audience choices: the scope area and its children
	Teams  []store.Team // team choices: the scope area's teams, up to maxTeamChoices
	Places map[string]store.Place
	Form   composeForm
}

// maxTeamChoices: above this many teams in the area, the form asks to
// choose a commune first instead of listing them.
const maxTeamChoices = 200

var audienceRoles = []store.Role{store.RoleMember, store.RoleTeamLead, store.RoleCoordinator}

// announcements handles GET /announcements: the compose form and the
// announcements the caller follows.
func (d *Dashboard) announcements(r *req) error {
	form := composeForm{Priority: store.PriorityNormal, Roles: map[string]bool{}, Teams: map[int64]bool{}}
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
	active := true
	teams, err := d.store.Teams(ctx, r.actor, store.TeamFilter{AreaID: s.Area.ID, Active: &active, Limit: maxTeamChoices + 1})
	if err != nil {
		return err
	}
	if len(teams) > maxTeamChoices {
		teams = nil
	}
	places, err := d.places(r, teamPaths(teams, func(t store.Team) string { return t.AreaPath }))
	if err != nil {
		return err
	}
	data := &announcementsData{scope: s, List: list, Areas: append([]store.Area{*s.Area}, kids...), Teams: teams,
		Places: places, Form: form}
	v := d.newView(r, s, "/announcements", "nav.announcements")
	v.Data = data
	return d.render(r, status, "announcements", v)
}

// readCompose reads and checks the form; Errors names the bad fields.
func readCompose(r *req) (composeForm, store.Audience) {
	c := r.c
	f := composeForm{Title: strings.TrimSpace(c.FormValue("title")), Body: strings.TrimSpace(c.FormValue("body")),
		Priority: c.FormValue("priority"), Ack: c.FormValue("ack") == "on", Roles: map[string]bool{}, Teams: map[int64]bool{},
		Errors: map[string]string{}}
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
	for _, v := range c.Request().PostArgs().PeekMulti("team_id") {
		id, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || id <= 0 {
			f.Errors["team_id"] = tr(r.lang, "ann.err.team")
			continue
		}
		if !f.Teams[id] {
			f.Teams[id] = true
			au.TeamIDs = append(au.TeamIDs, id)
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
	Teams        []string // the team filter: team names with their place
	Tree         *store.ReceiptTree
	Rows         []receiptRow // the areas one level below the tree's, each a link down
	Up           []crumb      // back up the tree
	Roles        []roleLink   // count every role, or one
	Role         string       // the role the receipts count ("" all)
	Pending      []store.PendingRecipient
	MorePending  bool
	Places       map[string]store.Place
	Preview      *store.AudienceCount
	Now          time.Time
}

// receiptRow is one area's receipts with the link that drills into it.
type receiptRow struct {
	store.AreaReceiptCounts
	Href string
}

type roleLink struct {
	Role, Href string
	Current    bool
}

// receiptLink is the announcement page drilled into node, counting role.
func receiptLink(r *req, id, node int64, role string) string {
	q := r.c.Queries()
	v := url.Values{}
	for _, k := range []string{"area", "from", "to"} {
		if q[k] != "" {
			v.Set(k, q[k])
		}
	}
	v.Set("node", strconv.FormatInt(node, 10))
	if role != "" {
		v.Set("role", role)
	}
	return fmt.Sprintf("/announcements/%d?%s", id, v.Encode())
}

// maxPending is how many people who have not acknowledged the page lists.
const maxPending = 200

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
	data := &announcementData{scope: s, Announcement: an, Now: d.now(), Role: r.c.Query("role")}
	for _, aid := range an.Audience.AreaIDs {
		if ar, err := d.store.Area(ctx, r.actor, aid); err == nil {
			data.Audience = append(data.Audience, ar.Name)
		}
	}
	var teams []store.Team
	for _, tid := range an.Audience.TeamIDs {
		if t, err := d.store.Team(ctx, r.actor, tid); err == nil {
			teams = append(teams, *t)
		}
	}
	tp, err := d.places(r, teamPaths(teams, func(t store.Team) string { return t.AreaPath }))
	if err != nil {
		return err
	}
	for _, t := range teams {
		name := t.Name
		if p := placeText(tp, t.AreaPath); p != "" {
			name += " (" + p + ")"
		}
		data.Teams = append(data.Teams, name)
	}
	if an.Status == store.AnnouncementDraft {
		if n, err := d.store.PreviewAudience(ctx, r.actor, an.Audience); err == nil {
			data.Preview = &n
		}
	} else {
		var node int64
		if q := r.c.Query("node"); q != "" {
			if node, err = strconv.ParseInt(q, 10, 64); err != nil || node <= 0 {
				return fmt.Errorf("node %q: %w", q, store.ErrNotFound)
			}
		}
		role := store.Role(data.Role)
		if data.Tree, err = d.store.ReceiptsByArea(ctx, r.actor, id, node, role); err != nil {
			return err
		}
		here := data.Tree.Area.ID
		for _, ch := range data.Tree.Children {
			data.Rows = append(data.Rows, receiptRow{AreaReceiptCounts: ch, Href: receiptLink(r, id, ch.Area.ID, data.Role)})
		}
		for _, u := range data.Tree.Up {
			data.Up = append(data.Up, crumb{Name: u.Name, Href: receiptLink(r, id, u.ID, data.Role)})
		}
		for _, ro := range []string{"", "member", "team_lead", "coordinator"} {
			data.Roles = append(data.Roles, roleLink{Role: ro, Href: receiptLink(r, id, here, ro), Current: ro == data.Role})
		}
		if an.AckRequired {
			ps, err := d.store.Unacknowledged(ctx, r.actor, id, data.Tree.Area.ID, role, 0, maxPending+1)
			if err != nil {
				return err
			}
			if len(ps) > maxPending {
				ps, data.MorePending = ps[:maxPending], true
			}
			data.Pending = ps
			paths := make([]string, len(ps))
			for i, p := range ps {
				paths[i] = p.AreaPath
			}
			if data.Places, err = d.places(r, paths); err != nil {
				return err
			}
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
