package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// The upward report: the figures of an area over a period, one row per
// village (or other place), grouped by commune, with a subtotal row for
// every commune (and district, in a pre-2025 tree) and the total last.
// Every figure is a whole number and every subtotal is the sum of the rows
// it closes, so summing a column over the rows of one kind (the details,
// or the commune subtotals) gives the total.
//
// Merged and split units (area_lineage, the 2025 reform): a former unit is
// an area with lineage edges (its places are those whose deepest
// ancestor-or-self with lineage it is). Its whole figures are split among
// its successors by share, each count by largest remainder, so the parts
// are whole and add up to the whole; each part is a row ("merged") in the
// successor's commune. The part a share sum below 1 leaves, and the parts
// going to successors outside the report, stay with the report when the
// former unit lies inside it (a "rest" row where the unit sits). Teams and
// members of a former unit count once, with its largest part. The report
// on an area that is itself former (or lies in one) shows it as a plain
// tree. Population is the areas' own figures: a village's row has its
// population, the row of the work placed on a commune itself the
// commune's population not assigned to its villages, and merged rows none
// (their people are in their successors' figures).

// Upward row kinds.
const (
	UpwardDetail   = "detail"   // a village, the work on a group's area itself, a former unit's part
	UpwardSubtotal = "subtotal" // a commune (group) or a district
	UpwardTotal    = "total"    // the report's area
)

// Detail row parts.
const (
	UpwardPlace  = "place"  // a village (or any child area of the group) and its subtree
	UpwardDirect = "direct" // the work placed on the group's area itself
	UpwardMerged = "merged" // a former unit's part in a successor of this group
	UpwardRest   = "rest"   // what a former unit inside the report keeps
)

// UpwardRow is one line of the upward report.
type UpwardRow struct {
	Kind  string // UpwardDetail, UpwardSubtotal or UpwardTotal
	Part  string // for details: UpwardPlace, UpwardDirect, UpwardMerged or UpwardRest
	Level string // the row's area level (a subtotal's: its group's; the total's: the report area's)
	Group string // the commune (group) the row belongs to; a district subtotal's district; the total's area
	Name  string // the row's area (for merged and rest rows the former unit)
	Code  string
	// Former is the former unit's last day (valid_to) on merged and rest
	// rows, or "" when it has none; Into and Share name the successor and
	// the lineage share of a merged row.
	Former        string
	Into          string
	Share         float64
	Teams         int
	Members       int
	Population    int64
	MembersPer100 float64
	Figures       // whole numbers
}

// Upward is the head of the upward report of an area over a period; the
// rows are streamed by UpwardRows, so a province export never holds its
// 5,000 village rows at once.
type Upward struct {
	Area     Area
	From, To string
	Made     string  // the day the report was made (Vietnam)
	Services []Label // every service of the catalog, active first: the same columns for every area and period
	Barriers []Label
	onlyTeam int64 // a member or lead: their team's figures only
	team     string
}

// Upward computes the head of the upward report of an area the actor may
// read (as Report: members and leads get their team's figures only).
func (s *Store) Upward(ctx context.Context, a Actor, q ReportQuery) (*Upward, error) {
	if err := validPeriod(q.From, q.To); err != nil {
		return nil, err
	}
	ar, err := s.reportArea(ctx, a, q.AreaID)
	if err != nil {
		return nil, err
	}
	u := &Upward{Area: *ar, From: q.From, To: q.To, Made: Today(s.now())}
	if a.Role.InTeam() {
		u.onlyTeam = a.TeamID
		if err := s.read.QueryRowContext(ctx, `SELECT name FROM teams WHERE id = ?`, a.TeamID).Scan(&u.team); err != nil {
			return nil, fmt.Errorf("upward report: %w", err)
		}
	}
	for _, c := range []struct {
		into  *[]Label
		table string
	}{{&u.Services, "services"}, {&u.Barriers, "barriers"}} {
		rows, err := s.read.QueryContext(ctx, `SELECT code, label_vi, label_en FROM `+c.table+` ORDER BY active DESC, sort, code`)
		if err != nil {
			return nil, fmt.Errorf("upward report: %w", err)
		}
		for rows.Next() {
			var l Label
			if err := rows.Scan(&l.Code, &l.Vi, &l.En); err != nil {
				rows.Close()
				return nil, fmt.Errorf("upward report: %w", err)
			}
			*c.into = append(*c.into, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("upward report: %w", err)
		}
	}
	return u, nil
}

// UpwardRows streams the rows of the upward report in tree order: per
// commune its detail rows then its subtotal, per district its communes
// then its subtotal, the total last. Memory is one commune's rows and the
// former units' parts.
func (s *Store) UpwardRows(ctx context.Context, u *Upward, emit func(UpwardRow) error) error {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("upward rows: %w", err)
	}
	defer tx.Rollback()
	if u.onlyTeam != 0 {
		return s.upwardTeam(ctx, tx, u, emit)
	}
	w := &upwardWalk{ctx: ctx, tx: tx, u: u, emit: emit, root: &u.Area, whole: map[int64]Figures{}}
	if err := w.loadUnits(); err != nil {
		return err
	}
	var total upwardSum
	if levelRank[u.Area.Level] < levelRank["commune"] {
		if err := w.container(&u.Area, &total); err != nil {
			return err
		}
	} else if err := w.group(&u.Area, &total, true); err != nil {
		return err
	}
	return w.emitRow(total.row(UpwardTotal, "", u.Area.Level, u.Area.Name, u.Area.Name, u.Area.Code))
}

// upwardTeam is a member's or lead's report: their team's own figures.
func (s *Store) upwardTeam(ctx context.Context, tx *sql.Tx, u *Upward, emit func(UpwardRow) error) error {
	teams, err := reportTeams(ctx, tx, u.Area.Path, u.onlyTeam)
	if err != nil {
		return err
	}
	if err := teamFigures(ctx, tx, u.Area.Path, u.onlyTeam, u.From, u.To, true, teams); err != nil {
		return err
	}
	var sum upwardSum
	sum.fig = newFigures()
	if t := teams[u.onlyTeam]; t != nil {
		sum.fig = wholeFigures(t.Figures)
		if t.Members > 0 || t.Active {
			sum.teams = 1
		}
		sum.members = t.Members
	}
	row := sum.row(UpwardDetail, UpwardPlace, u.Area.Level, u.Area.Name, u.team, u.Area.Code)
	if err := emit(row); err != nil {
		return err
	}
	return emit(sum.row(UpwardTotal, "", u.Area.Level, u.Area.Name, u.Area.Name, u.Area.Code))
}

// upwardSum accumulates rows into a subtotal.
type upwardSum struct {
	fig            Figures
	teams, members int
	pop            int64
	rows           int
}

func (s *upwardSum) add(r UpwardRow) {
	if s.fig.Reached == nil {
		s.fig = newFigures()
	}
	s.fig.addAll(r.Figures, 1)
	s.teams += r.Teams
	s.members += r.Members
	s.pop += r.Population
	s.rows++
}

func (s *upwardSum) row(kind, part, level, group, name, code string) UpwardRow {
	if s.fig.Reached == nil {
		s.fig = newFigures()
	}
	r := UpwardRow{Kind: kind, Part: part, Level: level, Group: group, Name: name, Code: code,
		Teams: s.teams, Members: s.members, Population: s.pop, Figures: s.fig}
	if r.Population > 0 {
		r.MembersPer100 = float64(r.Members) * 100 / float64(r.Population)
	}
	return r
}

// upUnit is a former unit: an area with lineage edges.
type upUnit struct {
	id                        int64
	name, code, path, validTo string
	level                     string
	edges                     []upEdge  // by successor id
	nested                    []*upUnit // maximal former units strictly inside
	loaded                    bool
	own                       *Figures  // the figures of the places it owns (not of the units inside it)
	fractions                 []float64 // per edge, then the rest
	parts                     []Figures // the same
	teams, members, teamsPart int       // teams and members go with the largest part
}

type upEdge struct {
	to         int64
	name, path string
	share      float64
}

type upwardWalk struct {
	ctx   context.Context
	tx    *sql.Tx
	u     *Upward
	emit  func(UpwardRow) error
	root  *Area
	units map[int64]*upUnit // former units, not the report area or above it
	list  []*upUnit         // the same, by path
	whole map[int64]Figures // subtree figures (weight 1) of former units, by id
}

// loadUnits reads every lineage edge with both ends' names and paths.
func (w *upwardWalk) loadUnits() error {
	rows, err := w.tx.QueryContext(w.ctx, `SELECT l.old_area_id, o.name, COALESCE(o.code, ''), o.path, o.level,
			COALESCE(o.valid_to, ''), l.new_area_id, n.name, n.path, l.share
		FROM area_lineage l JOIN areas o ON o.id = l.old_area_id JOIN areas n ON n.id = l.new_area_id
		ORDER BY l.old_area_id, l.new_area_id`)
	if err != nil {
		return fmt.Errorf("upward lineage: %w", err)
	}
	defer rows.Close()
	w.units = map[int64]*upUnit{}
	for rows.Next() {
		var u upUnit
		var e upEdge
		if err := rows.Scan(&u.id, &u.name, &u.code, &u.path, &u.level, &u.validTo, &e.to, &e.name, &e.path, &e.share); err != nil {
			return fmt.Errorf("upward lineage: %w", err)
		}
		if strings.HasPrefix(w.root.Path, u.path) {
			continue // the report is on this unit or inside it: a plain tree
		}
		x := w.units[u.id]
		if x == nil {
			x = &u
			w.units[u.id] = x
			w.list = append(w.list, x)
		}
		x.edges = append(x.edges, e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("upward lineage: %w", err)
	}
	sort.Slice(w.list, func(i, j int) bool { return w.list[i].path < w.list[j].path })
	for _, x := range w.list {
		x.nested = w.maximalUnits(x.path, x.id)
	}
	return nil
}

// unitOf is the former unit a place at path belongs to (its deepest
// ancestor-or-self with lineage), or nil.
func (w *upwardWalk) unitOf(path string) *upUnit {
	ids := pathIDs(path)
	for i := len(ids) - 1; i >= 0; i-- {
		if x := w.units[ids[i]]; x != nil {
			return x
		}
	}
	return nil
}

// maximalUnits are the former units strictly inside path (other than
// self) that no other former unit inside path contains.
func (w *upwardWalk) maximalUnits(path string, self int64) []*upUnit {
	var in []*upUnit
	for _, x := range w.list {
		if x.id != self && x.path != path && strings.HasPrefix(x.path, path) {
			in = append(in, x)
		}
	}
	var out []*upUnit
	for _, x := range in {
		top := true
		for _, y := range in {
			if y != x && strings.HasPrefix(x.path, y.path) {
				top = false
				break
			}
		}
		if top {
			out = append(out, x)
		}
	}
	return out
}

// placed reports whether a lineage edge's part is a row of this report:
// its successor is in the report's area and not itself in a former unit
// (such a part stays with its unit, as a rest row).
func (w *upwardWalk) placed(e upEdge) bool {
	return strings.HasPrefix(e.path, w.root.Path) && w.unitOf(e.path) == nil
}

// places are the rows of area's report (itself and its children) with
// their subtree figures, weight 1; areas merged in from outside are left
// out (their parts come through the lineage edges). Such an area's row is
// its own places' figures times its weight into this area (every place a
// former unit owns has the unit's weight), so it gives the unit's own
// figures without another read: they are kept for load.
func (w *upwardWalk) places(id int64, path string) (map[int64]*PlaceReport, error) {
	pl, err := reportPlaces(w.ctx, w.tx, id)
	if err != nil {
		return nil, err
	}
	err = areaFigures(w.ctx, w.tx, id, w.u.From, w.u.To, nil, func(bucket int64, metric, key string, n float64) {
		if p := pl[bucket]; p != nil {
			p.add(metric, key, n)
		}
	})
	for k, p := range pl {
		if strings.HasPrefix(p.Path, path) {
			continue
		}
		if x := w.units[k]; x != nil && x.own == nil && p.Weight > 0 {
			own := newFigures()
			own.addAll(p.Figures, 1/p.Weight)
			x.own = &own
		}
		delete(pl, k)
	}
	return pl, err
}

// subtree is the figures of every place in x's subtree (weight 1).
func (w *upwardWalk) subtree(x *upUnit) (Figures, error) {
	if f, ok := w.whole[x.id]; ok {
		return f, nil
	}
	pl, err := w.places(x.id, x.path)
	if err != nil {
		return Figures{}, err
	}
	f := newFigures()
	for _, p := range pl {
		f.addAll(p.Figures, 1)
	}
	w.whole[x.id] = f
	return f, nil
}

// withoutUnits subtracts the subtrees of the maximal former units from f.
func (w *upwardWalk) withoutUnits(f Figures, units []*upUnit) (Figures, error) {
	for _, x := range units {
		sub, err := w.subtree(x)
		if err != nil {
			return Figures{}, err
		}
		f.addAll(sub, -1)
	}
	return f, nil
}

// load computes a former unit's parts (per edge, then the rest) and its
// teams and members.
func (w *upwardWalk) load(x *upUnit) error {
	if x.loaded {
		return nil
	}
	if x.own == nil {
		whole, err := w.subtree(x)
		if err != nil {
			return err
		}
		own := newFigures()
		own.addAll(whole, 1)
		if own, err = w.withoutUnits(own, x.nested); err != nil {
			return err
		}
		x.own = &own
	}
	x.fractions = lineageFractions(x.edges)
	x.parts = splitWhole(*x.own, x.fractions)
	teams, err := w.teams(x.path)
	if err != nil {
		return err
	}
	for _, t := range teams {
		if w.unitOf(t.AreaPath) == x {
			x.teams++
			x.members += t.Members
		}
	}
	x.teamsPart = 0
	for i, f := range x.fractions {
		if f > x.fractions[x.teamsPart] {
			x.teamsPart = i
		}
	}
	x.loaded = true
	return nil
}

// lineageFractions are the parts of a former unit per edge (share over
// the larger of 1 and the shares' sum), then the rest.
func lineageFractions(edges []upEdge) []float64 {
	sum := 0.0
	for _, e := range edges {
		sum += e.share
	}
	out := make([]float64, len(edges)+1)
	rest := 1.0
	for i, e := range edges {
		out[i] = e.share / max(1, sum)
		rest -= out[i]
	}
	if rest < 1e-9 {
		rest = 0
	}
	out[len(edges)] = rest
	return out
}

// part is former unit x's part i as a row of group.
func (w *upwardWalk) part(x *upUnit, i int, kind, group string) UpwardRow {
	r := UpwardRow{Kind: UpwardDetail, Part: kind, Level: x.level, Group: group, Name: x.name, Code: x.code,
		Former: x.validTo, Figures: x.parts[i]}
	if kind == UpwardMerged {
		r.Into, r.Share = x.edges[i].name, x.fractions[i]
	}
	if x.teamsPart == i {
		r.Teams, r.Members = x.teams, x.members
	}
	return r
}

// rest is what former unit x, inside the report, keeps: its parts going
// outside the report and the share left unassigned, as one row.
func (w *upwardWalk) rest(x *upUnit, group string) (UpwardRow, bool, error) {
	if err := w.load(x); err != nil {
		return UpwardRow{}, false, err
	}
	r := UpwardRow{Kind: UpwardDetail, Part: UpwardRest, Level: x.level, Group: group, Name: x.name, Code: x.code,
		Former: x.validTo, Figures: newFigures()}
	kept := false
	for i := range x.parts {
		if i < len(x.edges) && w.placed(x.edges[i]) {
			continue
		}
		if x.fractions[i] > 0 {
			kept = true
		}
		r.Figures.addAll(x.parts[i], 1)
		if x.teamsPart == i {
			r.Teams, r.Members = x.teams, x.members
		}
	}
	return r, kept || r.Teams > 0, nil
}

// mergedInto are the parts of former units whose successor is in the
// subtree at path (exactly at path when exact), as rows of group; empty
// parts (a former commune without activity in the period) are left out.
func (w *upwardWalk) mergedInto(path string, exact bool, group string) ([]UpwardRow, error) {
	var out []UpwardRow
	for _, x := range w.list {
		for i, e := range x.edges {
			if (exact && e.path != path) || (!exact && !strings.HasPrefix(e.path, path)) || !w.placed(e) {
				continue
			}
			if err := w.load(x); err != nil {
				return nil, err
			}
			if r := w.part(x, i, UpwardMerged, group); !r.empty() {
				out = append(out, r) // a part with nothing in it is left out
			}
		}
	}
	return out, nil
}
