package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"toso/mobileapi"
	"toso/store"
)

const (
	phonePushers = 8   // phones pushing at once
	phoneBatch   = 200 // logs per push
)

// BenchmarkPushPhones is the write path as phones meet it: 8 phones at
// once, each pushing a batch of 200 new assistance logs (dated within the
// last four days, one outcome each, a citizen number on most) over HTTP to
// the real server on loopback, on the generated province (1M logs by
// default). Each round of pushes is followed by the baseline: the same rows
// inserted with plain SQL into one table with a primary key, in a separate
// database file, 200 a transaction, synchronous=FULL, the same page cache.
// The ratio of the two rates is the figure to compare (the machine is
// shared: absolute rates move, the ratio much less).
//
//	go test ./server -run '^$' -bench BenchmarkPushPhones -benchtime 20x -toso.logs 1000000 -toso.teams 5000
func BenchmarkPushPhones(b *testing.B) {
	st, _ := openBench(b)
	ctx := context.Background()
	base := startBenchServer(b, st)
	tokens, err := mobileapi.NewTokens(testSecret, 24*time.Hour, nil)
	if err != nil {
		b.Fatal(err)
	}
	plain, err := openPlain(filepath.Join(b.TempDir(), "plain.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()

	type phone struct {
		uid    int64
		team   int
		device string
		token  string
		mid    int64
	}
	phones := make([]*phone, phonePushers)
	for i := range phones {
		team := (i*7919 + 13) % *benchTeams
		p := &phone{uid: benchMember(team, i%5), team: team + 1, device: benchDevice(benchMember(team, i%5))}
		sess, err := st.OpenSession(ctx, p.uid, store.DeviceInfo{ID: p.device, Platform: "android"}, 24*time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if p.token, err = tokens.Issue(p.uid, sess.DeviceID, sess.ID); err != nil {
			b.Fatal(err)
		}
		phones[i] = p
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: phonePushers}}
	today := time.Now().UTC()
	var pushD, plainD []time.Duration
	var pushWall, plainWall time.Duration
	rows := 0
	b.ResetTimer()
	for round := 0; round < b.N; round++ {
		batches := make([][]plainRow, len(phones))
		bodies := make([][]byte, len(phones))
		for i, p := range phones {
			muts := make([]map[string]any, phoneBatch)
			batches[i] = make([]plainRow, phoneBatch)
			for k := range muts {
				r := newPlainRow(round*phonePushers*phoneBatch+i*phoneBatch+k, p.team, p.uid, today)
				batches[i][k] = r
				p.mid++
				f := map[string]any{"occurred_at": r.occurredAt, "outcomes": json.RawMessage(r.outcomes),
					"age_band": "25_34", "gender": "female", "team_id": p.team}
				if r.number != "" {
					f["citizen_id_number"] = r.number
				}
				muts[k] = map[string]any{"mid": p.mid, "table": "assistance_logs", "op": "create", "id": r.id, "fields": f}
			}
			bodies[i], _ = json.Marshal(map[string]any{"protocol": 1, "device_id": p.device, "schema_version": 1,
				"app_version": "1.0.0", "mutations": muts})
		}
		// The phones, at once.
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failed error
		t0 := time.Now()
		for i, p := range phones {
			wg.Go(func() {
				req, _ := http.NewRequest("POST", base+"/v1/sync/push", bytes.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+p.token)
				s0 := time.Now()
				resp, err := client.Do(req)
				var out []byte
				if err == nil {
					out, _ = io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || bytes.Contains(out, []byte(`"rejected"`)) {
						err = fmt.Errorf("push: %d %.300s", resp.StatusCode, out)
					}
				}
				mu.Lock()
				defer mu.Unlock()
				pushD = append(pushD, time.Since(s0))
				if err != nil && failed == nil {
					failed = err
				}
			})
		}
		wg.Wait()
		pushWall += time.Since(t0)
		if failed != nil {
			b.Fatal(failed)
		}
		// The baseline, the same rows.
		t0 = time.Now()
		for _, batch := range batches {
			s0 := time.Now()
			if err := plain.insert(ctx, batch); err != nil {
				b.Fatal(err)
			}
			plainD = append(plainD, time.Since(s0))
		}
		plainWall += time.Since(t0)
		rows += phonePushers * phoneBatch
	}
	b.StopTimer()
	pushRate := float64(rows) / pushWall.Seconds()
	plainRate := float64(rows) / plainWall.Seconds()
	b.ReportMetric(pushRate, "push-rows/s")
	b.ReportMetric(plainRate, "plain-rows/s")
	b.ReportMetric(100*pushRate/plainRate, "push/plain-%")
	reportLatencies(b, "push", pushD)
	reportLatencies(b, "plain", plainD)
	w := st.WriterStats()
	if w.Groups > 0 {
		b.ReportMetric(float64(w.Jobs)/float64(w.Groups), "writes/group")
	}
}

// plainRow is one generated log, as pushed and as the baseline writes it.
type plainRow struct {
	id, occurredAt, outcomes, number, ref string
	team                                  int
	by                                    int64
}

// newPlainRow is the i-th log of a phone of team: within the last four
// days, one outcome, a citizen number on seven in ten.
func newPlainRow(i, team int, by int64, today time.Time) plainRow {
	r := plainRow{id: uuid.NewString(), team: team, by: by,
		occurredAt: today.Add(-time.Duration(i%(4*24*60)) * time.Minute).Truncate(time.Second).Format(time.RFC3339)}
	svc := benchServices[i%len(benchServices)]
	if i%9 == 0 {
		r.outcomes = fmt.Sprintf(`[{"service":%q,"result":"not_done","barrier":"no_smartphone"}]`, svc)
	} else {
		r.outcomes = fmt.Sprintf(`[{"service":%q,"result":"done"}]`, svc)
	}
	if i%10 < 7 {
		r.number = randomDigits(12)
		ref := make([]byte, 32)
		rand.Read(ref)
		r.ref = hex.EncodeToString(ref)
	}
	return r
}

// plainDB is the baseline: one table with a primary key, nothing else.
type plainDB struct {
	db      *sql.DB
	version int64
}

func openPlain(path string) (*plainDB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=cache_size(-16000)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`CREATE TABLE IF NOT EXISTS logs (id TEXT PRIMARY KEY, team_id INTEGER NOT NULL, created_by INTEGER NOT NULL,
		occurred_at TEXT NOT NULL, citizen_ref TEXT, age_band TEXT NOT NULL, gender TEXT NOT NULL, outcomes TEXT NOT NULL,
		version INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL) STRICT`)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &plainDB{db: db}, nil
}

func (p *plainDB) Close() error { return p.db.Close() }

func (p *plainDB) insert(ctx context.Context, rows []plainRow) error {
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO logs (id, team_id, created_by, occurred_at, citizen_ref, age_band, gender,
		outcomes, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, '25_34', 'female', ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	for _, r := range rows {
		p.version++
		if _, err := st.ExecContext(ctx, r.id, r.team, r.by, r.occurredAt, nullIfEmpty(r.ref), r.outcomes, p.version, now, now); err != nil {
			return err
		}
	}
	return tx.Commit()
}
