package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The periodic report form (monthly, quarterly, yearly) a commune or a
// province sends upward: the figures of the period, of the period before
// it and cumulated up to the period's end, all whole numbers from the
// upward report's total (so the form and the export agree), the area's
// population figures, its targets and the Bình dân học vụ số completions.
// The layout is forms.WritePeriodicXLSX.

// Periodic is what the form shows.
type Periodic struct {
	Area     Area
	Parent   string // the area the form goes to (the parent's name), "" at a root
	Kind     string // "month", "quarter" or "year"
	Period   string // as asked: 2026-11, 2026-Q4, 2026
	From, To string
	Prev     struct{ Period, From, To string }
	Made     string // the day the form was made (Vietnam)
	// Cur, Last and Cum are the upward report's totals over the period, the
	// period before and everything up to the period's end.
	Cur, Last, Cum UpwardRow
	// CurDone, LastDone and CumDone are the completions over the same spans.
	CurDone, LastDone, CumDone *Completions
	Targets                    []Target // on the area itself, overlapping the period
	Services, Barriers         []Label  // the catalog, active first
	Indicators                 []Label
	NationalRef                map[string]float64 // indicator → national reference value (Decision 411 / DTI), when set
}

// ParsePeriod reads a reporting period: YYYY-MM (a month), YYYY-Qn (a
// quarter) or YYYY (a year), years 2000 to 2100. It returns the kind and
// the first and last days.
func ParsePeriod(p string) (kind, from, to string, err error) {
	bad := fmt.Errorf("period must be YYYY, YYYY-Qn or YYYY-MM: %w", ErrInvalid)
	y, rest, _ := strings.Cut(strings.ToUpper(strings.TrimSpace(p)), "-")
	year, e := strconv.Atoi(y)
	if e != nil || len(y) != 4 || year < 2000 || year > 2100 {
		return "", "", "", bad
	}
	first := func(m int) time.Time { return time.Date(year, time.Month(m), 1, 0, 0, 0, 0, time.UTC) }
	var start, end time.Time
	switch {
	case rest == "":
		kind, start, end = "year", first(1), first(1).AddDate(1, 0, -1)
	case len(rest) == 2 && rest[0] == 'Q' && rest[1] >= '1' && rest[1] <= '4':
		q := int(rest[1] - '0')
		kind, start = "quarter", first(3*q-2)
		end = start.AddDate(0, 3, -1)
	case len(rest) == 2:
		m, e := strconv.Atoi(rest)
		if e != nil || m < 1 || m > 12 {
			return "", "", "", bad
		}
		kind, start = "month", first(m)
		end = start.AddDate(0, 1, -1)
	default:
		return "", "", "", bad
	}
	return kind, start.Format(time.DateOnly), end.Format(time.DateOnly), nil
}

// previousPeriod is the period before p, of the same kind.
func previousPeriod(kind, from string) (period, pfrom, pto string) {
	f, _ := time.Parse(time.DateOnly, from)
	var start time.Time
	switch kind {
	case "year":
		start = f.AddDate(-1, 0, 0)
		period = start.Format("2006")
		return period, start.Format(time.DateOnly), f.AddDate(0, 0, -1).Format(time.DateOnly)
	case "quarter":
		start = f.AddDate(0, -3, 0)
		period = fmt.Sprintf("%d-Q%d", start.Year(), (int(start.Month())+2)/3)
	default:
		start = f.AddDate(0, -1, 0)
		period = start.Format("2006-01")
	}
	return period, start.Format(time.DateOnly), f.AddDate(0, 0, -1).Format(time.DateOnly)
}

// cumulativeFrom is where the cumulated figures start: before any team.
const cumulativeFrom = "2020-01-01"

// Periodic computes the periodic form of an area for a coordinator or an
// admin (members and leads report through their team's figures instead).
func (s *Store) Periodic(ctx context.Context, a Actor, areaID int64, period string) (*Periodic, error) {
	kind, from, to, err := ParsePeriod(period)
	if err != nil {
		return nil, err
	}
	ar, err := s.reportArea(ctx, a, areaID)
	if err != nil {
		return nil, err
	}
	if !a.CanReadReports(ar.Path) {
		return nil, fmt.Errorf("periodic report of area %d: %w", areaID, ErrForbidden)
	}
	p := &Periodic{Area: *ar, Kind: kind, Period: period, From: from, To: to, Made: Today(s.now()), NationalRef: map[string]float64{}}
	p.Prev.Period, p.Prev.From, p.Prev.To = previousPeriod(kind, from)
	if ar.ParentID != 0 {
		if err := s.read.QueryRowContext(ctx, `SELECT name FROM areas WHERE id = ?`, ar.ParentID).Scan(&p.Parent); err != nil {
			return nil, fmt.Errorf("periodic report: %w", err)
		}
	}
	for _, span := range []struct {
		row      *UpwardRow
		done     **Completions
		from, to string
	}{{&p.Cur, &p.CurDone, from, to}, {&p.Last, &p.LastDone, p.Prev.From, p.Prev.To}, {&p.Cum, &p.CumDone, cumulativeFrom, to}} {
		if *span.row, err = s.upwardTotal(ctx, a, areaID, span.from, span.to); err != nil {
			return nil, err
		}
		if *span.done, err = s.CompletionFigures(ctx, a, areaID, span.from, span.to, span.row.Citizens); err != nil {
			return nil, err
		}
	}
	targets, err := s.Targets(ctx, a, TargetFilter{AreaID: areaID, From: from, To: to, Limit: MaxPageSize})
	if err != nil {
		return nil, err
	}
	for _, t := range targets {
		if t.AreaID == areaID {
			p.Targets = append(p.Targets, t)
		}
	}
	u, err := s.Upward(ctx, a, ReportQuery{AreaID: areaID, From: from, To: to})
	if err != nil {
		return nil, err
	}
	p.Services, p.Barriers = u.Services, u.Barriers
	rows, err := s.read.QueryContext(ctx, `SELECT code, label_vi, label_en, kind, COALESCE(national_ref, -1) FROM indicators
		ORDER BY active DESC, sort, code`)
	if err != nil {
		return nil, fmt.Errorf("periodic report: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l Label
		var ref float64
		if err := rows.Scan(&l.Code, &l.Vi, &l.En, &l.Kind, &ref); err != nil {
			return nil, fmt.Errorf("periodic report: %w", err)
		}
		p.Indicators = append(p.Indicators, l)
		if ref >= 0 {
			p.NationalRef[l.Code] = ref
		}
	}
	return p, rows.Err()
}

// upwardTotal is the total row of the upward report of an area over a
// period: whole numbers, former units split by share.
func (s *Store) upwardTotal(ctx context.Context, a Actor, areaID int64, from, to string) (UpwardRow, error) {
	u, err := s.Upward(ctx, a, ReportQuery{AreaID: areaID, From: from, To: to})
	if err != nil {
		return UpwardRow{}, err
	}
	var total UpwardRow
	err = s.UpwardRows(ctx, u, func(r UpwardRow) error {
		if r.Kind == UpwardTotal {
			total = r
		}
		return nil
	})
	return total, err
}

// upwardFigures are the figures of the upward report's total without the
// commune-by-commune walk: the report area's subtree (weight 1: a former
// unit inside it counts whole, its parts and what it keeps adding up to
// it) plus the parts of former units outside it merged into it. Equal to
// the total row's figures (TestUpwardMatchesBruteForce checks), at the cost
// of one area's rollup read.
func (s *Store) upwardFigures(ctx context.Context, a Actor, areaID int64, from, to string) (Figures, error) {
	if err := validPeriod(from, to); err != nil {
		return Figures{}, err
	}
	ar, err := s.reportArea(ctx, a, areaID)
	if err != nil {
		return Figures{}, err
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Figures{}, fmt.Errorf("upward figures: %w", err)
	}
	defer tx.Rollback()
	w := &upwardWalk{ctx: ctx, tx: tx, u: &Upward{Area: *ar, From: from, To: to}, root: ar, whole: map[int64]Figures{}}
	if err := w.loadUnits(); err != nil {
		return Figures{}, err
	}
	pl, err := w.places(ar.ID, ar.Path)
	if err != nil {
		return Figures{}, err
	}
	f := newFigures()
	for _, p := range pl {
		f.addAll(p.Figures, 1)
	}
	for _, x := range w.list {
		if strings.HasPrefix(x.path, ar.Path) {
			continue
		}
		for i, e := range x.edges {
			if !strings.HasPrefix(e.path, ar.Path) || !w.placed(e) {
				continue
			}
			if err := w.load(x); err != nil {
				return Figures{}, err
			}
			f.addAll(x.parts[i], 1)
		}
	}
	return wholeFigures(f), nil
}
