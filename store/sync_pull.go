package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PullRequest asks for the changes after each cursor of the device's scopes.
type PullRequest struct {
	DeviceID string
	Cursors  map[string]string // scope → cursor ("" or absent = 0)
	Limit    int               // rows, ≤ MaxPullRows (default)
}

// PullResponse is one consistent snapshot of changes.
type PullResponse struct {
	LastMid       int64
	ServerTime    time.Time
	ScopesAdded   []string
	ScopesRemoved []string
	Resets        []string
	Scopes        map[string]*ScopeChanges
}

// ScopeChanges are the changes of one scope after its cursor.
type ScopeChanges struct {
	Changes []Change
	Cursor  string
	HasMore bool
	Digest  *Digest // with the last page of the scope
}

// Change is one row's current state (op "put") or its removal ("del").
type Change struct {
	Table   string
	ID      string
	Op      string
	Version int64
	Row     json.RawMessage // nil for del
}

// Digest is the count of the scope's rows and an order-independent hash of
// their (table, id, version): the sum modulo 2^64 of FNV-1a-64 over
// "table:id:version", as 16 hex digits.
type Digest struct {
	Count int64
	Hash  string
}

// scope is one slice of data a user holds.
type scope struct {
	name string
	kind scopeKind
	team int64  // team scope
	area string // area scope: subtree root path
	user int64  // user scope
}

// scopesOf computes the actor's scopes from the database (the actor was
// loaded from it for this request).
func scopesOf(a Actor) []scope {
	ss := []scope{{name: "catalog", kind: scopeCatalog}}
	switch {
	case a.Role.InTeam():
		ss = append(ss, scope{name: teamScope(a.TeamID), kind: scopeTeam, team: a.TeamID})
	case a.Role == RoleCoordinator:
		ss = append(ss, scope{name: "area:" + strconv.FormatInt(a.AreaID, 10), kind: scopeTeam, area: a.AreaPath})
	}
	return append(ss, scope{name: "user:" + strconv.FormatInt(a.UserID, 10), kind: scopeUser, user: a.UserID})
}

// Pull returns the changes of the actor's scopes after the given cursors,
// within a shared row budget, from one read transaction.
func (s *Store) Pull(ctx context.Context, a Actor, req PullRequest) (*PullResponse, error) {
	limit := req.Limit
	if limit <= 0 || limit > MaxPullRows {
		limit = MaxPullRows
	}
	defer s.rstmts.fill(ctx) // after the read transaction ends
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("pull: %w", err)
	}
	defer tx.Rollback()
	var snap, resetBelow, userVersion int64
	err = s.rstmts.queryRow(ctx, tx, `SELECT (SELECT value FROM seq WHERE id = 1),
		max(COALESCE((SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'sync_horizon_seq'), 0),
		    COALESCE((SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'sync_rules_seq'), 0)),
		COALESCE((SELECT version FROM users WHERE id = ?), 0)`, a.UserID).Scan(&snap, &resetBelow, &userVersion)
	if err != nil {
		return nil, fmt.Errorf("pull: %w", err)
	}
	// The pull reads up to the watermark: the snapshot's seq on SQLite,
	// below every seq a writer may still commit on PostgreSQL
	// (engine_pg_locks.go).
	upto, err := s.pullWatermark(ctx, tx, snap)
	if err != nil {
		return nil, err
	}
	resp := &PullResponse{ServerTime: s.now(), Scopes: map[string]*ScopeChanges{},
		ScopesAdded: []string{}, ScopesRemoved: []string{}, Resets: []string{}}
	err = s.rstmts.queryRow(ctx, tx, `SELECT last_mid FROM devices WHERE id = ? AND user_id = ?`, req.DeviceID, a.UserID).Scan(&resp.LastMid)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("pull: %w", err)
	}
	scopes := scopesOf(a)
	current := map[string]bool{}
	for _, sc := range scopes {
		current[sc.name] = true
	}
	for name := range req.Cursors {
		if !current[name] {
			resp.ScopesRemoved = append(resp.ScopesRemoved, name)
		}
	}
	sort.Strings(resp.ScopesRemoved)
	budget := pullBudget{rows: limit, bytes: MaxPullBytes}
	for _, sc := range scopes {
		raw, ok := req.Cursors[sc.name]
		if !ok {
			resp.ScopesAdded = append(resp.ScopesAdded, sc.name)
		}
		cursor, tag, issued, err := parseCursor(raw)
		if err != nil {
			return nil, fmt.Errorf("cursor of %s: %w", sc.name, ErrInvalid)
		}
		// The catalog's areas depend on where the user sits: its cursor
		// carries the user's version, and a move starts it again.
		wantTag := ""
		if sc.kind == scopeCatalog {
			wantTag = strconv.FormatInt(userVersion, 10)
		} else if sc.area != "" {
			// An area scope holds its teams' rows: a team moving in or out
			// changes the set, so the cursor carries the set's fingerprint.
			if wantTag, err = teamSetTag(ctx, tx, sc.area); err != nil {
				return nil, err
			}
		}
		// Older than the tombstone horizon or a rule change (unless the
		// cursor is a page of a pull that started under this horizon),
		// from the future (a restored backup), or a catalog from before
		// the user moved: start the scope again.
		if cursor > 0 && (cursor < resetBelow && issued != resetBelow || cursor > snap || tag != wantTag) {
			resp.Resets = append(resp.Resets, sc.name)
			cursor = 0
		}
		ch, err := s.pullScope(ctx, tx, a, sc, cursor, upto, upto == snap, &budget)
		if err != nil {
			return nil, err
		}
		if wantTag != "" {
			ch.Cursor += "." + wantTag
		}
		// A scope pulled from 0 in pages returns cursors of old rows,
		// below the horizon: they carry the horizon they were given
		// under, so the next page is not taken for a cursor that missed
		// pruned tombstones (they were pruned before its pull began). A
		// prune since then moves the horizon, and the scope starts again.
		if n, _, _, _ := parseCursor(ch.Cursor); n > 0 && n < resetBelow {
			ch.Cursor += "~" + strconv.FormatInt(resetBelow, 10)
		}
		resp.Scopes[sc.name] = ch
	}
	tx.Rollback()
	// The phone now holds these announcements: the coordinator's receipts
	// count them delivered (no new version: phones do not hold that time).
	if ids := pulledAnnouncements(resp); len(ids) > 0 {
		if _, err := s.MarkDelivered(ctx, a.UserID, ids); err != nil {
			return nil, fmt.Errorf("pull: %w", err)
		}
	}
	return resp, nil
}

// pulledAnnouncements lists the announcement ids of the inbox rows a pull
// sends.
func pulledAnnouncements(r *PullResponse) []int64 {
	var ids []int64
	for _, sc := range r.Scopes {
		for _, c := range sc.Changes {
			if c.Table == "announcement_receipts" && c.Op == "put" {
				if id, err := strconv.ParseInt(c.ID, 10, 64); err == nil {
					ids = append(ids, id)
				}
			}
		}
	}
	return ids
}

// teamSetTag fingerprints the set of teams under an area.
func teamSetTag(ctx context.Context, tx *sql.Tx, path string) (string, error) {
	lo, hi := subtreeRange(path)
	var n, sum, sq int64
	err := tx.QueryRowContext(ctx, `SELECT count(*), COALESCE(sum(t.id), 0), COALESCE(sum(t.id * t.id), 0)
		FROM teams t JOIN areas a ON a.id = t.area_id WHERE a.path >= ? AND a.path < ?`, lo, hi).Scan(&n, &sum, &sq)
	if err != nil {
		return "", fmt.Errorf("pull: %w", err)
	}
	h := fnv.New32a()
	fmt.Fprintf(h, "%d:%d:%d", n, sum, sq)
	return strconv.FormatUint(uint64(h.Sum32()), 36), nil
}

type pullBudget struct{ rows, bytes int }

// parseCursor reads "N", "N.tag", "N~H" or "N.tag~H": N is the seq, the
// tag what the scope's content depended on when its pull started, H the
// reset horizon a cursor below it was given under (0 when absent).
func parseCursor(s string) (n int64, tag string, horizon int64, err error) {
	if s == "" {
		return 0, "", 0, nil
	}
	s, h, hasH := strings.Cut(s, "~")
	if hasH {
		if horizon, err = strconv.ParseInt(h, 10, 64); err != nil || horizon <= 0 {
			return 0, "", 0, errors.New("cursor: bad horizon")
		}
	}
	num, tag, _ := strings.Cut(s, ".")
	n, err = strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || len(tag) > 20 {
		return 0, "", 0, errors.New("cursor must be a non-negative integer")
	}
	return n, tag, horizon, nil
}

// scopeFilter is the condition selecting a table's rows of the scope.
func (s *Store) scopeFilter(t *syncTable, a Actor, sc scope) (string, []any, bool) {
	if t.scope != sc.kind {
		return "", nil, false
	}
	switch {
	case sc.kind == scopeCatalog && t.pullFilter != nil:
		f, args := t.pullFilter(a)
		return f, args, true
	case sc.kind == scopeCatalog:
		return "true", nil, true
	case sc.kind == scopeUser:
		return "r.user_id = ?", []any{sc.user}, true
	case sc.area != "":
		lo, hi := subtreeRange(sc.area)
		return `r.team_id IN (SELECT t.id FROM teams t JOIN areas ar ON ar.id = t.area_id WHERE ar.path >= ? AND ar.path < ?)`,
			[]any{lo, hi}, true
	}
	return "r.team_id = ?", []any{sc.team}, true
}

// tombstoneFilter selects the tombstones of a team or area scope.
func tombstoneFilter(sc scope) (string, []any) {
	if sc.area != "" {
		lo, hi := subtreeRange(sc.area)
		return `scope IN (SELECT 'team:' || t.id FROM teams t JOIN areas ar ON ar.id = t.area_id WHERE ar.path >= ? AND ar.path < ?)`,
			[]any{lo, hi}
	}
	return `scope = ?`, []any{sc.name}
}

func (s *Store) sortedTables() []*syncTable {
	ts := make([]*syncTable, 0, len(s.tables))
	for _, t := range s.tables {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	return ts
}

// limitParam is a page's LIMIT in the cached pull statements. A bare
// `LIMIT ?` makes SQLite (3.47 and later) plan with the bound value and
// re-prepare the statement whenever the next run binds another: a pull's
// limit is what is left of its budget, different nearly every time, so the
// statement cache saved nothing there (3.7% of the server's CPU in the
// storm was that re-preparing). A cast is no integer literal to the
// planner, so the plan stays and only the run-time limit changes.
const limitParam = `CAST(? AS INTEGER)`

func idColOf(t *syncTable) string {
	if t.idCol != "" {
		return t.idCol
	}
	return "r.id"
}

// pullScope reads the scope's changes after cursor up to upto, as far as
// the budget goes: every source in version order, merged. whole says upto is
// the snapshot's seq, so the scope's digest (of the whole snapshot) may go
// with its last page.
func (s *Store) pullScope(ctx context.Context, tx *sql.Tx, a Actor, sc scope, cursor, upto int64, whole bool, b *pullBudget) (*ScopeChanges, error) {
	out := &ScopeChanges{Changes: []Change{}, Cursor: strconv.FormatInt(cursor, 10)}
	if b.rows <= 0 || b.bytes <= 0 {
		out.HasMore = true // the shared budget is spent: ask again
		return out, nil
	}
	want := b.rows + 1
	var all []Change
	more := false
	for _, t := range s.sortedTables() {
		filter, args, ok := s.scopeFilter(t, a, sc)
		if !ok {
			continue
		}
		// The page's rowids come from an index-only scan on (team_id,
		// version); only the rows of the page are read and turned to JSON.
		key, outer, outerArgs := s.rowKey(t), "", []any(nil)
		if t.pageKey != "" {
			key, outer, outerArgs = t.pageKey, filter+" AND ", args
		}
		q := `SELECT CAST(` + idColOf(t) + ` AS TEXT), r.version, ` + t.pullCols + ` FROM ` + t.pullFrom +
			` WHERE ` + outer + key + ` IN (SELECT ` + key + ` FROM ` + t.pullFrom + ` WHERE ` + filter + ` AND r.version > ? AND r.version <= ? AND ` +
			t.live + ` ORDER BY r.version LIMIT ` + limitParam + `) ORDER BY r.version`
		qargs := append(append(append([]any{}, outerArgs...), args...), cursor, upto, want)
		cs, err := s.queryChanges(ctx, tx, t.name, q, qargs...)
		if err != nil {
			return nil, err
		}
		more = more || len(cs) == want
		all = append(all, cs...)
	}
	if sc.kind != scopeCatalog {
		filter, args := tombstoneFilter(sc)
		rows, err := s.rstmts.query(ctx, tx, `SELECT tbl, row_id, seq FROM tombstones WHERE `+filter+` AND seq > ? AND seq <= ? ORDER BY seq LIMIT `+limitParam,
			append(args, cursor, upto, want)...)
		if err != nil {
			return nil, fmt.Errorf("pull tombstones: %w", err)
		}
		n := 0
		for rows.Next() {
			var c Change
			if err := rows.Scan(&c.Table, &c.ID, &c.Version); err != nil {
				rows.Close()
				return nil, fmt.Errorf("pull tombstones: %w", err)
			}
			c.Op = "del"
			all = append(all, c)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("pull tombstones: %w", err)
		}
		more = more || n == want
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Version < all[j].Version })
	// Take whole versions only, up to the budget: the cursor then means
	// "everything up to here was sent".
	taken := 0
	for taken < len(all) {
		c := all[taken]
		if taken > 0 && c.Version != all[taken-1].Version && (taken >= b.rows || b.bytes-len(c.Row) < 0) {
			break
		}
		b.bytes -= len(c.Row) + 64
		taken++
	}
	b.rows -= taken
	out.Changes = all[:taken]
	out.HasMore = taken < len(all) || more && taken == len(all)
	if out.HasMore {
		if taken > 0 {
			out.Cursor = strconv.FormatInt(all[taken-1].Version, 10)
		}
		return out, nil
	}
	// Nothing more in this scope: everything up to the watermark was sent.
	// The digest counts the whole snapshot: it goes only when that is what
	// was sent (no writer was running below the snapshot's seq).
	out.Cursor = strconv.FormatInt(max(cursor, upto), 10)
	if whole && (taken > 0 || cursor == 0) {
		d, err := s.digest(ctx, tx, a, sc)
		if err != nil {
			return nil, err
		}
		out.Digest = d
	}
	return out, nil
}

func (s *Store) queryChanges(ctx context.Context, tx *sql.Tx, table, q string, args ...any) ([]Change, error) {
	rows, err := s.rstmts.query(ctx, tx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", table, err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		c := Change{Table: table, Op: "put"}
		var row []byte
		if err := rows.Scan(&c.ID, &c.Version, &row); err != nil {
			return nil, fmt.Errorf("pull %s: %w", table, err)
		}
		if s.pg {
			// json_build_object writes `"a" : 1`; SQLite's json_object `"a":1`,
			// and phones and the byte budget see the same bytes on both.
			var buf bytes.Buffer
			if err := json.Compact(&buf, row); err != nil {
				return nil, fmt.Errorf("pull %s: %w", table, err)
			}
			row = buf.Bytes()
		}
		c.Row = json.RawMessage(row)
		out = append(out, c)
	}
	return out, rows.Err()
}

// digest is the scope's digest in the snapshot: team and area scopes read
// the kept team digests, the small catalog and user scopes are counted.
func (s *Store) digest(ctx context.Context, tx *sql.Tx, a Actor, sc scope) (*Digest, error) {
	if sc.kind == scopeTeam {
		return teamDigest(ctx, tx, sc)
	}
	return s.scanDigest(ctx, tx, a, sc)
}

// scanDigest counts and hashes the scope's live rows in the snapshot.
func (s *Store) scanDigest(ctx context.Context, tx *sql.Tx, a Actor, sc scope) (*Digest, error) {
	var d Digest
	var sum uint64
	h := fnv.New64a()
	var sb strings.Builder
	for _, t := range s.sortedTables() {
		filter, args, ok := s.scopeFilter(t, a, sc)
		if !ok {
			continue
		}
		rows, err := s.rstmts.query(ctx, tx, `SELECT CAST(`+idColOf(t)+` AS TEXT), r.version FROM `+t.pullFrom+
			` WHERE `+filter+` AND `+t.live, args...)
		if err != nil {
			return nil, fmt.Errorf("digest %s: %w", t.name, err)
		}
		for rows.Next() {
			var id string
			var v int64
			if err := rows.Scan(&id, &v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("digest %s: %w", t.name, err)
			}
			sum += digestTerm(h, &sb, t.name, id, v)
			d.Count++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("digest %s: %w", t.name, err)
		}
	}
	d.Hash = fmt.Sprintf("%016x", sum)
	return &d, nil
}

// DigestTerm is one row's term of a digest; exported for clients in Go
// (tests, the simulation) that check their copy.
func DigestTerm(table, id string, version int64) uint64 {
	var sb strings.Builder
	return digestTerm(fnv.New64a(), &sb, table, id, version)
}

func digestTerm(h interface {
	Reset()
	Write([]byte) (int, error)
	Sum64() uint64
}, sb *strings.Builder, table, id string, version int64) uint64 {
	sb.Reset()
	sb.WriteString(table)
	sb.WriteByte(':')
	sb.WriteString(id)
	sb.WriteByte(':')
	sb.WriteString(strconv.FormatInt(version, 10))
	h.Reset()
	h.Write([]byte(sb.String()))
	return h.Sum64()
}
