package mobileapi

import (
	"strings"

	"github.com/gofiber/fiber/v3"

	"toso/store"
)

type reportQuery struct {
	AreaID       int64  `query:"area_id" validate:"required,gt=0"`
	From         string `query:"from" validate:"required,datetime=2006-01-02"`
	To           string `query:"to" validate:"required,datetime=2006-01-02"`
	InactiveDays int    `query:"inactive_days" validate:"gte=0,lte=3650"`
}

type figuresResponse struct {
	Logs      float64                       `json:"logs"`
	Citizens  float64                       `json:"citizens"`
	Sessions  float64                       `json:"sessions"`
	Attendees float64                       `json:"attendees"`
	Women     float64                       `json:"women"`
	Minority  float64                       `json:"minority"`
	Elderly   float64                       `json:"elderly"`
	Reached   map[string]float64            `json:"reached"`
	Outcomes  map[string]map[string]float64 `json:"outcomes"`
	Barriers  map[string]float64            `json:"barriers"`
	Topics    map[string]float64            `json:"topics"`
	Manual    map[string]float64            `json:"manual"`
}

func newFiguresResponse(f store.Figures) figuresResponse {
	out := figuresResponse{Logs: f.Logs, Citizens: f.Citizens, Sessions: f.Sessions, Attendees: f.Attendees,
		Women: f.Women, Minority: f.Minority, Elderly: f.Elderly, Reached: nonZero(f.Reached),
		Outcomes: map[string]map[string]float64{}, Barriers: nonZero(f.Barriers), Topics: nonZero(f.Topics), Manual: nonZero(f.Manual)}
	for k, v := range f.Outcomes {
		if v == 0 {
			continue
		}
		svc, result, _ := strings.Cut(k, "|")
		if out.Outcomes[svc] == nil {
			out.Outcomes[svc] = map[string]float64{}
		}
		out.Outcomes[svc][result] = v
	}
	return out
}

func nonZero(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

type placeResponse struct {
	AreaID     int64   `json:"area_id"`
	Name       string  `json:"name"`
	Level      string  `json:"level"`
	Weight     float64 `json:"weight"`
	Population int64   `json:"population"`
	figuresResponse
}

type teamReportResponse struct {
	TeamID        int64   `json:"team_id"`
	Name          string  `json:"name"`
	AreaID        int64   `json:"area_id"`
	Active        bool    `json:"active"`
	Members       int     `json:"members"`
	MembersPer100 float64 `json:"members_per_100"`
	LastActive    string  `json:"last_active"`
	figuresResponse
}

func newTeamReportResponse(t store.TeamReport) teamReportResponse {
	return teamReportResponse{TeamID: t.TeamID, Name: t.Name, AreaID: t.AreaID, Active: t.Active, Members: t.Members,
		MembersPer100: t.MembersPer100, LastActive: t.LastActive, figuresResponse: newFiguresResponse(t.Figures)}
}

type leaderResponse struct {
	Rank     int     `json:"rank"`
	TeamID   int64   `json:"team_id"`
	Name     string  `json:"name"`
	Citizens float64 `json:"citizens"`
	Logs     float64 `json:"logs"`
}

type reportResponse struct {
	Area          areaRef              `json:"area"`
	From          string               `json:"from"`
	To            string               `json:"to"`
	Today         string               `json:"today"`
	InactiveDays  int                  `json:"inactive_days"`
	Totals        figuresResponse      `json:"totals"`
	Members       int                  `json:"members"`
	Population    int64                `json:"population"`
	MembersPer100 float64              `json:"members_per_100"`
	Places        []placeResponse      `json:"places"`
	Teams         []teamReportResponse `json:"teams"`
	Inactive      []teamReportResponse `json:"inactive_teams"`
	Leaderboard   []leaderResponse     `json:"leaderboard"`
	Targets       []targetResponse     `json:"targets"`
	Completions   completionsResponse  `json:"completions"`
}

// completionsResponse: Bình dân học vụ số completions in the area and
// period, those of citizens the teams helped, the distinct citizens, and
// the helped→completed share (helped completers over the citizens helped).
type completionsResponse struct {
	Completions       int     `json:"completions"`
	Helped            int     `json:"helped"`
	Completers        int     `json:"completers"`
	HelpedCompleters  int     `json:"helped_completers"`
	HelpedToCompleted float64 `json:"helped_to_completed"`
}

type areaRef struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Level string `json:"level"`
}

// reportSummary handles GET /v1/reports/summary: the coordinator review of
// an area over a period, read from rollups.
func (a *API) reportSummary(c fiber.Ctx) error {
	var q reportQuery
	if err := c.Bind().Query(&q); err != nil {
		return err
	}
	act := actor(c)
	r, err := a.store.Report(c.Context(), act, store.ReportQuery{AreaID: q.AreaID, From: q.From, To: q.To, InactiveDays: q.InactiveDays})
	if err != nil {
		return err
	}
	targets, err := a.store.Targets(c.Context(), act, store.TargetFilter{AreaID: q.AreaID, From: q.From, To: q.To, Limit: 500})
	if err != nil {
		return err
	}
	done, err := a.store.CompletionFigures(c.Context(), act, q.AreaID, q.From, q.To, r.Totals.Citizens)
	if err != nil {
		return err
	}
	resp := reportResponse{Area: areaRef{r.Area.ID, r.Area.Name, r.Area.Level}, From: r.From, To: r.To, Today: r.Today,
		InactiveDays: r.InactiveDays, Totals: newFiguresResponse(r.Totals), Members: r.Members, Population: r.Population,
		MembersPer100: r.MembersPer100, Places: make([]placeResponse, len(r.Places)), Teams: make([]teamReportResponse, len(r.Teams)),
		Inactive: make([]teamReportResponse, len(r.Inactive)), Leaderboard: make([]leaderResponse, len(r.Leaderboard)),
		Targets: make([]targetResponse, len(targets)),
		Completions: completionsResponse{Completions: done.Completions, Helped: done.Helped, Completers: done.Completers,
			HelpedCompleters: done.HelpedCompleters, HelpedToCompleted: done.HelpedToCompleted}}
	for i, p := range r.Places {
		resp.Places[i] = placeResponse{AreaID: p.AreaID, Name: p.Name, Level: p.Level, Weight: p.Weight, Population: p.Population,
			figuresResponse: newFiguresResponse(p.Figures)}
	}
	for i, t := range r.Teams {
		resp.Teams[i] = newTeamReportResponse(t)
	}
	for i, t := range r.Inactive {
		resp.Inactive[i] = newTeamReportResponse(t)
	}
	for i, t := range r.Leaderboard {
		resp.Leaderboard[i] = leaderResponse{Rank: i + 1, TeamID: t.TeamID, Name: t.Name, Citizens: t.Citizens, Logs: t.Logs}
	}
	for i := range targets {
		resp.Targets[i] = newTargetResponse(&targets[i])
	}
	return c.JSON(resp)
}

type lockRequest struct {
	Locked *bool `json:"locked"`
}

// lockLog handles POST /v1/review/logs/:id/lock ({"locked": false} unlocks).
func (a *API) lockLog(c fiber.Ctx) error {
	var req lockRequest
	if len(c.Body()) > 0 {
		if err := c.Bind().JSON(&req); err != nil {
			return err
		}
	}
	locked := req.Locked == nil || *req.Locked
	if err := a.store.LockLog(c.Context(), actor(c), c.Params("id"), locked); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// lockSession handles POST /v1/review/sessions/:id/lock.
func (a *API) lockSession(c fiber.Ctx) error {
	if err := a.store.LockSession(c.Context(), actor(c), c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type voidRequest struct {
	Void *bool `json:"void"`
}

// voidProgress handles POST /v1/review/progress/:id/void ({"void": false} restores).
func (a *API) voidProgress(c fiber.Ctx) error {
	var req voidRequest
	if len(c.Body()) > 0 {
		if err := c.Bind().JSON(&req); err != nil {
			return err
		}
	}
	if err := a.store.VoidProgress(c.Context(), actor(c), c.Params("id"), req.Void == nil || *req.Void); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type resolveRequest struct {
	Resolution string `json:"resolution" validate:"max=1000"`
}

// resolveConflict handles POST /v1/review/conflicts/:id/resolve.
func (a *API) resolveConflict(c fiber.Ctx) error {
	var req resolveRequest
	if len(c.Body()) > 0 {
		if err := c.Bind().JSON(&req); err != nil {
			return err
		}
	}
	if err := a.store.ResolveConflict(c.Context(), actor(c), c.Params("id"), req.Resolution); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
