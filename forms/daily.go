package forms

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"toso/store"
)

// MaxDailyText is the longest daily summary: a Zalo message people read
// on a phone.
const MaxDailyText = 1000

// DailyText is the day's summary as a short message, ready to paste into
// a Zalo group: citizens helped (visits, new citizens, by service),
// trainings, targets at risk and teams without activity for a week. Lists
// are cut so the message stays under MaxDailyText characters.
func DailyText(d *store.Daily, l Lang) string {
	var b strings.Builder
	who := d.Area.Name
	if d.Team != "" {
		who = d.Team + " – " + d.Area.Name
	}
	fmt.Fprintf(&b, "%s\n%s%s\n", who, l.pick("Ngày ", "Day "), l.date(d.Day))
	f := d.Figures
	fmt.Fprintf(&b, l.pick("• Hỗ trợ người dân: %s lượt, %s người mới\n", "• Citizens helped: %s visits, %s new citizens\n"),
		l.number(f.Logs), l.number(f.Citizens))
	type svc struct {
		name string
		n    float64
	}
	var svcs []svc
	for _, s := range d.Services {
		if n := f.Outcomes[s.Code+"|done"]; n > 0 {
			svcs = append(svcs, svc{l.label(s), n})
		}
	}
	sort.SliceStable(svcs, func(i, j int) bool { return svcs[i].n > svcs[j].n })
	const maxServices = 6
	for i, s := range svcs {
		if i == maxServices {
			rest := 0.0
			for _, x := range svcs[i:] {
				rest += x.n
			}
			fmt.Fprintf(&b, l.pick("  - Dịch vụ khác: %s\n", "  - Other services: %s\n"), l.number(rest))
			break
		}
		fmt.Fprintf(&b, "  - %s: %s\n", s.name, l.number(s.n))
	}
	fmt.Fprintf(&b, l.pick("• Tập huấn: %s buổi, %s người tham dự\n", "• Training: %s sessions, %s attendees\n"),
		l.number(f.Sessions), l.number(f.Attendees))
	if len(d.AtRisk) == 0 {
		b.WriteString(l.pick("• Mục tiêu: không có mục tiêu chậm tiến độ\n", "• Targets: none at risk\n"))
	} else {
		fmt.Fprintf(&b, l.pick("• Mục tiêu cần chú ý: %d\n", "• Targets at risk: %d\n"), len(d.AtRisk))
		for i, t := range d.AtRisk {
			if i == 3 {
				fmt.Fprintf(&b, l.pick("  - và %d mục tiêu khác\n", "  - and %d more\n"), len(d.AtRisk)-3)
				break
			}
			done := 0.0
			if t.Goal > 0 {
				done = math.Round(t.Value * 100 / t.Goal)
			}
			fmt.Fprintf(&b, "  - %s (%s): %s%% – %s\n", l.label(t.Label), t.AreaName, l.number(done), statusName(l, t.Status))
		}
	}
	switch {
	case d.Team != "" && len(d.Inactive) > 0:
		fmt.Fprintf(&b, l.pick("• Tổ chưa có hoạt động trong %d ngày qua\n", "• The team has had no activity for %d days\n"), store.DailyInactiveDays)
	case d.Team != "":
	case len(d.Inactive) == 0:
		fmt.Fprintf(&b, l.pick("• Tất cả %d tổ đều có hoạt động trong %d ngày qua\n", "• All %d teams were active in the last %d days\n"),
			d.Teams, store.DailyInactiveDays)
	default:
		fmt.Fprintf(&b, l.pick("• Tổ chưa hoạt động %d ngày: %d/%d", "• Teams inactive for %d days: %d of %d"),
			store.DailyInactiveDays, len(d.Inactive), d.Teams)
		names := d.Inactive
		if len(names) > 5 {
			names = names[:5]
		}
		fmt.Fprintf(&b, " (%s", strings.Join(names, ", "))
		if more := len(d.Inactive) - len(names); more > 0 {
			fmt.Fprintf(&b, l.pick(" và %d tổ khác", " and %d more"), more)
		}
		b.WriteString(")\n")
	}
	return cut(strings.TrimRight(b.String(), "\n"), MaxDailyText)
}

// cut keeps s under max characters, ending with "…" when it had to cut.
func cut(s string, max int) string {
	if utf8.RuneCountInString(s) < max {
		return s
	}
	r := []rune(s)
	return string(r[:max-2]) + "…"
}
