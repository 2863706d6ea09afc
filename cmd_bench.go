package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	rpprof "runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"toso/demo"
	"toso/loadtest"
	"toso/store"
)

// runGenerate builds a large province (no activity) for load tests: about
// --teams teams of --members, all with demo.Password.
func runGenerate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("generate", "", stderr)
	const villages = 10
	db := fs.String("db", "bench.db", "database file to create, or postgres://user:pass@host:5432/db")
	keyFile := fs.String("key-file", "", "the key file (default DB.keys beside an SQLite database; on PostgreSQL, this or "+
		"TOSO_CITIZEN_KEY and TOSO_JWT_SECRET are required)")
	teams := fs.Int("teams", 5000, "teams (one per village), about")
	members := fs.Int("members", 5, "members per team, including the lead")
	seed := fs.Uint64("seed", 1, "seed")
	activity := fs.Bool("activity", false, "add four months of demo activity (logs, sessions, attendees, progress reports), "+
		"pushed through the phones' path, so the teams' scopes hold data to pull (~1 min per 1,000 teams)")
	phoneDir := fs.String("phone-dir", "", "sign every member in ahead: a phone database per member in this directory, "+
		"holding a refresh token, for bench --signed-in (the morning storm)")
	phones := fs.Int("phones", 1_000_000, "with --phone-dir: at most this many phones")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if *teams < 1 || *members < 1 {
		return fmt.Errorf("%w: --teams and --members must be positive", errUsage)
	}
	opt := demo.Options{Seed: *seed, Communes: max(1, (*teams+villages-1)/villages),
		VillagesPerCommune: villages, MembersPerTeam: *members}
	var stage atomic.Value // what the progress line says is under way
	stage.Store(fmt.Sprintf("areas, teams and users of %d teams", *teams))
	if *activity {
		opt.Activity = func(ctx context.Context, st *store.Store, p *demo.Province, rng *rand.Rand) error {
			stage.Store(fmt.Sprintf("four months of activity of %d users, pushed through store.Push", p.Users))
			return demo.Activity(ctx, st, p, rng)
		}
	}
	// The key file beside the database, so citizens pushed now are the
	// same citizens to the server that serves it later.
	st, _, err := openStore(ctx, Config{DB: *db, CitizenKey: getenv("TOSO_CITIZEN_KEY"), JWTSecret: getenv("TOSO_JWT_SECRET"), KeyFile: *keyFile},
		slog.New(slog.NewTextHandler(stderr, nil)), true)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				fmt.Fprintf(stderr, "\rgenerating %s… %s   ", stage.Load(), time.Since(start).Round(time.Second))
			}
		}
	}()
	p, created, err := demo.Ensure(ctx, st, opt)
	close(done)
	fmt.Fprintln(stderr)
	if err != nil {
		return fmt.Errorf("generate %s: %w", store.Redacted(*db), err)
	}
	if !created {
		fmt.Fprintf(stdout, "%s already holds a generated province\n", store.Redacted(*db))
	} else {
		fmt.Fprintf(stdout, "%s: %d communes, %d teams, %d users (password %q) in %s\n", store.Redacted(*db), len(p.Communes), p.Teams(),
			p.Users, demo.Password, time.Since(start).Round(time.Millisecond))
	}
	if *phoneDir == "" {
		return nil
	}
	start = time.Now()
	// The server's default refresh token lifetime; each refresh renews it.
	n, err := loadtest.Prepare(ctx, st, *phoneDir, *phones, 60*24*time.Hour, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d phones signed in ahead in %s (%s)\n", n, *phoneDir, time.Since(start).Round(time.Millisecond))
	return nil
}

// runBench simulates phones against a running server on loopback.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "", stderr)
	var cfg loadtest.Config
	fs.StringVar(&cfg.BaseURL, "url", "http://127.0.0.1:8080", "the running server (loopback only); several nodes of one database, comma-separated: the phones alternate between them")
	fs.StringVar(&cfg.DB, "db", "bench.db", "the server's database (a file or a postgres:// URL), read for member accounts")
	fs.StringVar(&cfg.Password, "password", demo.Password, "the accounts' password")
	fs.IntVar(&cfg.Phones, "phones", 1000, "phones to simulate")
	fs.IntVar(&cfg.Mutations, "mutations", 10, "mutations each phone pushes")
	fs.Float64Var(&cfg.Rate, "rate", 0, "phones started per second (open loop); 0: closed loop")
	fs.IntVar(&cfg.Concurrency, "concurrency", 50, "phones at once in a closed loop")
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop starting phones after this long (0: run all)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the generated batches")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "the server's pid, to read its peak memory (VmHWM) from /proc")
	fs.StringVar(&cfg.MetricsURL, "metrics-url", "http://"+defaultMetricsAddr+"/metrics", "the server's /metrics (its --metrics-addr), for its peak memory when --server-pid is not given")
	fs.StringVar(&cfg.TempDir, "tmp", "", "where the phones' databases go (default: the system temp dir)")
	fs.StringVar(&cfg.PhoneDir, "phone-dir", "", "keep the phones' databases in this directory (for a later --signed-in run)")
	fs.BoolVar(&cfg.SignedIn, "signed-in", false, "phones are already signed in (from --phone-dir): refresh instead of login")
	cpuProfile := fs.String("cpuprofile", "", "write the bench client's own CPU profile here (it shares the machine with the server)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := rpprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer rpprof.StopCPUProfile()
	}
	for _, u := range strings.Split(cfg.BaseURL, ",") {
		if err := loadtest.CheckLoopback(u); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	cfg.Progress = stderr
	rep, err := loadtest.Run(ctx, cfg)
	if err != nil {
		return err
	}
	rep.Print(stdout)
	return nil
}

// loopbackAddr refuses a listen address that is not on loopback.
func loopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New(addr + " is not a loopback address")
	}
	return nil
}

// servePprof serves net/http/pprof on a loopback address until stop.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	log.Info("pprof listening", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}
