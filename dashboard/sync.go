package dashboard

import (
	"sort"
	"strings"

	"toso/store"
)

// The sync health page ("Tình trạng đồng bộ"): first the teams whose
// phones have not synced for DefaultStaleDays or more, with the member
// whose phone synced last and when; then every phone (a commune or below)
// or a line per area below (a province or district). ?below= keeps only
// the phones whose app version is below it.

// maxStaleListed is how many stale teams the page lists.
const maxStaleListed = 200

type syncRow struct {
	store.DeviceHealth
	Team  *store.TeamHealth
	Place string
}

type syncArea struct {
	Area    store.Area
	Teams   int
	Stale   int
	Devices int
	Pending int
}

type syncData struct {
	*scope
	Below     string // the app-version filter as typed
	BelowErr  string
	StaleDays int
	Teams     int
	Devices   int
	Pending   int
	Rejected  int
	Conflicts int
	Stale     []*store.TeamHealth
	MoreStale int
	Places    map[string]store.Place
	Rows      []syncRow  // every phone, for a commune or below
	ByArea    []syncArea // a line per area below, for a province or district
	Brief     bool       // a province or district: no rejections or conflicts read
}

// syncPage handles GET /sync.
func (d *Dashboard) syncPage(r *req) error {
	s, err := d.scope(r, 0)
	if err != nil {
		return err
	}
	data := &syncData{scope: s, Below: strings.TrimSpace(r.c.Query("below")), StaleDays: store.DefaultStaleDays}
	status := 200
	wide := s.Area.Level == "province" || s.Area.Level == "district"
	f := store.SyncHealthFilter{AreaID: s.Area.ID, AppVersionBelow: data.Below, Limit: store.MaxPageSize, Brief: wide}
	data.Brief = wide
	if data.Below != "" && !validVersionInput(data.Below) {
		data.BelowErr, f.AppVersionBelow, status = tr(r.lang, "sync.err.below"), "", 422
	}
	var teams []*store.TeamHealth
	for {
		p, err := d.store.SyncHealth(r.c.Context(), r.actor, f)
		if err != nil {
			return err
		}
		for i := range p.Teams {
			teams = append(teams, &p.Teams[i])
		}
		if p.Next == 0 {
			break
		}
		f.After = p.Next
	}
	paths := make([]string, len(teams))
	for i, t := range teams {
		paths[i] = t.AreaPath
		data.Teams++
		for _, dv := range t.Devices {
			if dv.DeviceID == "" {
				continue
			}
			data.Devices++
			data.Pending += dv.Pending
			data.Conflicts += dv.ConflictsOpen
			for _, n := range dv.Rejected {
				data.Rejected += n
			}
		}
		if t.Stale {
			data.Stale = append(data.Stale, t)
		}
	}
	if data.Places, err = d.places(r, paths); err != nil {
		return err
	}
	// Never synced first, then the longest silent.
	sort.SliceStable(data.Stale, func(i, j int) bool { return data.Stale[i].LastSync.Before(data.Stale[j].LastSync) })
	if len(data.Stale) > maxStaleListed {
		data.MoreStale = len(data.Stale) - maxStaleListed
		data.Stale = data.Stale[:maxStaleListed]
	}
	if wide {
		if data.ByArea, err = d.syncByArea(r, s, teams); err != nil {
			return err
		}
	} else {
		for _, t := range teams {
			for _, dv := range t.Devices {
				data.Rows = append(data.Rows, syncRow{DeviceHealth: dv, Team: t, Place: placeText(data.Places, t.AreaPath)})
			}
		}
	}
	v := d.newView(r, s, "/sync", "nav.sync")
	v.From = "" // no period: the page is about now
	v.Data = data
	return d.render(r, status, "sync", v)
}

// syncByArea sums the teams into the areas one level below the scope (a
// team's child area is the id after the scope's in its path).
func (d *Dashboard) syncByArea(r *req, s *scope, teams []*store.TeamHealth) ([]syncArea, error) {
	kids, err := d.store.Areas(r.c.Context(), r.actor, store.AreaFilter{ParentID: s.Area.ID, Limit: store.MaxPageSize})
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*syncArea, len(kids))
	out := make([]*syncArea, len(kids))
	for i, k := range kids {
		out[i] = &syncArea{Area: k}
		byID[itoa(k.ID)] = out[i]
	}
	for _, t := range teams {
		rest := strings.TrimPrefix(t.AreaPath, s.Area.Path)
		child, _, _ := strings.Cut(rest, "/")
		a := byID[child]
		if a == nil {
			continue // a team on the scope's area itself
		}
		a.Teams++
		if t.Stale {
			a.Stale++
		}
		for _, dv := range t.Devices {
			if dv.DeviceID != "" {
				a.Devices++
				a.Pending += dv.Pending
			}
		}
	}
	var list []syncArea
	for _, a := range out {
		if a.Teams > 0 {
			list = append(list, *a)
		}
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Stale != list[j].Stale {
			return list[i].Stale > list[j].Stale
		}
		return list[i].Area.Name < list[j].Area.Name
	})
	return list, nil
}

// validVersionInput accepts a dotted version of numbers (1.4 or 1.4.0).
func validVersionInput(v string) bool {
	parts := strings.Split(v, ".")
	if len(v) > 40 || len(parts) > 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}
