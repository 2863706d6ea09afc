package dashboard

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"

	"toso/store"
)

// childFigures is a child area with the figures of the places under it,
// summed from the report's places (no query of its own).
type childFigures struct {
	Area  store.Area
	Teams int
	store.Figures
}

// children sums the report's places into the area's child areas.
func (d *Dashboard) children(r *req, s *scope, rep *store.Report) ([]childFigures, error) {
	kids, err := d.store.Areas(r.c.Context(), r.actor, store.AreaFilter{ParentID: s.Area.ID, Limit: store.MaxPageSize})
	if err != nil {
		return nil, err
	}
	out := make([]childFigures, 0, len(kids))
	for _, k := range kids {
		if k.ValidTo != "" && k.ValidTo < s.From {
			continue // ended before the period: its work is in its successor's figures
		}
		c := childFigures{Area: k, Figures: store.Figures{Reached: map[string]float64{}, Barriers: map[string]float64{}}}
		for _, p := range rep.Places {
			if !strings.HasPrefix(p.Path, k.Path) {
				continue
			}
			c.Logs += p.Logs
			c.Citizens += p.Citizens
			c.Sessions += p.Sessions
			c.Attendees += p.Attendees
			for b, n := range p.Barriers {
				c.Barriers[b] += n
			}
		}
		for _, t := range rep.Teams {
			if t.Active && strings.HasPrefix(t.AreaPath, k.Path) {
				c.Teams++
			}
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Area.Name < out[j].Area.Name })
	return out, nil
}

// maxListedTeams: above this, the area page asks to go down a level.
const maxListedTeams = 300

type areaData struct {
	*scope
	Report   *store.Report
	Children []childFigures
	Teams    []store.TeamReport
	Places   map[string]store.Place // beside team names
	TooMany  int
	Search   *searchResults // with ?q=
}

// searchResults are the areas, teams and people under an area whose names
// match a query, with case and diacritics folded (store.Fold): "nguyen"
// finds "Nguyễn".
type searchResults struct {
	Q     string
	Areas []store.Area
	Teams []store.Team
	Users []store.User
}

// maxSearchResults of each kind are listed.
const maxSearchResults = 50

func (d *Dashboard) search(r *req, s *scope, q string) (*searchResults, error) {
	ctx := r.c.Context()
	res := &searchResults{Q: q}
	var err error
	if res.Areas, err = d.store.Areas(ctx, r.actor, store.AreaFilter{Under: s.Area.ID, Query: q, Limit: maxSearchResults}); err != nil {
		return nil, err
	}
	if res.Teams, err = d.store.Teams(ctx, r.actor, store.TeamFilter{AreaID: s.Area.ID, Query: q, Limit: maxSearchResults}); err != nil {
		return nil, err
	}
	if res.Users, err = d.store.Users(ctx, r.actor, store.UserFilter{AreaID: s.Area.ID, Query: q, Limit: maxSearchResults}); err != nil {
		return nil, err
	}
	return res, nil
}

// searchQuery is the ?q= of a page, trimmed and capped.
func searchQuery(c fiber.Ctx) string {
	q := strings.TrimSpace(c.Query("q"))
	if r := []rune(q); len(r) > 100 {
		q = string(r[:100])
	}
	return strings.Clone(q)
}

// areaPage handles GET /areas?area=: the area's figures, its child areas
// and its teams, each a link one level down.
func (d *Dashboard) areaPage(r *req) error {
	s, err := d.scope(r, 0)
	if err != nil {
		return err
	}
	rep, err := d.store.Report(r.c.Context(), r.actor, store.ReportQuery{AreaID: s.Area.ID, From: s.From, To: s.To,
		Metrics: store.HeadlineMetrics, TeamFiguresUpTo: maxListedTeams})
	if err != nil {
		return err
	}
	kids, err := d.children(r, s, rep)
	if err != nil {
		return err
	}
	data := &areaData{scope: s, Report: rep, Children: kids, Teams: rep.Teams}
	if len(rep.Teams) > maxListedTeams {
		data.TooMany, data.Teams = len(rep.Teams), nil
	}
	if data.Places, err = d.places(r, teamPaths(data.Teams, func(t store.TeamReport) string { return t.AreaPath })); err != nil {
		return err
	}
	if q := searchQuery(r.c); q != "" {
		if data.Search, err = d.search(r, s, q); err != nil {
			return err
		}
	}
	v := d.newView(r, s, "/areas", "nav.areas")
	v.Data = data
	return d.render(r, 200, "area", v)
}

type teamData struct {
	*scope
	Team    *store.Team
	Figures store.TeamReport
	Members []store.MemberFigures
	Q       string // the members shown are those whose names match
}

// teamPage handles GET /teams/:id: a team's figures for the period and its
// members with the logs each wrote.
func (d *Dashboard) teamPage(r *req) error {
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
	rep, err := d.store.Report(ctx, r.actor, store.ReportQuery{AreaID: t.AreaID, From: s.From, To: s.To})
	if err != nil {
		return err
	}
	data := &teamData{scope: s, Team: t}
	for _, tr := range rep.Teams {
		if tr.TeamID == t.ID {
			data.Figures = tr
		}
	}
	if data.Members, err = d.store.TeamMemberActivity(ctx, r.actor, t.ID, s.From, s.To); err != nil {
		return err
	}
	if data.Q = searchQuery(r.c); data.Q != "" {
		q := store.Fold(data.Q)
		data.Members = slices.DeleteFunc(data.Members, func(m store.MemberFigures) bool {
			return !strings.Contains(store.Fold(m.Name), q)
		})
	}
	v := d.newView(r, s, "/areas", "nav.areas")
	v.Title = t.Name
	v.Crumbs = append(v.Crumbs, crumb{Name: t.Name, Href: fmt.Sprintf("/teams/%d?%s", t.ID, s.Query())})
	v.Data = data
	return d.render(r, 200, "team", v)
}
