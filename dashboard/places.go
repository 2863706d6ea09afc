package dashboard

import (
	"strings"

	"toso/store"
)

// Team names repeat ("Tổ CNSCĐ Xóm Ao Sen" in three communes): every list
// of teams shows the village and commune beside the name.

// places names the village and commune of each area path (store.Places,
// under the caller's policy).
func (d *Dashboard) places(r *req, paths []string) (map[string]store.Place, error) {
	return d.store.Places(r.c.Context(), r.actor, paths)
}

// placeText writes a place as "Thôn A · Xã B" (the parts known).
func placeText(places map[string]store.Place, path string) string {
	p, ok := places[path]
	if !ok {
		return ""
	}
	var parts []string
	if p.Village != "" {
		parts = append(parts, p.Village)
	}
	if p.Commune != "" {
		parts = append(parts, p.Commune)
	}
	return strings.Join(parts, " · ")
}

// teamPaths are the area paths of teams, for places.
func teamPaths[T any](ts []T, path func(T) string) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = path(t)
	}
	return out
}
