package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"toso/mobileapi"
	"toso/store"
)

// The server process of the crash test (crash_test.go): started, killed
// with SIGKILL and started again on the same database file, and the wire
// between it and the phones, which records every push result a phone
// received.

// crashChildEnv names the database a re-executed test binary serves.
const crashChildEnv = "TOSO_CRASH_CHILD_DB"

// TestCrashChild is not a test: it is the server process of TestCrash when
// the test binary runs itself (the default; -crash.bin runs the real toso
// binary instead). It serves the database in $TOSO_CRASH_CHILD_DB the way
// `toso serve` does, until SIGTERM or SIGKILL.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("the server process of TestCrash")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	// Fixed keys: tokens and citizen refs survive restarts (the real
	// binary keeps its keys in the key file beside the database).
	st, err := store.Open(ctx, path, store.Options{CitizenKey: testSecret + "-citizens"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := New(Config{Addr: "127.0.0.1:0", JWTSecret: testSecret, Limits: mobileapi.Limits{
		LoginPerIP: 1 << 30, LoginIPWindow: time.Second, RequestsPerSecond: 1e6, RequestBurst: 1 << 30,
	}}, st, log)
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Run(ctx, func(addr net.Addr) { log.Info("listening", "addr", addr.String(), "db", path) })
	if err != nil {
		t.Fatal(err)
	}
}

// crashServer runs the server process on one database file.
type crashServer struct {
	t       *testing.T
	bin     string // the toso binary, or "" for the test binary itself
	db      string
	cmd     *exec.Cmd
	done    chan error
	running bool // started and not yet seen to exit
	addr    atomic.Pointer[string]
	logs    *lockedBuffer // the last process's stderr
	keyFile string        // the real binary's on PostgreSQL
}

func (cs *crashServer) start() {
	cs.t.Helper()
	if cs.bin == "" {
		cs.cmd = exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v=false")
		cs.cmd.Env = append(os.Environ(), crashChildEnv+"="+cs.db)
	} else {
		cs.cmd = exec.Command(cs.bin, "serve", "-db", cs.db, "-addr", "127.0.0.1:0", "-push", "off",
			"-access-log=false", "-login-per-ip", "1000000", "-metrics-addr", "off")
		cs.cmd.Env = append(os.Environ(), "TOSO_JWT_SECRET=", "TOSO_CITIZEN_KEY=")
		if store.IsPostgres(cs.db) { // no folder beside a URL: the keys in a file of the test's
			if cs.keyFile == "" {
				cs.keyFile = filepath.Join(cs.t.TempDir(), "toso.keys")
			}
			cs.cmd.Args = append(cs.cmd.Args, "-key-file", cs.keyFile)
		}
	}
	stderr, err := cs.cmd.StderrPipe()
	if err != nil {
		cs.t.Fatal(err)
	}
	if err := cs.cmd.Start(); err != nil {
		cs.t.Fatal(err)
	}
	cs.logs = &lockedBuffer{}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Bytes()
			cs.logs.Write(append(line, '\n'))
			var m struct{ Msg, Addr string }
			if json.Unmarshal(line, &m) == nil && m.Msg == "listening" && m.Addr != "" {
				addrc <- m.Addr
			}
		}
	}()
	cs.done = make(chan error, 1)
	cs.running = true
	go func() { cs.done <- cs.cmd.Wait() }()
	select {
	case a := <-addrc:
		cs.addr.Store(&a)
	case err := <-cs.done:
		cs.running = false
		cs.t.Fatalf("server exited before listening: %v\n%s", err, cs.logs.String())
	case <-time.After(time.Minute):
		cs.kill()
		cs.t.Fatalf("server did not start within a minute:\n%s", cs.logs.String())
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (cs *crashServer) kill() {
	cs.cmd.Process.Signal(syscall.SIGKILL)
	<-cs.done
	cs.running = false
}

// stop asks for a graceful shutdown (SIGTERM) and returns how it exited.
func (cs *crashServer) stop() error {
	cs.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-cs.done:
		cs.running = false
		return err
	case <-time.After(time.Minute):
		cs.kill()
		return errors.New("did not stop within a minute of SIGTERM")
	}
}

// dial connects to wherever the server listens now.
func (cs *crashServer) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, *cs.addr.Load())
}

// buildToso builds the toso binary into dir.
func buildToso(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "toso")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = ".." // the module root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// crashWire is the phones' network: it dials the current server process,
// holds requests while the server restarts (gate), and records every push
// result a phone received and every pushed mid whose answer was lost.
type crashWire struct {
	next     http.RoundTripper
	gate     sync.RWMutex
	inflight atomic.Int64 // pushes on the wire

	mu    sync.Mutex
	acked map[string]map[int64]pushResult // device → mid → result received
	lost  map[string]map[int64]bool       // device → mids sent without an answer (yet)
}

func (w *crashWire) RoundTrip(req *http.Request) (*http.Response, error) {
	w.gate.RLock()
	defer w.gate.RUnlock()
	if req.URL.Path != "/v1/sync/push" {
		return w.next.RoundTrip(req)
	}
	var sent struct {
		DeviceID  string `json:"device_id"`
		Mutations []struct {
			Mid int64 `json:"mid"`
		} `json:"mutations"`
	}
	if req.GetBody != nil {
		if b, err := req.GetBody(); err == nil {
			json.NewDecoder(b).Decode(&sent)
		}
	}
	w.inflight.Add(1)
	resp, err := w.next.RoundTrip(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	w.inflight.Add(-1)
	w.mu.Lock()
	defer w.mu.Unlock()
	var got pushResp
	if err == nil && resp.StatusCode == http.StatusOK && json.Unmarshal(body, &got) == nil {
		if w.acked[sent.DeviceID] == nil {
			w.acked[sent.DeviceID] = map[int64]pushResult{}
		}
		for _, r := range got.Results {
			w.acked[sent.DeviceID][r.Mid] = r
			delete(w.lost[sent.DeviceID], r.Mid)
		}
		return resp, nil
	}
	if err != nil { // the answer never came: the server may or may not have applied these
		if w.lost[sent.DeviceID] == nil {
			w.lost[sent.DeviceID] = map[int64]bool{}
		}
		for _, m := range sent.Mutations {
			if _, ok := w.acked[sent.DeviceID][m.Mid]; !ok {
				w.lost[sent.DeviceID][m.Mid] = true
			}
		}
	}
	return resp, err
}

// snapshot copies what the wire saw.
func (w *crashWire) snapshot() (acked map[string]map[int64]pushResult, lost map[string][]int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	acked, lost = map[string]map[int64]pushResult{}, map[string][]int64{}
	for d, m := range w.acked {
		acked[d] = map[int64]pushResult{}
		for mid, r := range m {
			acked[d][mid] = r
		}
	}
	for d, m := range w.lost {
		for mid := range m {
			lost[d] = append(lost[d], mid)
		}
	}
	return acked, lost
}

func (w *crashWire) String() string {
	a, l := w.snapshot()
	n, m := 0, 0
	for _, x := range a {
		n += len(x)
	}
	for _, x := range l {
		m += len(x)
	}
	return fmt.Sprintf("%d results received, %d mids unanswered", n, m)
}
