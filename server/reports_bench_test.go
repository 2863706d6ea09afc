package server

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"toso/mobileapi"
	"toso/store"
)

var reportsBenchLogs = flag.Int("reports.logs", 5_000_000, "logs of the cached province made by the store reports benchmark")

// BenchmarkReportsHTTP measures the report endpoints, exports, the periodic
// form and the daily summary included,
// through the real app on the province the store benchmark generated and
// cached (run that first: go test ./store -run '^$' -bench Reports).
//
//	go test ./server -run '^$' -bench ReportsHTTP -benchtime 10x
func BenchmarkReportsHTTP(b *testing.B) {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("toso-reports-bench-v1-%d.db", *reportsBenchLogs))
	if _, err := os.Stat(path); err != nil {
		b.Skipf("no generated province at %s: run the store reports benchmark first", path)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	srv, err := New(Config{Addr: "127.0.0.1:0", JWTSecret: testSecret}, st, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	tokens, err := mobileapi.NewTokens(testSecret, time.Hour, nil)
	if err != nil {
		b.Fatal(err)
	}
	sess, err := st.OpenSession(ctx, 1, store.DeviceInfo{ID: "00000000-0000-4000-8000-000000000001", Platform: "web"}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	admin, err := tokens.Issue(1, sess.DeviceID, sess.ID)
	if err != nil {
		b.Fatal(err)
	}
	var commune int64
	areas, err := st.Areas(ctx, store.System, store.AreaFilter{Level: "commune", Limit: 1})
	if err != nil || len(areas) == 0 {
		b.Fatal("no commune", err)
	}
	commune = areas[0].ID
	for _, area := range []struct {
		name string
		id   int64
	}{{"province", 1}, {"commune", commune}} {
		for _, kind := range []string{"summary", "export.xlsx", "export.csv", "periodic.xlsx", "daily-summary"} {
			b.Run(kind+"/"+area.name, func(b *testing.B) {
				url := fmt.Sprintf("/v1/reports/%s?area_id=%d&from=2025-01-01&to=2025-12-31", kind, area.id)
				switch kind {
				case "periodic.xlsx": // the quarter, the one before and cumulated: three upward walks
					url = fmt.Sprintf("/v1/reports/%s?area_id=%d&period=2025-Q3", kind, area.id)
				case "daily-summary":
					url = fmt.Sprintf("/v1/reports/%s?area_id=%d&day=2025-09-10", kind, area.id)
				}
				ds := make([]time.Duration, 0, b.N)
				size := 0
				peak := sampleHeap()
				b.ResetTimer()
				for range b.N {
					req, _ := http.NewRequest("GET", url, nil)
					req.Header.Set("Authorization", "Bearer "+admin)
					t := time.Now()
					resp, err := srv.App().Test(req, fiber.TestConfig{Timeout: time.Minute})
					if err != nil {
						b.Fatal(err)
					}
					n, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					ds = append(ds, time.Since(t))
					if resp.StatusCode != 200 {
						b.Fatalf("%s: status %d", url, resp.StatusCode)
					}
					size = int(n)
				}
				b.StopTimer()
				b.ReportMetric(peak()/(1<<20), "peak-heap-MB")
				sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
				p := func(q float64) float64 {
					return float64(ds[min(len(ds)-1, int(q*float64(len(ds))))].Microseconds()) / 1000
				}
				b.ReportMetric(p(0.5), "p50-ms")
				b.ReportMetric(p(0.99), "p99-ms")
				b.ReportMetric(float64(size)/1024, "KiB")
			})
		}
	}
}

// sampleHeap samples the live heap every 2 ms from now (after a GC) until
// the returned function is called, which gives the peak above the start.
func sampleHeap() func() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapAlloc)
			}
		}
	}()
	return func() float64 {
		close(stop)
		<-done
		return float64(peak - base)
	}
}
