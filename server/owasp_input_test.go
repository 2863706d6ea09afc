package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// OWASP API4 (unrestricted resource consumption) and API3 (mass
// assignment) cases not covered elsewhere: deeply nested JSON and huge
// strings on every kind of body, and server-owned fields inside sync
// mutations. (Body and mutation limits, page sizes, SQL metacharacters in
// filters and server-owned fields of the admin API are in errors_test.go,
// sync_test.go and input_test.go.)

// TestDeepNestingAndHugeStrings: each body is refused with a 4xx and a
// stable code (a push: the one mutation rejected), nothing is written, and
// the server goes on answering.
func TestDeepNestingAndHugeStrings(t *testing.T) {
	e := newTestEnv(t)
	nest := func(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }
	huge := strings.Repeat("x", 900<<10) // under the 1 MiB body limit
	dev := e.deviceOf("memberA1")
	envelope := func(fields string) []byte {
		return []byte(`{"protocol":1,"device_id":"` + dev + `","schema_version":1,"app_version":"1.0.0","mutations":[` +
			`{"mid":MID,"table":"assistance_logs","op":"create","id":"` + uuidN(1) + `","fields":` + fields + `}]}`)
	}
	mid := 0
	cases := []struct {
		name, method, path, as string
		body                   []byte
		wantStatus             int // 200: a push whose mutation must be rejected
	}{
		{"push: outcomes nested 9,000 deep", "POST", "/v1/sync/push", "memberA1", envelope(`{"occurred_at":"2026-11-20T09:12:00Z","outcomes":` + nest(9000) + `}`), 200},
		{"push: a field nested past the decoder's limit", "POST", "/v1/sync/push", "memberA1", envelope(`{"notes":` + nest(20000) + `}`), 400},
		{"push: a 400 KB note", "POST", "/v1/sync/push", "memberA1", envelope(`{"occurred_at":"2026-11-20T09:12:00Z","notes":"` + huge[:400<<10] + `","outcomes":[{"service":"vneid_l2","result":"done"}]}`), 200},
		{"push: a 400 KB citizen name", "POST", "/v1/sync/push", "memberA1", envelope(`{"occurred_at":"2026-11-20T09:12:00Z","consent":true,"citizen_name":"` + huge[:400<<10] + `","outcomes":[{"service":"vneid_l2","result":"done"}]}`), 200},
		{"push: 50,000 fields", "POST", "/v1/sync/push", "memberA1", envelope(manyFields(20000)), 200},
		{"pull: a nested cursor", "POST", "/v1/sync/pull", "memberA1", []byte(`{"protocol":1,"device_id":"` + dev + `","schema_version":1,"cursors":{"catalog":` + nest(20000) + `}}`), 400},
		{"pull: a 900 KB scope name", "POST", "/v1/sync/pull", "memberA1", []byte(`{"protocol":1,"device_id":"` + dev + `","schema_version":1,"cursors":{"` + huge + `":"1"}}`), 422},
		{"login: a 900 KB phone", "POST", "/v1/auth/login", "", []byte(`{"phone":"` + huge + `","password":"p","device_id":"` + uuidN(2) + `","platform":"android"}`), 422},
		{"login: a 900 KB password", "POST", "/v1/auth/login", "", []byte(`{"phone":"0900000105","password":"` + huge + `","device_id":"` + uuidN(2) + `","platform":"android"}`), 422},
		{"login: nested", "POST", "/v1/auth/login", "", []byte(`{"phone":` + nest(20000) + `}`), 400},
		{"create team: a 900 KB name", "POST", "/v1/teams", "admin", []byte(fmt.Sprintf(`{"area_id":%d,"name":"%s"}`, e.villageA1.ID, huge)), 422},
		{"create team: nested", "POST", "/v1/teams", "admin", []byte(`{"area_id":` + nest(20000) + `}`), 400},
		{"announcement: a 900 KB body", "POST", "/v1/announcements", "coordA", []byte(fmt.Sprintf(`{"title":"t","body":"%s","audience":{"area_ids":[%d]}}`, huge, e.communeA.ID)), 422},
		{"announcement: nested audience", "POST", "/v1/announcements", "coordA", []byte(`{"title":"t","body":"b","audience":{"area_ids":` + nest(9000) + `}}`), 400},
	}
	before := counts(t, e)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := c.body
			if c.path == "/v1/sync/push" {
				mid++
				body = []byte(strings.Replace(string(body), "MID", fmt.Sprint(mid), 1))
			}
			token := ""
			if c.as != "" {
				token = e.token(c.as)
			}
			r := send(t, e, c.method, c.path, token, body)
			if r.Status != c.wantStatus {
				t.Fatalf("got %d %s, want %d", r.Status, truncate(r.Body, 300), c.wantStatus)
			}
			if r.Status >= 400 && r.ErrorCode() == "" {
				t.Errorf("%d without an error code: %s", r.Status, truncate(r.Body, 300))
			}
			if r.Status == 200 {
				var p pushResp
				if err := json.Unmarshal(r.Body, &p); err != nil || len(p.Results) != 1 || p.Results[0].Status != "rejected" || p.Results[0].Code != "validation_failed" {
					t.Errorf("want the mutation rejected/validation_failed, got %s", truncate(r.Body, 300))
				}
			} else if c.path == "/v1/sync/push" {
				mid-- // refused whole: the mid was not used
			}
		})
	}
	if after := counts(t, e); after != before {
		t.Errorf("rows (teams, users, logs, announcements) went from %s to %s", before, after)
	}
	if r := e.do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Errorf("healthz after the hostile bodies: %d", r.Status)
	}
}

func manyFields(n int) string {
	var b strings.Builder
	b.WriteString(`{"occurred_at":"2026-11-20T09:12:00Z","outcomes":[{"service":"vneid_l2","result":"done"}]`)
	for i := range n {
		fmt.Fprintf(&b, `,"f%d":1`, i)
	}
	b.WriteString("}")
	return b.String()
}

func counts(t *testing.T, e *testEnv) string {
	return fmt.Sprint(countRows(t, e, `SELECT count(*) FROM teams`), countRows(t, e, `SELECT count(*) FROM users`),
		countRows(t, e, `SELECT count(*) FROM assistance_logs`), countRows(t, e, `SELECT count(*) FROM announcements`))
}

// TestSyncServerOwnedFieldsAreIgnored: a phone cannot set what the server
// derives (SYNC.md: team, area, author, version, lock, citizen ref, times).
// Each forged field goes alone in a create and in a patch of each table; the
// mutation may be rejected (validation_failed, or forbidden for another
// team or a lock a member may not set; nothing written) or applied,
// and then the row holds the server's values.
func TestSyncServerOwnedFieldsAreIgnored(t *testing.T) {
	e := newTestEnv(t)
	forged := map[string]any{
		"team_id": e.teamB1.ID, "area_id": e.villageB1.ID, "village_id": e.villageB1.ID, "created_by": e.users["coordP"].ID,
		"updated_by": e.users["coordP"].ID, "version": 999999, "locked": true, "deleted": true, "removed": true,
		"citizen_ref": strings.Repeat("a", 64), "created_at": "2000-01-01T00:00:00Z", "updated_at": "2000-01-01T00:00:00Z",
		"field_versions": map[string]any{"notes": 1 << 40}, "status": "locked",
	}
	member := e.users["memberA1"].ID
	session := uuidN(1)
	mid := int64(1)
	e.push("memberA1", mut{"mid": mid, "table": "training_sessions", "op": "create", "id": session, "fields": map[string]any{"place": "Nhà văn hóa"}})
	type row struct {
		Team, Author, Version int64
		Locked, Deleted       bool
		Ref, Created, Status  string
	}
	queries := map[string]string{
		"assistance_logs":   `SELECT team_id, created_by, version, locked, deleted, COALESCE(citizen_ref, ''), created_at, '' FROM assistance_logs WHERE id = ?`,
		"training_sessions": `SELECT team_id, created_by, version, status = 'locked', deleted, '', created_at, status FROM training_sessions WHERE id = ?`,
	}
	read := func(table, id string) (row, bool) {
		var r row
		err := rawDB(t, e).QueryRow(queries[table], id).Scan(&r.Team, &r.Author, &r.Version, &r.Locked, &r.Deleted, &r.Ref, &r.Created, &r.Status)
		return r, err == nil
	}
	// Two pushes per table: every forged create, then every forged patch
	// (mutations without a tx are independent: one rejection rejects only
	// itself).
	type forgery struct {
		name, table, id string
		create          pushResult
	}
	var all []forgery
	n := 10
	for _, table := range []string{"assistance_logs", "training_sessions"} {
		var creates []mut
		var batch []forgery
		for name, value := range forged {
			n++
			fields := map[string]any{"place": "Nhà văn hóa"}
			if table == "assistance_logs" {
				fields = map[string]any{"occurred_at": "2026-11-20T09:12:00Z", "outcomes": []map[string]any{{"service": "vneid_l2", "result": "done"}}}
			}
			fields[name] = value
			mid++
			creates = append(creates, mut{"mid": mid, "table": table, "op": "create", "id": uuidN(n), "fields": fields})
			batch = append(batch, forgery{name: name, table: table, id: uuidN(n)})
		}
		for i, r := range e.push("memberA1", creates...).Results {
			batch[i].create = r
		}
		all = append(all, batch...)
	}
	var patches []mut
	var patched []forgery
	for _, f := range all {
		target := f.id
		if f.create.Status == "rejected" {
			if _, ok := read(f.table, f.id); ok || !oneOf(f.create.Code, "validation_failed", "forbidden") {
				t.Errorf("%s create with %s: rejected %s, row written %v", f.table, f.name, f.create.Code, ok)
			}
			if f.table == "assistance_logs" {
				continue // no log to patch
			}
			target = session
		}
		mid++
		patches = append(patches, mut{"mid": mid, "table": f.table, "op": "patch", "id": target, "base_version": 1,
			"fields": map[string]any{f.name: forged[f.name]}})
		f.id = target
		patched = append(patched, f)
	}
	for i, patch := range e.push("memberA1", patches...).Results {
		f := patched[i]
		if patch.Status == "rejected" && !oneOf(patch.Code, "validation_failed", "forbidden") {
			t.Errorf("%s patch of %s: rejected %s", f.table, f.name, patch.Code)
		}
		r, ok := read(f.table, f.id)
		if !ok {
			t.Errorf("%s %s: row missing after create %s and patch %s", f.table, f.name, f.create.Status, patch.Status)
			continue
		}
		if r.Team != e.teamA1.ID || r.Author != member || r.Version >= 999999 || r.Locked || r.Deleted || r.Ref == strings.Repeat("a", 64) ||
			strings.HasPrefix(r.Created, "2000") {
			t.Errorf("%s after a create (%s) and a patch (%s) forging %s: %+v; want team %d, author %d, a server version, not locked or deleted, a server time",
				f.table, f.create.Status, patch.Status, f.name, r, e.teamA1.ID, member)
		}
	}
}
