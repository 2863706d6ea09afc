package server

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

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
	target := &pushTarget{name: "push", nodes: []string{startBenchServer(b, st)}, stores: []*store.Store{st}}
	runPushRounds(b, []*pushTarget{target})
	w := st.WriterStats()
	if w.Groups > 0 {
		b.ReportMetric(float64(w.Jobs)/float64(w.Groups), "writes/group")
	}
}

// runPushRounds runs b.N rounds: each round, the same 8 × 200 new logs are
// pushed by the phones at once to each target in turn (separate databases
// of the same province; the first target rotates), then inserted with plain
// SQL into one SQLite table. It reports the plain rate and, per target, its
// rate, its ratio to the plain rate and its push latencies.
func runPushRounds(b *testing.B, targets []*pushTarget) {
	ctx := context.Background()
	plain, err := openPlain(filepath.Join(b.TempDir(), "plain.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	phones := benchPushers()
	for _, t := range targets {
		t.signIn(b, phones)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: phonePushers}}
	today := time.Now().UTC()
	var plainD []time.Duration
	var plainWall time.Duration
	rows := 0
	b.ResetTimer()
	for round := 0; round < b.N; round++ {
		bodies, batches := roundBodies(round, phones, today)
		for k := range targets {
			if err := targets[(round+k)%len(targets)].round(client, bodies); err != nil {
				b.Fatal(err)
			}
		}
		t0 := time.Now()
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
	plainRate := float64(rows) / plainWall.Seconds()
	b.ReportMetric(plainRate, "plain-rows/s")
	reportLatencies(b, "plain", plainD)
	for _, t := range targets {
		rate := float64(rows) / t.wall.Seconds()
		b.ReportMetric(rate, t.name+"-rows/s")
		b.ReportMetric(100*rate/plainRate, t.name+"/plain-%")
		reportLatencies(b, t.name, t.d)
	}
}

// benchPusher is one of the benchmark's phones: a member of a team spread
// over the province, with the mids it has used.
type benchPusher struct {
	uid    int64
	team   int
	device string
	mid    int64
}

func benchPushers() []*benchPusher {
	phones := make([]*benchPusher, phonePushers)
	for i := range phones {
		team := (i*7919 + 13) % *benchTeams
		uid := benchMember(team, i%5)
		phones[i] = &benchPusher{uid: uid, team: team + 1, device: benchDevice(uid)}
	}
	return phones
}

// roundBodies are the phones' push bodies of one round (200 new logs
// each, their mids advanced) and the same rows for the plain insert.
func roundBodies(round int, phones []*benchPusher, today time.Time) ([][]byte, [][]plainRow) {
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
	return bodies, batches
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
