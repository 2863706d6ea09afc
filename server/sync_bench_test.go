package server

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"toso/store"
)

// Sync benchmarks on a generated province: -toso.logs logs across
// -toso.teams teams (100 village teams per commune, 5 members each). The
// database is generated once with plain batched SQL and cached under
// os.TempDir(), keyed by the parameters; each run works on a copy.
//
//	go test ./server -run '^$' -bench BenchmarkSync -benchtime 200x -toso.logs 1000000 -toso.teams 5000
var (
	benchLogs  = flag.Int("toso.logs", 1_000_000, "logs in the sync benchmark database")
	benchTeams = flag.Int("toso.teams", 5000, "teams in the sync benchmark database")
)

const benchGenVersion = 3 // bump when the generated shape changes

// benchDB returns a fresh copy of the cached benchmark database.
func benchDB(b *testing.B) string {
	b.Helper()
	if testing.Short() {
		b.Skip("the sync benchmarks need a large generated database")
	}
	cache := filepath.Join(os.TempDir(), fmt.Sprintf("toso-syncbench-%d-%d-v%d.db", *benchLogs, *benchTeams, benchGenVersion))
	if _, err := os.Stat(cache); err != nil {
		start := time.Now()
		if err := generateBenchDB(cache+".tmp", *benchLogs, *benchTeams); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(cache+".tmp", cache); err != nil {
			b.Fatal(err)
		}
		b.Logf("generated %s in %s", cache, time.Since(start).Round(time.Second))
	}
	// Bring the cache up to the current schema once (a migration may
	// backfill over every log), not in every copy.
	st, err := store.Open(context.Background(), cache, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	st.Close()
	dst := filepath.Join(b.TempDir(), "bench.db")
	in, err := os.Open(cache)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	return dst
}

const benchCommuneSize = 100 // village teams per commune

// generateBenchDB builds the schema through store.Open, fills it with
// plain SQL in batches (areas, teams, users, logs), then rebuilds the
// derived tables.
func generateBenchDB(path string, logs, teams int) error {
	os.Remove(path)
	ctx := context.Background()
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		return err
	}
	st.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	now := "2026-11-01T00:00:00.000Z"
	var seq int64
	if err := db.QueryRow(`SELECT value FROM seq`).Scan(&seq); err != nil {
		return err
	}
	next := func() int64 { seq++; return seq }
	batch := func(fn func(tx *sql.Tx) error) error {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Commit()
	}
	communes := (teams + benchCommuneSize - 1) / benchCommuneSize
	err = batch(func(tx *sql.Tx) error {
		ins := func(id, parent int64, path, level, name string) error {
			_, err := tx.Exec(`INSERT INTO areas (id, parent_id, path, depth, level, name, population, adults, working_age,
				households, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1000, 700, 600, 250, ?, ?, ?)`,
				id, sql.NullInt64{Int64: parent, Valid: parent != 0}, path, strings.Count(path, "/")-2, level, name, next(), now, now)
			return err
		}
		if err := ins(1, 0, "/1/", "province", "Tỉnh"); err != nil {
			return err
		}
		for c := 0; c < communes; c++ {
			cid := int64(2 + c)
			if err := ins(cid, 1, fmt.Sprintf("/1/%d/", cid), "commune", fmt.Sprintf("Xã %d", c)); err != nil {
				return err
			}
		}
		for t := 0; t < teams; t++ {
			cid := int64(2 + t/benchCommuneSize)
			vid := int64(100000 + t)
			if err := ins(vid, cid, fmt.Sprintf("/1/%d/%d/", cid, vid), "village", fmt.Sprintf("Thôn %d", t)); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO teams (id, area_id, name, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
				t+1, vid, fmt.Sprintf("Tổ %d", t), next(), now, now); err != nil {
				return err
			}
			for m := 0; m < 5; m++ {
				if _, err := tx.Exec(`INSERT INTO users (id, phone, name, role, team_id, password_hash, version,
					password_changed_at, created_at, updated_at) VALUES (?, ?, ?, 'member', ?, 'x', ?, ?, ?, ?)`,
					benchMember(t, m), fmt.Sprintf("09%08d", t*5+m), "Member", t+1, next(), now, now, now); err != nil {
					return err
				}
			}
		}
		for c := 0; c < communes; c++ {
			if _, err := tx.Exec(`INSERT INTO users (id, phone, name, role, area_id, password_hash, version,
				password_changed_at, created_at, updated_at) VALUES (?, ?, ?, 'coordinator', ?, 'x', ?, ?, ?, ?)`,
				benchCoordinator(c), fmt.Sprintf("08%08d", c), "Coordinator", 2+c, next(), now, now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("generate areas: %w", err)
	}
	services := []string{"vneid_l2", "payment_account", "smartphone_basics", "skill_public_services", "ehealth"}
	const per = 10000
	for done := 0; done < logs; done += per {
		err := batch(func(tx *sql.Tx) error {
			logStmt, err := tx.Prepare(`INSERT INTO assistance_logs (id, team_id, area_id, created_by, occurred_at, citizen_ref,
				age_band, gender, consent, notes, outcomes, version, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			for i := done; i < min(done+per, logs); i++ {
				row := benchLogRow(i, teams, services)
				if _, err := logStmt.Exec(row.id, row.team, 100000+row.team-1, row.by, row.occurred, row.ref, "25_34", "female",
					"", row.outcomesJSON, next(), now, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("generate logs: %w", err)
		}
	}
	if _, err := db.Exec(`UPDATE seq SET value = ?`, seq); err != nil {
		return err
	}
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return err
	}
	// The rows went in with plain SQL: the derived tables (rollups,
	// digests) come from the rebuild.
	st, err = store.Open(ctx, path, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	return st.RebuildRollups(ctx)
}

func benchMember(team, m int) int64 { return int64(1000 + team*5 + m) }
func benchCoordinator(c int) int64  { return int64(900 - c) }

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type benchLog struct {
	id           string
	team         int
	by           int64
	occurred     string
	ref          any
	outcomes     []store.Outcome
	outcomesJSON string
}

// benchLogRow is the i-th generated log: spread over teams, one to three
// outcomes, a citizen ref on most.
func benchLogRow(i, teams int, services []string) benchLog {
	team := i%teams + 1
	r := benchLog{id: uuid.NewString(), team: team, by: benchMember(team-1, i%5),
		occurred: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 17 * time.Second).Format(time.RFC3339)}
	if i%10 < 7 {
		b := make([]byte, 32)
		rand.Read(b)
		r.ref = hex.EncodeToString(b)
	}
	for k := 0; k <= i%3; k++ {
		o := store.Outcome{Service: services[(i+k)%len(services)], Result: "done"}
		if (i+k)%7 == 0 {
			o.Result, o.Barrier = "not_done", "no_smartphone"
		}
		r.outcomes = append(r.outcomes, o)
	}
	b, _ := json.Marshal(r.outcomes)
	r.outcomesJSON = string(b)
	return r
}

// latencies reports p50 and p99 of the recorded durations, in ms.
func reportLatencies(b *testing.B, prefix string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(ds)))) - 1
		return float64(ds[max(i, 0)].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), prefix+"-p50-ms")
	b.ReportMetric(at(0.99), prefix+"-p99-ms")
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
