package store

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The walk of the upward report (see reports_export.go): containers are
// areas above commune level (a province, a district), groups the
// commune-level areas below them.

// group emits the rows of commune-level area g: the work placed on g
// itself, each child (its subtree, less the former units in it), the
// parts of former units merged into g's subtree and what the former units
// inside g keep, then g's subtree total, which it adds to into. At the
// report's own area (root) the caller emits the total instead.
func (w *upwardWalk) group(g *Area, into *upwardSum, root bool) error {
	pl, err := w.places(g.ID, g.Path)
	if err != nil {
		return err
	}
	teams, err := w.teams(g.Path)
	if err != nil {
		return err
	}
	inside := w.maximalUnits(g.Path, 0)
	var children []*PlaceReport
	for id, p := range pl {
		if id != g.ID && w.units[id] == nil {
			children = append(children, p)
		}
	}
	sortPlaces(children)
	direct := UpwardRow{Kind: UpwardDetail, Part: UpwardDirect, Level: g.Level, Group: g.Name, Name: g.Name, Code: g.Code, Figures: newFigures()}
	if len(children) == 0 {
		direct.Part = UpwardPlace // the area itself (a village, or a commune without villages)
	}
	if p := pl[g.ID]; p != nil {
		direct.Figures.addAll(p.Figures, 1)
	}
	childRows := make([]UpwardRow, len(children))
	byChild := map[int64]*UpwardRow{}
	childPop := int64(0)
	for i, c := range children {
		f := c.Figures // the child's own maps: changed in place
		var mine []*upUnit
		for _, x := range inside {
			if strings.HasPrefix(x.path, c.Path) {
				mine = append(mine, x)
			}
		}
		if f, err = w.withoutUnits(f, mine); err != nil {
			return err
		}
		childRows[i] = UpwardRow{Kind: UpwardDetail, Part: UpwardPlace, Level: c.Level, Group: g.Name, Name: c.Name,
			Code: c.Code, Population: w.population(c.Population, c.ValidTo), Former: w.former(c.ValidTo), Figures: f}
		childPop += childRows[i].Population
		byChild[c.AreaID] = &childRows[i]
	}
	for _, t := range teams {
		if w.unitOf(t.AreaPath) != nil {
			continue
		}
		r := &direct
		if t.AreaID != g.ID {
			if c := byChild[pathIDs(strings.TrimPrefix(t.AreaPath, g.Path))[0]]; c != nil {
				r = c
			}
		}
		r.Teams++
		r.Members += t.Members
	}
	if pop := w.population(g.Population, g.ValidTo); pop > childPop {
		direct.Population = pop - childPop
	}
	direct.Former = w.former(g.ValidTo)
	var rows []UpwardRow
	if direct.Part == UpwardPlace || !direct.empty() {
		rows = append(rows, direct)
	}
	rows = append(rows, childRows...)
	merged, err := w.mergedInto(g.Path, false, g.Name)
	if err != nil {
		return err
	}
	rows = append(rows, merged...)
	for _, x := range w.list {
		if x.path == g.Path || !strings.HasPrefix(x.path, g.Path) {
			continue
		}
		r, ok, err := w.rest(x, g.Name)
		if err != nil {
			return err
		}
		if ok {
			rows = append(rows, r)
		}
	}
	var sum upwardSum
	for _, r := range rows {
		if err := w.emitRow(r); err != nil {
			return err
		}
		sum.add(r)
	}
	if root {
		*into = sum
		return nil
	}
	return w.closeGroup(&sum, into, "", g.Name, g.Code)
}

// upTeam is a team as the upward report counts it.
type upTeam struct {
	AreaID   int64
	AreaPath string
	Members  int // active members and leads
	Active   bool
}

// teams lists the teams of the subtree at path that count (active, or
// with active members), with their members: reportTeams without what the
// report does not show.
func (w *upwardWalk) teams(path string) ([]upTeam, error) {
	lo, hi := subtreeRange(path)
	rows, err := w.tx.QueryContext(w.ctx, `SELECT t.area_id, a.path, t.active,
			(SELECT count(*) FROM users u WHERE u.team_id = t.id AND u.active = 1 AND u.role IN ('member', 'team_lead'))
		FROM areas a JOIN teams t ON t.area_id = a.id WHERE a.path >= ? AND a.path < ?`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("upward teams: %w", err)
	}
	defer rows.Close()
	var out []upTeam
	for rows.Next() {
		var t upTeam
		if err := rows.Scan(&t.AreaID, &t.AreaPath, &t.Active, &t.Members); err != nil {
			return nil, fmt.Errorf("upward teams: %w", err)
		}
		if t.Active || t.Members > 0 {
			out = append(out, t)
		}
	}
	return out, rows.Err()
}

// population is an area's population in this report: none when the
// area ended before the period did (its people are counted in the areas
// that followed it).
func (w *upwardWalk) population(pop int64, validTo string) int64 {
	if validTo != "" && validTo < w.u.To {
		return 0
	}
	return pop
}

// former is an area's last day when it ended before the period did.
func (w *upwardWalk) former(validTo string) string {
	if validTo != "" && validTo < w.u.To {
		return validTo
	}
	return ""
}

// closeGroup emits a commune-tier subtotal and adds it to into.
func (w *upwardWalk) closeGroup(sum *upwardSum, into *upwardSum, part, name, code string) error {
	r := sum.row(UpwardSubtotal, part, "commune", name, name, code)
	if err := w.emitRow(r); err != nil {
		return err
	}
	into.add(r)
	return nil
}

// container emits the groups of area x above commune level: each child
// commune as a group, each child district as a container, each former
// unit among the children as a group of what it keeps, the work placed on
// x itself as a group, then (below the report's area) x's subtotal.
func (w *upwardWalk) container(x *Area, into *upwardSum) error {
	rows, err := w.tx.QueryContext(w.ctx, `SELECT `+areaColumns+` FROM areas WHERE parent_id = ?`, x.ID)
	if err != nil {
		return fmt.Errorf("upward areas: %w", err)
	}
	var children []*Area
	for rows.Next() {
		c, err := scanArea(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("upward areas: %w", err)
		}
		children = append(children, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("upward areas: %w", err)
	}
	sort.Slice(children, func(i, j int) bool {
		return areaOrder(children[i].Code, children[i].Name, children[j].Code, children[j].Name)
	})
	var sum upwardSum
	for _, c := range children {
		switch {
		case w.units[c.ID] != nil:
			if err := w.formerGroup(c, &sum); err != nil {
				return err
			}
		case levelRank[c.Level] >= levelRank["commune"]:
			if err := w.group(c, &sum, false); err != nil {
				return err
			}
		default:
			if err := w.container(c, &sum); err != nil {
				return err
			}
		}
	}
	if err := w.directGroup(x, &sum); err != nil {
		return err
	}
	if x.ID == w.root.ID {
		*into = sum
		return nil
	}
	if sum.rows == 0 {
		return nil
	}
	r := sum.row(UpwardSubtotal, "", x.Level, x.Name, x.Name, x.Code)
	if err := w.emitRow(r); err != nil {
		return err
	}
	into.add(r)
	return nil
}

// formerGroup is a former unit among a container's children: what it and
// the former units inside it keep, as a group (when anything is kept).
func (w *upwardWalk) formerGroup(c *Area, into *upwardSum) error {
	var sum upwardSum
	for _, x := range w.list {
		if !strings.HasPrefix(x.path, c.Path) {
			continue
		}
		r, ok, err := w.rest(x, c.Name)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := w.emitRow(r); err != nil {
			return err
		}
		sum.add(r)
	}
	if sum.rows == 0 {
		return nil
	}
	return w.closeGroup(&sum, into, UpwardRest, c.Name, c.Code)
}

// directGroup is the work placed on container x itself, the parts of
// former units merged into x itself and x's population not assigned to
// its children, as a group (when there is any).
func (w *upwardWalk) directGroup(x *Area, into *upwardSum) error {
	pl, err := w.places(x.ID, x.Path)
	if err != nil {
		return err
	}
	r := UpwardRow{Kind: UpwardDetail, Part: UpwardDirect, Level: x.Level, Group: x.Name, Name: x.Name, Code: x.Code, Figures: newFigures()}
	if p := pl[x.ID]; p != nil {
		r.Figures.addAll(p.Figures, 1)
	}
	// The teams placed on x itself (x is never inside a former unit: those
	// are walked as formerGroup).
	err = w.tx.QueryRowContext(w.ctx, `SELECT count(*), COALESCE(sum(m), 0) FROM (SELECT t.active AS active,
			(SELECT count(*) FROM users u WHERE u.team_id = t.id AND u.active = 1 AND u.role IN ('member', 'team_lead')) AS m
		FROM teams t WHERE t.area_id = ?) x WHERE active = 1 OR m > 0`, x.ID).Scan(&r.Teams, &r.Members)
	if err != nil {
		return fmt.Errorf("upward teams: %w", err)
	}
	if pop := w.population(x.Population, x.ValidTo); pop > into.pop {
		r.Population = pop - into.pop
	}
	r.Former = w.former(x.ValidTo)
	rows := []UpwardRow{}
	if !r.empty() {
		rows = append(rows, r)
	}
	merged, err := w.mergedInto(x.Path, true, x.Name)
	if err != nil {
		return err
	}
	rows = append(rows, merged...)
	if len(rows) == 0 {
		return nil
	}
	var sum upwardSum
	for _, r := range rows {
		if err := w.emitRow(r); err != nil {
			return err
		}
		sum.add(r)
	}
	return w.closeGroup(&sum, into, UpwardDirect, x.Name, x.Code)
}

// emitRow rounds a row's figures to whole numbers (sums of whole counts
// carry float noise) and its members per 100 residents, and emits it.
func (w *upwardWalk) emitRow(r UpwardRow) error {
	r.Figures.round() // the row's maps are its own, or already whole (a former unit's parts)
	r.MembersPer100 = 0
	if r.Population > 0 {
		r.MembersPer100 = float64(r.Members) * 100 / float64(r.Population)
	}
	return w.emit(r)
}

// empty reports whether a row has nothing to show.
func (r UpwardRow) empty() bool {
	return r.Teams == 0 && r.Members == 0 && r.Population == 0 && wholeFigures(r.Figures).isZero()
}

// areaOrder sorts areas by official code (coded first), then name.
func areaOrder(codeA, nameA, codeB, nameB string) bool {
	if (codeA == "") != (codeB == "") {
		return codeA != ""
	}
	if codeA != codeB {
		na, ea := strconv.ParseInt(codeA, 10, 64)
		nb, eb := strconv.ParseInt(codeB, 10, 64)
		if ea == nil && eb == nil && na != nb {
			return na < nb
		}
		return codeA < codeB
	}
	return nameA < nameB
}

func sortPlaces(ps []*PlaceReport) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Code == ps[j].Code && ps[i].Name == ps[j].Name {
			return ps[i].AreaID < ps[j].AreaID
		}
		return areaOrder(ps[i].Code, ps[i].Name, ps[j].Code, ps[j].Name)
	})
}
