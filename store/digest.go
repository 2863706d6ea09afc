package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strconv"
	"sync"

	"modernc.org/sqlite"
)

// Team digests. A team scope's digest (SYNC.md) is a sum of per-row terms,
// so it can be kept up to date instead of recomputed: the fold (fold.go)
// adds a row's term to team_digests when it becomes live and subtracts it
// when it changes or goes, in Go (the sum is modulo 2^64; SQLite's own +
// turns an overflowing integer into a float). An area scope's digest is
// then the sum over its teams, read from one row per team instead of every
// row of a province.
//
// The SQL functions below (sync_term, sync_add, sync_sub, sync_sum) are
// what the triggers of migration 0007 used; 0010 dropped those triggers.
// They stay registered because 0007's backfill calls them when a new
// database is created; no trigger or statement of the running store does.

var registerDigestFuncs = sync.OnceValue(func() error {
	for name, f := range map[string]func(args []driver.Value) (driver.Value, error){
		"sync_term": func(args []driver.Value) (driver.Value, error) {
			v, ok := args[2].(int64)
			if !ok {
				return nil, fmt.Errorf("sync_term: version %T is not an integer", args[2])
			}
			return int64(DigestTerm(textOf(args[0]), textOf(args[1]), v)), nil
		},
		"sync_add": func(args []driver.Value) (driver.Value, error) {
			a, b := intOf(args[0]), intOf(args[1])
			return int64(uint64(a) + uint64(b)), nil
		},
		"sync_sub": func(args []driver.Value) (driver.Value, error) {
			a, b := intOf(args[0]), intOf(args[1])
			return int64(uint64(a) - uint64(b)), nil
		},
	} {
		nargs := int32(2)
		if name == "sync_term" {
			nargs = 3
		}
		err := sqlite.RegisterDeterministicScalarFunction(name, nargs,
			func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) { return f(args) })
		if err != nil {
			return fmt.Errorf("register %s: %w", name, err)
		}
	}
	return sqlite.RegisterFunction("sync_sum", &sqlite.FunctionImpl{NArgs: 1, Deterministic: true,
		MakeAggregate: func(sqlite.FunctionContext) (sqlite.AggregateFunction, error) { return &sumAgg{}, nil }})
})

func textOf(v driver.Value) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(v)
}

func intOf(v driver.Value) int64 {
	n, _ := v.(int64)
	return n
}

// sumAgg is sync_sum: the sum of terms modulo 2^64 (the backfill).
type sumAgg struct{ sum uint64 }

func (a *sumAgg) Step(_ *sqlite.FunctionContext, args []driver.Value) error {
	a.sum += uint64(intOf(args[0]))
	return nil
}
func (a *sumAgg) WindowInverse(_ *sqlite.FunctionContext, args []driver.Value) error {
	a.sum -= uint64(intOf(args[0]))
	return nil
}
func (a *sumAgg) WindowValue(*sqlite.FunctionContext) (driver.Value, error) { return int64(a.sum), nil }
func (a *sumAgg) Final(*sqlite.FunctionContext)                             {}

// teamDigest sums the kept digests of the scope's teams: one team, or
// every team under an area.
func teamDigest(ctx context.Context, tx *sql.Tx, sc scope) (*Digest, error) {
	var rows *sql.Rows
	var err error
	if sc.area != "" {
		lo, hi := subtreeRange(sc.area)
		rows, err = tx.QueryContext(ctx, `SELECT d.rows, d.hash FROM team_digests d JOIN teams t ON t.id = d.team_id
			JOIN areas ar ON ar.id = t.area_id WHERE ar.path >= ? AND ar.path < ?`, lo, hi)
	} else {
		rows, err = tx.QueryContext(ctx, `SELECT rows, hash FROM team_digests WHERE team_id = ?`, sc.team)
	}
	if err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}
	defer rows.Close()
	var d Digest
	var sum uint64
	for rows.Next() {
		var n, h int64
		if err := rows.Scan(&n, &h); err != nil {
			return nil, fmt.Errorf("digest: %w", err)
		}
		d.Count += n
		sum += uint64(h)
	}
	d.Hash = fmt.Sprintf("%016x", sum)
	return &d, rows.Err()
}
