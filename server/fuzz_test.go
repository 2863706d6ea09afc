package server

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/gofiber/fiber/v3"

	"toso/store"
)

// Fuzz targets for what a client controls most: the push body (decoding,
// envelope validation, per-mutation validation and apply) and the query
// strings of the list and report endpoints. Both go through the real app on
// a real database. Plain go test replays the seeds and testdata/fuzz; to
// fuzz:
//
//	go test ./server -run '^$' -fuzz FuzzSyncPush -fuzztime 3m
//	go test ./server -run '^$' -fuzz FuzzListQuery -fuzztime 3m

// fuzzEnv is one test env per fuzzing process (the fuzz function runs
// sequentially in a process, but the mutex makes that explicit).
type fuzzEnv struct {
	mu    sync.Mutex
	e     *testEnv
	raw   *sql.DB
	token map[string]string
}

func newFuzzEnv(f *testing.F, keys ...string) *fuzzEnv {
	fe := &fuzzEnv{e: newTestEnv(f), token: map[string]string{}}
	fe.raw = rawDB(f, fe.e)
	for _, k := range keys {
		fe.token[k] = fe.e.token(k)
	}
	return fe
}

// send is e.do for inside a fuzz function: it reports to t, not to the
// env's F, and checks the answer against openapi.json. Whether the request
// conformed is left to the caller (response.RequestErr): a push whose one
// mutation breaks the document is answered 200 with that mutation rejected.
func (fe *fuzzEnv) send(t *testing.T, method, target, token string, body []byte) (response, bool) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		return response{}, false // not a request a client could send
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := fe.e.srv.App().Test(req, fiber.TestConfig{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	reqErr, respErr := fe.e.api.check(req, body, r)
	if respErr != nil {
		t.Errorf("%s %s: the answer does not match openapi.json: %v\n%s", method, target, respErr, b)
	}
	r.RequestErr = reqErr
	if r.Status >= 500 {
		t.Errorf("%s %s: status %d: %s", method, target, r.Status, b)
	}
	if r.Status >= 400 && r.ErrorCode() == "" {
		t.Errorf("%s %s: status %d without an error code: %s", method, target, r.Status, b)
	}
	return r, true
}

func FuzzSyncPush(f *testing.F) {
	fe := newFuzzEnv(f, "memberA1")
	e := fe.e
	session := uuidN(900)
	seeds := []struct {
		table, op, id string
		base          int64
		fields        string
	}{
		{"assistance_logs", "create", uuidN(901), 0, `{"occurred_at":"2026-11-20T09:12:00Z","citizen_id_number":"038090001234","consent":true,"outcomes":[{"service":"vneid_l2","result":"done"}]}`},
		{"assistance_logs", "create", uuidN(902), 0, `{"occurred_at":"2026-11-20T09:12:00Z","citizen_phone":"+84 912 345 678","outcomes":[{"service":"vneid_l1","result":"not_done","barrier":"no_smartphone"}],"team_id":1,"version":99,"created_by":1,"locked":true}`},
		{"assistance_logs", "patch", uuidN(901), 1, `{"notes":"đã gọi lại"}`},
		{"assistance_logs", "delete", uuidN(901), 1, ``},
		{"training_sessions", "create", session, 0, `{"place":"Nhà văn hóa","topics":["vneid"],"status":"planned"}`},
		{"training_sessions", "patch", session, 1, `{"status":"held","attendees":12,"women":5}`},
		{"session_attendees", "create", uuidN(903), 0, `{"session_id":"` + session + `","name":"Lò Văn A","consent":true}`},
		{"progress_reports", "create", uuidN(904), 0, `{"indicator":"households_fibre","as_of":"2026-11-01","value":12}`},
		{"announcement_receipts", "patch", uuidN(905), 0, `{"read_at":"2026-11-20T09:12:00Z"}`},
		{"areas", "create", uuidN(906), 0, `{"name":"x"}`},
		{"assistance_logs", "create", "not-a-uuid", -1, `{"occurred_at":"9999-99-99","outcomes":"x"}`},
		{"assistance_logs", "create", uuidN(907), 0, `{"outcomes":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`},
		{"assistance_logs", "create", uuidN(908), 0, `{"notes":"` + string(bytes.Repeat([]byte("x"), 5000)) + `"}`},
		{"training_sessions", "patch", session, 1 << 62, `{"notes":null,"place":1e400}`},
		{"x'; DROP TABLE users; --", "create", uuidN(909), 0, `{}`},
		{"assistance_logs", "create", uuidN(910), 0, `{"occurred_at":"2026-11-20T09:12:00Z","outcomes":[{"service":"' OR 1=1 --","result":"done"}]}`},
		{"assistance_logs", "create", uuidN(911), 0, `not json`},
	}
	for _, s := range seeds {
		f.Add(s.table, s.op, s.id, s.base, []byte(s.fields))
	}
	device := e.deviceOf("memberA1")
	token := fe.token["memberA1"]
	next := int64(1)
	f.Fuzz(func(t *testing.T, table, op, id string, base int64, fields []byte) {
		fe.mu.Lock()
		defer fe.mu.Unlock()
		var body bytes.Buffer
		body.WriteString(`{"protocol":1,"device_id":"` + device + `","schema_version":1,"app_version":"1.0.0","mutations":[{"mid":`)
		body.WriteString(strconv.FormatInt(next, 10))
		for _, kv := range [][2]string{{"table", table}, {"op", op}, {"id", id}} {
			v, _ := json.Marshal(kv[1])
			body.WriteString(`,"` + kv[0] + `":`)
			body.Write(v)
		}
		body.WriteString(`,"base_version":` + strconv.FormatInt(base, 10))
		if len(fields) > 0 {
			body.WriteString(`,"fields":`)
			body.Write(fields)
		}
		body.WriteString(`}]}`)
		before := rowVersion(t, fe.raw, table, id)
		r, ok := fe.send(t, "POST", "/v1/sync/push", token, body.Bytes())
		if !ok {
			return
		}
		switch r.Status {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge:
			if after := rowVersion(t, fe.raw, table, id); after != before {
				t.Errorf("a refused push changed %s %s: version %d → %d", table, id, before, after)
			}
			return
		default:
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		var p pushResp
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Results) != 1 || p.Results[0].Mid != next || p.LastMid != next {
			t.Fatalf("push of mid %d: last_mid %d, results %+v", next, p.LastMid, p.Results)
		}
		next++
		res := p.Results[0]
		if r.RequestErr != nil && res.Status != "rejected" {
			t.Errorf("a mutation openapi.json rules out got %s: %v", res.Status, r.RequestErr)
		}
		after := rowVersion(t, fe.raw, table, id)
		switch res.Status {
		case "applied", "merged":
			if res.Version <= 0 {
				t.Errorf("%s without a version: %s", res.Status, r.Body)
			}
		case "rejected":
			if res.Code == "" {
				t.Errorf("rejected without a code: %s", r.Body)
			}
			if after != before {
				t.Errorf("a rejected mutation changed %s %s: version %d → %d: %s", table, id, before, after, r.Body)
			}
		default:
			t.Errorf("status %q: %s", res.Status, r.Body)
		}
	})
}

// rowVersion is the version of a synced row (-1 when absent or the table
// is not one a phone writes).
func rowVersion(t *testing.T, db *sql.DB, table, id string) int64 {
	q, ok := map[string]string{
		"assistance_logs":   `SELECT version FROM assistance_logs WHERE id = ?`,
		"training_sessions": `SELECT version FROM training_sessions WHERE id = ?`,
		"session_attendees": `SELECT version FROM session_attendees WHERE id = ?`,
		"progress_reports":  `SELECT version FROM progress_reports WHERE id = ?`,
	}[table]
	if !ok {
		return -1
	}
	v := int64(-1)
	// On PostgreSQL an id that is not UTF-8 is refused before the query
	// (store.ErrInvalid): no row can have it.
	if err := db.QueryRow(q, id).Scan(&v); err != nil && !errors.Is(err, sql.ErrNoRows) && !errors.Is(err, store.ErrInvalid) {
		t.Fatal(err)
	}
	return v
}

// listRoutes are the GET endpoints that take query parameters: pages,
// limits, periods, areas and filters.
var listRoutes = []string{
	"/v1/areas", "/v1/teams", "/v1/users", "/v1/targets", "/v1/announcements", "/v1/inbox",
	"/v1/reports/summary", "/v1/reports/export.csv", "/v1/reports/export.xlsx",
}

func FuzzListQuery(f *testing.F) {
	fe := newFuzzEnv(f, "coordA", "admin", "memberA1")
	seeds := []string{
		"limit=500", "limit=501", "limit=-1", "limit=99999999999999999999", "after=9223372036854775807&limit=1",
		"parent_id=1&level=village&q=%27%20OR%201%3D1%20--", "q=%25%5F%5C", "active=maybe", "active=true&team_id=2",
		"role=admin&area_id=-5", "area_id=2&from=2026-01-01&to=2026-12-31", "area_id=1&from=0001-01-01&to=9999-12-31",
		"area_id=2&from=2026-12-31&to=2026-01-01", "area_id=2&from=2026-02-30&to=2026-03-01&inactive_days=3650",
		"status=published&limit=0", "indicator=vneid_l2&from=2026-01-01", "limit=1&limit=2", "area_id=1e3", "%zz", "q=" + string(bytes.Repeat([]byte("a"), 300)),
	}
	users := []string{"coordA", "admin", "memberA1"}
	for i, s := range seeds {
		f.Add(uint8(i), uint8(i), s)
	}
	f.Fuzz(func(t *testing.T, route, user uint8, query string) {
		fe.mu.Lock()
		defer fe.mu.Unlock()
		path := listRoutes[int(route)%len(listRoutes)]
		query = escapeTarget(query)
		r, ok := fe.send(t, "GET", path+"?"+query, fe.token[users[int(user)%len(users)]], nil)
		// An empty parameter ("?limit=") is read as absent, as HTML forms
		// send them; the document does not say so (OpenAPI deprecates
		// allowEmptyValue), so that one disagreement is let through.
		if ok && r.RequestErr != nil && r.Status < 400 && !emptyParam(r.RequestErr, query) {
			t.Errorf("GET %s?%s answered %d to a request openapi.json rules out: %v", path, query, r.Status, r.RequestErr)
		}
		if !ok || r.Status != http.StatusOK || r.Header.Get("Content-Type") != fiber.MIMEApplicationJSONCharsetUTF8 {
			return
		}
		var page struct {
			Items *[]json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatalf("%s?%s: %v", path, query, err)
		}
		if page.Items != nil && len(*page.Items) > 500 {
			t.Errorf("%s?%s: %d items, want at most 500", path, query, len(*page.Items))
		}
	})
}

// emptyParam reports whether the document ruled a query out only for a
// parameter sent with no value, which the server reads as absent.
func emptyParam(err error, query string) bool {
	if errors.Is(err, openapi3filter.ErrInvalidEmptyValue) {
		return true
	}
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) || re.Parameter == nil || re.Parameter.In != "query" {
		return false
	}
	// By hand rather than url.ParseQuery, which gives up on the whole
	// query at one bad escape while the server reads the other pairs.
	for _, pair := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(pair, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if k == re.Parameter.Name && v != "" {
			return false
		}
	}
	return true
}

// escapeTarget percent-encodes the bytes a client cannot put in a request
// line (controls, spaces, non-ASCII, '#'); everything else, stray '%'
// included, goes as the fuzzer wrote it.
func escapeTarget(q string) string {
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		if c := q[i]; c <= ' ' || c >= 0x7f || c == '#' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}
