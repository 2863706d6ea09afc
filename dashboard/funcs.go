package dashboard

import (
	"html/template"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"toso/store"
)

// navItem is one entry of the menu.
type navItem struct {
	Path, Key string
}

var navItems = []navItem{
	{"/", "nav.overview"}, {"/areas", "nav.areas"}, {"/barriers", "nav.barriers"}, {"/trainings", "nav.trainings"},
	{"/announcements", "nav.announcements"}, {"/targets", "nav.targets"}, {"/leaderboard", "nav.leaderboard"},
	{"/sync", "nav.sync"}, {"/conflicts", "nav.conflicts"}, {"/downloads", "nav.downloads"},
}

// funcs are the templates' helpers; the language is always passed in.
var funcs = template.FuncMap{
	"t":    tr,
	"num":  func(lang string, v float64) string { return formatNumber(lang, v, 0) },
	"num1": func(lang string, v float64) string { return formatNumber(lang, v, 1) },
	"num2": func(lang string, v float64) string { return formatNumber(lang, v, 2) },
	"int":  func(lang string, v int) string { return formatNumber(lang, float64(v), 0) },
	"date": formatDate,
	"time": func(lang string, t time.Time) string { return formatTime(lang, t) },
	"nav":  func() []navItem { return navItems },
	"langURL": func(path string, query template.URL, lang string) string {
		v, _ := url.ParseQuery(string(query))
		if v == nil {
			v = url.Values{}
		}
		v.Set("lang", lang)
		return path + "?" + v.Encode()
	},
	"areaURL": func(path string, id int64, from, to string) string {
		return path + "?" + url.Values{"area": {itoa(id)}, "from": {from}, "to": {to}}.Encode()
	},
	"pct": func(lang string, part, whole int) string {
		if whole == 0 {
			return "–"
		}
		return formatNumber(lang, float64(part)*100/float64(whole), 0) + "%"
	},
	"percent": func(share float64) float64 { return share * 100 },
	"list":    func(s ...string) []string { return s },
	"add":     func(a, b int) int { return a + b },
	"codes":   rejectionCodes,
	"value":   valueText,
	"phones": func(ds []store.DeviceHealth) int {
		n := 0
		for _, d := range ds {
			if d.DeviceID != "" {
				n++
			}
		}
		return n
	},
	"place": placeText,
	"inc":   func(i int) int { return i + 1 },
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// rejectionCodes writes rejections by code as "locked 2, forbidden 1"
// (most first), "–" for none.
func rejectionCodes(m map[string]int) string {
	if len(m) == 0 {
		return "–"
	}
	codes := make([]string, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if m[codes[i]] != m[codes[j]] {
			return m[codes[i]] > m[codes[j]]
		}
		return codes[i] < codes[j]
	})
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = c + " " + strconv.Itoa(m[c])
	}
	return strings.Join(parts, ", ")
}
