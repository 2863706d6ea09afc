package dashboard

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"

	"toso/store"
)

// A team's records for review: its assistance logs of the period, each
// locked (or unlocked) from the page once checked, and its progress
// reports, each voided (or restored). As POST /v1/review/logs/{id}/lock
// and /v1/review/progress/{id}/void.

// maxReviewLogs is how many logs the page lists, newest first.
const maxReviewLogs = 300

type reviewLogRow struct {
	store.ReviewLog
	Services string // outcome services with their result, by name
}

type teamReviewData struct {
	*scope
	Team     *store.Team
	Place    string
	Logs     []reviewLogRow
	Full     bool
	Progress []store.ReviewProgress
	Labels   *labels
	CanLock  bool
}

// teamReview handles GET /teams/:id/logs.
func (d *Dashboard) teamReview(r *req) error {
	ctx := r.c.Context()
	id, err := strconv.ParseInt(r.c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	t, err := d.store.Team(ctx, r.actor, id)
	if err != nil {
		return err
	}
	s, err := d.scope(r, t.AreaID)
	if err != nil {
		return err
	}
	l, err := d.labels(ctx, r.lang)
	if err != nil {
		return err
	}
	places, err := d.places(r, []string{t.AreaPath})
	if err != nil {
		return err
	}
	data := &teamReviewData{scope: s, Team: t, Place: placeText(places, t.AreaPath), Labels: l,
		CanLock: r.actor.CanReview(t.AreaPath)}
	logs, err := d.store.TeamLogs(ctx, r.actor, t.ID, s.From, s.To, maxReviewLogs)
	if err != nil {
		return err
	}
	data.Full = len(logs) == maxReviewLogs
	for _, lg := range logs {
		parts := make([]string, len(lg.Outcomes))
		for i, o := range lg.Outcomes {
			parts[i] = orCode(l.services, o.Service) + ": " + tr(r.lang, "result."+o.Result)
			if o.Barrier != "" {
				parts[i] += " (" + orCode(l.barriers, o.Barrier) + ")"
			}
		}
		data.Logs = append(data.Logs, reviewLogRow{ReviewLog: lg, Services: strings.Join(parts, "; ")})
	}
	if data.Progress, err = d.store.TeamProgressReports(ctx, r.actor, t.ID, s.From, s.To, store.MaxPageSize); err != nil {
		return err
	}
	v := d.newView(r, s, "/areas", "nav.areas")
	v.Title = tr(r.lang, "review.title") + ": " + t.Name
	v.Crumbs = append(v.Crumbs, crumb{Name: t.Name, Href: fmt.Sprintf("/teams/%d?%s", t.ID, s.Query())})
	v.Data = data
	return d.render(r, 200, "review", v)
}

// lockTeamLog handles POST /teams/:id/logs/:log/lock (locked=0 unlocks).
func (d *Dashboard) lockTeamLog(r *req) error {
	if err := d.store.LockLog(r.c.Context(), r.actor, r.c.Params("log"), r.c.FormValue("locked") != "0"); err != nil {
		return err
	}
	return d.backToReview(r)
}

// voidTeamProgress handles POST /teams/:id/progress/:report/void (void=0 restores).
func (d *Dashboard) voidTeamProgress(r *req) error {
	if err := d.store.VoidProgress(r.c.Context(), r.actor, r.c.Params("report"), r.c.FormValue("void") != "0"); err != nil {
		return err
	}
	return d.backToReview(r)
}

func (d *Dashboard) backToReview(r *req) error {
	id, err := strconv.ParseInt(r.c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	return r.c.Redirect().Status(fiber.StatusSeeOther).To(fmt.Sprintf("/teams/%d/logs?%s", id, r.c.Request().URI().QueryArgs().String()))
}
