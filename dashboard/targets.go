package dashboard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"

	"toso/store"
)

// targetForm is the new-target form as typed.
type targetForm struct {
	Indicator string
	AreaID    int64
	Period    string
	Year      int
	Quarter   int
	Goal      string
	Errors    map[string]string
}

type targetsData struct {
	*scope
	Own      []targetRow // the area's own targets
	Below    []targetRow // targets of areas below it
	Areas    []store.Area
	Labels   []store.Label
	Form     targetForm
	CanSplit map[int64]bool // targets the caller may allocate to the areas below
	CanEdit  bool           // the caller may change and delete the area's own targets
	Failed   int64          // the target whose goal change was refused, with GoalErr
	GoalErr  string
	// Confirm is an allocation that stopped at goals changed by hand: the
	// page asks whether to overwrite them.
	Confirm *allocConfirm
}

// allocConfirm asks before an allocation overwrites goals set by hand.
type allocConfirm struct {
	TargetID int64
	Method   string
	Changed  []store.ChangedGoal
}

// targets handles GET /targets: the area's targets and those below it with
// progress bars; a form to set one, and allocation of each.
func (d *Dashboard) targets(r *req) error {
	return d.showTargets(r, 200, d.newTargetForm())
}

// newTargetForm is the empty new-target form: a target for this year.
func (d *Dashboard) newTargetForm() targetForm {
	y, _ := strconv.Atoi(store.Today(d.now())[:4])
	return targetForm{Period: "year", Year: y, Quarter: 1}
}

func (d *Dashboard) showTargets(r *req, status int, form targetForm) error {
	return d.showTargetsWith(r, status, form, func(*targetsData) {})
}

func (d *Dashboard) showTargetsWith(r *req, status int, form targetForm, with func(*targetsData)) error {
	ctx := r.c.Context()
	s, err := d.scope(r, 0)
	if err != nil {
		return err
	}
	l, err := d.labels(ctx, r.lang)
	if err != nil {
		return err
	}
	list, err := d.store.Targets(ctx, r.actor, store.TargetFilter{AreaID: s.Area.ID, From: s.From, To: s.To, Limit: store.MaxPageSize})
	if err != nil {
		return err
	}
	kids, err := d.store.Areas(ctx, r.actor, store.AreaFilter{ParentID: s.Area.ID, Limit: store.MaxPageSize})
	if err != nil {
		return err
	}
	names := map[int64]string{s.Area.ID: s.Area.Name}
	for _, k := range kids {
		names[k.ID] = k.Name
	}
	data := &targetsData{scope: s, Labels: l.catalog.Indicators, CanSplit: map[int64]bool{}}
	for _, k := range kids {
		if r.actor.CanManageTargets(k.Path) && k.ValidTo == "" {
			data.Areas = append(data.Areas, k)
		}
	}
	if r.actor.CanManageTargets(s.Area.Path) {
		data.Areas = append([]store.Area{*s.Area}, data.Areas...)
		data.CanEdit = true
	}
	for _, t := range list {
		name, ok := names[t.AreaID]
		if !ok {
			if ar, err := d.store.Area(ctx, r.actor, t.AreaID); err == nil {
				name, names[t.AreaID] = ar.Name, ar.Name
			}
		}
		row := newTargetRow(t, l, name)
		if t.AreaID == s.Area.ID {
			data.Own = append(data.Own, row)
			data.CanSplit[t.ID] = len(kids) > 0 && r.actor.CanManageTargets(kids[0].Path)
		} else {
			data.Below = append(data.Below, row)
		}
	}
	if form.AreaID == 0 && len(data.Areas) > 0 {
		form.AreaID = data.Areas[0].ID
	}
	data.Form = form
	with(data)
	v := d.newView(r, s, "/targets", "nav.targets")
	v.Data = data
	return d.render(r, status, "targets", v)
}

// createTarget handles POST /targets: CreateTarget, as POST /v1/targets.
func (d *Dashboard) createTarget(r *req) error {
	c := r.c
	f := targetForm{Indicator: c.FormValue("indicator"), Period: c.FormValue("period"), Goal: strings.TrimSpace(c.FormValue("goal")),
		Errors: map[string]string{}}
	var err error
	if f.AreaID, err = strconv.ParseInt(c.FormValue("area_id"), 10, 64); err != nil || f.AreaID <= 0 {
		f.Errors["area_id"] = tr(r.lang, "tg.err.area")
	}
	if f.Indicator == "" || len(f.Indicator) > 40 {
		f.Errors["indicator"] = tr(r.lang, "tg.err.indicator")
	}
	if f.Period != "year" && f.Period != "quarter" {
		f.Errors["period"] = tr(r.lang, "tg.err.period")
	}
	if f.Year, err = strconv.Atoi(c.FormValue("year")); err != nil || f.Year < 2000 || f.Year > 2100 {
		f.Errors["year"] = tr(r.lang, "tg.err.year")
	}
	if f.Period == "quarter" {
		if f.Quarter, err = strconv.Atoi(c.FormValue("quarter")); err != nil || f.Quarter < 1 || f.Quarter > 4 {
			f.Errors["quarter"] = tr(r.lang, "tg.err.quarter")
		}
	}
	goal, ok := parseGoal(f.Goal)
	if !ok {
		f.Errors["goal"] = tr(r.lang, "tg.err.goal")
	}
	if len(f.Errors) > 0 {
		return d.showTargets(r, fiber.StatusUnprocessableEntity, f)
	}
	n := store.NewTarget{Indicator: f.Indicator, AreaID: f.AreaID, Period: f.Period, Year: f.Year, Goal: goal}
	if f.Period == "quarter" {
		n.Quarter = f.Quarter
	}
	if _, err := d.store.CreateTarget(c.Context(), r.actor, n); err != nil {
		return err
	}
	return c.Redirect().Status(fiber.StatusSeeOther).To("/targets?" + c.Request().URI().QueryArgs().String())
}

// parseGoal reads a target's goal: a positive number, typed either way.
func parseGoal(s string) (float64, bool) {
	goal, err := parseNumber(s)
	return goal, err == nil && goal > 0 && goal <= 1e12
}

// parseNumber reads a number typed the Vietnamese way (1.234,5) or the
// English way (1,234.5): the last separator followed by other than three
// digits is the decimal point; with one kind of separator followed by
// exactly three digits, it groups thousands.
func parseNumber(s string) (float64, error) {
	s = strings.ReplaceAll(s, " ", "")
	last := strings.LastIndexAny(s, ".,")
	if last >= 0 && len(s)-last-1 != 3 {
		s = strings.NewReplacer(".", "", ",", "").Replace(s[:last]) + "." + s[last+1:]
	} else {
		s = strings.NewReplacer(".", "", ",", "").Replace(s)
	}
	return strconv.ParseFloat(s, 64)
}

// allocateTarget handles POST /targets/:id/allocate: AllocateTarget, as
// POST /v1/targets/{id}/allocate. When goals below were changed by hand,
// the page lists them and asks before overwriting (replace=1).
func (d *Dashboard) allocateTarget(r *req) error {
	id, err := strconv.ParseInt(r.c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	method := r.c.FormValue("method")
	if method != store.AllocateProportional && method != store.AllocateEqual {
		return fmt.Errorf("method %q: %w", method, store.ErrInvalid)
	}
	_, err = d.store.AllocateTarget(r.c.Context(), r.actor, id, method, r.c.FormValue("replace") == "1")
	var changed *store.GoalsChangedError
	if errors.As(err, &changed) {
		return d.showTargetsWith(r, fiber.StatusConflict, d.newTargetForm(), func(t *targetsData) {
			t.Confirm = &allocConfirm{TargetID: id, Method: method, Changed: changed.Changed}
		})
	} else if err != nil {
		return err
	}
	return r.c.Redirect().Status(fiber.StatusSeeOther).To("/targets?" + r.c.Request().URI().QueryArgs().String())
}

// updateTarget handles POST /targets/:id: a new goal, as PATCH
// /v1/targets/{id} (the progress and status follow at once).
func (d *Dashboard) updateTarget(r *req) error {
	id, err := strconv.ParseInt(r.c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	goal, ok := parseGoal(strings.TrimSpace(r.c.FormValue("goal")))
	if !ok {
		return d.showTargetsWith(r, fiber.StatusUnprocessableEntity, d.newTargetForm(),
			func(t *targetsData) { t.Failed, t.GoalErr = id, tr(r.lang, "tg.err.goal") })
	}
	if _, err := d.store.UpdateTarget(r.c.Context(), r.actor, id, store.TargetPatch{Goal: &goal}); err != nil {
		return err
	}
	return r.c.Redirect().Status(fiber.StatusSeeOther).To("/targets?" + r.c.Request().URI().QueryArgs().String())
}

// deleteTarget handles POST /targets/:id/delete: as DELETE /v1/targets/{id}.
func (d *Dashboard) deleteTarget(r *req) error {
	id, err := strconv.ParseInt(r.c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	if err := d.store.DeleteTarget(r.c.Context(), r.actor, id); err != nil {
		return err
	}
	return r.c.Redirect().Status(fiber.StatusSeeOther).To("/targets?" + r.c.Request().URI().QueryArgs().String())
}
