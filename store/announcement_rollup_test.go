package store

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// rawReceipt is a receipt read straight from the table, with the path of
// the area its recipient stood in.
type rawReceipt struct {
	user                   int64
	role                   Role
	path                   string
	delivered, read, acked bool
}

func rawReceipts(t *testing.T, s *Store, id int64) []rawReceipt {
	t.Helper()
	rows, err := s.read.Query(`SELECT r.user_id, r.role, a.path, r.delivered_at IS NOT NULL, r.read_at IS NOT NULL, r.acked_at IS NOT NULL
		FROM announcement_receipts r JOIN areas a ON a.id = r.area_id WHERE r.announcement_id = ?`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []rawReceipt
	for rows.Next() {
		var r rawReceipt
		if err := rows.Scan(&r.user, &r.role, &r.path, &r.delivered, &r.read, &r.acked); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// countUnder counts raw receipts whose path starts with prefix (and role).
func countUnder(rs []rawReceipt, prefix string, role Role, exact bool) ReceiptCounts {
	var c ReceiptCounts
	for _, r := range rs {
		if !strings.HasPrefix(r.path, prefix) || (exact && r.path != prefix) || (role != "" && r.role != role) {
			continue
		}
		c.Recipients++
		if r.delivered {
			c.Delivered++
		}
		if r.read {
			c.Read++
		}
		if r.acked {
			c.Acknowledged++
		}
	}
	return c
}

// An announcement to the whole province, read and acknowledged at random:
// the rollup under every area and role equals a count of the raw
// receipts, each child a link one level down; a coordinator's rollup stays
// in their scope; the people who have not acknowledged are exactly those,
// page by page.
func TestReceiptsByAreaMatchTheReceipts(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	w := newReportWorld(t, seed)
	s, ctx := w.s, w.ctx
	// More recipients: a few members in every team.
	for i, team := range worldTeams {
		for j := range 3 {
			if _, err := s.CreateUser(ctx, System, NewUser{Phone: fmt.Sprintf("0987%03d%03d", i, j), Name: fmt.Sprintf("%s-%d", team, j),
				Role: RoleMember, TeamID: w.teams[team].ID, Password: "password-extra"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	an, err := s.CreateAnnouncement(ctx, w.actors["coordP"], NewAnnouncement{Title: "Họp toàn tỉnh", Body: "Nội dung", AckRequired: true,
		Audience: Audience{AreaIDs: []int64{w.areas["P"].ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishAnnouncement(ctx, w.actors["coordP"], an.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	var users []int64
	rows, err := s.read.Query(`SELECT user_id FROM announcement_receipts WHERE announcement_id = ? ORDER BY user_id`, an.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u int64
		if err := rows.Scan(&u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	rows.Close()
	for _, u := range users {
		a := Actor{UserID: u}
		switch w.rng.IntN(4) {
		case 0:
			if _, err := s.MarkDelivered(ctx, u, []int64{an.ID}); err != nil {
				t.Fatal(err)
			}
		case 1:
			if _, err := s.MarkRead(ctx, a, an.ID, time.Time{}); err != nil {
				t.Fatal(err)
			}
		case 2:
			if _, err := s.MarkAcked(ctx, a, an.ID, time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	raw := rawReceipts(t, s, an.ID)
	if len(raw) < 20 {
		t.Fatalf("only %d recipients", len(raw))
	}
	for _, node := range []string{"P", "A", "A1", "B", "O"} {
		for _, role := range []Role{"", RoleMember, RoleCoordinator} {
			ar := w.areas[node]
			tree, err := s.ReceiptsByArea(ctx, w.actors["coordP"], an.ID, ar.ID, role)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(countUnder(raw, ar.Path, role, false), tree.Total); diff != "" {
				t.Errorf("seed %d: total under %s, role %q (-raw +rollup):\n%s", seed, node, role, diff)
			}
			if diff := cmp.Diff(countUnder(raw, ar.Path, role, true), tree.Here); diff != "" {
				t.Errorf("seed %d: on %s itself, role %q (-raw +rollup):\n%s", seed, node, role, diff)
			}
			sum := tree.Here
			for _, ch := range tree.Children {
				if ch.Area.ParentID != ar.ID {
					t.Errorf("%s's drill-down lists %s, not a child", node, ch.Area.Name)
				}
				if diff := cmp.Diff(countUnder(raw, ch.Area.Path, role, false), ch.ReceiptCounts); diff != "" {
					t.Errorf("seed %d: child %s of %s, role %q (-raw +rollup):\n%s", seed, ch.Area.Name, node, role, diff)
				}
				sum.add(ch.ReceiptCounts)
			}
			if sum != tree.Total {
				t.Errorf("under %s: the children and the area itself sum to %+v, the total is %+v", node, sum, tree.Total)
			}
		}
	}
	// The default area is the audience's; a commune coordinator's is their commune.
	if tree, err := s.ReceiptsByArea(ctx, System, an.ID, 0, ""); err != nil || tree.Area.ID != w.areas["P"].ID || len(tree.Up) != 0 {
		t.Errorf("default rollup for an admin: %+v %v, want the province", tree, err)
	}
	tree, err := s.ReceiptsByArea(ctx, w.actors["coordA"], an.ID, 0, "")
	if err != nil || tree.Area.ID != w.areas["A"].ID {
		t.Fatalf("default rollup for coordA: %+v %v, want commune A", tree, err)
	}
	if diff := cmp.Diff(countUnder(raw, w.areas["A"].Path, "", false), tree.Total); diff != "" {
		t.Errorf("coordA's total (-raw +rollup):\n%s", diff)
	}
	if tree, err := s.ReceiptsByArea(ctx, w.actors["coordA"], an.ID, w.areas["A1"].ID, ""); err != nil || len(tree.Up) != 1 || tree.Up[0].ID != w.areas["A"].ID {
		t.Errorf("coordA drilled into A1: up %+v (%v), want only commune A (the province is above their reach)", tree.Up, err)
	}
	for _, c := range []struct {
		actor string
		area  int64
	}{{"coordA", w.areas["B"].ID}, {"coordA", w.areas["P"].ID}, {"m_TA1", 0}} {
		if _, err := s.ReceiptsByArea(ctx, w.actors[c.actor], an.ID, c.area, ""); !isNotFound(err) {
			t.Errorf("%s's rollup under area %d: %v, want not found", c.actor, c.area, err)
		}
	}

	// Who has not acknowledged, page by page, as coordA and as coordP.
	for _, c := range []struct{ actor, area string }{{"coordP", "P"}, {"coordA", "A"}, {"coordP", "B1"}} {
		var want []int64
		for _, r := range raw {
			if !r.acked && strings.HasPrefix(r.path, w.areas[c.area].Path) {
				want = append(want, r.user)
			}
		}
		sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
		var got []int64
		after := int64(0)
		for {
			page, err := s.Unacknowledged(ctx, w.actors[c.actor], an.ID, w.areas[c.area].ID, "", after, 4)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				got = append(got, p.UserID)
			}
			if len(page) < 4 {
				break
			}
			after = page[len(page)-1].UserID
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("seed %d: not acknowledged under %s as %s (-raw +list):\n%s", seed, c.area, c.actor, diff)
		}
	}
	plain, err := s.CreateAnnouncement(ctx, w.actors["coordP"], NewAnnouncement{Title: "Tin", Body: "Nội dung", Audience: Audience{AreaIDs: []int64{w.areas["P"].ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unacknowledged(ctx, w.actors["coordP"], plain.ID, 0, "", 0, 10); !errors.Is(err, ErrAckNotRequired) || !errors.Is(err, ErrConflict) {
		t.Errorf("who has not acknowledged an announcement without ack: %v, want ErrAckNotRequired (a conflict)", err)
	}
}
