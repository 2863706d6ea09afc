package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCacheMax bounds a pool's cache: the hot queries are constant strings
// (or built from the sync registry), a few dozen in all; past the bound a
// query is simply prepared each time, as without the cache.
const stmtCacheMax = 512

// stmtCache keeps the hot statements of one pool prepared. modernc's
// driver prepares (parses and plans) every Exec and Query made without a
// prepared statement, which was a quarter of the server's CPU in the sync
// storm, most of it inside the one write transaction everybody queues for.
// A *sql.Stmt prepared on the pool is bound to a transaction with
// tx.StmtContext, which reuses the statement already prepared on the
// transaction's connection (database/sql keeps one per connection); since
// modernc v1.61.1 a reused statement is not planned again (FACTS.md).
//
// A statement cannot be prepared on the pool from inside a transaction: on
// the write pool (one connection) that would wait forever for the
// connection the transaction holds, and on the read pool it could wait for
// connections held by other transactions doing the same. So a miss inside a
// transaction prepares the query for that transaction only and marks it;
// fill prepares the marked queries on the pool once the transaction is over.
//
// One query is one SQLite statement per connection: a query must not run
// again in a transaction while rows of its previous run are still open
// there (read them all, or close them, first).
type stmtCache struct {
	db *sql.DB

	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	wanted map[string]bool
	// inTx keeps the statements a miss prepared inside a transaction,
	// for the rest of that transaction (a long one, a rebuild, runs the
	// same few statements thousands of times); dropped by fill. Only on
	// the write pool, whose one transaction at a time always ends in fill.
	inTx map[*sql.Tx]map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
}

// newWriteStmtCache is the write pool's cache: it also keeps what a
// transaction prepared until the transaction ends.
func newWriteStmtCache(db *sql.DB) *stmtCache {
	c := newStmtCache(db)
	c.inTx = map[*sql.Tx]map[string]*sql.Stmt{}
	return c
}

// stmt returns q prepared for tx; the statement is closed with tx.
func (c *stmtCache) stmt(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, ok := c.stmts[q]
	if !ok {
		if local, ok := c.inTx[tx][q]; ok {
			c.mu.Unlock()
			return local, nil
		}
		if len(c.stmts)+len(c.wanted) < stmtCacheMax {
			c.wanted[q] = true
		}
	}
	c.mu.Unlock()
	if ok {
		return tx.StmtContext(ctx, st), nil
	}
	local, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if c.inTx != nil {
		c.mu.Lock()
		if c.inTx[tx] == nil {
			c.inTx[tx] = map[string]*sql.Stmt{}
		}
		c.inTx[tx][q] = local
		c.mu.Unlock()
	}
	return local, nil
}

// exec runs q in tx through the cache.
func (c *stmtCache) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	st, err := c.stmt(ctx, tx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// query runs q in tx through the cache.
func (c *stmtCache) query(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, tx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow runs q in tx through the cache.
func (c *stmtCache) queryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, tx, q)
	if err != nil {
		return tx.QueryRowContext(ctx, q, args...) // reports the same error through Scan
	}
	return st.QueryRowContext(ctx, args...)
}

// queryRowPool runs q on the pool, outside any transaction: the caller must
// not hold a transaction of this pool (a miss prepares on the pool at once).
func (c *stmtCache) queryRowPool(ctx context.Context, q string, args ...any) *sql.Row {
	c.mu.Lock()
	st, ok := c.stmts[q]
	c.mu.Unlock()
	if !ok {
		var err error
		if st, err = c.db.PrepareContext(ctx, q); err != nil {
			return c.db.QueryRowContext(ctx, q, args...) // reports the same error through Scan
		}
		if st = c.keep(q, st); st == nil {
			return c.db.QueryRowContext(ctx, q, args...)
		}
	}
	return st.QueryRowContext(ctx, args...)
}

// keep caches st for q and returns the cached statement (another goroutine
// may have been first), or nil when the cache is full (st is closed).
func (c *stmtCache) keep(q string, st *sql.Stmt) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.stmts[q]; ok {
		st.Close()
		return old
	}
	if len(c.stmts) >= stmtCacheMax {
		st.Close()
		return nil
	}
	c.stmts[q] = st
	return st
}

// fill prepares on the pool the queries marked inside transactions. Call
// it once the caller's transaction is over. A failure (a cancelled
// context) leaves the query to be marked again by its next use.
func (c *stmtCache) fill(ctx context.Context) {
	c.mu.Lock()
	clear(c.inTx) // their transactions are over: database/sql closed the statements
	if len(c.wanted) == 0 {
		c.mu.Unlock()
		return
	}
	qs := make([]string, 0, len(c.wanted))
	for q := range c.wanted {
		qs = append(qs, q)
	}
	clear(c.wanted)
	c.mu.Unlock()
	for _, q := range qs {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.keep(q, st)
	}
}

// close closes the cached statements (before the pool).
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}
