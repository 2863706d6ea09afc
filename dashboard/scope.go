package dashboard

import (
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"toso/store"
)

// scope is what most pages are about: an area the caller may read and a
// period (Vietnam days, inclusive), from ?area=&from=&to=.
type scope struct {
	Area     *store.Area
	From, To string
	Today    string
}

// Query is the scope as a query string for links.
func (s *scope) Query() string {
	return url.Values{"area": {strconv.FormatInt(s.Area.ID, 10)}, "from": {s.From}, "to": {s.To}}.Encode()
}

// homeArea is where a caller starts: a coordinator's scope root; for an
// admin the first province.
func (d *Dashboard) homeArea(r *req) (int64, error) {
	if r.actor.AreaID != 0 {
		return r.actor.AreaID, nil
	}
	areas, err := d.store.Areas(r.c.Context(), r.actor, store.AreaFilter{Level: "province", Limit: 1})
	if err != nil {
		return 0, err
	}
	if len(areas) == 0 {
		return 0, fmt.Errorf("no province yet: %w", store.ErrNotFound)
	}
	return areas[0].ID, nil
}

// scope reads the area (checked by the store: outside the caller's reach
// is ErrNotFound) and the period; the default period is the year to date.
func (d *Dashboard) scope(r *req, areaID int64) (*scope, error) {
	if areaID == 0 {
		if q := r.c.Query("area"); q != "" {
			id, err := strconv.ParseInt(q, 10, 64)
			if err != nil || id <= 0 {
				return nil, fmt.Errorf("area %q: %w", q, store.ErrNotFound)
			}
			areaID = id
		}
	}
	if areaID == 0 {
		id, err := d.homeArea(r)
		if err != nil {
			return nil, err
		}
		areaID = id
	}
	ar, err := d.store.Area(r.c.Context(), r.actor, areaID)
	if err != nil {
		return nil, err
	}
	today := store.Today(d.now())
	s := &scope{Area: ar, From: today[:4] + "-01-01", To: today, Today: today}
	if f := r.c.Query("from"); f != "" {
		s.From = f
	}
	if t := r.c.Query("to"); t != "" {
		s.To = t
	}
	f, err1 := time.Parse(time.DateOnly, s.From)
	t, err2 := time.Parse(time.DateOnly, s.To)
	if err1 != nil || err2 != nil || t.Before(f) {
		return nil, fmt.Errorf("period %s – %s: %w", s.From, s.To, store.ErrInvalid)
	}
	return s, nil
}

// crumbs are the links from the caller's reach down to path: the
// ancestors the caller may see, then the area itself.
func (d *Dashboard) crumbs(r *req, path, base string, s *scope) []crumb {
	var out []crumb
	for _, p := range strings.Split(strings.Trim(path, "/"), "/") {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			continue
		}
		ar, err := d.store.Area(r.c.Context(), r.actor, id)
		if err != nil || (r.actor.Role == store.RoleCoordinator && !strings.HasPrefix(ar.Path, r.actor.AreaPath)) {
			continue
		}
		out = append(out, crumb{Name: ar.Name, Href: base + "?" + url.Values{"area": {p}, "from": {s.From}, "to": {s.To}}.Encode()})
	}
	return out
}

// newView starts a page's view with the scope's menu links and crumbs
// (to the same page for each area above); nav is the page's path.
func (d *Dashboard) newView(r *req, s *scope, nav, titleKey string) *view {
	v := &view{Title: tr(r.lang, titleKey), Nav: nav}
	if s != nil {
		v.Area = s.Area
		v.Query = template.URL(s.Query())
		v.From, v.To = s.From, s.To
		v.Crumbs = d.crumbs(r, s.Area.Path, nav, s)
	}
	return v
}
