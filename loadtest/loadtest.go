// Package loadtest simulates phones against a running Toso over loopback:
// each phone signs in, queues a realistic batch of mutations in its local
// database, pushes it and pulls until quiet, using the reference client in
// package phone. It measures what the server does under a morning storm.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"toso/phone"
	"toso/store"
)

// Config shapes a run.
type Config struct {
	BaseURL     string        // loopback only; several, comma-separated: phone i uses the i-th (nodes on one database)
	DB          string        // the server's database, read for the accounts
	Password    string        // every account's password
	Phones      int           // phones to run (at most the accounts found)
	Mutations   int           // per phone (default 10)
	Rate        float64       // phones started per second; 0: closed loop
	Concurrency int           // phones at once in a closed loop (default 50)
	Duration    time.Duration // stop starting phones after this (0: none)
	Seed        uint64
	ServerPID   int       // read VmHWM from /proc when set
	MetricsURL  string    // else sample process_resident_memory_bytes here (the server's --metrics-addr)
	Progress    io.Writer // a progress line every second or two; nil: none
	TempDir     string    // parent of the phones' databases (default os.TempDir())
	// PhoneDir, when set, keeps the phones' databases there (not removed),
	// so a later run with SignedIn plays the same phones the next morning.
	PhoneDir string
	// SignedIn skips the login: the phone renews its access token with
	// the refresh token kept from an earlier run in PhoneDir, as a phone
	// does every morning (a login hashes a password: argon2id, ~30 ms CPU).
	SignedIn bool
}

// CheckLoopback refuses a base URL whose host is not a loopback address.
func CheckLoopback(base string) error {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return fmt.Errorf("base URL %q: want http://127.0.0.1:PORT", base)
	}
	host := u.Hostname()
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		addrs, err := net.LookupIP(host)
		if err != nil || len(addrs) == 0 {
			return fmt.Errorf("base URL %q: cannot resolve %s", base, host)
		}
		ips = addrs
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("base URL %q: %s is not a loopback address; the load generator only targets this machine", base, ip)
		}
	}
	return nil
}

// Account is one phone's login.
type Account struct {
	UserID int64
	Phone  string
	TeamID int64
}

// Accounts reads the members and leads of the server's database, in id
// order (a team's members are consecutive, so teammates sync at the same
// time, as they do when the village gets its morning signal).
func Accounts(ctx context.Context, path string, n int) ([]Account, error) {
	db, err := store.OpenReader(path) // an SQLite file or a PostgreSQL URL
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT id, phone, team_id FROM users
		WHERE role IN ('member', 'team_lead') AND active = 1 AND team_id IS NOT NULL ORDER BY id LIMIT ?`, n)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		var a Account
		if err := rows.Scan(&a.UserID, &a.Phone, &a.TeamID); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Run drives the phones and returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	bases := strings.Split(cfg.BaseURL, ",")
	for _, b := range bases {
		if err := CheckLoopback(b); err != nil {
			return nil, err
		}
	}
	if cfg.Mutations <= 0 {
		cfg.Mutations = 10
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 50
	}
	accts, err := Accounts(ctx, cfg.DB, cfg.Phones)
	if err != nil {
		return nil, err
	}
	if len(accts) == 0 {
		return nil, errors.New("no member accounts in the database: generate a province first (toso generate)")
	}
	dir := cfg.PhoneDir
	if dir == "" {
		if cfg.SignedIn {
			return nil, errors.New("signed-in phones need the phone directory of an earlier run")
		}
		if dir, err = os.MkdirTemp(cfg.TempDir, "toso-bench-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}

	rec := newRecorder()
	conns := cfg.Concurrency
	if cfg.Rate > 0 {
		conns = 256
	}
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: &timing{next: tr, rec: rec}, Timeout: 60 * time.Second}

	mem := newMemWatch(cfg.MetricsURL, cfg.ServerPID)
	memCtx, stopMem := context.WithCancel(ctx)
	go mem.run(memCtx)

	runCtx := ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	var started, done, failed atomic.Int64
	one := func(i int) {
		started.Add(1)
		a := accts[i]
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
		if err := runPhone(ctx, client, cfg, bases[i%len(bases)], filepath.Join(dir, strconv.Itoa(i)+".db"), a, rng, rec); err != nil {
			failed.Add(1)
			rec.fail(err)
		}
		done.Add(1)
	}

	start := time.Now()
	progCtx, stopProg := context.WithCancel(ctx)
	var progWG sync.WaitGroup
	if cfg.Progress != nil {
		progWG.Add(1)
		go func() {
			defer progWG.Done()
			t := time.NewTicker(2 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-progCtx.Done():
					fmt.Fprintln(cfg.Progress)
					return
				case <-t.C:
					el := time.Since(start).Seconds()
					fmt.Fprintf(cfg.Progress, "\r%5.0fs  phones %d/%d done, %d in flight, %d failed, %.0f req/s, server RSS peak %s   ",
						el, done.Load(), len(accts), started.Load()-done.Load(), failed.Load(),
						float64(rec.requests())/el, mib(mem.peak()))
				}
			}
		}()
	}

	var wg sync.WaitGroup
	if cfg.Rate > 0 {
		interval := time.Duration(float64(time.Second) / cfg.Rate)
		next := time.Now()
		for i := range accts {
			if runCtx.Err() != nil {
				break
			}
			time.Sleep(time.Until(next))
			next = next.Add(interval)
			wg.Add(1)
			go func() { defer wg.Done(); one(i) }()
		}
	} else {
		var next atomic.Int64
		for range cfg.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for runCtx.Err() == nil {
					i := int(next.Add(1) - 1)
					if i >= len(accts) {
						return
					}
					one(i)
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProg()
	progWG.Wait()
	stopMem()
	mem.final()
	rep := rec.report(elapsed, int(done.Load()), int(failed.Load()), mem.peak(), mem.source)
	rep.SignedIn = cfg.SignedIn
	return rep, nil
}

func mib(b int64) string {
	if b <= 0 {
		return "?"
	}
	return strconv.FormatInt(b>>20, 10) + " MiB"
}

// runPhone is one phone's morning: sign in, record the day's work, push,
// pull until quiet.
func runPhone(ctx context.Context, client *http.Client, cfg Config, base, path string, a Account, rng *rand.Rand, rec *recorder) error {
	if cfg.PhoneDir == "" {
		defer os.Remove(path)
		defer os.Remove(path + "-wal")
		defer os.Remove(path + "-shm")
	}
	c, err := phone.Open(ctx, path, phone.Config{BaseURL: base, HTTP: client})
	if err != nil {
		return fmt.Errorf("phone database: %w", err)
	}
	defer c.Close()
	if !cfg.SignedIn {
		if err := c.Login(ctx, a.Phone, cfg.Password); err != nil {
			return err
		}
	}
	if err := queueBatch(ctx, c, a.TeamID, cfg.Mutations, rng); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	for attempt := 0; ; attempt++ {
		st, err := c.Push(ctx)
		rec.mutations(int64(st.Results))
		var later *phone.ErrRetryLater
		if errors.As(err, &later) && attempt < 5 {
			time.Sleep(later.RetryAfter)
			continue
		}
		if err != nil {
			return err
		}
		if st.Rejected > 0 {
			rec.fail(fmt.Errorf("%d mutations rejected", st.Rejected))
		}
		break
	}
	st, err := c.Pull(ctx)
	rec.pulled(int64(st.Changes))
	return err
}
