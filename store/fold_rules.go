package store

import (
	"encoding/json"
	"sort"
	"strconv"
	"time"
)

// The reporting rules: what each raw row adds to the figures. This file is
// their one definition. The fold (fold.go) applies them to the rows a write
// transaction changed (the old state out, the new state in), and the
// rebuild (fold_rebuild.go) to every row; tests restate them by brute force
// (reports_test.go).
//
//   - A log's place is its village, or the team's area when it names none;
//     a session's and a progress report's place is the team's area; a
//     member counts on their team's area.
//   - A day is the Vietnam calendar day (UTC+7, no daylight saving) of the
//     device's occurred_at or held_at, or the as_of date of a progress
//     report. Members have no day: they count in every period.
//   - Metrics (Figures.add reads them):
//     log       a live assistance log (a visit), key ''
//     outcome   a service tried in it, key 'service|result'
//     barrier   an outcome that named a barrier, key the barrier code
//     first     a citizen reached for the first time ever, key '*' (any
//     log) or the service code (the first log where it was done):
//     unique citizens (citizenFirsts)
//     session   a training session held (held, reported or locked, not
//     deleted, with a held_at time), key ''
//     attendees, women, minority, elderly: its counts, key ''
//     topic     its attendees by topic, key the topic's service code
//     manual    a progress report's value unless void, key the indicator
//     members   an active member or team lead, key '' (no day)

// contribution is n of (metric, key) added at a place for a team on a day
// ("" for none).
type contribution struct {
	place, team int64
	day         string
	metric, key string
	n           float64
}

// vnDayOf is the Vietnam calendar day of an RFC 3339 time as stored (the
// device's text); text that does not parse counts on its first ten
// characters, as written.
func vnDayOf(ts string) string {
	if ts == "" {
		return ""
	}
	if t, err := time.Parse(time.RFC3339, ts); err == nil {
		return t.In(vnZone).Format(time.DateOnly)
	}
	if len(ts) >= 10 {
		return ts[:10]
	}
	return ts
}

// logState is what the rules read of an assistance log.
type logState struct {
	ID         string
	Team       int64
	Place      int64
	Day        string
	Ref        string // citizen ref (hex), "" without one
	Outcomes   []Outcome
	Live       bool
	Version    int64
	OccurredAt string
}

func (l *logState) contributions(emit func(contribution)) {
	if !l.Live {
		return
	}
	c := contribution{place: l.Place, team: l.Team, day: l.Day, n: 1}
	c.metric, c.key = "log", ""
	emit(c)
	for _, o := range l.Outcomes {
		c.metric, c.key = "outcome", o.Service+"|"+o.Result
		emit(c)
		if o.Barrier != "" {
			c.metric, c.key = "barrier", o.Barrier
			emit(c)
		}
	}
}

// sessionState is what the rules read of a training session.
type sessionState struct {
	ID                                  string
	Team, Place                         int64
	Status, HeldAt                      string
	Attendees, Women, Minority, Elderly int64
	Topics                              []string
	Live                                bool
	Version                             int64
}

// countedStatus: sessions count once held.
func countedStatus(s string) bool { return s == "held" || s == "reported" || s == "locked" }

func (s *sessionState) contributions(emit func(contribution)) {
	if !s.Live || !countedStatus(s.Status) || s.HeldAt == "" {
		return
	}
	c := contribution{place: s.Place, team: s.Team, day: vnDayOf(s.HeldAt)}
	for _, m := range []struct {
		metric string
		n      int64
	}{{"session", 1}, {"attendees", s.Attendees}, {"women", s.Women}, {"minority", s.Minority}, {"elderly", s.Elderly}} {
		if m.n != 0 {
			c.metric, c.key, c.n = m.metric, "", float64(m.n)
			emit(c)
		}
	}
	if s.Attendees != 0 {
		for _, t := range s.Topics {
			c.metric, c.key, c.n = "topic", t, float64(s.Attendees)
			emit(c)
		}
	}
}

// progressState is what the rules read of a progress report.
type progressState struct {
	ID          string
	Team, Place int64
	Indicator   string
	AsOf        string
	Value       float64
	Void        bool
	Version     int64
}

func (p *progressState) contributions(emit func(contribution)) {
	if p.Void {
		return
	}
	emit(contribution{place: p.Place, team: p.Team, day: p.AsOf, metric: "manual", key: p.Indicator, n: p.Value})
}

// memberState is what the rules read of a user: members and team leads
// count on their team's area while active.
type memberState struct {
	ID         int64
	Team, Area int64 // 0 without a team
	Role       Role
	Active     bool
}

func (m *memberState) contributions(emit func(contribution)) {
	if !m.Active || m.Team == 0 || (m.Role != RoleMember && m.Role != RoleTeamLead) {
		return
	}
	emit(contribution{place: m.Area, team: m.Team, metric: "members", n: 1})
}

// first is where a citizen was first reached for one key of 'first': the
// earliest live log by (day, log id) with the citizen's ref, for '*'; the
// earliest where the service was done, for a service.
type first struct {
	Day         string
	LogID       string
	Place, Team int64
}

func (f first) before(g first) bool {
	return f.Day < g.Day || f.Day == g.Day && f.LogID < g.LogID
}

// citizenFirsts computes a citizen's firsts from their live logs.
func citizenFirsts(logs []logState) map[string]first {
	out := map[string]first{}
	consider := func(key string, l *logState) {
		f := first{Day: l.Day, LogID: l.ID, Place: l.Place, Team: l.Team}
		if cur, ok := out[key]; !ok || f.before(cur) {
			out[key] = f
		}
	}
	for i := range logs {
		l := &logs[i]
		if !l.Live {
			continue
		}
		consider("*", l)
		for _, o := range l.Outcomes {
			if o.Result == "done" {
				consider(o.Service, l)
			}
		}
	}
	return out
}

// parseOutcomesJSON reads a stored outcomes column (written by the server:
// valid by construction).
func parseOutcomesJSON(s string) []Outcome {
	var os []Outcome
	json.Unmarshal([]byte(s), &os)
	return os
}

// parseTopicsJSON reads a stored topics column.
func parseTopicsJSON(s string) []string {
	var ts []string
	json.Unmarshal([]byte(s), &ts)
	return ts
}

// Periods of the area and team rollups are integers: a day YYYYMMDD, a
// month YYYYMM, a year YYYY. The three ranges never overlap, so one column
// holds every grain and a range of one grain is a BETWEEN.
func dayPeriod(day string) (d, m, y int64) {
	if len(day) != 10 {
		return 0, 0, 0
	}
	d, err := strconv.ParseInt(day[0:4]+day[5:7]+day[8:10], 10, 64)
	if err != nil {
		return 0, 0, 0
	}
	return d, d / 100, d / 10000
}

// periodDay is the YYYY-MM-DD text of a day period.
func periodDay(p int64) string {
	s := strconv.FormatInt(p, 10)
	if len(s) != 8 {
		return ""
	}
	return s[0:4] + "-" + s[4:6] + "-" + s[6:8]
}

// weekOf is the Monday (YYYY-MM-DD) of a day's week.
func weekOf(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return ""
	}
	return t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7)).Format(time.DateOnly)
}

// keysSorted returns a map's keys in order (deterministic statements).
func keysSorted[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
