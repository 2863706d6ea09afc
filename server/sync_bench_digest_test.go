package server

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"
	"time"

	"toso/store"
)

// BenchmarkSyncPullOneChange: a coordinator up to date pulls after one log
// in their area changed: one row, then the scope's digest. For a commune
// (100 teams) and the whole province (every team): the digest is what
// grows with the area.
//
//	go test ./server -run '^$' -bench SyncPullOneChange -benchtime 20x -toso.logs 1000000 -toso.teams 5000
func BenchmarkSyncPullOneChange(b *testing.B) {
	for _, level := range []struct {
		name string
		area int64
	}{{"commune", 2}, {"province", 1}} {
		b.Run(level.name, func(b *testing.B) {
			st, path := openBench(b)
			ctx := context.Background()
			w, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			uid := int64(800)
			now := time.Now().UTC().Format(time.RFC3339)
			if _, err := w.Exec(`INSERT INTO users (id, phone, name, role, area_id, password_hash, version,
				password_changed_at, created_at, updated_at) VALUES (?, '0870000000', 'Bench', 'coordinator', ?, 'x', 1, ?, ?, ?)`,
				uid, level.area, now, now, now); err != nil {
				b.Fatal(err)
			}
			a, err := st.Actor(ctx, uid, benchDevice(uid))
			if err != nil {
				b.Fatal(err)
			}
			scope := "area:" + strconv.FormatInt(level.area, 10)
			// Bring the catalog and user scopes up to date (a province's
			// catalog holds thousands of areas); the area cursor's tag comes
			// from the same pages.
			cursors := map[string]string{}
			var tag string
			for {
				r, err := st.Pull(ctx, a, store.PullRequest{DeviceID: benchDevice(uid), Cursors: cursors, Limit: 500})
				if err != nil {
					b.Fatal(err)
				}
				more := false
				for name, sc := range r.Scopes {
					if name == scope {
						_, tag, _ = strings.Cut(sc.Cursor, ".")
						continue
					}
					cursors[name] = sc.Cursor
					more = more || sc.HasMore
				}
				if !more {
					break
				}
			}
			var logID string
			if err := w.QueryRow(`SELECT l.id FROM assistance_logs l JOIN teams t ON t.id = l.team_id
				JOIN areas ar ON ar.id = t.area_id WHERE ar.path LIKE '/1/2/%' LIMIT 1`).Scan(&logID); err != nil {
				b.Fatal(err)
			}
			var total time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				var v int64
				if err := w.QueryRow(`UPDATE seq SET value = value + 1 WHERE id = 1 RETURNING value`).Scan(&v); err != nil {
					b.Fatal(err)
				}
				if _, err := w.Exec(`UPDATE assistance_logs SET version = ? WHERE id = ?`, v, logID); err != nil {
					b.Fatal(err)
				}
				cursors[scope] = strconv.FormatInt(v-1, 10) + "." + tag
				b.StartTimer()
				t0 := time.Now()
				r, err := st.Pull(ctx, a, store.PullRequest{DeviceID: benchDevice(uid), Cursors: cursors, Limit: 500})
				total += time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				sc := r.Scopes[scope]
				if len(sc.Changes) != 1 || sc.Digest == nil || len(r.Resets) != 0 {
					b.Fatalf("pull: %d changes, digest %v, resets %v; want 1 change and a digest", len(sc.Changes), sc.Digest, r.Resets)
				}
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/pull")
		})
	}
}
