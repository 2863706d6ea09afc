package dashboard

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v3"

	"toso/store"
)

// The conflicts page: the sync conflicts of an area's teams (open ones by
// default), each with the value that lost and the value that won, and a
// form that resolves it (as POST /v1/review/conflicts/{id}/resolve).

type conflictsData struct {
	*scope
	Status    string // open, resolved or all
	Conflicts []store.Conflict
	Full      bool // the list hit the page size
	Places    map[string]store.Place
	Failed    string // the conflict whose resolution was refused, with Err
	Err       string
}

// conflicts handles GET /conflicts?area=&status=.
func (d *Dashboard) conflicts(r *req) error { return d.showConflicts(r, 200, "", "") }

func (d *Dashboard) showConflicts(r *req, status int, failed, msg string) error {
	s, err := d.scope(r, 0)
	if err != nil {
		return err
	}
	data := &conflictsData{scope: s, Status: r.c.Query("status", "open"), Failed: failed, Err: msg}
	cs, err := d.store.Conflicts(r.c.Context(), r.actor, store.ConflictFilter{AreaID: s.Area.ID, Status: data.Status,
		Limit: store.MaxPageSize})
	if err != nil {
		return err
	}
	data.Conflicts, data.Full = cs, len(cs) == store.MaxPageSize
	if data.Places, err = d.places(r, teamPaths(cs, func(c store.Conflict) string { return c.TeamPath })); err != nil {
		return err
	}
	v := d.newView(r, s, "/conflicts", "nav.conflicts")
	v.From = ""
	v.Data = data
	return d.render(r, status, "conflicts", v)
}

// resolveConflict handles POST /conflicts/:id/resolve.
func (d *Dashboard) resolveConflict(r *req) error {
	id := r.c.Params("id")
	note := strings.TrimSpace(r.c.FormValue("resolution"))
	if utf8.RuneCountInString(note) > 1000 {
		return d.showConflicts(r, fiber.StatusUnprocessableEntity, id, tr(r.lang, "cf.err.long"))
	}
	if err := d.store.ResolveConflict(r.c.Context(), r.actor, id, note); err != nil {
		return err
	}
	return r.c.Redirect().Status(fiber.StatusSeeOther).To("/conflicts?" + r.c.Request().URI().QueryArgs().String())
}

// valueText shows a conflict's JSON value: a string as itself, anything
// else as compact JSON.
func valueText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var x any
	if json.Unmarshal(v, &x) != nil {
		return string(v)
	}
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprint(x)
	}
	return string(b)
}
