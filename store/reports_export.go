package store

import (
	"sort"
	"strings"
)

// UpwardRow is one line of the upward report: a commune or a village (or
// residential group) of the report's area, with its teams and figures.
type UpwardRow struct {
	Commune       string // the commune the row belongs to ("" above commune level)
	Name          string
	Code          string
	Level         string
	Weight        float64 // < 1 for areas merged into the report's area with a share
	Teams         int
	Members       int
	Population    int64
	MembersPer100 float64
	Figures
}

// UpwardRows lays the report out per commune and village, in tree order:
// each commune row (its own figures: logs placed on the commune itself)
// followed by its villages. Teams and members are those on the row's area.
func (r *Report) UpwardRows() []UpwardRow {
	names := map[int64]PlaceReport{}
	for _, p := range r.Places {
		names[p.AreaID] = p
	}
	teams := map[int64][2]int{}
	for _, t := range r.Teams {
		c := teams[t.AreaID]
		teams[t.AreaID] = [2]int{c[0] + 1, c[1] + t.Members}
	}
	out := make([]UpwardRow, 0, len(r.Places))
	for _, p := range r.Places {
		if levelRank[p.Level] < levelRank["commune"] {
			continue // provinces and districts are sums of the rows below
		}
		row := UpwardRow{Name: p.Name, Code: p.Code, Level: p.Level, Weight: p.Weight, Population: p.Population,
			Teams: teams[p.AreaID][0], Members: teams[p.AreaID][1], Figures: p.Figures}
		if p.Level == "commune" {
			row.Commune = p.Name
		} else {
			ids := pathIDs(p.Path)
			for i := len(ids) - 2; i >= 0; i-- {
				if c, ok := names[ids[i]]; ok && c.Level == "commune" {
					row.Commune = c.Name
					break
				}
			}
		}
		if row.Population > 0 {
			row.MembersPer100 = float64(row.Members) * 100 / float64(row.Population)
		}
		out = append(out, row)
	}
	return out
}

// ServiceKeys lists the services with any figure in the report, sorted.
func (r *Report) ServiceKeys() []string {
	seen := map[string]bool{}
	for k := range r.Totals.Reached {
		seen[k] = true
	}
	for k := range r.Totals.Outcomes {
		seen[strings.SplitN(k, "|", 2)[0]] = true
	}
	return sortedKeys(seen)
}

// BarrierKeys lists the barriers named in the report, sorted.
func (r *Report) BarrierKeys() []string {
	seen := map[string]bool{}
	for k := range r.Totals.Barriers {
		seen[k] = true
	}
	return sortedKeys(seen)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
