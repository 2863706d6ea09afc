package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/google/uuid"

	"toso/mobileapi"
	"toso/store"
)

var benchServices = []string{"vneid_l2", "payment_account", "smartphone_basics", "skill_public_services", "ehealth"}

func openBench(b *testing.B) (*store.Store, string) {
	b.Helper()
	path := benchDB(b)
	st, err := store.Open(context.Background(), path, store.Options{ReadConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st, path
}

func benchDevice(uid int64) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", uid) }

func randomDigits(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

// BenchmarkSyncPush pushes batches of 200 new logs through store.Push,
// then inserts as many batches of the same rows' shape with plain SQL (one
// transaction per 200, prepared statements, synchronous=FULL, the same
// cache), so the ratio of the two rates is measured in the same run. Each
// side runs as its own block: WAL checkpoints fall on whoever crosses the
// threshold, and interleaving would bill the push for the baseline's pages.
func BenchmarkSyncPush(b *testing.B) {
	st, path := openBench(b)
	ctx := context.Background()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(ON)&_pragma=synchronous(FULL)&_pragma=cache_size(-16000)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	const batch = 200
	mids := map[int64]int64{}
	var pushD, rawD []time.Duration
	var rawBatches [][]benchLog
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		uid, dev, muts, rows := benchBatch(i, batch, mids)
		a, err := st.Actor(ctx, uid, dev)
		if err != nil {
			b.Fatal(err)
		}
		rawBatches = append(rawBatches, rows)
		t0 := time.Now()
		res, err := st.Push(ctx, a, store.PushRequest{DeviceID: dev, Mutations: muts})
		pushD = append(pushD, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res.Results {
			if r.Status != store.StatusApplied {
				b.Fatalf("mutation %d: %+v", r.Mid, r)
			}
		}
	}
	for _, rows := range rawBatches {
		for k := range rows {
			rows[k].id = uuid.NewString()
		}
		t0 := time.Now()
		if err := rawInsert(ctx, raw, rows); err != nil {
			b.Fatal(err)
		}
		rawD = append(rawD, time.Since(t0))
	}
	b.StopTimer()
	pushRate := float64(len(pushD)*batch) / sum(pushD).Seconds()
	rawRate := float64(len(rawD)*batch) / sum(rawD).Seconds()
	b.ReportMetric(pushRate, "push-mut/s")
	b.ReportMetric(rawRate, "raw-rows/s")
	b.ReportMetric(100*pushRate/rawRate, "push/raw-%")
	reportLatencies(b, "push", pushD)
	reportLatencies(b, "raw", rawD)
}

// benchBatch is the i-th push: n new logs by one member of a team, with
// the rows the baseline inserts for it.
func benchBatch(i, n int, mids map[int64]int64) (int64, string, []store.Mutation, []benchLog) {
	team := (i * 7919) % *benchTeams
	uid := benchMember(team, i%5)
	muts := make([]store.Mutation, n)
	rows := make([]benchLog, n)
	for k := range muts {
		rows[k] = benchLogRow(i*n+k, *benchTeams, benchServices)
		rows[k].team, rows[k].by = team+1, uid
		mids[uid]++
		f := map[string]json.RawMessage{
			"occurred_at":       json.RawMessage(strconv.Quote(rows[k].occurred)),
			"citizen_id_number": json.RawMessage(strconv.Quote(randomDigits(12))),
			"age_band":          json.RawMessage(`"25_34"`),
			"gender":            json.RawMessage(`"female"`),
			"outcomes":          json.RawMessage(rows[k].outcomesJSON),
		}
		muts[k] = store.Mutation{Mid: mids[uid], Table: "assistance_logs", Op: "create", ID: uuid.NewString(), Fields: f}
	}
	return uid, benchDevice(uid), muts, rows
}

// BenchmarkSyncPushHTTP is the same push through the whole HTTP stack
// (auth, JSON binding, the handler, the response), in-process.
func BenchmarkSyncPushHTTP(b *testing.B) {
	st, _ := openBench(b)
	srv, err := New(Config{Addr: "127.0.0.1:0", JWTSecret: testSecret}, st, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	tokens, err := mobileapi.NewTokens(testSecret, time.Hour, nil)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 200
	mids := map[int64]int64{}
	sessions := map[int64]*store.Session{}
	var pushD []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		uid, dev, muts, _ := benchBatch(i, batch, mids)
		sess, ok := sessions[uid]
		if !ok {
			b.StopTimer()
			if sess, err = st.OpenSession(context.Background(), uid, store.DeviceInfo{ID: dev, Platform: "android"}, time.Hour); err != nil {
				b.Fatal(err)
			}
			sessions[uid] = sess
			b.StartTimer()
		}
		tok, err := tokens.Issue(uid, sess.DeviceID, sess.ID)
		if err != nil {
			b.Fatal(err)
		}
		wire := make([]map[string]any, len(muts))
		for k, m := range muts {
			wire[k] = map[string]any{"mid": m.Mid, "table": m.Table, "op": m.Op, "id": m.ID, "fields": m.Fields}
		}
		body, _ := json.Marshal(map[string]any{"protocol": 1, "device_id": dev, "schema_version": 1, "mutations": wire})
		req, _ := http.NewRequest("POST", "/v1/sync/push", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		t0 := time.Now()
		resp, err := srv.App().Test(req, fiber.TestConfig{Timeout: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		pushD = append(pushD, time.Since(t0))
		if resp.StatusCode != 200 || bytes.Contains(out, []byte(`"rejected"`)) {
			b.Fatalf("push: %d %.300s", resp.StatusCode, out)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(pushD)*batch)/sum(pushD).Seconds(), "push-mut/s")
	reportLatencies(b, "push", pushD)
}

// rawInsert is the baseline: the same rows, written with plain SQL.
func rawInsert(ctx context.Context, db *sql.DB, rows []benchLog) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	logStmt, err := tx.PrepareContext(ctx, `INSERT INTO assistance_logs (id, team_id, area_id, created_by, occurred_at,
		citizen_ref, age_band, gender, consent, notes, outcomes, version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, '', ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer logStmt.Close()
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	for _, r := range rows {
		if _, err := logStmt.ExecContext(ctx, r.id, r.team, 100000+r.team-1, r.by, r.occurred, r.ref, "25_34", "female",
			r.outcomesJSON, 0, now, now); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// puller walks the communes of the benchmark province as their
// coordinators, one 500-row page of the area scope at a time.
type puller struct {
	st      *store.Store
	commune int
	actor   store.Actor
	cursors map[string]string
	scope   string
}

func (p *puller) start(ctx context.Context, b *testing.B, commune int) {
	communes := (*benchTeams + benchCommuneSize - 1) / benchCommuneSize
	p.commune = commune % communes
	uid := benchCoordinator(p.commune)
	a, err := p.st.Actor(ctx, uid, benchDevice(uid))
	if err != nil {
		b.Fatal(err)
	}
	p.actor, p.cursors = a, map[string]string{}
	p.scope = "area:" + strconv.Itoa(2+p.commune)
	// Bring the catalog and user scopes up to date, untimed: the timed
	// pages are the area's rows.
	for {
		r, err := p.st.Pull(ctx, a, store.PullRequest{DeviceID: benchDevice(uid), Cursors: p.cursors, Limit: 500})
		if err != nil {
			b.Fatal(err)
		}
		for name, sc := range r.Scopes {
			p.cursors[name] = sc.Cursor
		}
		if !r.Scopes["catalog"].HasMore {
			break
		}
	}
	p.cursors[p.scope] = "0"
}

// page pulls and encodes one page; it reports the cursor it started from
// and whether the commune is done (call next, untimed).
func (p *puller) page(ctx context.Context, b *testing.B, buf []byte) (int64, int, bool, []byte) {
	from, _ := strconv.ParseInt(p.cursors[p.scope], 10, 64)
	r, err := p.st.Pull(ctx, p.actor, store.PullRequest{DeviceID: benchDevice(p.actor.UserID), Cursors: p.cursors, Limit: 500})
	if err != nil {
		b.Fatal(err)
	}
	buf = mobileapi.AppendPull(buf[:0], r)
	sc := r.Scopes[p.scope]
	p.cursors[p.scope] = sc.Cursor
	return from, len(sc.Changes), !sc.HasMore, buf
}

// next moves to the following commune.
func (p *puller) next(ctx context.Context, b *testing.B) { p.start(ctx, b, p.commune+1) }

// rawLog is the baseline's row: the same columns, scanned and encoded with
// encoding/json.
type rawLog struct {
	ID          string          `json:"id"`
	TeamID      int64           `json:"team_id"`
	AreaID      int64           `json:"area_id"`
	VillageID   *int64          `json:"village_id"`
	CreatedBy   int64           `json:"created_by"`
	OccurredAt  string          `json:"occurred_at"`
	CitizenRef  *string         `json:"citizen_ref"`
	CitizenName *string         `json:"citizen_name"`
	AgeBand     string          `json:"age_band"`
	Gender      string          `json:"gender"`
	Minority    bool            `json:"minority"`
	Disability  bool            `json:"disability"`
	Consent     bool            `json:"consent"`
	Notes       string          `json:"notes"`
	Outcomes    json.RawMessage `json:"outcomes"`
	Locked      bool            `json:"locked"`
	Version     int64           `json:"version"`
	UpdatedAt   string          `json:"updated_at"`
}

// rawPage is the baseline: the commune's next 500 live logs after cursor
// with plain SQL, encoded with encoding/json.
func rawPage(ctx context.Context, db *sql.DB, commune int, cursor int64) (int, error) {
	lo := fmt.Sprintf("/1/%d/", 2+commune)
	hi := lo[:len(lo)-1] + "0"
	rows, err := db.QueryContext(ctx, `SELECT id, team_id, area_id, village_id, created_by, occurred_at, citizen_ref,
		citizen_name, age_band, gender, minority, disability, consent, notes, outcomes, locked, version, updated_at
		FROM assistance_logs WHERE team_id IN (SELECT t.id FROM teams t JOIN areas a ON a.id = t.area_id
			WHERE a.path >= ? AND a.path < ?) AND version > ? AND deleted = 0 ORDER BY version LIMIT 500`, lo, hi, cursor)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var page []rawLog
	for rows.Next() {
		var l rawLog
		var outcomes string
		if err := rows.Scan(&l.ID, &l.TeamID, &l.AreaID, &l.VillageID, &l.CreatedBy, &l.OccurredAt, &l.CitizenRef,
			&l.CitizenName, &l.AgeBand, &l.Gender, &l.Minority, &l.Disability, &l.Consent, &l.Notes, &outcomes,
			&l.Locked, &l.Version, &l.UpdatedAt); err != nil {
			return 0, err
		}
		l.Outcomes = json.RawMessage(outcomes)
		page = append(page, l)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	_, err = json.Marshal(page)
	return len(page), err
}

// BenchmarkSyncPull pulls 500-row pages of a commune coordinator's area
// scope (store.Pull + the wire encoding) and, in the same loop, the same
// page with plain SQL and encoding/json.
func BenchmarkSyncPull(b *testing.B) {
	st, path := openBench(b)
	ctx := context.Background()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)&_pragma=cache_size(-2000)")
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	p := &puller{st: st}
	p.start(ctx, b, 0)
	var pullD, rawD []time.Duration
	var rows, rawRows int
	buf := make([]byte, 0, 1<<20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		commune := p.commune
		t0 := time.Now()
		from, n, done, out := p.page(ctx, b, buf)
		pullD = append(pullD, time.Since(t0))
		buf = out
		rows += n
		t0 = time.Now()
		m, err := rawPage(ctx, raw, commune, from)
		if err != nil {
			b.Fatal(err)
		}
		rawD = append(rawD, time.Since(t0))
		rawRows += m
		if done {
			b.StopTimer()
			p.next(ctx, b)
			b.StartTimer()
		}
	}
	b.StopTimer()
	pullRate := float64(len(pullD)) / sum(pullD).Seconds()
	rawRate := float64(len(rawD)) / sum(rawD).Seconds()
	b.ReportMetric(pullRate, "pull-pages/s")
	b.ReportMetric(rawRate, "raw-pages/s")
	b.ReportMetric(100*pullRate/rawRate, "pull/raw-%")
	b.ReportMetric(float64(rows)/float64(len(pullD)), "rows/page")
	b.ReportMetric(float64(rawRows)/float64(len(rawD)), "raw-rows/page")
	reportLatencies(b, "pull", pullD)
	reportLatencies(b, "raw", rawD)
}

// BenchmarkSyncPullParallel: 8 coordinators pull at once (2 cores × 4);
// reports pages/s and the process's peak RSS.
func BenchmarkSyncPullParallel(b *testing.B) {
	st, _ := openBench(b)
	ctx := context.Background()
	var next, pages atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		p := &puller{st: st}
		p.start(ctx, b, int(next.Add(1)))
		buf := make([]byte, 0, 1<<20)
		for pb.Next() {
			var done bool
			_, _, done, buf = p.page(ctx, b, buf)
			pages.Add(1)
			if done {
				p.next(ctx, b)
			}
		}
	})
	b.ReportMetric(float64(pages.Load())/time.Since(start).Seconds(), "pages/s")
	b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
}
