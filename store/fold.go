package store

import (
	"context"
	"database/sql"
	"strconv"
	"time"
)

// The fold keeps the derived tables (area and team rollups, the weekly
// trend, the teams' running totals and last active days, citizen firsts,
// target progress and the team digests) exact in the same transaction as
// every write, without a trigger. A write records which rows it changes
// (touch, before it changes them: the old state is read then); just before
// commit the fold reads their new state, computes what each row added
// before and adds now (fold_rules.go), sums the differences, and writes
// them with one set-wise statement per derived table (fold_tables.go).
// A group of pushes (writer.go) folds once: a 200-log push of one team over
// four days becomes a few dozen rollup rows, not 200 × dozens.
//
// Every write transaction has a fold: Store.tx sets it up. Writers call
// s.touch / s.touchNew / s.foldEvent from inside their transaction; a
// savepoint rolled back takes its records back (mark, rollback).

type rowKind uint8

const (
	kindLog rowKind = iota
	kindSession
	kindProgress
	kindAttendee
	kindConflict
	kindTeamTarget
	kindMember
)

// digestTable is the table name a row's digest term is computed with.
var digestTable = map[rowKind]string{kindLog: "assistance_logs", kindSession: "training_sessions",
	kindProgress: "progress_reports", kindAttendee: "session_attendees", kindConflict: "sync_conflicts",
	kindTeamTarget: "target_progress"}

type touchKey struct {
	kind rowKind
	id   string
}

// touched is a row the transaction changes, with its state before.
type touched struct {
	key touchKey
	old any // *logState, *sessionState, *progressState, *memberState, *rowVersion; nil: no row before
	// cur is the row's state now when its writer gave it (touchCreated)
	// and nothing touched the row since: the fold need not read it.
	cur any
}

// rowVersion is the state of a row that only takes part in digests.
type rowVersion struct {
	ID      string
	Team    int64
	Version int64
	Live    bool
}

type eventKind uint8

const (
	evAreaAdded  eventKind = iota // a new area: its weights and buckets
	evPopulation                  // an area's population figures: denominators
	evLineage                     // lineage of an old area changed: re-weigh its subtree
	evTarget                      // a target created or changed: recompute its progress
)

type foldEvent struct {
	kind eventKind
	id   int64
}

type txFold struct {
	s       *Store
	entries []touched
	seen    map[touchKey]int // index in entries
	events  []foldEvent
}

type foldMark struct{ entries, events int }

func (s *Store) beginFold() *txFold {
	f := &txFold{s: s, seen: map[touchKey]int{}}
	s.curFold = f
	return f
}

func (s *Store) endFold() { s.curFold = nil }

// folding is the fold of the write transaction running now.
func (s *Store) folding() *txFold {
	if s.curFold == nil {
		panic("store: a write outside Store.tx")
	}
	return s.curFold
}

func (f *txFold) mark() foldMark { return foldMark{len(f.entries), len(f.events)} }

// rollback forgets what was recorded after m (a savepoint rolled back).
func (f *txFold) rollback(m foldMark) {
	for _, t := range f.entries[m.entries:] {
		delete(f.seen, t.key)
	}
	f.entries = f.entries[:m.entries]
	f.events = f.events[:m.events]
}

func (f *txFold) record(k touchKey, old any) bool {
	if i, ok := f.seen[k]; ok {
		// The first state of the transaction is the one that counts; the
		// row changes again, so a state its creator gave is stale.
		f.entries[i].cur = nil
		return false
	}
	f.seen[k] = len(f.entries)
	f.entries = append(f.entries, touched{key: k, old: old})
	return true
}

// touchNew records a row the transaction creates (no row had that id).
func (s *Store) touchNew(k rowKind, id string) { s.folding().record(touchKey{k, id}, nil) }

// touchCreated records a row the transaction has just created, with its
// state: unless the row changes again (every change touches it first),
// the fold uses that state instead of reading the row.
func (s *Store) touchCreated(k rowKind, id string, state any) {
	f := s.folding()
	if f.record(touchKey{k, id}, nil) {
		f.entries[len(f.entries)-1].cur = state
	}
}

// touchLoaded records a row whose current state the caller has read.
func (s *Store) touchLoaded(k rowKind, id string, old any) { s.folding().record(touchKey{k, id}, old) }

// touch records a row before the transaction changes it, reading its
// current state (none if it does not exist yet).
func (s *Store) touch(ctx context.Context, tx *sql.Tx, k rowKind, id string) error {
	f := s.folding()
	key := touchKey{k, id}
	if _, ok := f.seen[key]; ok {
		return nil
	}
	states, err := s.loadStates(ctx, tx, k, []string{id})
	if err != nil {
		return err
	}
	f.record(key, states[id])
	return nil
}

// touchMember records a user (members per 100 residents) before a change.
func (s *Store) touchMember(ctx context.Context, tx *sql.Tx, id int64) error {
	return s.touch(ctx, tx, kindMember, strconv.FormatInt(id, 10))
}

// foldEvent records a structural change the fold must follow.
func (s *Store) foldEvent(k eventKind, id int64) {
	f := s.folding()
	f.events = append(f.events, foldEvent{k, id})
}

// deltaKey is one row of the summed differences.
type deltaKey struct {
	place, team int64
	day         string
	metric, key string
}

type digestDelta struct {
	rows int64
	hash uint64
}

// foldRun is the work of one apply.
type foldRun struct {
	f        *txFold
	ctx      context.Context
	tx       *sql.Tx
	now      time.Time
	deltas   map[deltaKey]float64
	digest   map[int64]*digestDelta
	series   map[[2]string]int64 // the rollup_series dictionary, loaded when needed
	seriesBy map[int64][2]string
}

func (r *foldRun) add(c contribution, sign float64) {
	if c.n == 0 {
		return
	}
	r.deltas[deltaKey{c.place, c.team, c.day, c.metric, c.key}] += sign * c.n
}

func (r *foldRun) digestTerm(k rowKind, team int64, id string, version int64, sign int64) {
	d := r.digest[team]
	if d == nil {
		d = &digestDelta{}
		r.digest[team] = d
	}
	d.rows += sign
	t := DigestTerm(digestTable[k], id, version)
	if sign > 0 {
		d.hash += t
	} else {
		d.hash -= t
	}
}

// apply folds what the transaction recorded into the derived tables.
func (f *txFold) apply(ctx context.Context, tx *sql.Tx) error {
	if len(f.entries) == 0 && len(f.events) == 0 {
		return nil
	}
	r := &foldRun{f: f, ctx: ctx, tx: tx, now: f.s.now(), deltas: map[deltaKey]float64{}, digest: map[int64]*digestDelta{}}
	news := map[touchKey]any{}
	byKind := map[rowKind][]string{}
	for _, t := range f.entries {
		if t.cur != nil {
			news[t.key] = t.cur
			continue
		}
		byKind[t.key.kind] = append(byKind[t.key.kind], t.key.id)
	}
	for k, ids := range byKind {
		states, err := f.s.loadStates(ctx, tx, k, ids)
		if err != nil {
			return err
		}
		for id, st := range states {
			news[touchKey{k, id}] = st
		}
	}
	cit := newFirstsRun(r)
	for _, t := range f.entries {
		r.diff(t.key, t.old, news[t.key], cit)
	}
	if err := cit.run(); err != nil {
		return err
	}
	targets, force, err := r.structure(f.events)
	if err != nil {
		return err
	}
	if err := r.writeDeltas(); err != nil {
		return err
	}
	if err := r.writeRollups(); err != nil {
		return err
	}
	if err := r.targets(targets, force); err != nil {
		return err
	}
	if err := r.writeDigests(); err != nil {
		return err
	}
	return r.clear()
}

// diff adds what a row's change moved: its contributions out and in, its
// digest term out and in, and the citizens whose firsts may have moved.
func (r *foldRun) diff(k touchKey, old, cur any, cit *firstsRun) {
	type contributor interface{ contributions(func(contribution)) }
	sub := func(c contribution) { r.add(c, -1) }
	add := func(c contribution) { r.add(c, 1) }
	if o, ok := old.(contributor); ok && !isNilState(old) {
		o.contributions(sub)
	}
	if n, ok := cur.(contributor); ok && !isNilState(cur) {
		n.contributions(add)
	}
	if k.kind == kindMember {
		return
	}
	ov, nv := versionOf(old), versionOf(cur)
	if ov != nil && nv != nil && *ov == *nv {
		return // untouched in the end (a savepoint's changes undone, or the same values)
	}
	if ov != nil && ov.Live {
		r.digestTerm(k.kind, ov.Team, k.id, ov.Version, -1)
	}
	if nv != nil && nv.Live {
		r.digestTerm(k.kind, nv.Team, k.id, nv.Version, 1)
	}
	if k.kind == kindLog {
		ol, _ := old.(*logState)
		nl, _ := cur.(*logState)
		cit.logChanged(ol, nl)
	}
}

func isNilState(v any) bool {
	switch x := v.(type) {
	case *logState:
		return x == nil
	case *sessionState:
		return x == nil
	case *progressState:
		return x == nil
	case *memberState:
		return x == nil
	case *rowVersion:
		return x == nil
	}
	return v == nil
}

// versionOf is a synced row's digest identity, nil when there is no row.
func versionOf(v any) *rowVersion {
	switch x := v.(type) {
	case *logState:
		if x != nil {
			return &rowVersion{x.ID, x.Team, x.Version, x.Live}
		}
	case *sessionState:
		if x != nil {
			return &rowVersion{x.ID, x.Team, x.Version, x.Live}
		}
	case *progressState:
		if x != nil {
			return &rowVersion{x.ID, x.Team, x.Version, true}
		}
	case *rowVersion:
		return x
	}
	return nil
}
