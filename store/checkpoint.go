package store

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"
)

// Checkpoints off the writer's path. In WAL mode a commit appends pages to
// the log; a checkpoint copies them back into the database file. SQLite
// runs one inside the commit that crosses 1,000 log pages, so one push in
// every few waited for it: on a 1M-log province it was 14% of the writer's
// time (pwrite and fsync of the database file). The writer connection runs
// with wal_autocheckpoint=0, and this goroutine checkpoints on a connection
// of its own, PASSIVE (it never blocks the writer or a reader), at most
// every checkpointEvery after commits. The log is reused from its start
// once a checkpoint has copied all of it and no reader still needs it, as
// before; synchronous=FULL on this connection makes the copy durable before
// the log is reused. Once a second, not every 100 ms: the rollup pages that
// every group rewrites are copied once per checkpoint, so a tighter period
// copies the same pages over and over (the checkpointer was 10% of the
// server's CPU in the morning storm at 100 ms).

const checkpointEvery = time.Second

type checkpointer struct {
	once sync.Once
	db   *sql.DB
	log  *slog.Logger
	kick chan struct{}
	quit chan struct{}
	done chan struct{}
}

func newCheckpointer(db *sql.DB, log *slog.Logger) *checkpointer {
	c := &checkpointer{db: db, log: log, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

// committed tells the checkpointer that the log has grown.
func (c *checkpointer) committed() {
	if c == nil {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) loop() {
	defer close(c.done)
	for {
		select {
		case <-c.kick:
		case <-c.quit:
			return
		}
		c.checkpoint()
		select { // commits during the wait are folded into the next one
		case <-time.After(checkpointEvery):
		case <-c.quit:
			return
		}
	}
}

func (c *checkpointer) checkpoint() {
	if _, err := c.db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
		c.log.Warn("checkpoint failed", "err", err)
	}
}

// stop waits for a running checkpoint and stops; the last connection to
// close checkpoints what is left.
func (c *checkpointer) stop() error {
	if c == nil {
		return nil
	}
	var err error
	c.once.Do(func() {
		close(c.quit)
		<-c.done
		err = c.db.Close()
	})
	return err
}
