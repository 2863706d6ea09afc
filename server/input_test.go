package server

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"toso/store"
)

// Hostile and odd input: server-owned fields in bodies, SQL metacharacters
// in filters, page sizes.

// serverOwned are fields a client may send but must never set.
func serverOwned() map[string]any {
	return map[string]any{
		"id": 999999, "version": 1, "path": "/999999/", "depth": 7, "parent_id": 999999, "level": "province",
		"created_at": "2000-01-01T00:00:00Z", "updated_at": "2000-01-01T00:00:00Z", "members": 77,
		"password_hash": "$argon2id$forged", "area_path": "/", "role_scope": "/",
	}
}

func with(base map[string]any, extra map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range extra {
		out[k] = v
	}
	for k, v := range base {
		out[k] = v
	}
	return out
}

func num(m map[string]any, key string) int64 {
	f, _ := m[key].(float64)
	return int64(f)
}

func TestServerOwnedFieldsAreIgnored(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	admin := e.token("admin")
	start := time.Now().Add(-time.Minute)

	t.Run("create area", func(t *testing.T) {
		body := serverOwned()
		delete(body, "parent_id")
		delete(body, "level")
		r := e.do("POST", "/v1/areas", admin, with(map[string]any{"parent_id": e.communeA.ID, "level": "village", "name": "Thôn X"}, body))
		if r.Status != 201 {
			t.Fatalf("got %d, want 201: %s", r.Status, r.Body)
		}
		got := r.JSON(t)
		ar, err := e.store.Area(ctx, store.System, num(got, "id"))
		if err != nil {
			t.Fatal(err)
		}
		if ar.ID == 999999 || ar.Version == 1 || ar.Depth != e.communeA.Depth+1 ||
			ar.Path != fmt.Sprintf("%s%d/", e.communeA.Path, ar.ID) || ar.CreatedAt.Before(start) || ar.UpdatedAt.Before(start) {
			t.Errorf("server-owned fields taken from the client: %+v", ar)
		}
	})
	t.Run("update area", func(t *testing.T) {
		before, _ := e.store.Area(ctx, store.System, e.villageA1.ID)
		r := e.do("PATCH", fmt.Sprintf("/v1/areas/%d", e.villageA1.ID), admin, with(map[string]any{"name": "Thôn A1 đổi"}, serverOwned()))
		if r.Status != 200 {
			t.Fatalf("got %d, want 200: %s", r.Status, r.Body)
		}
		after, _ := e.store.Area(ctx, store.System, e.villageA1.ID)
		if after.Name != "Thôn A1 đổi" {
			t.Errorf("name = %q, want the patched one", after.Name)
		}
		if after.ID != before.ID || after.ParentID != before.ParentID || after.Level != before.Level ||
			after.Path != before.Path || after.Depth != before.Depth || !after.CreatedAt.Equal(before.CreatedAt) ||
			after.Version <= before.Version || after.Version == 1 {
			t.Errorf("server-owned fields changed by the client:\nbefore %+v\nafter  %+v", before, after)
		}
	})
	t.Run("create team", func(t *testing.T) {
		r := e.do("POST", "/v1/teams", admin, with(map[string]any{"area_id": e.villageA2.ID, "name": "Tổ X"},
			with(map[string]any{"active": false}, serverOwned())))
		if r.Status != 201 {
			t.Fatalf("got %d, want 201: %s", r.Status, r.Body)
		}
		got := r.JSON(t)
		tm, err := e.store.Team(ctx, store.System, num(got, "id"))
		if err != nil {
			t.Fatal(err)
		}
		if tm.ID == 999999 || tm.Version == 1 || tm.Members != 0 || !tm.Active || tm.CreatedAt.Before(start) {
			t.Errorf("server-owned fields taken from the client: %+v", tm)
		}
	})
	t.Run("update team", func(t *testing.T) {
		before, _ := e.store.Team(ctx, store.System, e.teamA2.ID)
		r := e.do("PATCH", fmt.Sprintf("/v1/teams/%d", e.teamA2.ID), admin, with(map[string]any{"name": "Tổ A2 đổi"}, serverOwned()))
		if r.Status != 200 {
			t.Fatalf("got %d, want 200: %s", r.Status, r.Body)
		}
		after, _ := e.store.Team(ctx, store.System, e.teamA2.ID)
		if after.ID != before.ID || after.AreaID != before.AreaID || after.Members != before.Members ||
			!after.CreatedAt.Equal(before.CreatedAt) || after.Version <= before.Version {
			t.Errorf("server-owned fields changed by the client:\nbefore %+v\nafter  %+v", before, after)
		}
	})
	t.Run("create user", func(t *testing.T) {
		body := with(map[string]any{"phone": "0987654321", "name": "Người mới", "role": "member", "team_id": e.teamA2.ID, "password": "password-new"},
			with(map[string]any{"active": false}, serverOwned()))
		r := e.do("POST", "/v1/users", admin, body)
		if r.Status != 201 {
			t.Fatalf("got %d, want 201: %s", r.Status, r.Body)
		}
		u, err := e.store.Authenticate(ctx, "0987654321", "password-new")
		if err != nil {
			t.Fatalf("the new user cannot sign in with the password sent: %v", err)
		}
		if u.ID == 999999 || u.Version == 1 || !u.Active || u.CreatedAt.Before(start) {
			t.Errorf("server-owned fields taken from the client: %+v", u)
		}
	})
	t.Run("update user", func(t *testing.T) {
		id := e.users["memberA2"].ID
		before, _ := e.store.User(ctx, store.System, id)
		r := e.do("PATCH", fmt.Sprintf("/v1/users/%d", id), admin, with(map[string]any{"name": "Tên mới", "phone": "0999999999"}, serverOwned()))
		if r.Status != 200 {
			t.Fatalf("got %d, want 200: %s", r.Status, r.Body)
		}
		after, _ := e.store.User(ctx, store.System, id)
		if after.ID != before.ID || after.Phone != before.Phone || after.Role != before.Role || after.TeamID != before.TeamID ||
			!after.CreatedAt.Equal(before.CreatedAt) || after.Version <= before.Version {
			t.Errorf("server-owned fields changed by the client:\nbefore %+v\nafter  %+v", before, after)
		}
		if _, err := e.store.Authenticate(ctx, before.Phone, "password-memberA2"); err != nil {
			t.Errorf("the password changed: %v", err)
		}
	})
}

// TestFiltersTakeMetacharactersLiterally: quotes, comment markers and LIKE
// wildcards in every text filter are plain characters.
func TestFiltersTakeMetacharactersLiterally(t *testing.T) {
	e := newTestEnv(t)
	admin := e.token("admin")
	// Names holding the characters, so a literal match has something to find.
	for _, r := range []response{
		e.do("POST", "/v1/areas", admin, map[string]any{"parent_id": e.communeA.ID, "level": "village", "name": "Thôn 100%_x", "code": "100"}),
		e.do("POST", "/v1/teams", admin, map[string]any{"area_id": e.villageA1.ID, "name": "Tổ 100%_x"}),
		e.do("POST", "/v1/users", admin, map[string]any{"phone": "0911111111", "name": "Tên 100%_x", "role": "member", "team_id": e.teamA1.ID, "password": "password-x"}),
	} {
		if r.Status != 201 {
			t.Fatalf("setup: got %d: %s", r.Status, r.Body)
		}
	}
	values := []string{"' OR 1=1 --", "\" OR \"\"=\"", "%", "_", "%_", "100%", "x';DROP TABLE t;--", `\`, "*", "Thôn"}
	filters := []struct{ path, param string }{
		{"/v1/areas", "q"}, {"/v1/teams", "q"}, {"/v1/users", "q"},
	}
	// Area codes are digits only: a code filter with anything else is
	// refused, naming the field, before it reaches SQL.
	for _, v := range values {
		path := "/v1/areas?" + url.Values{"code": {v}}.Encode()
		r := e.do("GET", path, admin, nil)
		if r.Status != 422 || !strings.Contains(string(r.Body), `"code"`) {
			t.Errorf("GET %s: got %d %s, want 422 naming code", path, r.Status, r.Body)
		}
	}
	for _, f := range filters {
		all := e.do("GET", f.path+"?limit=500", admin, nil).JSON(t)["items"].([]any)
		for _, v := range values {
			var want []string
			for _, it := range all {
				m := it.(map[string]any)
				name, _ := m["name"].(string)
				match := strings.Contains(strings.ToLower(name), strings.ToLower(v))
				if f.path == "/v1/users" {
					match = match || strings.Contains(m["phone"].(string), v)
				}
				if match {
					want = append(want, name)
				}
			}
			path := f.path + "?" + url.Values{f.param: {v}, "limit": {"500"}}.Encode()
			r := e.do("GET", path, admin, nil)
			if r.Status != 200 {
				t.Errorf("GET %s: got %d, want 200: %s", path, r.Status, r.Body)
				continue
			}
			got := names(t, r)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("GET %s: got %v, want %v", path, got, want)
			}
		}
	}
	if got := len(e.do("GET", "/v1/users?limit=500", admin, nil).JSON(t)["items"].([]any)); got != 9 {
		t.Errorf("after the filters there are %d users, want 9", got)
	}
}

func TestPageSizes(t *testing.T) {
	e := newTestEnv(t)
	admin := e.token("admin")
	for _, list := range []string{"/v1/areas", "/v1/teams", "/v1/users"} {
		for _, tt := range []struct {
			limit string
			want  int
		}{{"500", 200}, {"501", 422}, {"100000", 422}, {"-1", 422}, {"0", 200}} {
			r := e.do("GET", list+"?limit="+tt.limit, admin, nil)
			if r.Status != tt.want {
				t.Errorf("GET %s?limit=%s: got %d, want %d: %s", list, tt.limit, r.Status, tt.want, r.Body)
			}
			if tt.want == 422 && r.ErrorCode() != "validation_failed" {
				t.Errorf("GET %s?limit=%s: code %q, want validation_failed", list, tt.limit, r.ErrorCode())
			}
		}
		// Walking one item at a time with next_after visits every item once.
		all := e.do("GET", list, admin, nil).JSON(t)["items"].([]any)
		var walked []any
		after := "0"
		for range len(all) + 2 {
			p := e.do("GET", list+"?limit=1&after="+after, admin, nil).JSON(t)
			walked = append(walked, p["items"].([]any)...)
			next, ok := p["next_after"].(float64)
			if !ok {
				break
			}
			after = fmt.Sprint(int64(next))
		}
		// The last full page of one still names a next_after; the page after
		// it is empty and has none.
		if len(walked) != len(all) {
			t.Errorf("%s walked one by one: %d items, want %d", list, len(walked), len(all))
		}
	}
}

// TestUsersCannotJoinAnInactiveTeam: a member of an inactive team cannot
// sign in, so creating one or moving one there would make a dead account.
func TestUsersCannotJoinAnInactiveTeam(t *testing.T) {
	e := newTestEnv(t)
	admin := e.token("admin")
	team := fmt.Sprintf("/v1/teams/%d", e.teamA2.ID)
	if r := e.do("PATCH", team, admin, map[string]any{"active": false}); r.Status != 200 {
		t.Fatalf("deactivate team: got %d: %s", r.Status, r.Body)
	}
	create := map[string]any{"phone": "0922222222", "name": "Mới", "role": "member", "team_id": e.teamA2.ID, "password": "password-x"}
	move := map[string]any{"team_id": e.teamA2.ID}
	memberA1 := fmt.Sprintf("/v1/users/%d", e.users["memberA1"].ID)
	if r := e.do("POST", "/v1/users", admin, create); r.Status != 422 {
		t.Errorf("create a member of an inactive team: got %d, want 422: %s", r.Status, r.Body)
	}
	if r := e.do("PATCH", memberA1, admin, move); r.Status != 422 {
		t.Errorf("move a member to an inactive team: got %d, want 422: %s", r.Status, r.Body)
	}
	if r := e.do("GET", memberA1, admin, nil); num(r.JSON(t), "team_id") != e.teamA1.ID {
		t.Errorf("memberA1 left team A1: %s", r.Body)
	}
	// Those already in the team stay editable.
	if r := e.do("PATCH", fmt.Sprintf("/v1/users/%d", e.users["memberA2"].ID), admin, map[string]any{"name": "Đổi tên"}); r.Status != 200 {
		t.Errorf("rename a member of the inactive team: got %d, want 200: %s", r.Status, r.Body)
	}
	if r := e.do("PATCH", team, admin, map[string]any{"active": true}); r.Status != 200 {
		t.Fatalf("reactivate team: got %d: %s", r.Status, r.Body)
	}
	if r := e.do("POST", "/v1/users", admin, create); r.Status != 201 {
		t.Errorf("create a member of the reactivated team: got %d, want 201: %s", r.Status, r.Body)
	}
}
