package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"toso/phone"
)

// recorder collects latencies per endpoint and errors by code.
type recorder struct {
	mu     sync.Mutex
	lat    map[string][]time.Duration
	errs   map[string]int
	reqs   atomic.Int64
	muts   atomic.Int64
	rows   atomic.Int64 // changes pulled
	status map[string]int
}

func newRecorder() *recorder {
	return &recorder{lat: map[string][]time.Duration{}, errs: map[string]int{}, status: map[string]int{}}
}

func (r *recorder) requests() int64   { return r.reqs.Load() }
func (r *recorder) mutations(n int64) { r.muts.Add(n) }
func (r *recorder) pulled(n int64)    { r.rows.Add(n) }

func (r *recorder) observe(endpoint string, d time.Duration, status int) {
	r.reqs.Add(1)
	r.mu.Lock()
	r.lat[endpoint] = append(r.lat[endpoint], d)
	if status/100 != 2 {
		r.status[endpoint+" "+strconv.Itoa(status)]++
	}
	r.mu.Unlock()
}

// fail counts a phone's failure by the API's error code, or its kind.
func (r *recorder) fail(err error) {
	code := "other: " + err.Error()
	var ae *phone.APIError
	switch {
	case errors.As(err, &ae):
		code = strconv.Itoa(ae.Status) + " " + ae.Code
	case errors.Is(err, context.DeadlineExceeded):
		code = "timeout"
	case strings.Contains(err.Error(), "connection"):
		code = "transport: " + err.Error()
	}
	if len(code) > 120 {
		code = code[:120]
	}
	r.mu.Lock()
	r.errs[code]++
	r.mu.Unlock()
}

// timing measures every request by endpoint (the last path element).
type timing struct {
	next http.RoundTripper
	rec  *recorder
}

func (t *timing) RoundTrip(req *http.Request) (*http.Response, error) {
	ep := req.URL.Path[strings.LastIndexByte(req.URL.Path, '/')+1:]
	t0 := time.Now()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.rec.observe(ep, time.Since(t0), 0)
		return nil, err
	}
	// The latency includes reading the body, as the phone waits for it.
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.rec.observe(ep, time.Since(t0), resp.StatusCode)
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	return resp, err
}

// Report is what a run measured.
type Report struct {
	Elapsed        time.Duration
	Phones, Failed int
	SignedIn       bool // phones refreshed a token instead of signing in
	Requests       int64
	Mutations      int64
	Pulled         int64 // changes pulled, all phones
	Endpoints      []Endpoint
	Errors         map[string]int // failed phones by error code
	Statuses       map[string]int // non-2xx answers by endpoint and status
	PeakRSS        int64
	PeakSource     string
}

// Endpoint is the latency profile of one endpoint.
type Endpoint struct {
	Name               string
	Count              int
	P50, P95, P99, Max time.Duration
}

func (r *recorder) report(elapsed time.Duration, phones, failed int, peak int64, src string) *Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &Report{Elapsed: elapsed, Phones: phones, Failed: failed, Requests: r.reqs.Load(), Mutations: r.muts.Load(), Pulled: r.rows.Load(),
		Errors: r.errs, Statuses: r.status, PeakRSS: peak, PeakSource: src}
	for _, name := range []string{"login", "push", "pull", "refresh"} {
		ds := r.lat[name]
		if len(ds) == 0 {
			continue
		}
		slices.Sort(ds)
		q := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
		rep.Endpoints = append(rep.Endpoints, Endpoint{name, len(ds), q(0.50), q(0.95), q(0.99), ds[len(ds)-1]})
	}
	return rep
}

// Print writes the report as text.
func (rep *Report) Print(w io.Writer) {
	s := rep.Elapsed.Seconds()
	mode := "login (password) first"
	if rep.SignedIn {
		mode = "signed in (refresh token) first"
	}
	fmt.Fprintf(w, "phones %d (%d failed), %s, in %s: %.1f phones/s, %.1f requests/s, %.1f mutations/s\n",
		rep.Phones, rep.Failed, mode, rep.Elapsed.Round(time.Millisecond), float64(rep.Phones)/s, float64(rep.Requests)/s, float64(rep.Mutations)/s)
	fmt.Fprintf(w, "changes pulled: %d (%.1f a phone)\n", rep.Pulled, float64(rep.Pulled)/float64(max(rep.Phones, 1)))
	fmt.Fprintf(w, "%-8s %8s %9s %9s %9s %9s\n", "endpoint", "count", "p50", "p95", "p99", "max")
	for _, e := range rep.Endpoints {
		fmt.Fprintf(w, "%-8s %8d %9s %9s %9s %9s\n", e.Name, e.Count, ms(e.P50), ms(e.P95), ms(e.P99), ms(e.Max))
	}
	fmt.Fprintf(w, "server peak memory: %s (%s)\n", mib(rep.PeakRSS), rep.PeakSource)
	fmt.Fprintf(w, "throttled (429 answers): %d\n", rep.Throttled())
	if len(rep.Statuses) == 0 && len(rep.Errors) == 0 {
		fmt.Fprintln(w, "errors: none")
	}
	for _, m := range []map[string]int{rep.Statuses, rep.Errors} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "error %s: %d\n", k, m[k])
		}
	}
}

// Throttled counts the 429 answers of every endpoint.
func (rep *Report) Throttled() int {
	n := 0
	for k, v := range rep.Statuses {
		if strings.HasSuffix(k, " 429") {
			n += v
		}
	}
	return n
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + "ms"
}

// memWatch follows the server's resident memory: VmHWM from /proc when the
// pid is known, else the peak of process_resident_memory_bytes in /metrics.
type memWatch struct {
	base   string
	pid    int
	source string
	max    atomic.Int64
}

func newMemWatch(base string, pid int) *memWatch {
	m := &memWatch{base: base, pid: pid, source: "peak of process_resident_memory_bytes sampled every 500 ms"}
	if pid > 0 {
		m.source = "VmHWM of pid " + strconv.Itoa(pid)
	}
	return m
}

func (m *memWatch) peak() int64 { return m.max.Load() }

func (m *memWatch) run(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		m.sample()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *memWatch) final() { m.sample() }

func (m *memWatch) sample() {
	var v int64
	if m.pid > 0 {
		v = vmHWM(m.pid)
	} else {
		v = metricRSS(m.base)
	}
	for {
		cur := m.max.Load()
		if v <= cur || m.max.CompareAndSwap(cur, v) {
			return
		}
	}
}

func vmHWM(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func metricRSS(base string) int64 {
	resp, err := http.Get(base) // the full /metrics URL
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "process_resident_memory_bytes "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return int64(f)
		}
	}
	return 0
}
