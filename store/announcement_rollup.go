package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Receipts rolled up per area at every level: an announcement's receipts
// under one area of the tree (the audience's, by default), counted for
// that area and for each area one level below it, so a coordinator goes
// from the province to a commune to a village. Every receipt records the
// area its recipient stood in at publish time (a team's village, a
// coordinator's scope).

// ErrAckNotRequired is a list of who has not acknowledged an announcement
// that does not ask for acknowledgement.
var ErrAckNotRequired = fmt.Errorf("the announcement does not ask for acknowledgement: %w", ErrConflict)

// ReceiptCounts counts receipts.
type ReceiptCounts struct {
	Recipients   int
	Delivered    int // the phone holds it (inbox, sync, read or ack)
	Read         int
	Acknowledged int
}

func (c *ReceiptCounts) add(o ReceiptCounts) {
	c.Recipients += o.Recipients
	c.Delivered += o.Delivered
	c.Read += o.Read
	c.Acknowledged += o.Acknowledged
}

// AreaReceiptCounts is one area's line of a drill-down.
type AreaReceiptCounts struct {
	Area Area
	ReceiptCounts
}

// ReceiptTree is an announcement's receipts under one area.
type ReceiptTree struct {
	Area     Area          // the area drilled into
	Role     Role          // the role counted ("" for all)
	Total    ReceiptCounts // every recipient under Area (within the caller's scope)
	Here     ReceiptCounts // recipients standing on Area itself (its coordinators)
	Children []AreaReceiptCounts
	Up       []Area // the areas above Area the caller may drill back to, top first
}

// receiptNode picks the area to drill into: the one asked for (inside the
// caller's reach), else the audience's common ancestor within it.
func (s *Store) receiptNode(ctx context.Context, a Actor, an *Announcement, areaID int64) (*Area, error) {
	if areaID == 0 {
		root := a.listRoot()
		node := commonPath(an.targets)
		if node == "" || !strings.HasPrefix(node, root) {
			node = root
		}
		ids := pathIDs(node)
		if len(ids) == 0 {
			return nil, fmt.Errorf("area_id is required: the audience spans several provinces: %w", ErrInvalid)
		}
		areaID = ids[len(ids)-1]
	}
	ar, err := scanArea(s.read.QueryRowContext(ctx, `SELECT `+areaColumns+` FROM areas WHERE id = ?`, areaID))
	if err != nil || !strings.HasPrefix(ar.Path, a.listRoot()) {
		return nil, fmt.Errorf("area %d: %w", areaID, ErrNotFound)
	}
	return ar, nil
}

// commonPath is the longest common ancestor path of paths ("" for none).
func commonPath(paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	c := paths[0]
	for _, p := range paths[1:] {
		for !strings.HasPrefix(p, c) {
			c = c[:strings.LastIndex(c[:len(c)-1], "/")+1]
		}
	}
	return c
}

// receiptsByAreaSQL counts an announcement's receipts per recipient area
// (?1 announcement, ?2 role or "") for the areas in [?3, ?4). It reads the
// announcement's receipts in primary-key order: "+area_id" keeps SQLite
// from walking the (announcement, area, role) index, which saves a sort
// but looks every receipt up again for its times (a province of 25,646
// recipients: 97 → 53 ms, BenchmarkCoordReceiptsProvince).
const receiptsByAreaSQL = `
	WITH g AS (SELECT +area_id AS area_id, count(*) AS n, count(delivered_at) AS d, count(read_at) AS rd, count(acked_at) AS ak
		FROM announcement_receipts WHERE announcement_id = ?1 AND (?2 = '' OR role = ?2) GROUP BY +area_id)
	SELECT a.path, g.n, g.d, g.rd, g.ak FROM g JOIN areas a ON a.id = g.area_id WHERE a.path >= ?3 AND a.path < ?4`

// receiptsUnderAreaSQL is receiptsByAreaSQL for a small subtree (a
// commune's dozen villages): the subtree's areas by path first, then each
// one's receipts through the (announcement, area, role) index, instead of
// every receipt of a province-wide announcement (a commune of the
// province above: 25 → 0.4 ms). Without statistics SQLite picks the other
// order, hence CROSS JOIN and INDEXED BY (the join's condition stands in the
// WHERE: PostgreSQL takes no ON after CROSS JOIN).
const receiptsUnderAreaSQL = `
	SELECT a.path, count(*), count(r.delivered_at), count(r.read_at), count(r.acked_at)
	FROM areas a CROSS JOIN announcement_receipts r INDEXED BY announcement_receipts_rollup
	WHERE r.announcement_id = ?1 AND r.area_id = a.id
		AND a.path >= ?3 AND a.path < ?4 AND (?2 = '' OR r.role = ?2)
	GROUP BY a.path`

// ReceiptsByArea rolls up an announcement's receipts under an area (0: the
// audience's common area, or the caller's scope when that is narrower),
// for one role or all, per child area. Only recipients inside the caller's
// scope count. One scan of the announcement's receipts, grouped by area.
func (s *Store) ReceiptsByArea(ctx context.Context, a Actor, id, areaID int64, role Role) (*ReceiptTree, error) {
	if role != "" && !role.Valid() {
		return nil, fmt.Errorf("role %q: %w", role, ErrInvalid)
	}
	an, err := s.Announcement(ctx, a, id)
	if err != nil {
		return nil, err
	}
	node, err := s.receiptNode(ctx, a, an, areaID)
	if err != nil {
		return nil, err
	}
	lo, hi := subtreeRange(node.Path)
	q := receiptsByAreaSQL
	if node.Level == "commune" || node.Level == "village" || node.Level == "residential_group" {
		q = receiptsUnderAreaSQL
	}
	rows, err := s.read.QueryContext(ctx, q, an.ID, string(role), lo, hi)
	if err != nil {
		return nil, fmt.Errorf("receipts of announcement %d: %w", id, err)
	}
	t := &ReceiptTree{Area: *node, Role: role}
	below := map[int64]*ReceiptCounts{}
	depth := len(pathIDs(node.Path))
	for rows.Next() {
		var path string
		var c ReceiptCounts
		if err := rows.Scan(&path, &c.Recipients, &c.Delivered, &c.Read, &c.Acknowledged); err != nil {
			rows.Close()
			return nil, fmt.Errorf("receipts of announcement %d: %w", id, err)
		}
		t.Total.add(c)
		ids := pathIDs(path)
		if len(ids) == depth {
			t.Here.add(c)
			continue
		}
		child := ids[depth]
		if below[child] == nil {
			below[child] = &ReceiptCounts{}
		}
		below[child].add(c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("receipts of announcement %d: %w", id, err)
	}
	if len(below) > 0 {
		ids := make([]int64, 0, len(below))
		for id := range below {
			ids = append(ids, id)
		}
		rows, err := s.read.QueryContext(ctx, `SELECT `+areaColumns+` FROM areas WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))`, mustJSON(ids))
		if err != nil {
			return nil, fmt.Errorf("receipts of announcement %d: %w", id, err)
		}
		for rows.Next() {
			ar, err := scanArea(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("receipts of announcement %d: %w", id, err)
			}
			t.Children = append(t.Children, AreaReceiptCounts{Area: *ar, ReceiptCounts: *below[ar.ID]})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("receipts of announcement %d: %w", id, err)
		}
		sort.Slice(t.Children, func(i, j int) bool {
			if t.Children[i].Area.Name != t.Children[j].Area.Name {
				return t.Children[i].Area.Name < t.Children[j].Area.Name
			}
			return t.Children[i].Area.ID < t.Children[j].Area.ID
		})
	}
	for _, up := range pathIDs(node.Path) {
		if up == node.ID {
			break
		}
		if ar, err := s.Area(ctx, a, up); err == nil && strings.HasPrefix(ar.Path, a.listRoot()) {
			t.Up = append(t.Up, *ar)
		}
	}
	return t, nil
}

// PendingRecipient is a recipient who has not acknowledged yet.
type PendingRecipient struct {
	UserID      int64
	Name        string
	Role        Role
	TeamID      int64  // 0 for coordinators
	TeamName    string // their team now
	AreaID      int64  // where they stood at publish time
	AreaPath    string
	DeliveredAt time.Time // zero: their phone does not hold it yet
	ReadAt      time.Time
}

// Unacknowledged lists, by user id after after, the recipients under an
// area (0: as ReceiptsByArea) who have not acknowledged an announcement
// that asks for it, within the caller's scope.
func (s *Store) Unacknowledged(ctx context.Context, a Actor, id, areaID int64, role Role, after int64, limit int) ([]PendingRecipient, error) {
	if role != "" && !role.Valid() {
		return nil, fmt.Errorf("role %q: %w", role, ErrInvalid)
	}
	an, err := s.Announcement(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if !an.AckRequired {
		return nil, fmt.Errorf("announcement %d: %w", id, ErrAckNotRequired)
	}
	node, err := s.receiptNode(ctx, a, an, areaID)
	if err != nil {
		return nil, err
	}
	lo, hi := subtreeRange(node.Path)
	rows, err := s.read.QueryContext(ctx, `SELECT r.user_id, u.name, r.role, COALESCE(u.team_id, 0), COALESCE(t.name, ''), r.area_id, a.path,
			COALESCE(r.delivered_at, ''), COALESCE(r.read_at, '')
		FROM announcement_receipts r JOIN areas a ON a.id = r.area_id JOIN users u ON u.id = r.user_id
		LEFT JOIN teams t ON t.id = u.team_id
		WHERE r.announcement_id = ?1 AND r.user_id > ?2 AND r.acked_at IS NULL AND (?3 = '' OR r.role = ?3)
			AND a.path >= ?4 AND a.path < ?5
		ORDER BY r.user_id LIMIT ?6`, an.ID, after, string(role), lo, hi, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("unacknowledged of announcement %d: %w", id, err)
	}
	defer rows.Close()
	out := []PendingRecipient{}
	for rows.Next() {
		var p PendingRecipient
		var dl, rd string
		if err := rows.Scan(&p.UserID, &p.Name, &p.Role, &p.TeamID, &p.TeamName, &p.AreaID, &p.AreaPath, &dl, &rd); err != nil {
			return nil, fmt.Errorf("unacknowledged of announcement %d: %w", id, err)
		}
		p.DeliveredAt, p.ReadAt = parseTS(dl), parseTS(rd)
		out = append(out, p)
	}
	return out, rows.Err()
}
