package store

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// upwardRows reads the whole upward report of area over [from, to].
func upwardRows(t *testing.T, s *Store, a Actor, area int64, from, to string) []UpwardRow {
	t.Helper()
	u, err := s.Upward(context.Background(), a, ReportQuery{AreaID: area, From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	var rows []UpwardRow
	if err := s.UpwardRows(context.Background(), u, func(r UpwardRow) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return rows
}

// The upward report against a brute-force count over the raw rows of the
// report world (a province with a commune O merged 60/40 into A and B, and
// O's village O1 merged whole into A1), after random activity:
//   - every figure is a whole number;
//   - every subtotal is the sum of the rows it closes, and the total the sum
//     of the commune subtotals and of the detail rows;
//   - a village's (or the direct) row is the brute-force count of its own
//     places, with the places of former units taken out;
//   - a former unit's parts add up to its whole brute-force count and each
//     is its share of it, rounded down or up;
//   - the province total is the brute-force count of the whole province,
//     every team counts once, and the population is the current areas'.
func TestUpwardMatchesBruteForce(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	w := newReportWorld(t, seed)
	steps := 400
	if testing.Short() {
		steps = 150
	}
	for range steps {
		w.step()
	}
	b := loadBrute(t, w.s)
	name := map[int64]string{}
	for k, a := range w.areas {
		name[a.ID] = k
	}
	for _, c := range []struct{ area, from, to string }{
		{"P", "2025-01-01", "2026-12-31"}, {"P", "2025-07-15", "2025-12-03"}, {"A", "2025-05-01", "2026-02-28"},
		{"B", "2025-06-10", "2026-01-31"}, {"O", "2025-01-01", "2026-12-31"}, {"A1", "2025-01-01", "2026-12-31"},
	} {
		t.Run(fmt.Sprintf("%s %s %s", c.area, c.from, c.to), func(t *testing.T) {
			root := w.areas[c.area]
			rows := upwardRows(t, w.s, System, root.ID, c.from, c.to)
			checkUpwardSums(t, seed, rows)
			fast, err := w.s.upwardFigures(w.ctx, System, root.ID, c.from, c.to)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(flat(rows[len(rows)-1].Figures), flat(fast), approx); diff != "" {
				t.Errorf("seed %d: upwardFigures differs from the total row (-walk +fast):\n%s", seed, diff)
			}
			// Former units seen from this report: O and O1 unless the report is on them.
			units := map[string][]Lineage{}
			for _, k := range []string{"O", "O1"} {
				if !strings.HasPrefix(root.Path, w.areas[k].Path) {
					units[k] = b.lineage[w.areas[k].ID]
				}
			}
			unitOf := func(place int64) string {
				ids := b.parents[place]
				for i := len(ids) - 1; i >= 0; i-- {
					if _, ok := units[name[ids[i]]]; ok {
						return name[ids[i]]
					}
				}
				return ""
			}
			own := func(in func(place int64) bool) map[string]float64 {
				return b.sum(c.from, c.to, func(_, place int64) float64 {
					if in(place) {
						return 1
					}
					return 0
				})
			}
			parts := map[string]map[string]float64{} // unit → sum of its parts in this report
			for _, r := range rows {
				if r.Kind != UpwardDetail {
					continue
				}
				area := w.areas[r.Name]
				switch r.Part {
				case UpwardPlace, UpwardDirect:
					want := own(func(place int64) bool {
						if unitOf(place) != "" {
							return false
						}
						if r.Part == UpwardDirect || len(b.children(area.ID)) == 0 {
							return place == area.ID
						}
						return has(b.parents[place], area.ID)
					})
					if diff := cmp.Diff(want, flat(r.Figures), approx); diff != "" {
						t.Errorf("seed %d: row %s (%s) (-brute +report):\n%s", seed, r.Name, r.Part, diff)
					}
				case UpwardMerged, UpwardRest:
					whole := own(func(place int64) bool { return unitOf(place) == r.Name })
					if parts[r.Name] == nil {
						parts[r.Name] = map[string]float64{}
					}
					share := r.Share
					if r.Part == UpwardRest {
						share = 1 - sharesInto(units[r.Name], w, root)
					}
					for k, v := range flat(r.Figures) {
						parts[r.Name][k] += v
						if lo, hi := math.Floor(whole[k]*share+1e-9), math.Ceil(whole[k]*share-1e-9); !strings.HasPrefix(k, "manual:") && (v < lo || v > hi) {
							t.Errorf("seed %d: %s's part in %s: %s = %v, want %v × %v rounded", seed, r.Name, r.Into, k, v, whole[k], share)
						}
					}
				}
			}
			if c.area == "P" {
				for u := range units {
					whole := own(func(place int64) bool { return unitOf(place) == u })
					if diff := cmp.Diff(whole, clean(parts[u]), approx); diff != "" {
						t.Errorf("seed %d: the parts of %s do not add up to its whole (-whole +parts):\n%s", seed, u, diff)
					}
				}
				total := rows[len(rows)-1]
				if diff := cmp.Diff(b.figures(root.ID, c.from, c.to, 0, 0), flat(total.Figures), approx); diff != "" {
					t.Errorf("seed %d: province total (-brute +report):\n%s", seed, diff)
				}
				if total.Teams != len(w.teams) || total.Members != len(w.teams)+2 {
					t.Errorf("total teams, members = %d, %d, want %d, %d", total.Teams, total.Members, len(w.teams), len(w.teams)+2)
				}
				// P 100,000 residents: A, B and the province's own remainder; O ended in 2025.
				if total.Population != 100000 {
					t.Errorf("total population %d, want 100000", total.Population)
				}
			}
		})
	}
}

// sharesInto is the sum of a former unit's shares into the report's area.
func sharesInto(edges []Lineage, w *reportWorld, root *Area) float64 {
	sum := 0.0
	for _, l := range edges {
		for _, a := range w.areas {
			if a.ID == l.NewAreaID && strings.HasPrefix(a.Path, root.Path) {
				sum += l.Share
			}
		}
	}
	return sum
}

// children lists the areas whose parent is id.
func (b *brute) children(id int64) []int64 {
	var out []int64
	for a, anc := range b.parents {
		if len(anc) >= 2 && anc[len(anc)-2] == id {
			out = append(out, a)
		}
	}
	return out
}

// checkUpwardSums: whole figures; subtotals close their rows; the total is
// the sum of the commune subtotals and of the details.
func checkUpwardSums(t *testing.T, seed uint64, rows []UpwardRow) {
	t.Helper()
	if len(rows) == 0 || rows[len(rows)-1].Kind != UpwardTotal {
		t.Fatalf("seed %d: the last row is not the total: %+v", seed, rows)
	}
	open, details, communes := newFigures(), newFigures(), newFigures()
	var openTeams, detailTeams, communeTeams int
	var openPop, detailPop, communePop int64
	for i, r := range rows {
		for k, v := range flat(r.Figures) {
			if !strings.HasPrefix(k, "manual:") && v != math.Round(v) {
				t.Errorf("seed %d: row %d %s: %s = %v is not whole", seed, i, r.Name, k, v)
			}
		}
		switch {
		case r.Kind == UpwardDetail:
			open.addAll(r.Figures, 1)
			details.addAll(r.Figures, 1)
			openTeams += r.Teams
			detailTeams += r.Teams
			openPop += r.Population
			detailPop += r.Population
		case r.Kind == UpwardSubtotal && r.Level == "commune":
			if diff := cmp.Diff(flat(open), flat(r.Figures), approx); diff != "" || openTeams != r.Teams || openPop != r.Population {
				t.Errorf("seed %d: subtotal %s is not the sum of its rows (teams %d vs %d, population %d vs %d):\n%s",
					seed, r.Name, openTeams, r.Teams, openPop, r.Population, diff)
			}
			communes.addAll(r.Figures, 1)
			communeTeams += r.Teams
			communePop += r.Population
			open, openTeams, openPop = newFigures(), 0, 0
		case r.Kind == UpwardTotal:
			for _, sum := range []struct {
				what  string
				f     Figures
				teams int
				pop   int64
			}{{"details", details, detailTeams, detailPop}, {"commune subtotals", communes, communeTeams, communePop}} {
				if sum.what == "commune subtotals" && communes.isZero() && communeTeams == 0 && communePop == 0 {
					continue // a commune's or a village's report has no commune subtotal
				}
				if diff := cmp.Diff(flat(sum.f), flat(r.Figures), approx); diff != "" || sum.teams != r.Teams || sum.pop != r.Population {
					t.Errorf("seed %d: the total is not the sum of the %s (teams %d vs %d, population %d vs %d):\n%s",
						seed, sum.what, sum.teams, r.Teams, sum.pop, r.Population, diff)
				}
			}
		}
	}
}

func TestLargestRemainder(t *testing.T) {
	tests := []struct {
		n    float64
		fr   []float64
		want []float64
	}{
		{7, []float64{0.6, 0.4, 0}, []float64{4, 3, 0}},
		{1, []float64{0.5, 0.5, 0}, []float64{1, 0, 0}},
		{10, []float64{0.7, 0.2, 0.1}, []float64{7, 2, 1}},
		{3, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}, []float64{1, 1, 1}},
		{5, []float64{0.3, 0.3, 0.4}, []float64{2, 1, 2}}, // a tie goes to the earlier part
		{0, []float64{0.6, 0.4}, []float64{0, 0}},
	}
	for _, tt := range tests {
		got := largestRemainder(tt.n, tt.fr)
		if !cmp.Equal(got, tt.want) {
			t.Errorf("largestRemainder(%v, %v) = %v, want %v", tt.n, tt.fr, got, tt.want)
		}
	}
}
