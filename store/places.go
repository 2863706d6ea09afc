package store

import (
	"context"
	"fmt"
	"strings"
)

// Place names where something sits in the tree: the village (or
// residential group) and the commune and province above it. Team names
// repeat ("Tổ CNSCĐ Xóm Ao Sen" in three communes); lists show the place
// beside them.
type Place struct {
	Village    string // "" when the area is not below a commune
	CommuneID  int64
	Commune    string
	ProvinceID int64
	Province   string
}

// Places names the village, commune and province of each area path, as far
// as the actor may see them (a commune coordinator sees no province name).
func (s *Store) Places(ctx context.Context, a Actor, paths []string) (map[string]Place, error) {
	all, err := places(ctx, s.read, paths)
	if err != nil {
		return nil, err
	}
	for p, pl := range all {
		if pl.Province != "" && !a.CanSeeArea(pathPrefix(p, pl.ProvinceID)) {
			pl.ProvinceID, pl.Province = 0, ""
		}
		if pl.Commune != "" && !a.CanSeeArea(pathPrefix(p, pl.CommuneID)) {
			pl.CommuneID, pl.Commune = 0, ""
		}
		all[p] = pl
	}
	return all, nil
}

// places resolves Place for each path without a policy check (for jobs).
func places(ctx context.Context, q querier, paths []string) (map[string]Place, error) {
	seen := map[int64]bool{}
	var ids []int64
	for _, p := range paths {
		for _, id := range pathIDs(p) {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	type node struct{ level, name string }
	nodes := make(map[int64]node, len(ids))
	if len(ids) > 0 {
		rows, err := q.QueryContext(ctx, `SELECT a.id, a.level, a.name FROM json_each(?) j JOIN areas a ON a.id = CAST(j.value AS BIGINT)`, mustJSON(ids))
		if err != nil {
			return nil, fmt.Errorf("places: %w", err)
		}
		for rows.Next() {
			var id int64
			var n node
			if err := rows.Scan(&id, &n.level, &n.name); err != nil {
				rows.Close()
				return nil, fmt.Errorf("places: %w", err)
			}
			nodes[id] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("places: %w", err)
		}
	}
	out := make(map[string]Place, len(paths))
	for _, p := range paths {
		var pl Place
		for _, id := range pathIDs(p) {
			switch n := nodes[id]; n.level {
			case "province":
				pl.ProvinceID, pl.Province = id, n.name
			case "commune":
				pl.CommuneID, pl.Commune = id, n.name
			case "village", "residential_group":
				if pl.Village == "" {
					pl.Village = n.name
				}
			}
		}
		out[p] = pl
	}
	return out, nil
}

// pathPrefix is the path of the ancestor id of path ("/1/7/42/", 7 →
// "/1/7/"), or path itself when id is not on it.
func pathPrefix(path string, id int64) string {
	needle := fmt.Sprintf("/%d/", id)
	if i := strings.Index(path, needle); i >= 0 {
		return path[:i+len(needle)]
	}
	return path
}
