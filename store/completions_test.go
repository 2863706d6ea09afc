package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// worldCitizen is the ID number of report-world citizen k (see
// reportWorld.citizen: 0..11 recur in the logs).
func worldCitizen(k int) string { return fmt.Sprintf("0380900%05d", k) }

// completionsFile is a CSV with Vietnamese headers, one line a completion.
func completionsFile(lines ...string) *strings.Reader {
	return strings.NewReader("Khóa học,Ngày hoàn thành,Tên xã,Số CCCD\n" + strings.Join(lines, "\n") + "\n")
}

// Completions imported for citizens some of whom the teams helped: the
// figures of each area and period equal a count over the raw rows (a
// completion is "helped" when a live log carries the same citizen ref),
// a re-import changes nothing, an earlier day wins, and the raw ID number
// is stored nowhere.
func TestImportCompletionsAndFigures(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	w := newReportWorld(t, seed)
	for range 200 {
		w.step()
	}
	ctx := context.Background()
	var lines []string
	for k := range 16 { // 12..15 were never helped
		commune := []string{"A", "B"}[k%2]
		lines = append(lines, fmt.Sprintf("Làm quen với công nghệ số,%02d/%02d/2025,%s,%s", 1+k, 1+k%12, commune, worldCitizen(k)))
		if k%3 == 0 {
			lines = append(lines, fmt.Sprintf("An toàn trên không gian mạng,2026-0%d-15,%s,%s", 1+k%2, commune, worldCitizen(k)))
		}
	}
	sum, err := w.s.ImportCompletions(ctx, w.actors["coordP"], completionsFile(lines...), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != len(lines) || sum.Created != len(lines) || sum.Updated+sum.Unchanged != 0 {
		t.Errorf("import = %+v, want %d rows all created", sum, len(lines))
	}
	// The raw numbers are nowhere in the database files.
	for _, f := range []string{w.s.Path(), w.s.Path() + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for k := range 16 {
			if bytes.Contains(b, []byte(worldCitizen(k))) {
				t.Errorf("%s holds the raw ID number of citizen %d", f, k)
			}
		}
	}
	helped := map[string]bool{}
	rows, err := w.s.read.Query(`SELECT DISTINCT citizen_ref FROM assistance_logs WHERE deleted = 0 AND citizen_ref IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ref string
		rows.Scan(&ref)
		helped[ref] = true
	}
	rows.Close()
	for _, c := range []struct{ area, from, to string }{
		{"P", "2020-01-01", "2026-12-31"}, {"A", "2025-01-01", "2025-12-31"}, {"B", "2025-03-01", "2026-01-31"}, {"A1", "2020-01-01", "2026-12-31"},
	} {
		want := Completions{CitizensHelped: 10}
		completers, helpedCompleters := map[string]bool{}, map[string]bool{}
		for k := range 16 {
			commune := []string{"A", "B"}[k%2]
			if !strings.HasPrefix(w.areas[commune].Path, w.areas[c.area].Path) {
				continue
			}
			ref := w.s.citizenRef("id", worldCitizen(k))
			days := []string{fmt.Sprintf("2025-%02d-%02d", 1+k%12, 1+k)}
			if k%3 == 0 {
				days = append(days, fmt.Sprintf("2026-0%d-15", 1+k%2))
			}
			for _, d := range days {
				if d < c.from || d > c.to {
					continue
				}
				want.Completions++
				completers[ref] = true
				if helped[ref] {
					want.Helped++
					helpedCompleters[ref] = true
				}
			}
		}
		want.Completers, want.HelpedCompleters = len(completers), len(helpedCompleters)
		want.HelpedToCompleted = float64(want.HelpedCompleters) / 10
		got, err := w.s.CompletionFigures(ctx, w.actors["coordP"], w.areas[c.area].ID, c.from, c.to, 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, *got); diff != "" {
			t.Errorf("seed %d: completions of %s %s..%s (-brute +got):\n%s", seed, c.area, c.from, c.to, diff)
		}
	}
	// The same file again changes nothing; an earlier day wins.
	sum, err = w.s.ImportCompletions(ctx, System, completionsFile(lines...), ImportOptions{})
	if err != nil || sum.Unchanged != len(lines) {
		t.Errorf("re-import = %+v, %v; want all %d unchanged", sum, err, len(lines))
	}
	sum, err = w.s.ImportCompletions(ctx, System, completionsFile("Làm quen với công nghệ số,2024-12-31,B,"+worldCitizen(0)), ImportOptions{})
	if err != nil || sum.Updated != 1 {
		t.Errorf("an earlier completion = %+v, %v; want 1 updated", sum, err)
	}
	var day string
	var area int64
	w.s.read.QueryRow(`SELECT completed_on, area_id FROM course_completions WHERE citizen_ref = ? AND course = ?`,
		w.s.citizenRef("id", worldCitizen(0)), "Làm quen với công nghệ số").Scan(&day, &area)
	if day != "2024-12-31" || area != w.areas["B"].ID {
		t.Errorf("after the earlier completion: %s in area %d, want 2024-12-31 in B (%d)", day, area, w.areas["B"].ID)
	}
}

// A bad file: every problem is named by row and column, the raw ID
// number is never repeated, and nothing is imported.
func TestImportCompletionsBadRowsChangeNothing(t *testing.T) {
	w := newReportWorld(t, 1)
	ctx := context.Background()
	file := completionsFile(
		"Làm quen với công nghệ số,2025-03-01,A,"+worldCitizen(1),
		"Làm quen với công nghệ số,2025-03-02,A,0380 9000 123",
		",2025-03-02,A,"+worldCitizen(2),
		"Làm quen với công nghệ số,2031-01-01,A,"+worldCitizen(3),
		"Làm quen với công nghệ số,01/02/2025,Xã Không Có,"+worldCitizen(4),
		"Làm quen với công nghệ số,2025-03-05,A,"+worldCitizen(1),
		"Làm quen với công nghệ số,31/02/2025,B,"+worldCitizen(5),
	)
	_, err := w.s.ImportCompletions(ctx, w.actors["coordA"], file, ImportOptions{})
	var ie *ImportError
	if !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want an *ImportError wrapping ErrInvalid", err)
	}
	want := []rowEN{
		{3, "Số CCCD", "an ID number (CCCD) must be 12 digits"},
		{4, "Khóa học", "a course name of 1 to 200 characters is required"},
		{5, "Ngày hoàn thành", "2031-01-01 is in the future"},
		{6, "Tên xã", `no commune is named "Xã Không Có"`},
		{7, "Số CCCD", "the same citizen and course as row 2"},
		{8, "Ngày hoàn thành", `"31/02/2025" is not a date (YYYY-MM-DD or DD/MM/YYYY)`},
		{8, "Tên xã", "outside your area"},
	}
	if diff := cmp.Diff(want, en(ie.Rows)); diff != "" {
		t.Errorf("row errors (-want +got):\n%s", diff)
	}
	for _, r := range ie.Rows {
		if strings.Contains(r.Reason+r.ReasonVI, "380900") {
			t.Errorf("row %d repeats an ID number: %q / %q", r.Row, r.Reason, r.ReasonVI)
		}
	}
	if n, m := count(t, w.s, "course_completions"), count(t, w.s, "completion_imports"); n+m != 0 {
		t.Errorf("%d completions and %d imports after a rejected file, want none", n, m)
	}
	for _, c := range []struct {
		file string
		want rowEN
	}{
		{"Course,Date,Số CCCD\nx,2025-01-01,123456789012\n", rowEN{1, "commune_code", "missing column: commune_code or commune_name"}},
		{"Khóa học,Ngày hoàn thành,Mã xã\nx,2025-01-01,00001\n", rowEN{1, "citizen_id_number",
			"missing column (the header needs course, completed_on, commune_code or commune_name, citizen_id_number)"}},
	} {
		_, err := w.s.ImportCompletions(ctx, System, strings.NewReader(c.file), ImportOptions{})
		if !errors.As(err, &ie) || len(ie.Rows) != 1 || en(ie.Rows)[0] != c.want {
			t.Errorf("%q: got %v, want %v", c.file, err, c.want)
		}
	}
	if _, err := w.s.ImportCompletions(ctx, w.actors["m_TA1"], completionsFile(), ImportOptions{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a member importing: got %v, want ErrForbidden", err)
	}
}
