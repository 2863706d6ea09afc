package phone

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
)

// Faults are the probabilities (0..1) of each network fault a
// FaultyTransport injects.
type Faults struct {
	DropRequest  float64 // the request never reaches the server
	DropResponse float64 // the server handles it, the answer is lost
	Duplicate    float64 // the request arrives twice
	Replay       float64 // an earlier request arrives again (reordering)
	CutResponse  float64 // the answer is cut short mid-body
}

// ErrInjected is the error of an injected fault.
var ErrInjected = errors.New("injected network fault")

// FaultyTransport wraps a RoundTripper and injects faults decided by a
// seeded random source, so a failing run can be replayed from its seed.
type FaultyTransport struct {
	Next   http.RoundTripper
	Faults Faults

	mu      sync.Mutex
	rng     *rand.Rand
	off     bool
	history []*http.Request // earlier requests with replayable bodies
	Counts  map[string]int  // faults injected, by kind
}

// NewFaultyTransport returns a transport whose faults follow seed.
func NewFaultyTransport(next http.RoundTripper, f Faults, seed uint64) *FaultyTransport {
	if next == nil {
		next = http.DefaultTransport
	}
	return &FaultyTransport{Next: next, Faults: f, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), Counts: map[string]int{}}
}

// Stop ends fault injection: the network is healthy from now on.
func (t *FaultyTransport) Stop() {
	t.mu.Lock()
	t.off = true
	t.mu.Unlock()
}

func (t *FaultyTransport) roll(p float64, kind string) bool {
	if t.off || p <= 0 || t.rng.Float64() >= p {
		return false
	}
	t.Counts[kind]++
	return true
}

// RoundTrip sends req, perhaps with faults.
func (t *FaultyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	clone := func() *http.Request {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		return r
	}
	t.mu.Lock()
	dropReq := t.roll(t.Faults.DropRequest, "drop_request")
	dup := t.roll(t.Faults.Duplicate, "duplicate")
	var replay *http.Request
	if len(t.history) > 0 && t.roll(t.Faults.Replay, "replay") {
		replay = t.history[t.rng.IntN(len(t.history))]
	}
	dropResp := t.roll(t.Faults.DropResponse, "drop_response")
	cut := t.roll(t.Faults.CutResponse, "cut_response")
	if len(t.history) < 64 {
		t.history = append(t.history, clone())
	} else {
		t.history[t.rng.IntN(len(t.history))] = clone()
	}
	t.mu.Unlock()

	if replay != nil {
		r := replay.Clone(req.Context())
		b, _ := io.ReadAll(replay.Body)
		replay.Body = io.NopCloser(bytes.NewReader(b))
		r.Body = io.NopCloser(bytes.NewReader(b))
		if resp, err := t.Next.RoundTrip(r); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	if dropReq {
		return nil, ErrInjected
	}
	if dup {
		if resp, err := t.Next.RoundTrip(clone()); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	resp, err := t.Next.RoundTrip(clone())
	if err != nil {
		return nil, err
	}
	if dropResp {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, ErrInjected
	}
	if cut {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b[:len(b)/2]), errReader{}))
	}
	return resp, nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, ErrInjected }
