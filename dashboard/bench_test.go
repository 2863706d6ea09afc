package dashboard_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"toso/server"
	"toso/store"
)

var (
	benchAdmin    = flag.String("dashboard.admin", store.GeneratedAdminPhone, "BenchmarkPages: the admin's phone (a `toso generate` province: 0900000000)")
	benchCoord    = flag.String("dashboard.coord", store.GeneratedCoordPhone, "BenchmarkPages: a commune coordinator's phone (a `toso generate` province: 0900000002)")
	benchPassword = flag.String("dashboard.password", store.GeneratedPassword, "BenchmarkPages: their password (a `toso generate` province: demo-password)")
)

var benchDB = flag.String("dashboard.db", "", "a generated province (toso generate, or the reports benchmark's cached file) for BenchmarkPages; it gets sessions written. Default: a small province generated once under the temporary folder")

// BenchmarkPages measures each page's server time (request to last byte
// over loopback) for the admin (whole province) and the first commune's
// coordinator, on a generated province.
func BenchmarkPages(b *testing.B) {
	ctx := context.Background()
	path := *benchDB
	if path == "" {
		path = filepath.Join(os.TempDir(), "toso-dashboard-bench-v1.db")
		if _, err := os.Stat(path); err != nil {
			s, err := store.Open(ctx, path+".tmp", store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Generate(ctx, store.GenerateOptions{Communes: 30, VillagesPerCommune: 30, Logs: 200_000, Seed: 1}, nil); err != nil {
				b.Fatal(err)
			}
			s.Close()
			if err := os.Rename(path+".tmp", path); err != nil {
				b.Fatal(err)
			}
		}
	}
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", JWTSecret: strings.Repeat("s", 40)}, st,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- srv.Run(runCtx, func(a net.Addr) { addrc <- a.String() }) }()
	defer func() { cancel(); <-done }()
	e := &env{t: &testing.T{}, base: "http://" + <-addrc}
	for _, who := range []struct{ name, phone string }{{"province", *benchAdmin}, {"commune", *benchCoord}} {
		c := e.client()
		_, body := getB(b, c, e.base+"/login")
		m := csrfRE.FindStringSubmatch(body)
		resp, err := c.PostForm(e.base+"/login", url.Values{"_csrf": {m[1]}, "phone": {who.phone}, "password": {*benchPassword}})
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			b.Fatalf("login %s: %v %v", who.phone, err, resp)
		}
		resp.Body.Close()
		// The generated logs' year, and a period of partial months (day rows).
		for _, q := range []string{"?from=2025-01-01&to=2025-12-31", "?from=2025-03-15&to=2025-09-10"} {
			for _, p := range []string{"/", "/areas", "/barriers", "/trainings", "/announcements", "/targets", "/downloads",
				"/sync", "/leaderboard", "/conflicts"} {
				b.Run(fmt.Sprintf("%s%s/%s", who.name, strings.ReplaceAll(p, "/", "_"), q[6:16]), func(b *testing.B) {
					ds := make([]time.Duration, 0, b.N)
					for b.Loop() {
						t := time.Now()
						if status, body := getB(b, c, e.base+p+q); status != 200 {
							b.Fatalf("GET %s: %d %.300s", p, status, body)
						}
						ds = append(ds, time.Since(t))
					}
					slices.Sort(ds)
					b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(ds[len(ds)-1].Microseconds())/1000, "max-ms")
				})
			}
		}
	}
}

func getB(b *testing.B, c *http.Client, u string) (int, string) {
	resp, err := c.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
