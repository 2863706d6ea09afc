package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"
)

// TestStmtCache checks that a statement first used inside a write
// transaction is prepared on the pool once the transaction is over (not
// inside it: the one write connection would deadlock), and that a cached
// statement runs inside the transaction it is bound to: its write goes
// away with a rollback.
func TestStmtCache(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testDB(t, "cache.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const ins = `INSERT INTO settings (key, value) VALUES (?, ?)`
	cached := func() bool {
		s.wstmts.mu.Lock()
		defer s.wstmts.mu.Unlock()
		_, ok := s.wstmts.stmts[ins]
		return ok
	}
	if cached() {
		t.Fatalf("%q cached before any use", ins)
	}
	errUndo := errors.New("undo")
	for i, key := range []string{"first", "second"} {
		err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if _, err := s.wstmts.exec(ctx, tx, ins, key, "v"); err != nil {
				return err
			}
			return errUndo
		})
		if !errors.Is(err, errUndo) {
			t.Fatalf("transaction %d: %v, want %v", i, err, errUndo)
		}
		if !cached() {
			t.Errorf("after transaction %d: %q not cached, want cached", i, ins)
		}
		var n int
		if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM settings WHERE key = ?`, key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("transaction %d (statement cached: %v) rolled back, yet %d rows of %q, want 0", i, i > 0, n, key)
		}
	}
}
