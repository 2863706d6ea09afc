package mobileapi

import (
	"github.com/gofiber/fiber/v3"

	"toso/store"
)

type teamResponse struct {
	ID               int64  `json:"id"`
	AreaID           int64  `json:"area_id"`
	Name             string `json:"name"`
	FoundedOn        string `json:"founded_on,omitempty"`
	FoundingDecision string `json:"founding_decision,omitempty"`
	Active           bool   `json:"active"`
	Members          int    `json:"members"`
	Version          int64  `json:"version"`
	UpdatedAt        string `json:"updated_at"`
}

func newTeamResponse(t *store.Team) teamResponse {
	return teamResponse{
		ID: t.ID, AreaID: t.AreaID, Name: t.Name, FoundedOn: t.FoundedOn, FoundingDecision: t.FoundingDecision,
		Active: t.Active, Members: t.Members, Version: t.Version, UpdatedAt: rfc3339(t.UpdatedAt),
	}
}

type listTeamsQuery struct {
	AreaID int64  `query:"area_id" validate:"gte=0"`
	Q      string `query:"q" validate:"max=100"`
	Active *bool  `query:"active"`
	After  int64  `query:"after" validate:"gte=0"`
	Limit  int    `query:"limit" validate:"gte=0,lte=500"`
}

// listTeams handles GET /v1/teams.
func (a *API) listTeams(c fiber.Ctx) error {
	var q listTeamsQuery
	if err := c.Bind().Query(&q); err != nil {
		return err
	}
	teams, err := a.store.Teams(c.Context(), actor(c), store.TeamFilter{
		AreaID: q.AreaID, Query: q.Q, Active: q.Active, After: q.After, Limit: q.Limit,
	})
	if err != nil {
		return err
	}
	items := make([]teamResponse, len(teams))
	for i := range teams {
		items[i] = newTeamResponse(&teams[i])
	}
	return c.JSON(newPage(items, q.Limit, func(r teamResponse) int64 { return r.ID }))
}

// getTeam handles GET /v1/teams/:id.
func (a *API) getTeam(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	t, err := a.store.Team(c.Context(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(newTeamResponse(t))
}

type createTeamRequest struct {
	AreaID           int64  `json:"area_id" validate:"required,gt=0"`
	Name             string `json:"name" validate:"required,max=200"`
	FoundedOn        string `json:"founded_on" validate:"omitempty,datetime=2006-01-02"`
	FoundingDecision string `json:"founding_decision" validate:"max=200"`
}

// createTeam handles POST /v1/teams.
func (a *API) createTeam(c fiber.Ctx) error {
	var req createTeamRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	t, err := a.store.CreateTeam(c.Context(), actor(c), store.NewTeam{
		AreaID: req.AreaID, Name: req.Name, FoundedOn: req.FoundedOn, FoundingDecision: req.FoundingDecision,
	})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newTeamResponse(t))
}

type updateTeamRequest struct {
	AreaID           *int64  `json:"area_id" validate:"omitempty,gt=0"`
	Name             *string `json:"name" validate:"omitempty,min=1,max=200"`
	FoundedOn        *string `json:"founded_on" validate:"omitempty,datetime=2006-01-02"`
	FoundingDecision *string `json:"founding_decision" validate:"omitempty,max=200"`
	Active           *bool   `json:"active"`
}

// updateTeam handles PATCH /v1/teams/:id.
func (a *API) updateTeam(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var req updateTeamRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	t, err := a.store.UpdateTeam(c.Context(), actor(c), id, store.TeamPatch{
		AreaID: req.AreaID, Name: req.Name, FoundedOn: req.FoundedOn, FoundingDecision: req.FoundingDecision, Active: req.Active,
	})
	if err != nil {
		return err
	}
	return c.JSON(newTeamResponse(t))
}
