package mobileapi

import (
	"errors"

	"github.com/gofiber/fiber/v3"

	"toso/store"
)

type targetResponse struct {
	ID          int64   `json:"id"`
	Indicator   string  `json:"indicator"`
	Kind        string  `json:"kind"`
	AreaID      int64   `json:"area_id"`
	Period      string  `json:"period"`
	Name        string  `json:"name,omitempty"`
	StartsOn    string  `json:"starts_on"`
	EndsOn      string  `json:"ends_on"`
	Goal        float64 `json:"goal"`
	ParentID    int64   `json:"parent_id,omitempty"`
	Numerator   float64 `json:"numerator"`
	Denominator float64 `json:"denominator"`
	Value       float64 `json:"value"`
	Status      string  `json:"status"`
	AsOf        string  `json:"as_of"`
	Version     int64   `json:"version"`
}

func newTargetResponse(t *store.Target) targetResponse {
	return targetResponse{ID: t.ID, Indicator: t.Indicator, Kind: t.Kind, AreaID: t.AreaID, Period: t.Period, Name: t.Name,
		StartsOn: t.StartsOn, EndsOn: t.EndsOn, Goal: t.Goal, ParentID: t.ParentID, Numerator: t.Numerator,
		Denominator: t.Denominator, Value: t.Value, Status: t.Status, AsOf: rfc3339(t.AsOf), Version: t.Version}
}

type listTargetsQuery struct {
	AreaID    int64  `query:"area_id" validate:"gte=0"`
	Indicator string `query:"indicator" validate:"max=40"`
	From      string `query:"from" validate:"required_with=To,omitempty,datetime=2006-01-02"`
	To        string `query:"to" validate:"required_with=From,omitempty,datetime=2006-01-02"`
	After     int64  `query:"after" validate:"gte=0"`
	Limit     int    `query:"limit" validate:"gte=0,lte=500"`
}

// listTargets handles GET /v1/targets.
func (a *API) listTargets(c fiber.Ctx) error {
	var q listTargetsQuery
	if err := c.Bind().Query(&q); err != nil {
		return err
	}
	ts, err := a.store.Targets(c.Context(), actor(c), store.TargetFilter{AreaID: q.AreaID, Indicator: q.Indicator,
		From: q.From, To: q.To, After: q.After, Limit: q.Limit})
	if err != nil {
		return err
	}
	items := make([]targetResponse, len(ts))
	for i := range ts {
		items[i] = newTargetResponse(&ts[i])
	}
	return c.JSON(newPage(items, q.Limit, func(r targetResponse) int64 { return r.ID }))
}

// getTarget handles GET /v1/targets/:id.
func (a *API) getTarget(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	t, err := a.store.Target(c.Context(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(newTargetResponse(t))
}

type createTargetRequest struct {
	Indicator string  `json:"indicator" validate:"required,max=40"`
	AreaID    int64   `json:"area_id" validate:"required,gt=0"`
	Period    string  `json:"period" validate:"required,oneof=year quarter campaign"`
	Year      int     `json:"year" validate:"required_unless=Period campaign,omitempty,gte=2000,lte=2100"`
	Quarter   int     `json:"quarter" validate:"required_if=Period quarter,omitempty,gte=1,lte=4"`
	Name      string  `json:"name" validate:"required_if=Period campaign,max=200"`
	StartsOn  string  `json:"starts_on" validate:"required_if=Period campaign,omitempty,datetime=2006-01-02"`
	EndsOn    string  `json:"ends_on" validate:"required_if=Period campaign,omitempty,datetime=2006-01-02"`
	Goal      float64 `json:"goal" validate:"required,gt=0,lte=1000000000000"`
}

// createTarget handles POST /v1/targets.
func (a *API) createTarget(c fiber.Ctx) error {
	var req createTargetRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	t, err := a.store.CreateTarget(c.Context(), actor(c), store.NewTarget{Indicator: req.Indicator, AreaID: req.AreaID,
		Period: req.Period, Year: req.Year, Quarter: req.Quarter, Name: req.Name, StartsOn: req.StartsOn, EndsOn: req.EndsOn, Goal: req.Goal})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newTargetResponse(t))
}

type updateTargetRequest struct {
	Goal *float64 `json:"goal" validate:"omitempty,gt=0,lte=1000000000000"`
	Name *string  `json:"name" validate:"omitempty,max=200"`
}

// updateTarget handles PATCH /v1/targets/:id.
func (a *API) updateTarget(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var req updateTargetRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	t, err := a.store.UpdateTarget(c.Context(), actor(c), id, store.TargetPatch{Goal: req.Goal, Name: req.Name})
	if err != nil {
		return err
	}
	return c.JSON(newTargetResponse(t))
}

// deleteTarget handles DELETE /v1/targets/:id.
func (a *API) deleteTarget(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	if err := a.store.DeleteTarget(c.Context(), actor(c), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type allocateRequest struct {
	Method string `json:"method" validate:"required,oneof=proportional equal"`
	// Replace overwrites goals changed by hand since the last allocation;
	// without it such goals stop the allocation with 409 goals_changed.
	Replace bool `json:"replace"`
}

type changedGoalResponse struct {
	TargetID      int64   `json:"target_id"`
	AreaID        int64   `json:"area_id"`
	AreaName      string  `json:"area_name"`
	Goal          float64 `json:"goal"`
	AllocatedGoal float64 `json:"allocated_goal"`
	NewGoal       float64 `json:"new_goal"`
}

// allocateTarget handles POST /v1/targets/:id/allocate: one child target
// per child area, which can then be edited; parts sum to the goal.
func (a *API) allocateTarget(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var req allocateRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	ts, err := a.store.AllocateTarget(c.Context(), actor(c), id, req.Method, req.Replace)
	var changed *store.GoalsChangedError
	if errors.As(err, &changed) {
		out := make([]changedGoalResponse, len(changed.Changed))
		for i, g := range changed.Changed {
			out[i] = changedGoalResponse{TargetID: g.TargetID, AreaID: g.AreaID, AreaName: g.AreaName, Goal: g.Goal,
				AllocatedGoal: g.AllocatedGoal, NewGoal: g.NewGoal}
		}
		return &Problem{Status: fiber.StatusConflict, Code: "goals_changed", Extra: map[string]any{"targets": out}}
	} else if err != nil {
		return err
	}
	items := make([]targetResponse, len(ts))
	for i := range ts {
		items[i] = newTargetResponse(&ts[i])
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"items": items})
}
