package loadtest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"toso/demo"
	"toso/mobileapi"
	"toso/server"
	"toso/store"
	"toso/store/storetest"
)

func TestCheckLoopback(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", true},
		{"http://10.0.0.1:8080", false},
		{"http://93.184.216.34", false},
		{"not a url", false},
	} {
		err := CheckLoopback(tc.url)
		if got := err == nil; got != tc.ok {
			t.Errorf("CheckLoopback(%q) = %v, want ok %v", tc.url, err, tc.ok)
		}
	}
}

// TestSmoke runs a handful of phones against a real server on loopback,
// then again the next morning as signed-in phones.
func TestSmoke(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := storetest.DB(t, "bench.db") // PostgreSQL when TOSO_TEST_PG is set
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := demo.Build(ctx, st, demo.Options{Communes: 2, VillagesPerCommune: 2}); err != nil {
		t.Fatal(err)
	}
	// Every phone comes from 127.0.0.1, as phones behind one carrier NAT
	// address do: five logins an hour from that address, the first five
	// phones' logins. Refreshes must never count against it.
	limits := mobileapi.Limits{LoginPerIP: 5, LoginIPWindow: time.Hour}
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", JWTSecret: strings.Repeat("s", 32), Limits: limits}, st,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func(a net.Addr) { addr <- a }) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, signedIn := range []bool{false, true} {
		rep, err := Run(ctx, Config{BaseURL: base, DB: path, Password: demo.Password, Phones: 5, Concurrency: 2,
			Seed: 1, PhoneDir: dir, SignedIn: signedIn})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Phones != 5 || rep.Failed != 0 || len(rep.Statuses) != 0 {
			t.Fatalf("signed in %v: %d phones, %d failed, errors %v %v, want 5 phones and no errors", signedIn, rep.Phones, rep.Failed, rep.Errors, rep.Statuses)
		}
		if got, want := rep.Mutations, int64(50); got != want {
			t.Errorf("signed in %v: %d mutations pushed, want %d", signedIn, got, want)
		}
		counts := map[string]int{}
		for _, e := range rep.Endpoints {
			counts[e.Name] = e.Count
		}
		first := "login"
		if signedIn {
			first = "refresh"
		}
		if counts[first] != 5 || counts["push"] != 5 || counts["pull"] < 5 {
			t.Errorf("signed in %v: requests %v, want 5 %s, 5 push, at least 5 pull", signedIn, counts, first)
		}
	}

	// Phones signed in ahead (no login ever), as the generate step prepares
	// them, start with a refresh. The first five users get a second phone.
	prepared := t.TempDir()
	n, err := Prepare(ctx, st, prepared, 10, time.Hour, nil)
	if err != nil || n != 10 {
		t.Fatalf("Prepare = %d, %v, want 10 phones", n, err)
	}
	rep, err := Run(ctx, Config{BaseURL: base, DB: path, Phones: 10, Concurrency: 3, Seed: 2, PhoneDir: prepared, SignedIn: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Phones != 10 || rep.Failed != 0 || len(rep.Statuses) != 0 {
		t.Fatalf("prepared: %d phones, %d failed, errors %v %v, want 10 phones and no errors", rep.Phones, rep.Failed, rep.Errors, rep.Statuses)
	}
	counts := map[string]int{}
	for _, e := range rep.Endpoints {
		counts[e.Name] = e.Count
	}
	if counts["login"] != 0 || counts["refresh"] != 10 || counts["push"] != 10 {
		t.Errorf("prepared: requests %v, want no login, 10 refresh, 10 push", counts)
	}
	// The new phones never synced: their first pull holds at least the
	// catalog.
	if rep.Pulled < 10 {
		t.Errorf("prepared: %d changes pulled by 10 phones, want at least one each", rep.Pulled)
	}

	// Two nodes: the phones alternate between the URLs. The second is a
	// counting proxy in front of the same server.
	var viaSecond atomic.Int64
	target, _ := url.Parse(base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	second := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/sync/push") {
			viaSecond.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	defer second.Close()
	rep, err = Run(ctx, Config{BaseURL: base + "," + second.URL, DB: path, Phones: 10, Concurrency: 3, Seed: 4,
		PhoneDir: prepared, SignedIn: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 0 || viaSecond.Load() != 5 {
		t.Errorf("two nodes: %d failed (%v), %d pushes through the second, want none failed and 5 (phones 1, 3, 5, 7, 9)",
			rep.Failed, rep.Errors, viaSecond.Load())
	}

	// The address's login budget is spent: a new phone signing in is
	// throttled, and the report counts the 429.
	rep, err = Run(ctx, Config{BaseURL: base, DB: path, Password: demo.Password, Phones: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Throttled(); got != 1 || rep.Errors["429 rate_limited"] != 1 {
		t.Errorf("a sixth login from one address: %d answers 429, errors %v, want one 429 rate_limited", got, rep.Errors)
	}
	cancel()
	<-done
}
