package notifications

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"firebase.google.com/go/v4/messaging"
	"github.com/prometheus/client_golang/prometheus"

	"toso/store"
)

// MaxTokensPerCall is FCM's limit for one SendEachForMulticast.
const MaxTokensPerCall = 500

// Config tunes the worker; the zero value gives the defaults.
type Config struct {
	BatchSize    int           // tokens per call, ≤ 500; default 500
	Concurrency  int           // calls in flight at once; default 4 (the SDK sends 50 requests at a time per call)
	SendTimeout  time.Duration // deadline of every send call; default 20 s (the SDK alone may retry for minutes)
	Lease        time.Duration // how long claimed rows are ours; default SendTimeout + 1 min
	MaxAttempts  int           // transient failures before giving up; default 8
	BaseBackoff  time.Duration // first retry delay after a transient failure; default 15 s
	MaxBackoff   time.Duration // cap of the delay; default 1 h
	QuotaBackoff time.Duration // minimum wait after a 429; default 60 s
	PollInterval time.Duration // how often an idle worker looks for due rows; default 1 s
	PruneEvery   time.Duration // how often dead tokens are pruned; default 1 h
	Now          func() time.Time
	Jitter       func() float64 // in [0, 1); default math/rand/v2
}

// Worker drains the push outbox. There is one per process: it claims due
// rows with a lease, sends them (a few calls at a time), and records each
// call's results in one write transaction. Stopping it (cancelling Run's
// context) lets the calls in flight finish and be recorded; rows claimed
// but not yet sent go back to the queue. Rows of a crashed worker are due again when their
// lease ends, so nothing is lost; a crash between FCM accepting a push and
// the record committing can repeat that push once (the collapse key makes
// the phone show it once).
type Worker struct {
	store   *store.Store
	sender  Sender // nil: push is off, only scheduled publishing and pruning run
	log     *slog.Logger
	cfg     Config
	metrics *workerMetrics

	mu          sync.Mutex // guards pausedUntil: concurrent calls may pause the sender
	pausedUntil time.Time
	lastPrune   time.Time
}

// NewWorker builds the worker. sender may be nil (push off).
func NewWorker(st *store.Store, sender Sender, log *slog.Logger, cfg Config) *Worker {
	if cfg.BatchSize <= 0 || cfg.BatchSize > MaxTokensPerCall {
		cfg.BatchSize = MaxTokensPerCall
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 20 * time.Second
	}
	if cfg.Lease <= cfg.SendTimeout {
		cfg.Lease = cfg.SendTimeout + time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 15 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.QuotaBackoff <= 0 {
		cfg.QuotaBackoff = 60 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.PruneEvery <= 0 {
		cfg.PruneEvery = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	return &Worker{store: st, sender: sender, log: log, cfg: cfg, metrics: newWorkerMetrics()}
}

// Collectors are the worker's Prometheus metrics, for the server's registry.
func (w *Worker) Collectors() []prometheus.Collector { return w.metrics.collectors() }

// PausedUntil is when a quota pause ends (zero or past: not paused).
func (w *Worker) PausedUntil() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pausedUntil
}

// Run works until ctx is cancelled and returns nil then. Store errors are
// logged and retried at the next poll.
func (w *Worker) Run(ctx context.Context) error {
	for {
		n, err := w.Step(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.Error("push worker", "err", err)
		}
		if ctx.Err() != nil {
			return nil
		}
		if n > 0 && err == nil {
			continue // more may be due: no sleep while draining
		}
		wait := w.cfg.PollInterval
		if d := w.PausedUntil().Sub(w.cfg.Now()); d > wait {
			wait = d
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Step is one round: publish scheduled announcements that are due, prune
// dead tokens when it is time, then claim up to BatchSize × Concurrency
// due rows, send them in calls of at most BatchSize tokens, Concurrency
// calls at a time, and record each call's results. It returns how many
// rows it claimed.
func (w *Worker) Step(ctx context.Context) (int, error) {
	if _, err := w.store.PublishDue(ctx); err != nil {
		return 0, err
	}
	now := w.cfg.Now()
	if now.Sub(w.lastPrune) >= w.cfg.PruneEvery {
		n, err := w.store.PruneTokens(ctx)
		if err != nil {
			return 0, err
		}
		w.lastPrune = now
		w.metrics.pruned.Add(float64(n))
	}
	defer w.observeQueue(ctx)
	if w.sender == nil || w.paused(now) {
		return 0, nil
	}
	w.metrics.paused.Set(0)
	batches, err := w.store.ClaimPush(ctx, now, w.cfg.Lease, w.cfg.BatchSize*w.cfg.Concurrency)
	if err != nil {
		return 0, err
	}
	var (
		claimed  int
		sem      = make(chan struct{}, w.cfg.Concurrency)
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		released []store.PushBatch
	)
	for _, c := range chunks(batches, w.cfg.BatchSize) {
		claimed += len(c.Jobs)
		sem <- struct{}{} // a free call slot: decide as late as possible
		if ctx.Err() != nil || w.paused(w.cfg.Now()) {
			// Stopping or paused: give it back, due when the pause ends.
			<-sem
			released = append(released, c)
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := w.send(ctx, c); err != nil {
				mu.Lock()
				firstErr = cmp.Or(firstErr, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(released) > 0 {
		if err := w.release(ctx, released); err != nil {
			return claimed, err
		}
	}
	return claimed, firstErr
}

// chunks splits each announcement's jobs into calls of at most n tokens.
func chunks(batches []store.PushBatch, n int) []store.PushBatch {
	var out []store.PushBatch
	for _, b := range batches {
		for len(b.Jobs) > 0 {
			c := b
			c.Jobs = b.Jobs[:min(n, len(b.Jobs))]
			b.Jobs = b.Jobs[len(c.Jobs):]
			out = append(out, c)
		}
	}
	return out
}

// paused reports whether a quota pause is in force at now.
func (w *Worker) paused(now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return now.Before(w.pausedUntil)
}

// pause holds every send until until (if later than the current pause).
func (w *Worker) pause(until time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if until.After(w.pausedUntil) {
		w.pausedUntil = until
		w.metrics.paused.Set(1)
		w.log.Warn("push quota exceeded: sender paused", "until", until)
	}
}

// send pushes one announcement to its claimed tokens and records the
// results. Neither the call nor the record is cut short by ctx: the call
// has its own deadline, and a send whose result is not recorded would be
// sent again.
func (w *Worker) send(ctx context.Context, b store.PushBatch) error {
	tokens := make([]string, len(b.Jobs))
	for i, j := range b.Jobs {
		tokens[i] = j.Token
	}
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.SendTimeout)
	br, err := w.sender.SendEachForMulticast(sendCtx, Message(b, tokens, w.cfg.Now()))
	cancel()
	now := w.cfg.Now()
	results := make([]store.PushResult, len(b.Jobs))
	for i, j := range b.Jobs {
		var r *messaging.SendResponse
		if err == nil && br != nil && i < len(br.Responses) {
			r = br.Responses[i]
		}
		switch {
		case r != nil && r.Success:
			results[i] = store.PushResult{ID: j.ID, Attempts: j.Attempts, State: store.PushSent, MessageID: truncate(r.MessageID, 200)}
			w.metrics.sent.Inc()
			continue
		case r != nil && r.Error != nil:
			results[i] = w.failure(b, j, r.Error, now)
		case err != nil:
			results[i] = w.failure(b, j, err, now)
		default:
			results[i] = w.failure(b, j, fmt.Errorf("no result for token %d of %d", i, len(b.Jobs)), now)
		}
	}
	if err != nil {
		w.log.Warn("push call failed", "announcement_id", b.AnnouncementID, "tokens", len(tokens), "err", err)
	}
	invalidated, rerr := w.store.RecordPush(context.WithoutCancel(ctx), now, results)
	if rerr != nil {
		return fmt.Errorf("record push results: %w", rerr)
	}
	w.metrics.invalidated.Add(float64(invalidated))
	return nil
}

// failure turns one token's error into its outcome. It classifies err
// first, as the SDK returned it.
func (w *Worker) failure(b store.PushBatch, j store.PushJob, err error, now time.Time) store.PushResult {
	c := classify(err, now)
	w.metrics.failed.WithLabelValues(c.class).Inc()
	r := store.PushResult{ID: j.ID, Attempts: j.Attempts, Error: c.class, DeviceID: j.DeviceID, Token: j.Token}
	switch c.act {
	case actInvalidate:
		r.State, r.InvalidateToken = store.PushInvalid, true
		return r
	case actFail:
		r.State = store.PushFailed
		w.log.Warn("push refused", "announcement_id", b.AnnouncementID, "class", c.class, "err", err)
		return r
	case actQuota:
		r.Next, r.Uncounted = now.Add(max(c.retryAfter, w.cfg.QuotaBackoff)), true
		w.pause(r.Next)
	default:
		if j.Attempts >= w.cfg.MaxAttempts {
			r.State = store.PushGaveUp
			return r
		}
		r.Next = now.Add(w.backoff(j.Attempts))
	}
	r.State = store.PushPending
	if !r.Next.Before(b.ExpiresAt) {
		r.State = store.PushExpired
	}
	return r
}

// backoff is the delay before retry number attempts: exponential from
// BaseBackoff, capped, with "equal jitter" (half fixed, half random) so
// a burst of failures does not retry in lockstep.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.cfg.BaseBackoff << min(attempts-1, 30)
	if d <= 0 || d > w.cfg.MaxBackoff {
		d = w.cfg.MaxBackoff
	}
	return d/2 + time.Duration(w.cfg.Jitter()*float64(d/2))
}

// release puts claimed, unsent rows back in the queue, due when a pause
// ends (or now).
func (w *Worker) release(ctx context.Context, batches []store.PushBatch) error {
	next := w.cfg.Now()
	if until := w.PausedUntil(); until.After(next) {
		next = until
	}
	var results []store.PushResult
	for _, b := range batches {
		for _, j := range b.Jobs {
			results = append(results, store.PushResult{ID: j.ID, Attempts: j.Attempts, State: store.PushPending, Next: next, Uncounted: true})
		}
	}
	_, err := w.store.RecordPush(context.WithoutCancel(ctx), w.cfg.Now(), results)
	return err
}

func (w *Worker) observeQueue(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	now := w.cfg.Now()
	q, err := w.store.PushQueueStats(ctx, now)
	if err != nil {
		w.log.Warn("push queue stats", "err", err)
		return
	}
	w.metrics.depth.Set(float64(q.Depth))
	w.metrics.due.Set(float64(q.Due))
	age := 0.0
	if !q.OldestDue.IsZero() {
		age = now.Sub(q.OldestDue).Seconds()
	}
	w.metrics.oldestAge.Set(age)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
