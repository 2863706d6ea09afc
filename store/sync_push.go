package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PushRequest is a batch of mutations from one device, in mid order.
type PushRequest struct {
	DeviceID   string
	AppVersion string
	Mutations  []Mutation
	// SoftDeadline, when set, is when processing stops taking new
	// mutations: what is done is committed and the rest is left for a retry.
	SoftDeadline time.Time
}

// PushResponse is the outcome of a push. RetryAfter > 0 means the server
// stopped early (a temporary fault) and mutations after LastMid are
// unprocessed.
type PushResponse struct {
	LastMid    int64
	Results    []Result
	RetryAfter int
	ServerTime time.Time
}

// pushTx is the state of one push inside its write transaction.
type pushTx struct {
	s     *Store
	ctx   context.Context
	tx    *sql.Tx
	actor Actor
	mid   int64
	now   string
	seq   int64 // the last allocated seq; written back before commit
	teams map[int64]teamPlace
	// lease gives the seqs instead on PostgreSQL beside other writers
	// (engine_pg_locks.go); leaseErr is its first failure.
	lease    *seqLease
	leaseErr error
	// careful puts every mutation in a savepoint on PostgreSQL, where a
	// failed statement aborts the whole transaction. A push first runs
	// without (two round trips less a mutation) and again, careful, only
	// when a statement failed (errPGRedo).
	careful bool
	audits  []auditLine // written with the results, before commit
	// created is set by a log create that inserted its row: its audit
	// entry is found through the log (AuditTrail). A create whose id was
	// taken changed the row instead, and is audited as an update.
	created bool
}

// errPGRedo ends a push's transaction on PostgreSQL when a statement of a
// mutation outside a savepoint failed: the transaction is aborted there, so
// the push runs again with a savepoint per mutation (pushTx.careful), and
// the mutation is rejected alone as on SQLite.
var errPGRedo = errors.New("push: a statement failed outside a savepoint; run again with savepoints")

type teamPlace struct {
	AreaID int64
	Path   string
}

// nextSeq allocates the next change sequence number. The seq row is read
// at the start of the transaction and written back before commit: one
// writer, so this is the same counter nextSeq advances, without a
// statement per change.
func (p *pushTx) nextSeq() int64 {
	if p.lease == nil {
		p.seq++
		return p.seq
	}
	v, err := p.lease.take(p.ctx)
	if err != nil && p.leaseErr == nil {
		p.leaseErr = err // the push fails after this mutation
	}
	return v
}

// unTake gives back v, the seq nextSeq just returned, when nothing used it
// (a create whose id was taken). A leased seq is skipped instead: gaps in
// seqs are harmless.
func (p *pushTx) unTake(v int64) {
	if p.lease == nil && v == p.seq {
		p.seq--
	}
}

// stmt returns q prepared for the push's transaction, from the write
// connection's statement cache.
func (p *pushTx) stmt(q string) (*sql.Stmt, error) {
	return p.s.wstmts.stmt(p.ctx, p.tx, q)
}

func (p *pushTx) exec(q string, args ...any) error {
	_, err := p.execN(q, args...)
	return err
}

// execN runs q and returns how many rows it changed.
func (p *pushTx) execN(q string, args ...any) (int64, error) {
	st, err := p.stmt(q)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(p.ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// queryStrings runs q and returns its rows' first column.
func (p *pushTx) queryStrings(q string, args ...any) ([]string, error) {
	st, err := p.stmt(q)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(p.ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (p *pushTx) queryRow(q string, args ...any) (*sql.Row, error) {
	st, err := p.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(p.ctx, args...), nil
}

// team returns the team's area and path (cached for the push).
func (p *pushTx) team(id int64) (teamPlace, bool, error) {
	if tp, ok := p.teams[id]; ok {
		return tp, true, nil
	}
	var tp teamPlace
	row, err := p.queryRow(`SELECT t.area_id, a.path FROM teams t JOIN areas a ON a.id = t.area_id WHERE t.id = ?`, id)
	if err != nil {
		return tp, false, err
	}
	err = row.Scan(&tp.AreaID, &tp.Path)
	if errors.Is(err, sql.ErrNoRows) {
		return tp, false, nil
	} else if err != nil {
		return tp, false, err
	}
	p.teams[id] = tp
	return tp, true, nil
}

// tombstone records that row id of tbl left scope at seq.
func (p *pushTx) tombstone(scope, tbl, id string, seq int64) error {
	return p.exec(`INSERT INTO tombstones (seq, scope, tbl, row_id, created_at) VALUES (?, ?, ?, ?, ?)`,
		seq, scope, tbl, id, p.now)
}

func teamScope(id int64) string { return "team:" + strconv.FormatInt(id, 10) }

// Push applies a batch of mutations from one device, idempotently: results
// are stored with the effects and a retried mid gets its stored result.
func (s *Store) Push(ctx context.Context, a Actor, req PushRequest) (*PushResponse, error) {
	muts := req.Mutations
	if len(muts) > MaxPushMutations {
		return nil, fmt.Errorf("at most %d mutations per push: %w", MaxPushMutations, ErrInvalid)
	}
	seenTx := map[string]bool{}
	for i := range muts {
		if muts[i].Mid <= 0 || (i > 0 && muts[i].Mid != muts[i-1].Mid+1) {
			return nil, fmt.Errorf("mids must be positive and consecutive: %w", ErrInvalid)
		}
		// A tx group is a run of adjacent mutations, so a batch cut short
		// never leaves half a group behind the committed prefix.
		if t := muts[i].Tx; t != "" && (i == 0 || muts[i-1].Tx != t) {
			if seenTx[t] {
				return nil, fmt.Errorf("the mutations of tx %q must be adjacent: %w", t, ErrInvalid)
			}
			seenTx[t] = true
		}
	}
	now := s.now()
	cat, err := s.loadCatalog(ctx)
	if err != nil {
		return nil, unavailable(ctx, err)
	}
	// Parse and validate everything before taking the write lock.
	parsed := make([]any, len(muts))
	pre := make([]*Result, len(muts))
	for i := range muts {
		parsed[i], pre[i] = s.parseMutation(&muts[i], cat, now)
	}

	hashes := make([]string, len(muts))
	for i := range muts {
		hashes[i] = mutationHash(&muts[i])
	}
	resp := &PushResponse{ServerTime: now, Results: make([]Result, 0, len(muts))}
	batch := &pushBatch{actor: a, req: req, now: now, parsed: parsed, pre: pre, hashes: hashes}
	// On PostgreSQL a push runs without a savepoint per mutation, and again
	// with them if a statement failed (errPGRedo, pushTx.careful). A push
	// writes in the actor's province only (policy keeps it to the actor's
	// team or area): on PostgreSQL it runs beside other provinces'.
	for careful := false; ; careful = true {
		err = s.provinceTx(ctx, len(muts), provinceOf(a), func(ctx context.Context, tx *sql.Tx) error {
			return s.applyPush(ctx, tx, batch, resp, careful)
		})
		if !s.pg || careful || !errors.Is(err, errPGRedo) && pgCode(err) != pgTxAborted {
			break
		}
	}
	if err != nil {
		return nil, unavailable(ctx, err)
	}
	return resp, nil
}

// pushBatch is a push checked and parsed before the write lock: what each
// run of its transaction (applyPush) applies.
type pushBatch struct {
	actor  Actor
	req    PushRequest
	now    time.Time
	parsed []any     // per mutation, from parseMutation
	pre    []*Result // per mutation, a result parseMutation already gave
	hashes []string  // per mutation, mutationHash
}

// applyPush is one run of a push's transaction: the stored results of mids
// already processed, then each new mutation (or tx group) applied, their
// results, audits and the device's last_mid written. careful puts each
// mutation in a savepoint (PostgreSQL's second run, errPGRedo).
func (s *Store) applyPush(ctx context.Context, tx *sql.Tx, b *pushBatch, resp *PushResponse, careful bool) error {
	a, req, now, muts := b.actor, b.req, b.now, b.req.Mutations
	parsed, pre, hashes := b.parsed, b.pre, b.hashes
	// This may run twice (group commit): start from nothing.
	resp.Results, resp.RetryAfter, resp.LastMid = resp.Results[:0], 0, 0
	p := &pushTx{s: s, ctx: ctx, tx: tx, actor: a, now: ts(now), teams: map[int64]teamPlace{}, careful: careful,
		lease: leaseOf(ctx)}
	lastMid, err := s.deviceForPush(ctx, tx, a, req, now)
	if err != nil {
		return err
	}
	resp.LastMid = lastMid
	if len(muts) == 0 {
		return nil
	}
	if muts[0].Mid > lastMid+1 {
		return &MidGapError{Expected: lastMid + 1}
	}
	stored, err := s.storedResults(ctx, tx, req.DeviceID, muts[0].Mid, min(lastMid, muts[len(muts)-1].Mid))
	if err != nil {
		return err
	}
	start := 0
	for ; start < len(muts) && muts[start].Mid <= lastMid; start++ {
		st, ok := stored[muts[start].Mid]
		r := st.Result
		switch {
		case !ok:
			r = Result{Mid: muts[start].Mid, Status: StatusDuplicate}
		case st.Hash != "" && st.Hash != hashes[start]:
			// The phone reused a mid for other work: refuse it visibly
			// rather than answer with the first mutation's result.
			r = Result{Mid: muts[start].Mid, Status: StatusRejected, Code: CodeMidReused}
		}
		resp.Results = append(resp.Results, r)
	}
	if start == len(muts) {
		return nil
	}
	if p.lease == nil {
		if err := s.wstmts.queryRow(ctx, tx, `SELECT value FROM seq WHERE id = 1`).Scan(&p.seq); err != nil {
			return fmt.Errorf("push: %w", err)
		}
	}
	fresh := make([]Result, len(muts)-start)
	done := make([]bool, len(muts)-start)
	processed := 0
	for i := start; i < len(muts); i++ {
		if done[i-start] {
			continue
		}
		if !req.SoftDeadline.IsZero() && s.now().After(req.SoftDeadline) {
			resp.RetryAfter = 2
			break
		}
		group := []int{i}
		for j := i + 1; muts[i].Tx != "" && j < len(muts) && muts[j].Tx == muts[i].Tx; j++ {
			group = append(group, j)
		}
		if p.loneCreate(muts, pre, i) {
			for j := i + 1; j < len(muts) && p.loneCreate(muts, pre, j); j++ {
				if !req.SoftDeadline.IsZero() && s.now().After(req.SoftDeadline) {
					break // the rest waits for the retry, as one by one
				}
				group = append(group, j)
			}
			if err := p.createLogs(muts, parsed, pre, group, fresh, start); err != nil {
				return err
			}
		} else if err := p.applyGroup(muts, parsed, pre, group, fresh, start); err != nil {
			return err
		}
		if p.leaseErr != nil {
			return p.leaseErr
		}
		for _, g := range group {
			done[g-start] = true
		}
		for processed < len(done) && done[processed] {
			processed++
		}
	}
	fresh = fresh[:processed]
	if err := s.auditMany(ctx, tx, p.audits); err != nil {
		return err
	}
	if err := s.storeResults(ctx, tx, req.DeviceID, fresh, hashes[start:], p.now); err != nil {
		return err
	}
	resp.Results = append(resp.Results, fresh...)
	if processed > 0 {
		resp.LastMid = muts[start+processed-1].Mid
	}
	if _, err := s.wstmts.exec(ctx, tx, `UPDATE devices SET last_mid = ? WHERE id = ?`, resp.LastMid, req.DeviceID); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	if p.lease != nil {
		return nil // the leases moved the counter
	}
	if _, err := s.wstmts.exec(ctx, tx, `UPDATE seq SET value = ? WHERE id = 1`, p.seq); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	return nil
}

// loneCreate reports whether muts[i] is a log create outside a tx group
// that parsed: createLogs applies a run of them together. Not in a careful
// run (PostgreSQL's second, a savepoint each).
func (p *pushTx) loneCreate(muts []Mutation, pre []*Result, i int) bool {
	m := &muts[i]
	return !p.careful && pre[i] == nil && m.Tx == "" && m.Table == "assistance_logs" && m.Op == "create"
}

// unavailable marks err as a temporary fault when the request's context
// ended (its deadline, a shutdown) or the database stayed busy: nothing was
// committed and the phone retries. Once the context has ended, what a
// statement returns may be sql.ErrTxDone rather than the context's error,
// so the context itself is asked.
func unavailable(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || isBusy(err) {
		return fmt.Errorf("push: %w: %w", ErrUnavailable, err)
	}
	return err
}

// applyGroup applies one mutation, or one tx group all or nothing, inside a
// savepoint. Results land in fresh (indexed from start). A row the schema
// refuses (a CHECK the parser did not foresee) rejects the mutation alone.
func (p *pushTx) applyGroup(muts []Mutation, parsed []any, pre []*Result, group []int, fresh []Result, start int) error {
	// A lone mutation needs no savepoint: every table's apply rejects
	// before it writes, and its one write that a constraint can refuse
	// comes first (a savepoint journals every page it changes: a third of
	// the writer's CPU when each mutation had one). On PostgreSQL a failed
	// statement aborts the whole transaction: a push runs without them and,
	// if a statement fails, again with one per mutation (pushTx.careful).
	atomic := len(group) > 1 || p.careful
	if atomic {
		if err := p.exec(`SAVEPOINT push_group`); err != nil {
			return err
		}
	}
	mark, audits := p.s.folding().mark(), len(p.audits)
	failed := -1
	for _, i := range group {
		m := &muts[i]
		p.mid = m.Mid
		var r Result
		if pre[i] != nil {
			r = *pre[i]
		} else if rej, err := p.checkBase(m); err != nil {
			return fmt.Errorf("push %s %s: %w", m.Table, m.ID, err)
		} else if rej != nil {
			r = *rej
		} else {
			var err error
			p.created = false
			r, err = p.s.tables[m.Table].apply(p, m, parsed[i])
			var rj *rejectErr
			switch {
			case err != nil && p.s.pg && !atomic:
				return errPGRedo // a statement may have failed: the transaction is aborted
			case errors.As(err, &rj):
				r = *rj.r
			case errors.Is(err, ErrInvalid):
				r = *reject(CodeValidation)
			case err != nil:
				return fmt.Errorf("push %s %s: %w", m.Table, m.ID, err)
			}
		}
		r.Mid = m.Mid
		fresh[i-start] = r
		if r.Status == StatusRejected {
			failed = i
			break
		}
		action := m.Op
		if m.Op == "create" && m.Table == "assistance_logs" && !p.created {
			action = "update"
		}
		if err := p.audit(m, action); err != nil {
			return err
		}
	}
	if failed < 0 {
		if atomic {
			return p.exec(`RELEASE push_group`)
		}
		return nil
	}
	if !atomic {
		return nil // rejected before writing: nothing to take back
	}
	p.s.folding().rollback(mark)
	p.audits = p.audits[:audits]
	if err := p.exec(`ROLLBACK TO push_group`); err != nil {
		return err
	}
	if err := p.exec(`RELEASE push_group`); err != nil {
		return err
	}
	for _, i := range group {
		if i != failed {
			fresh[i-start] = Result{Mid: muts[i].Mid, Status: StatusRejected, Code: CodeGroupFailed}
		}
	}
	return nil
}

// audit adds the audit entry of an applied mutation, written with the
// push's results. Its time is the push's, a created log's created_at:
// AuditTrail finds a log's create by it.
func (p *pushTx) audit(m *Mutation, action string) error {
	line, err := p.s.auditRow(p.actor, m.Mid, action, m.Table, m.ID, auditFields(m))
	if err != nil {
		return err
	}
	line.at = p.now
	p.audits = append(p.audits, line)
	return nil
}

// auditFields is the audit detail of a mutation: the names of the fields it
// set, never their values (they may hold citizen numbers).
func auditFields(m *Mutation) map[string]any {
	names := make([]string, 0, len(m.Fields))
	for k := range m.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return map[string]any{"fields": names, "base_version": m.BaseVersion}
}

// parseMutation checks what can be checked without the database.
func (s *Store) parseMutation(m *Mutation, c *catalog, now time.Time) (any, *Result) {
	t, ok := s.tables[m.Table]
	switch {
	case !ok:
		return nil, reject(CodeValidation, "table", "unknown table")
	case t.apply == nil:
		return nil, reject(CodeReadOnly)
	case m.Op != "create" && m.Op != "patch" && m.Op != "delete":
		return nil, reject(CodeValidation, "op", "must be create, patch or delete")
	case t.validID == nil && !validUUID(m.ID):
		return nil, reject(CodeValidation, "id", "must be a UUID")
	case t.validID != nil && !t.validID(m.ID):
		return nil, reject(CodeValidation, "id", "must be the row id the pull sent")
	case m.BaseVersion < 0:
		return nil, reject(CodeValidation, "base_version", "must not be negative")
	case m.Op == "delete" && len(m.Fields) > 0:
		return nil, reject(CodeValidation, "fields", "a delete takes no fields")
	}
	return t.parse(s, m, c, now)
}

// deviceForPush returns the device's last_mid, registering the device for
// the actor on first use. A device bound to another user is forbidden.
func (s *Store) deviceForPush(ctx context.Context, tx *sql.Tx, a Actor, req PushRequest, now time.Time) (int64, error) {
	var userID, lastMid int64
	err := s.wstmts.queryRow(ctx, tx, `SELECT user_id, last_mid FROM devices WHERE id = ?`, req.DeviceID).Scan(&userID, &lastMid)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.ExecContext(ctx, `INSERT INTO devices (id, user_id, platform, app_version, last_seen_at, created_at)
			VALUES (?, ?, 'android', ?, ?, ?)`, req.DeviceID, a.UserID, req.AppVersion, ts(now), ts(now))
		if err != nil {
			return 0, fmt.Errorf("register device: %w", checkErr(err))
		}
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("device: %w", err)
	}
	if userID != a.UserID {
		return 0, fmt.Errorf("device %s belongs to another user: %w", req.DeviceID, ErrForbidden)
	}
	_, err = s.wstmts.exec(ctx, tx, `UPDATE devices SET last_seen_at = ? WHERE id = ?`, ts(now), req.DeviceID)
	return lastMid, err
}

// storedResult is a processed mutation's stored result and content hash
// ("" for results stored before hashes were kept).
type storedResult struct {
	Result Result
	Hash   string
}

func (s *Store) storedResults(ctx context.Context, tx *sql.Tx, device string, from, to int64) (map[int64]storedResult, error) {
	out := map[int64]storedResult{}
	if to < from {
		return out, nil
	}
	rows, err := s.wstmts.query(ctx, tx, `SELECT mid, result, COALESCE(hash, '') FROM sync_results WHERE device_id = ? AND mid BETWEEN ? AND ?`, device, from, to)
	if err != nil {
		return nil, fmt.Errorf("stored results: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var mid int64
		var b []byte
		var st storedResult
		if err := rows.Scan(&mid, &b, &st.Hash); err != nil {
			return nil, fmt.Errorf("stored results: %w", err)
		}
		if err := json.Unmarshal(b, &st.Result); err != nil {
			return nil, fmt.Errorf("stored result %d: %w", mid, err)
		}
		out[mid] = st
	}
	return out, rows.Err()
}

// storeResults writes the results, with the hash of each mutation, with
// one multi-row insert per 100 (at most 100 statement shapes, all cached).
func (s *Store) storeResults(ctx context.Context, tx *sql.Tx, device string, rs []Result, hashes []string, now string) error {
	for len(rs) > 0 {
		n := min(len(rs), 100)
		q := `INSERT INTO sync_results (device_id, mid, result, created_at, hash) VALUES `
		args := make([]any, 0, 5*n)
		for i, r := range rs[:n] {
			if i > 0 {
				q += ", "
			}
			q += "(?, ?, ?, ?, ?)"
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			args = append(args, device, r.Mid, string(b), now, hashes[i])
		}
		if _, err := s.wstmts.exec(ctx, tx, q, args...); err != nil {
			return fmt.Errorf("store results: %w", err)
		}
		rs, hashes = rs[n:], hashes[n:]
	}
	return nil
}

// mutationHash identifies a mutation's content: a retry sends the same
// content again under its mid; another content under a used mid is a
// phone's bug (mid_reused). Field values are compared as compact JSON.
func mutationHash(m *Mutation) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %q %q %d", m.Tx, m.Table, m.Op, m.ID, m.BaseVersion)
	keys := make([]string, 0, len(m.Fields))
	for k := range m.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	for _, k := range keys {
		buf.Reset()
		if json.Compact(&buf, m.Fields[k]) != nil {
			buf.Write(m.Fields[k])
		}
		fmt.Fprintf(h, " %q=%d:", k, buf.Len())
		h.Write(buf.Bytes())
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// checkBase refuses a patch or delete whose base_version is newer than the
// row: the phone cannot have seen that version, and a merge against it
// would miss the conflict it should record.
func (p *pushTx) checkBase(m *Mutation) (*Result, error) {
	t := p.s.tables[m.Table]
	if m.BaseVersion <= 0 || m.Op == "create" || t.versionSQL == "" {
		return nil, nil
	}
	args := []any{m.ID}
	if strings.Contains(t.versionSQL, "?2") {
		args = append(args, p.actor.UserID)
	}
	row, err := p.queryRow(t.versionSQL, args...)
	if err != nil {
		return nil, err
	}
	var v int64
	if err := row.Scan(&v); errors.Is(err, sql.ErrNoRows) {
		return nil, nil // the table's apply answers not_found
	} else if err != nil {
		return nil, err
	}
	if m.BaseVersion > v {
		return reject(CodeValidation, "base_version", "is newer than the row's version"), nil
	}
	return nil, nil
}
