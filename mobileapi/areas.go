package mobileapi

import (
	"strconv"

	"github.com/gofiber/fiber/v3"

	"toso/store"
)

type areaResponse struct {
	ID         int64  `json:"id"`
	ParentID   *int64 `json:"parent_id"`
	Level      string `json:"level"`
	Name       string `json:"name"`
	Code       string `json:"code,omitempty"`
	Depth      int    `json:"depth"`
	ValidFrom  string `json:"valid_from,omitempty"`
	ValidTo    string `json:"valid_to,omitempty"`
	Population int64  `json:"population"`
	Adults     int64  `json:"adults"`
	WorkingAge int64  `json:"working_age"`
	Households int64  `json:"households"`
	Version    int64  `json:"version"`
	UpdatedAt  string `json:"updated_at"`
}

func newAreaResponse(a *store.Area) areaResponse {
	r := areaResponse{
		ID: a.ID, Level: a.Level, Name: a.Name, Code: a.Code, Depth: a.Depth,
		ValidFrom: a.ValidFrom, ValidTo: a.ValidTo, Population: a.Population, Adults: a.Adults,
		WorkingAge: a.WorkingAge, Households: a.Households, Version: a.Version, UpdatedAt: rfc3339(a.UpdatedAt),
	}
	if a.ParentID != 0 {
		r.ParentID = &a.ParentID
	}
	return r
}

type listAreasQuery struct {
	ParentID int64  `query:"parent_id" validate:"gte=0"`
	Level    string `query:"level" validate:"omitempty,oneof=province district commune village residential_group"`
	Code     string `query:"code" validate:"omitempty,number,max=20"`
	Q        string `query:"q" validate:"max=100"`
	After    int64  `query:"after" validate:"gte=0"`
	Limit    int    `query:"limit" validate:"gte=0,lte=500"`
}

// listAreas handles GET /v1/areas.
func (a *API) listAreas(c fiber.Ctx) error {
	var q listAreasQuery
	if err := c.Bind().Query(&q); err != nil {
		return err
	}
	areas, err := a.store.Areas(c.Context(), actor(c), store.AreaFilter{
		ParentID: q.ParentID, Level: q.Level, Code: q.Code, Query: q.Q, After: q.After, Limit: q.Limit,
	})
	if err != nil {
		return err
	}
	items := make([]areaResponse, len(areas))
	for i := range areas {
		items[i] = newAreaResponse(&areas[i])
	}
	return c.JSON(newPage(items, q.Limit, func(r areaResponse) int64 { return r.ID }))
}

// getArea handles GET /v1/areas/:id.
func (a *API) getArea(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	ar, err := a.store.Area(c.Context(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(newAreaResponse(ar))
}

type createAreaRequest struct {
	ParentID   int64  `json:"parent_id" validate:"gte=0"`
	Level      string `json:"level" validate:"required,oneof=province district commune village residential_group"`
	Name       string `json:"name" validate:"required,max=200"`
	Code       string `json:"code" validate:"omitempty,number,max=20"`
	ValidFrom  string `json:"valid_from" validate:"omitempty,datetime=2006-01-02"`
	ValidTo    string `json:"valid_to" validate:"omitempty,datetime=2006-01-02"`
	Population int64  `json:"population" validate:"gte=0"`
	Adults     int64  `json:"adults" validate:"gte=0"`
	WorkingAge int64  `json:"working_age" validate:"gte=0"`
	Households int64  `json:"households" validate:"gte=0"`
}

// createArea handles POST /v1/areas.
func (a *API) createArea(c fiber.Ctx) error {
	var req createAreaRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	ar, err := a.store.CreateArea(c.Context(), actor(c), store.NewArea{
		ParentID: req.ParentID, Level: req.Level, Name: req.Name, Code: req.Code,
		ValidFrom: req.ValidFrom, ValidTo: req.ValidTo, Population: req.Population, Adults: req.Adults,
		WorkingAge: req.WorkingAge, Households: req.Households,
	})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newAreaResponse(ar))
}

type updateAreaRequest struct {
	Name       *string `json:"name" validate:"omitempty,min=1,max=200"`
	Code       *string `json:"code" validate:"omitempty,number,max=20"`
	ValidFrom  *string `json:"valid_from" validate:"omitempty,datetime=2006-01-02"`
	ValidTo    *string `json:"valid_to" validate:"omitempty,datetime=2006-01-02"`
	Population *int64  `json:"population" validate:"omitempty,gte=0"`
	Adults     *int64  `json:"adults" validate:"omitempty,gte=0"`
	WorkingAge *int64  `json:"working_age" validate:"omitempty,gte=0"`
	Households *int64  `json:"households" validate:"omitempty,gte=0"`
}

// updateArea handles PATCH /v1/areas/:id.
func (a *API) updateArea(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var req updateAreaRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	ar, err := a.store.UpdateArea(c.Context(), actor(c), id, store.AreaPatch{
		Name: req.Name, Code: req.Code, ValidFrom: req.ValidFrom, ValidTo: req.ValidTo,
		Population: req.Population, Adults: req.Adults, WorkingAge: req.WorkingAge, Households: req.Households,
	})
	if err != nil {
		return err
	}
	return c.JSON(newAreaResponse(ar))
}

type lineageBody struct {
	OldAreaID   int64   `json:"old_area_id" validate:"required,gt=0"`
	NewAreaID   int64   `json:"new_area_id" validate:"required,gt=0,nefield=OldAreaID"`
	Share       float64 `json:"share" validate:"required,gt=0,lte=1"`
	EffectiveOn string  `json:"effective_on" validate:"required,datetime=2006-01-02"`
}

// getAreaLineage handles GET /v1/areas/:id/lineage.
func (a *API) getAreaLineage(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	ls, err := a.store.AreaLineage(c.Context(), actor(c), id)
	if err != nil {
		return err
	}
	items := make([]lineageBody, len(ls))
	for i, l := range ls {
		items[i] = lineageBody{OldAreaID: l.OldAreaID, NewAreaID: l.NewAreaID, Share: l.Share, EffectiveOn: l.EffectiveOn}
	}
	return c.JSON(fiber.Map{"items": items})
}

// addAreaLineage handles POST /v1/areas/lineage (admins).
func (a *API) addAreaLineage(c fiber.Ctx) error {
	var req lineageBody
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	err := a.store.AddLineage(c.Context(), actor(c), store.Lineage{
		OldAreaID: req.OldAreaID, NewAreaID: req.NewAreaID, Share: req.Share, EffectiveOn: req.EffectiveOn,
	})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(req)
}

// idParam reads the numeric :id route parameter; anything else is a 404.
func idParam(c fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, problem(fiber.StatusNotFound, "not_found")
	}
	return id, nil
}
