package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// UpwardRow is one line of the upward report: a commune or a village (or
// residential group) of the report's area, with its teams and figures.
type UpwardRow struct {
	Commune       string // the commune the row counts into ("" above commune level)
	Name          string
	Code          string
	Level         string
	Weight        float64 // < 1 for areas merged into the row's commune with a share
	Teams         int
	Members       int
	Population    int64
	MembersPer100 float64
	Figures
}

// Upward is the head of the upward report of an area over a period: the
// columns (services and barriers with any figure) and the total row. The
// rows are streamed by UpwardRows, so a province export never holds its
// 5,000 village rows at once.
type Upward struct {
	Area     Area
	From, To string
	Services []string // sorted
	Barriers []string // sorted
	Total    UpwardRow
	onlyTeam int64 // a member or lead: their team's figures only
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
	u := &Upward{Area: *ar, From: q.From, To: q.To}
	if a.Role.InTeam() {
		u.onlyTeam = a.TeamID
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("upward report: %w", err)
	}
	defer tx.Rollback()
	teams, err := reportTeams(ctx, tx, ar.Path, u.onlyTeam)
	if err != nil {
		return nil, err
	}
	tot := UpwardRow{Commune: "TỔNG (TOTAL) " + ar.Name, Level: ar.Level, Weight: 1, Population: ar.Population, Figures: newFigures()}
	for _, t := range teams {
		if t.Members > 0 || t.Active {
			tot.Teams++
		}
		tot.Members += t.Members
	}
	if u.onlyTeam != 0 {
		err = teamFigures(ctx, tx, ar.Path, u.onlyTeam, q.From, q.To, true, teams)
		if t := teams[u.onlyTeam]; t != nil {
			tot.Figures = t.Figures
		}
	} else {
		err = areaFigures(ctx, tx, ar.ID, q.From, q.To, nil, func(_ int64, metric, key string, n float64) { tot.add(metric, key, n) })
	}
	if err != nil {
		return nil, err
	}
	if tot.Population > 0 {
		tot.MembersPer100 = float64(tot.Members) * 100 / float64(tot.Population)
	}
	u.Total = tot
	u.Services, u.Barriers = serviceKeys(tot.Figures), barrierKeys(tot.Figures)
	return u, nil
}

// UpwardRows streams the rows of the upward report in tree order: for each
// commune of the area (or the area itself at commune level or below), a
// row with the work placed on the commune itself, then one per village
// (its subtree) and one per area merged into the commune from outside the
// report's area (weighted by its lineage share). Above commune level, the
// rows of each child follow in turn; areas merged from outside into the
// report's area itself are one row each. Each walk reads one area's rows
// from the area rollups: memory is one commune's rows.
func (s *Store) UpwardRows(ctx context.Context, u *Upward, emit func(UpwardRow) error) error {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("upward rows: %w", err)
	}
	defer tx.Rollback()
	if u.onlyTeam != 0 {
		t := u.Total
		t.Commune, t.Name, t.Code = "", u.Area.Name, u.Area.Code
		if u.Area.Level == "commune" {
			t.Commune = u.Area.Name
		}
		return emit(t)
	}
	w := upwardWalk{ctx: ctx, tx: tx, u: u, emit: emit}
	return w.walk(&u.Area)
}

type upwardWalk struct {
	ctx  context.Context
	tx   *sql.Tx
	u    *Upward
	emit func(UpwardRow) error
}

// inReport reports whether path is in the report area's subtree.
func (w *upwardWalk) inReport(path string) bool { return strings.HasPrefix(path, w.u.Area.Path) }

func (w *upwardWalk) walk(ar *Area) error {
	places, err := reportPlaces(w.ctx, w.tx, ar.ID)
	if err != nil {
		return err
	}
	err = areaFigures(w.ctx, w.tx, ar.ID, w.u.From, w.u.To, nil, func(bucket int64, metric, key string, n float64) {
		if p := places[bucket]; p != nil {
			p.add(metric, key, n)
		}
	})
	if err != nil {
		return err
	}
	rows := make([]*PlaceReport, 0, len(places))
	for _, p := range places {
		rows = append(rows, p)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Path < rows[j].Path })
	teams, err := w.teamsByArea(ar.ID)
	if err != nil {
		return err
	}
	above := levelRank[ar.Level] < levelRank["commune"]
	for _, p := range rows {
		inside := strings.HasPrefix(p.Path, ar.Path)
		switch {
		case !inside && w.inReport(p.Path):
			continue // merged from inside the report's area: counted under its own parent
		case above && p.AreaID == ar.ID:
			continue // work placed on a province or district itself counts in the total only
		case above && inside:
			child, err := scanArea(w.tx.QueryRowContext(w.ctx, `SELECT `+areaColumns+` FROM areas WHERE id = ?`, p.AreaID))
			if err != nil {
				return fmt.Errorf("upward rows: %w", err)
			}
			if err := w.walk(child); err != nil {
				return err
			}
			continue
		}
		row := UpwardRow{Name: p.Name, Code: p.Code, Level: p.Level, Weight: p.Weight, Population: p.Population,
			Teams: teams[p.AreaID][0], Members: teams[p.AreaID][1], Figures: p.Figures}
		switch {
		case !above:
			row.Commune = ar.Name
		case p.Level == "commune":
			row.Commune = p.Name
		}
		if row.Population > 0 {
			row.MembersPer100 = float64(row.Members) * 100 / float64(row.Population)
		}
		if err := w.emit(row); err != nil {
			return err
		}
	}
	return nil
}

// teamsByArea counts the teams and their active members on each area that
// is a row of ar's report.
func (w *upwardWalk) teamsByArea(areaID int64) (map[int64][2]int, error) {
	rows, err := w.tx.QueryContext(w.ctx, `SELECT t.area_id, count(*), COALESCE(sum((SELECT count(*) FROM users u
			WHERE u.team_id = t.id AND u.active AND u.role IN ('member', 'team_lead'))), 0)
		FROM teams t WHERE t.area_id IN (SELECT DISTINCT bucket_id FROM area_buckets WHERE area_id = ?)
			AND (t.active OR EXISTS (SELECT 1 FROM users u WHERE u.team_id = t.id AND u.active AND u.role IN ('member', 'team_lead')))
		GROUP BY t.area_id`, areaID)
	if err != nil {
		return nil, fmt.Errorf("upward teams: %w", err)
	}
	defer rows.Close()
	out := map[int64][2]int{}
	for rows.Next() {
		var id int64
		var n, m int
		if err := rows.Scan(&id, &n, &m); err != nil {
			return nil, fmt.Errorf("upward teams: %w", err)
		}
		out[id] = [2]int{n, m}
	}
	return out, rows.Err()
}

// serviceKeys lists the services with any figure, sorted.
func serviceKeys(f Figures) []string {
	seen := map[string]bool{}
	for k, v := range f.Reached {
		if v != 0 {
			seen[k] = true
		}
	}
	for k, v := range f.Outcomes {
		if v != 0 {
			seen[strings.SplitN(k, "|", 2)[0]] = true
		}
	}
	return sortedKeys(seen)
}

// barrierKeys lists the barriers named, sorted.
func barrierKeys(f Figures) []string {
	seen := map[string]bool{}
	for k, v := range f.Barriers {
		if v != 0 {
			seen[k] = true
		}
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
