package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"toso/store"
)

// Helpers for sync tests: a phone is a fixture user with the device id its
// token names, and its own mid counter.

type mut map[string]any

type pushResult struct {
	Mid        int64             `json:"mid"`
	Status     string            `json:"status"`
	Version    int64             `json:"version"`
	ID         string            `json:"id"`
	ConflictID string            `json:"conflict_id"`
	Code       string            `json:"code"`
	Retryable  *bool             `json:"retryable"`
	Fields     map[string]string `json:"fields"`
}

type pushResp struct {
	LastMid    int64        `json:"last_mid"`
	ServerTime string       `json:"server_time"`
	Results    []pushResult `json:"results"`
	RetryAfter int          `json:"retry_after"`
}

type change struct {
	Table   string          `json:"table"`
	ID      string          `json:"id"`
	Op      string          `json:"op"`
	Version int64           `json:"version"`
	Row     json.RawMessage `json:"row"`
}

type scopeResp struct {
	Changes []change `json:"changes"`
	Cursor  string   `json:"cursor"`
	HasMore bool     `json:"has_more"`
	Digest  *struct {
		Count int64  `json:"count"`
		Hash  string `json:"hash"`
	} `json:"digest"`
}

type pullResp struct {
	LastMid       int64                 `json:"last_mid"`
	ScopesAdded   []string              `json:"scopes_added"`
	ScopesRemoved []string              `json:"scopes_removed"`
	Resets        []string              `json:"resets"`
	Scopes        map[string]*scopeResp `json:"scopes"`
}

// deviceOf is the device id e.token(key) names.
func (e *testEnv) deviceOf(key string) string {
	return "00000000-0000-4000-8000-" + fmtID(e.users[key].ID)
}

// pushRaw sends mutations (mids as given) for the fixture user.
func (e *testEnv) pushRaw(key string, muts ...mut) response {
	e.t.Helper()
	list := make([]mut, len(muts))
	copy(list, muts)
	return e.do("POST", "/v1/sync/push", e.token(key), map[string]any{
		"protocol": 1, "device_id": e.deviceOf(key), "schema_version": 1, "app_version": "1.0.0", "mutations": list,
	})
}

// push sends mutations and decodes a 200 response.
func (e *testEnv) push(key string, muts ...mut) pushResp {
	e.t.Helper()
	r := e.pushRaw(key, muts...)
	if r.Status != 200 {
		e.t.Fatalf("push: status %d, body %s", r.Status, r.Body)
	}
	var p pushResp
	if err := json.Unmarshal(r.Body, &p); err != nil {
		e.t.Fatal(err)
	}
	if len(p.Results) != len(muts) {
		e.t.Fatalf("push: got %d results, want %d: %s", len(p.Results), len(muts), r.Body)
	}
	return p
}

func (e *testEnv) pull(key string, cursors map[string]string, limit int) pullResp {
	e.t.Helper()
	r := e.do("POST", "/v1/sync/pull", e.token(key), map[string]any{
		"protocol": 1, "device_id": e.deviceOf(key), "schema_version": 1, "cursors": cursors, "limit": limit,
	})
	if r.Status != 200 {
		e.t.Fatalf("pull: status %d, body %s", r.Status, r.Body)
	}
	var p pullResp
	if err := json.Unmarshal(r.Body, &p); err != nil {
		e.t.Fatalf("pull body %s: %v", r.Body, err)
	}
	return p
}

// replica is a phone's copy of its scopes, filled by pulling until quiet.
type replica struct {
	cursors map[string]string
	rows    map[string]map[string]change // scope → table/id → row
	digests map[string]*scopeResp
}

// syncAll pulls with the given limit until no scope has more, checking that
// cursors never go backwards.
func (e *testEnv) syncAll(key string, r *replica, limit int) {
	e.t.Helper()
	if r.cursors == nil {
		r.cursors, r.rows, r.digests = map[string]string{}, map[string]map[string]change{}, map[string]*scopeResp{}
	}
	for round := 0; ; round++ {
		if round > 1000 {
			e.t.Fatal("pull never finished")
		}
		p := e.pull(key, r.cursors, limit)
		for _, s := range p.ScopesRemoved {
			delete(r.cursors, s)
			delete(r.rows, s)
		}
		for _, s := range p.Resets {
			r.rows[s] = nil
		}
		more := false
		for name, sc := range p.Scopes {
			if old, ok := r.cursors[name]; ok && !contains(p.Resets, name) && atoi(sc.Cursor) < atoi(old) {
				e.t.Fatalf("cursor of %s went back from %s to %s", name, old, sc.Cursor)
			}
			if r.rows[name] == nil {
				r.rows[name] = map[string]change{}
			}
			for _, c := range sc.Changes {
				k := c.Table + "/" + c.ID
				if c.Op == "del" {
					delete(r.rows[name], k)
				} else {
					r.rows[name][k] = c
				}
			}
			r.cursors[name] = sc.Cursor
			if sc.Digest != nil {
				r.digests[name] = sc
			}
			more = more || sc.HasMore
		}
		if !more {
			return
		}
	}
}

// digestOf computes the digest of a replica scope the way the server does.
func digestOf(rows map[string]change) (int64, string) {
	var sum uint64
	for _, c := range rows {
		sum += store.DigestTerm(c.Table, c.ID, c.Version)
	}
	return int64(len(rows)), fmt.Sprintf("%016x", sum)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// atoi reads the seq of a cursor ("N" or "N.tag").
func atoi(s string) int64 {
	var v int64
	fmt.Sscanf(s, "%d", &v)
	return v
}

// uuidN is a fixed, readable UUID for test rows.
func uuidN(n int) string { return fmt.Sprintf("01930000-0000-7000-8000-%012d", n) }

func logCreate(mid int64, id string, extra ...any) mut {
	fields := map[string]any{
		"occurred_at": "2026-11-20T09:12:00Z",
		"outcomes":    []map[string]any{{"service": "vneid_l2", "result": "done"}},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		fields[extra[i].(string)] = extra[i+1]
	}
	return mut{"mid": mid, "table": "assistance_logs", "op": "create", "id": id, "fields": fields}
}

// rawDB is a read-only connection to the test database, for checks that
// look under the API.
func rawDB(t testing.TB, e *testEnv) *sql.DB {
	t.Helper()
	db, err := store.OpenReader(e.store.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func timeNow() time.Time { return time.Now() }

func actorOf(t *testing.T, e *testEnv, key string) store.Actor {
	t.Helper()
	a, err := e.store.Actor(context.Background(), e.users[key].ID, e.deviceOf(key))
	if err != nil {
		t.Fatal(err)
	}
	return a
}
