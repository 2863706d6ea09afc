package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit. SQLite has one writer, and with synchronous=FULL every
// commit is an fsync: a push that waits for the writer behind seven others
// waits for seven fsyncs and seven folds. So every write transaction of the
// store (Store.tx) is a job handed to one goroutine, the writer, which runs
// the jobs waiting at that moment together in one transaction, then one
// fold of the derived tables (fold.go) and one commit for the group. A job
// that fails gets its own error and changes nothing: the transaction is
// rolled back and the other jobs run again without it (see run). A group
// is bounded by mutations and by time, so a phone never waits long behind
// a big one.
//
// A job runs with its caller's context stripped of cancellation: an
// interrupted INSERT, UPDATE or DELETE makes SQLite roll back the whole
// transaction, so one phone hanging up must not undo the others' work.
// While a job is still queued, its caller's context can take it back.

// ErrClosed is returned for writes after Close.
var ErrClosed = errors.New("store closed")

const (
	groupMaxWeight = 1000                   // mutations (a push counts its mutations, other writes 1)
	groupMaxTime   = 150 * time.Millisecond // no job starts in a group older than this
	jobQueued      = 0
	jobRunning     = 1
	jobAbandoned   = 2 // its caller gave up while it was queued
	jobDropped     = 3 // abandoned, and its done channel closed
)

// writeJob is one call of Store.tx waiting for, or running in, a group.
type writeJob struct {
	ctx    context.Context
	fn     func(ctx context.Context, tx *sql.Tx) error
	weight int
	solo   bool // its own transaction, with its caller's context (bulk loads)
	// province is the one province the job writes in, allProvinces if it
	// may write in several, noProvince if it writes per-user rows only: on
	// PostgreSQL its transaction's locks (engine_pg_locks.go).
	province int64
	state    atomic.Int32
	err      error
	done     chan struct{}
}

type writer struct {
	// statistics (WriterStats)
	waiting atomic.Int64 // jobs handed to the writer and not finished
	groups  atomic.Int64 // transactions committed or failed
	njobs   atomic.Int64 // jobs run

	s      *Store
	log    *slog.Logger
	jobs   chan *writeJob
	quit   chan struct{}
	exited chan struct{}
	// gate is held by tests to make jobs queue up: the writer takes it
	// before gathering a group.
	gate sync.Mutex
}

func newWriter(s *Store, log *slog.Logger) *writer {
	w := &writer{s: s, log: log, jobs: make(chan *writeJob, 4096), quit: make(chan struct{}), exited: make(chan struct{})}
	go w.loop()
	return w
}

// stop lets the running group finish, fails the queued jobs with ErrClosed
// and waits for the writer to exit.
func (w *writer) stop() {
	select {
	case <-w.quit:
	default:
		close(w.quit)
	}
	<-w.exited
}

// do runs fn as a job and returns its error.
func (w *writer) do(ctx context.Context, weight int, solo bool, province int64, fn func(ctx context.Context, tx *sql.Tx) error) error {
	j := &writeJob{ctx: ctx, fn: fn, weight: max(weight, 1), solo: solo, province: province, done: make(chan struct{})}
	select {
	case <-w.quit:
		return ErrClosed
	default:
	}
	w.waiting.Add(1)
	defer w.waiting.Add(-1)
	select {
	case w.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.quit:
		return ErrClosed
	}
	select {
	case <-j.done:
		return j.err
	case <-ctx.Done():
		if j.state.CompareAndSwap(jobQueued, jobAbandoned) {
			return ctx.Err()
		}
	case <-w.exited:
		if j.state.CompareAndSwap(jobQueued, jobAbandoned) {
			return ErrClosed
		}
	}
	<-j.done // started: it finishes (bounded work) and its result stands
	return j.err
}

func (w *writer) loop() {
	defer close(w.exited)
	var queue []*writeJob
	for {
		if len(queue) == 0 {
			select {
			case j := <-w.jobs:
				queue = append(queue, j)
			case <-w.quit:
				w.failQueued(nil)
				return
			}
		}
		w.gate.Lock()
		w.gate.Unlock() //lint:ignore SA2001 a barrier: tests hold the gate to queue jobs up
	gather:
		for {
			select {
			case j := <-w.jobs:
				queue = append(queue, j)
			default:
				break gather
			}
		}
		queue = w.group(queue)
		select {
		case <-w.quit:
			w.failQueued(queue)
			return
		default:
		}
	}
}

// drop closes an abandoned job's done channel, once.
func drop(j *writeJob) {
	if j.state.CompareAndSwap(jobAbandoned, jobDropped) {
		close(j.done)
	}
}

// failQueued ends the queued jobs with ErrClosed.
func (w *writer) failQueued(queue []*writeJob) {
	for {
		select {
		case j := <-w.jobs:
			queue = append(queue, j)
			continue
		default:
		}
		break
	}
	for _, j := range queue {
		if j.state.CompareAndSwap(jobQueued, jobRunning) {
			j.err = ErrClosed
			close(j.done)
		} else {
			drop(j)
		}
	}
}

// group runs a prefix of the queue as one transaction and returns the rest.
func (w *writer) group(queue []*writeJob) []*writeJob {
	for len(queue) > 0 && queue[0].state.Load() >= jobAbandoned {
		drop(queue[0])
		queue = queue[1:]
	}
	if len(queue) == 0 {
		return nil
	}
	if queue[0].solo {
		j := queue[0]
		if j.state.CompareAndSwap(jobQueued, jobRunning) {
			j.err = w.alone(j, j.ctx)
			close(j.done)
		} else {
			drop(j)
		}
		return queue[1:]
	}
	n, weight := 0, 0
	for n < len(queue) {
		j := queue[n]
		if n > 0 && (j.solo || weight+j.weight > groupMaxWeight) {
			break
		}
		weight += j.weight
		n++
	}
	jobs := queue[:n:n]
	start := time.Now()
	exclusive := false
	for {
		ran, next, failed, begun, err := w.run(jobs, start, exclusive)
		switch {
		case errors.Is(err, errAllProvinces) && !exclusive:
			// The fold met another province's rows: all again, under the
			// lock of all provinces (engine_pg_locks.go).
			exclusive = true
			continue
		case failed != nil:
			// A job failed on its own: the transaction was rolled back
			// (without savepoints a job's half-done writes cannot be taken
			// out alone). It keeps its error; the others run again.
			w.njobs.Add(1)
			close(failed.done)
			jobs = slices.DeleteFunc(slices.Clone(jobs), func(j *writeJob) bool { return j == failed })
			continue
		case err != nil && !begun:
			// No transaction (the database stayed locked past
			// busy_timeout): every job gets the error, a temporary fault.
			for _, j := range ran {
				j.err = err
			}
		case err != nil:
			// The group as a whole failed (its fold or its commit): run
			// each job again alone, so one that made the fold fail fails
			// by itself.
			if len(ran) > 1 {
				w.log.Warn("write group failed; running its jobs one by one", "jobs", len(ran), "err", err)
			}
			for _, j := range ran {
				if len(ran) == 1 {
					j.err = err
				} else {
					j.err = w.alone(j, context.WithoutCancel(j.ctx))
				}
			}
		}
		w.groups.Add(1)
		w.njobs.Add(int64(len(ran)))
		w.s.ckpt.committed()
		for _, j := range ran {
			close(j.done)
		}
		// Jobs the group had no time for keep their place at the front.
		rest := append([]*writeJob(nil), jobs[next:]...)
		return append(rest, queue[n:]...)
	}
}

// run runs a prefix of jobs in one transaction and folds and commits once.
// It returns the jobs it ran and the index of the first job it did not
// reach (the group's time, counted from start, ran out). A job that returns
// an error ends the run at once: the transaction is rolled back and the job
// is returned as failed, with its error in j.err, for the group to run the
// others again. Jobs run in no savepoint: a savepoint journals every page
// it changes (in SQLite's sub-journal), which cost a third of the writer's
// CPU, while a job failing is rare (a mid gap, a refused admin write). The
// returned error is the group's.
func (w *writer) run(jobs []*writeJob, start time.Time, exclusive bool) (ran []*writeJob, next int, failed *writeJob, begun bool, err error) {
	s := w.s
	defer s.wstmts.fill(context.Background()) // after the transaction: it holds the one connection
	ctx := context.Background()
	locks := groupLocks(jobs)
	if exclusive {
		locks = writeLocks{}
	}
	tx, lease, err := s.beginWrite(ctx, locks)
	if err != nil {
		for _, j := range jobs {
			if j.state.Load() == jobRunning || j.state.CompareAndSwap(jobQueued, jobRunning) {
				ran = append(ran, j)
			} else {
				drop(j)
			}
		}
		return ran, len(jobs), nil, false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	f := s.beginFold()
	defer s.endFold()
	for next < len(jobs) {
		j := jobs[next]
		if next > 0 && time.Since(start) > groupMaxTime {
			break
		}
		next++
		// A job runs again when an earlier run of its group was rolled back.
		if j.state.Load() != jobRunning && !j.state.CompareAndSwap(jobQueued, jobRunning) {
			drop(j) // abandoned while queued
			continue
		}
		ran = append(ran, j)
		if j.err = j.fn(withLease(context.WithoutCancel(j.ctx), lease), tx); j.err != nil {
			return ran[:len(ran)-1], next, j, true, nil
		}
	}
	if err := f.apply(withLease(ctx, lease), tx); err != nil {
		return ran, next, nil, true, fmt.Errorf("fold: %w", err)
	}
	if err := lease.release(ctx); err != nil {
		return ran, next, nil, true, err
	}
	if err := tx.Commit(); err != nil {
		return ran, next, nil, true, fmt.Errorf("commit: %w", err)
	}
	return ran, next, nil, true, nil
}

// alone runs one job in its own transaction with ctx: under its own locks,
// or all provinces' when its fold needs them.
func (w *writer) alone(j *writeJob, ctx context.Context) error {
	if l := groupLocks([]*writeJob{j}); l.shared {
		err := w.aloneIn(j, ctx, l)
		if !errors.Is(err, errAllProvinces) {
			return err
		}
	}
	return w.aloneIn(j, ctx, writeLocks{})
}

func (w *writer) aloneIn(j *writeJob, ctx context.Context, locks writeLocks) error {
	s := w.s
	defer s.wstmts.fill(context.Background())
	tx, lease, err := s.beginWrite(ctx, locks)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	f := s.beginFold()
	defer s.endFold()
	ctx = withLease(ctx, lease)
	if err := j.fn(ctx, tx); err != nil {
		return err
	}
	if err := f.apply(ctx, tx); err != nil {
		return fmt.Errorf("fold: %w", err)
	}
	if err := lease.release(ctx); err != nil {
		return err
	}
	return tx.Commit()
}

// WriterStats describes the writer (group commit) for metrics.
type WriterStats struct {
	Waiting int64 // writes waiting for the writer or running now
	Groups  int64 // groups of writes run (a group whose write failed runs again without it)
	Jobs    int64 // writes run, failed ones included
}

// WriterStats reads the writer's statistics.
func (s *Store) WriterStats() WriterStats {
	return WriterStats{Waiting: s.w.waiting.Load(), Groups: s.w.groups.Load(), Jobs: s.w.njobs.Load()}
}
