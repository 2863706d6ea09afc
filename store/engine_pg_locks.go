package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
)

// Several writers on one PostgreSQL database (issue 17, item 2).
//
// Isolation. A write transaction takes advisory locks before its first
// statement, always in the same order (no deadlock between them): the write
// lock PGWriteLock, then the province locks in ascending id. Three kinds:
//
//   - A write that declares the one province it touches takes the write
//     lock shared and that province's lock (provinceTx): a push from
//     inside a province (a team member's, or a coordinator's whose area is
//     in one), and a read or ack of an announcement through the API (it
//     takes a seq, as the same receipt pushed does). Writes of different
//     provinces run in parallel, of one province one at a time, as on
//     SQLite.
//   - A write of per-user rows that no pull reads by seq, taking no seq,
//     takes the write lock shared and no province lock (userTx): a token
//     refresh (refresh_tokens, devices.last_seen_at), MarkDelivered (a
//     receipt's delivered_at, no new version), a push token, the device
//     activity flush. These are the morning storm's per-phone writes: they
//     run beside the writes of every province. Row locks keep two of them
//     apart where they meet: each is one conditional statement per row or
//     upserts in key order, except a refresh, which reads its session
//     before it writes it, so refreshes of one session take turns on the
//     session's lock (lockFamily, taken in the job).
//   - Every other write (admin and coordinator operations, imports,
//     announcements, rebuilds, migrations, and what revokes sessions or
//     rebinds devices: login, logout, unbinding, deactivation, a password
//     change) takes the write lock exclusive, which waits for every running
//     writer and holds all of them off: it is the "all provinces" lock. A
//     login stays there: it ends the device's other sessions, which a
//     refresh of theirs in another process could be extending meanwhile.
//
// A group of the writer (writer.go) holds the union of its jobs' locks
// (groupLocks): the shared lock and its jobs' provinces, none for a group
// of per-user writes, the exclusive lock as soon as one job needs it.
// Under the shared lock every seq comes from the lease (below), never from
// the seq row: a job of the shared lock that took one there would hold
// the row a lease of another group needs.
//
// Cursors. With parallel writers, seq order is no longer commit order: a
// push in province A may take seq 101 and commit after a push in B took 102
// and was pulled. So pulls read below a watermark instead of below the seq
// counter: a writer running under the shared lock takes its seqs in blocks
// (leases) committed at once on a connection of their own, and each lease
// is recorded in seq_leases with the writer's transaction id; the writer
// deletes its leases in the transaction that uses them, so they vanish when
// its rows appear. A pull's snapshot then shows, for every seq at or below
// the counter it sees, either the rows that used it, or the lease that
// holds it (its writer still running, or committed after the snapshot), or
// a lease whose writer aborted (pg_xact_status says so; such a seq is never
// used). The pull reads only rows with seq <= watermark: the smallest
// leased seq still possibly used, minus one, or the counter if there is
// none (pullWatermark). A seq taken inside a transaction (nextSeq's UPDATE,
// under the exclusive lock) holds the counter's row until commit, so the
// snapshot's counter is below it: the same rule covers it.
//
// The watermark is global, not per scope: it does not depend on which rows a
// scope reads (derived rows, receipts, a coordinator's several provinces, a
// member who moved), so nothing needs to know a scope's province. A slow
// writer holds every pull's cursor back while it runs (at most the writer's
// group time plus a commit), never longer: its rows then come with the next
// pull.

// PGProvinceLocks is the first key of the per-province advisory locks
// (pg_advisory_xact_lock(PGProvinceLocks, province area id)).
const PGProvinceLocks = 0x70726f76 // "prov"

// seqLeaseSize is how many seqs a lease takes: a push of 200 mutations takes
// a few, each one round trip and an asynchronous commit.
const seqLeaseSize = 128

// allProvinces and noProvince are the province of a job (writeJob) that is
// no one province: one that may write in several, so it takes the lock of
// all provinces, and one that writes only per-user rows no pull reads by
// seq, so it takes no province lock (Store.userTx).
const (
	allProvinces int64 = 0
	noProvince   int64 = -1
)

// provinceOf is the province the actor writes in, or allProvinces when its
// writes may reach several (an admin, a coordinator above the provinces).
func provinceOf(a Actor) int64 {
	if a.Role == RoleAdmin {
		return allProvinces
	}
	if ids := pathIDs(a.AreaPath); len(ids) > 0 {
		return ids[0]
	}
	return allProvinces
}

// writeLocks are the advisory locks of a write transaction on PostgreSQL.
// The zero value is the lock of all provinces (PGWriteLock exclusive).
type writeLocks struct {
	shared    bool    // PGWriteLock shared, and then
	provinces []int64 // these provinces' locks, ascending (none for per-user writes only)
}

// groupLocks is what a group of jobs locks: the union of their provinces
// under the shared lock, or all provinces when one of its jobs needs them.
func groupLocks(jobs []*writeJob) writeLocks {
	l := writeLocks{shared: true}
	for _, j := range jobs {
		switch j.province {
		case allProvinces:
			return writeLocks{}
		case noProvince:
		default:
			l.provinces = append(l.provinces, j.province)
		}
	}
	slices.Sort(l.provinces)
	l.provinces = slices.Compact(l.provinces)
	return l
}

// lockWrite takes tx's advisory locks on PostgreSQL: the write lock
// exclusive, or shared and then each province's lock in ascending order.
// It returns the seq lease the transaction's seqs come from under the
// shared lock (nil otherwise: nextSeq then updates the counter in the
// transaction, alone as it is).
func (s *Store) lockWrite(ctx context.Context, tx *sql.Tx, l writeLocks) (*seqLease, error) {
	if !l.shared {
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+strconv.Itoa(PGWriteLock)+`)`)
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock_shared(`+strconv.Itoa(PGWriteLock)+`)`); err != nil {
		return nil, err
	}
	for _, p := range l.provinces {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+strconv.Itoa(PGProvinceLocks)+`, CAST(? AS INTEGER))`, p); err != nil {
			return nil, err
		}
	}
	return &seqLease{s: s, tx: tx, provinces: l.provinces}, nil
}

// PGFamilyLocks is the first key of the per-session advisory locks a
// refresh takes beside other writers (the second is a hash of its refresh
// token family).
const PGFamilyLocks = 0x66616d69 // "fami"

// lockFamily takes the lock of a refresh token family (one session) when
// tx runs under the shared write lock: two refreshes of one session in two
// processes (a retry sent to another node, a thief) take turns, so each
// reads the family as the other left it (who spent, who revoked). A no-op
// on SQLite (one writer) and under the lock of all provinces (it holds
// every other writer off). It is taken in job order, after the group's
// other locks: two groups taking the locks of the same two sessions in
// opposite orders at once (two phones, each retrying on two nodes) would
// deadlock, and PostgreSQL would fail one of them.
func lockFamily(ctx context.Context, tx *sql.Tx, family string) error {
	if leaseOf(ctx) == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+strconv.Itoa(PGFamilyLocks)+`, CAST(? AS INTEGER))`,
		lockKey([]byte(family))); err != nil {
		return fmt.Errorf("lock session %s: %w", family, err)
	}
	return nil
}

// lockKey hashes bytes to the second key of an advisory lock (two values
// that share one only take turns).
func lockKey(v []byte) int64 {
	h := fnv.New32a()
	h.Write(v)
	return int64(int32(h.Sum32()))
}

// errAllProvinces ends a transaction under province locks whose fold met
// rows of another province: the writer runs its jobs again under the lock
// of all provinces.
var errAllProvinces = errors.New("the write reaches beyond its provinces")

// PGCitizenLocks is the first key of the per-citizen advisory locks the
// fold takes under province locks (the second is a hash of the ref).
const PGCitizenLocks = 0x63697469 // "citi"

// lockCitizens prepares the fold's citizen firsts under province locks.
// A citizen is counted once across provinces (fold_firsts.go): the fold
// reads the citizen's first and logs wherever they are, and moving a first
// changes the rollups and target progress of its place. So it locks the
// citizens (ascending, after the province locks: no deadlock), so two
// provinces' folds of one citizen take turns, and returns errAllProvinces
// when any log or first of them lies outside the transaction's provinces.
// A no-op on SQLite and under the exclusive lock.
func (l *seqLease) lockCitizens(ctx context.Context, refs []string, blobs [][]byte) error {
	if l == nil || len(refs) == 0 {
		return nil
	}
	keys := make([]string, len(blobs))
	for i, b := range blobs {
		keys[i] = strconv.FormatInt(lockKey(b), 10)
	}
	// The sorted subquery feeds the aggregate in order: the locks are
	// taken in ascending key order.
	if _, err := l.tx.ExecContext(ctx, `SELECT count(pg_advisory_xact_lock(`+strconv.Itoa(PGCitizenLocks)+`, k))
		FROM (SELECT CAST(k AS INTEGER) AS k FROM unnest(string_to_array(?, ',')) k ORDER BY 1) s`, strings.Join(keys, ",")); err != nil {
		return fmt.Errorf("fold: citizen locks: %w", err)
	}
	// assistance_logs keeps the ref as hex text, citizen_firsts as bytes.
	args := make([]any, 2*len(refs))
	marks := make([]string, len(refs))
	for i, ref := range refs {
		args[i], args[len(refs)+i], marks[i] = ref, blobs[i], "?"
	}
	list := "(" + strings.Join(marks, ", ") + ")"
	rows, err := l.tx.QueryContext(ctx, `SELECT DISTINCT ar.path FROM (
			SELECT team_id FROM assistance_logs WHERE citizen_ref IN `+list+`
			UNION SELECT team_id FROM citizen_firsts WHERE citizen_ref IN `+list+`) x
		JOIN teams t ON t.id = x.team_id JOIN areas ar ON ar.id = t.area_id`, args...)
	if err != nil {
		return fmt.Errorf("fold: citizen provinces: %w", err)
	}
	var paths []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return fmt.Errorf("fold: citizen provinces: %w", err)
		}
		paths = append(paths, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("fold: citizen provinces: %w", err)
	}
	for _, p := range paths {
		ids := pathIDs(p)
		if len(ids) == 0 || !slices.Contains(l.provinces, ids[0]) {
			return errAllProvinces
		}
	}
	return nil
}

// seqLease hands out the seqs of one write transaction from leased blocks.
type seqLease struct {
	s        *Store
	tx       *sql.Tx
	xid      string // the transaction's id, once it leased
	next, hi int64  // the current block: next … hi
	// provinces are the provinces whose locks the transaction holds.
	provinces []int64
}

type leaseKey struct{}

// withLease gives the jobs of a transaction its lease (nextSeq and the push
// take their seqs from it).
func withLease(ctx context.Context, l *seqLease) context.Context {
	if l == nil {
		return ctx
	}
	return context.WithValue(ctx, leaseKey{}, l)
}

func leaseOf(ctx context.Context) *seqLease {
	l, _ := ctx.Value(leaseKey{}).(*seqLease)
	return l
}

// take returns the next seq of the lease, leasing a new block when the
// current one is spent.
func (l *seqLease) take(ctx context.Context) (int64, error) {
	if l.next == 0 || l.next > l.hi {
		if l.xid == "" {
			if err := l.tx.QueryRowContext(ctx, `SELECT CAST(pg_current_xact_id() AS TEXT)`).Scan(&l.xid); err != nil {
				return 0, fmt.Errorf("seq lease: %w", err)
			}
		}
		// One statement, committed at once beside the transaction: the
		// counter moves past the block, the block is recorded, and the
		// leases of writers that aborted are swept.
		err := l.s.leases.QueryRowContext(ctx, `WITH swept AS (
				DELETE FROM seq_leases WHERE pg_xact_status(xid) = 'aborted'),
			r AS (UPDATE seq SET value = value + ?1 WHERE id = 1 RETURNING value)
			INSERT INTO seq_leases (xid, lo, hi) SELECT CAST(?2 AS xid8), r.value - ?1 + 1, r.value FROM r
			RETURNING lo, hi`, int64(seqLeaseSize), l.xid).Scan(&l.next, &l.hi)
		if err != nil {
			return 0, fmt.Errorf("seq lease: %w", err)
		}
	}
	v := l.next
	l.next++
	return v, nil
}

// release deletes the transaction's leases in it, just before it commits:
// they vanish from every snapshot that shows its rows.
func (l *seqLease) release(ctx context.Context) error {
	if l == nil || l.xid == "" {
		return nil
	}
	if _, err := l.tx.ExecContext(ctx, `DELETE FROM seq_leases WHERE xid = CAST(? AS xid8)`, l.xid); err != nil {
		return fmt.Errorf("seq lease: %w", err)
	}
	return nil
}

// pullWatermark is the highest seq a pull may read up to in tx, a snapshot
// whose counter is snap: below every lease still possibly in use. On SQLite
// (one writer, seq order is commit order) it is snap.
func (s *Store) pullWatermark(ctx context.Context, tx *sql.Tx, snap int64) (int64, error) {
	if !s.pg {
		return snap, nil
	}
	var lo sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(lo) FROM seq_leases WHERE pg_xact_status(xid) <> 'aborted'`).Scan(&lo); err != nil {
		return 0, fmt.Errorf("pull: %w", err)
	}
	if lo.Valid && lo.Int64-1 < snap {
		return lo.Int64 - 1, nil
	}
	return snap, nil
}

// pgLeasesSQL creates the lease table (no migration: it holds only what
// running transactions use, and is no part of SQLite's schema). Unlogged: a
// crash ends every transaction that held a lease, and the table with them.
const pgLeasesSQL = `CREATE UNLOGGED TABLE IF NOT EXISTS seq_leases (
	xid xid8   NOT NULL,
	lo  BIGINT NOT NULL,
	hi  BIGINT NOT NULL)`
