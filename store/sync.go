package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Sync limits and constants of the contract (SYNC.md).
const (
	SyncProtocol        = 1
	SyncSchemaVersion   = 1                    // the app schema this server speaks
	MaxPushMutations    = 200                  // per request
	MaxPushBytes        = 512 << 10            // per request body
	MaxPullRows         = 500                  // per response, shared across scopes
	MaxPullBytes        = 1 << 20              // about 1 MB of row JSON per response
	TombstoneHorizon    = 180 * 24 * time.Hour // tombstones are kept at least this long
	futureTolerance     = 10 * time.Minute     // occurred_at may be this far ahead of the server
	syncResultRetention = 30 * 24 * time.Hour  // stored push results older than this become `duplicate`
)

// Mutation statuses and rejection codes.
const (
	StatusApplied   = "applied"
	StatusMerged    = "merged"
	StatusRejected  = "rejected"
	StatusDuplicate = "duplicate"

	CodeValidation  = "validation_failed"
	CodeForbidden   = "forbidden"
	CodeNotFound    = "not_found"
	CodeDeleted     = "deleted"
	CodeLocked      = "locked"
	CodeReadOnly    = "read_only"
	CodeGroupFailed = "group_failed"
	CodeMidReused   = "mid_reused"
)

// Mutation is one entry of a push: a field patch on one row.
type Mutation struct {
	Mid         int64
	Tx          string
	Table       string
	Op          string // create, patch or delete
	ID          string
	BaseVersion int64
	Fields      map[string]json.RawMessage
}

// Result is the outcome of one mutation. It is also what sync_results
// stores, hence the JSON tags (a storage format, not the wire type).
type Result struct {
	Mid        int64             `json:"mid"`
	Status     string            `json:"status"`
	Version    int64             `json:"version,omitempty"`
	ID         string            `json:"id,omitempty"` // the row's id when the server derived another (attendees)
	ConflictID string            `json:"conflict_id,omitempty"`
	Code       string            `json:"code,omitempty"`
	Fields     map[string]string `json:"fields,omitempty"`
}

// MidGapError is a push whose first new mid does not follow the device's
// last_mid: nothing was applied, the app must send from Expected.
type MidGapError struct{ Expected int64 }

func (e *MidGapError) Error() string {
	return fmt.Sprintf("mid gap: expected mid %d: %v", e.Expected, ErrConflict)
}

// Is makes a MidGapError match ErrConflict.
func (e *MidGapError) Is(target error) bool { return target == ErrConflict }

// ErrUnavailable is a temporary fault (database busy past its deadline,
// shutdown): the app retries after a while.
var ErrUnavailable = errors.New("temporarily unavailable")

// scopeKind says which scope a synced table's rows belong to.
type scopeKind int

const (
	scopeTeam    scopeKind = iota // team:<id>, and area:<id> for the team's ancestors' coordinators
	scopeUser                     // user:<id>
	scopeCatalog                  // catalog
)

// syncTable is how one table takes part in sync. The registry (syncTables)
// is the extension point: a new synced table adds one entry there with its
// pull SQL and, if phones may write it, its parse and apply functions.
//
// What a registered table must have: a `version` column set to a seq from
// pushTx.nextSeq (or nextSeq outside a push) on every change, and an index
// on (scope column, version); team-scope tables a `team_id` column,
// user-scope tables (e.g. announcement_receipts) a `user_id` column. A row
// deleted for good leaves a tombstone (pushTx.tombstone) in its scope and
// fails the `live` condition. apply returns a Result (rejections included)
// and an error only for faults; it must reject before it writes.
type syncTable struct {
	name  string
	scope scopeKind
	// pullCols is a SQL expression over alias r producing the row JSON;
	// pullFrom the FROM clause (alias r); live the condition of a row that
	// is sent as a put (others are sent as del).
	pullCols string
	pullFrom string
	idCol    string // the row id, r.id unless set
	// pageKey selects a page's rows when the table has no rowid (WITHOUT
	// ROWID): a column unique within the scope. r.rowid unless set.
	pageKey string
	// validID checks a pushed row id; a UUID unless set.
	validID func(string) bool
	live    string
	// pullFilter is the scope condition for catalog tables (args: actor
	// subtree lo, hi and ancestor path); team and user tables use team_id
	// or user_id.
	pullFilter func(a Actor) (string, []any)
	// parse validates fields before the write transaction; apply runs in it.
	// Both nil: phones get read_only.
	parse func(s *Store, m *Mutation, c *catalog, now time.Time) (any, *Result)
	apply func(p *pushTx, m *Mutation, parsed any) (Result, error)
	// versionSQL reads a row's current version (args: the pushed id ?1,
	// the actor's user id ?2), so a base_version from the future is
	// refused before apply.
	versionSQL string
}

func (s *Store) syncTables() map[string]*syncTable {
	ts := []*syncTable{
		logTable(), sessionTable(), attendeeTable(), progressTable(), conflictTable(),
		servicesTable(), barriersTable(), indicatorsTable(), areasTable(),
		targetProgressTable(), // reports: store/targets_sync.go
		receiptTable(),        // the inbox: store/receipts_sync.go
	}
	m := make(map[string]*syncTable, len(ts))
	for _, t := range ts {
		m[t.name] = t
	}
	return m
}

// reject builds a rejected result with optional field reasons.
func reject(code string, fields ...string) *Result {
	r := &Result{Status: StatusRejected, Code: code}
	for i := 0; i+1 < len(fields); i += 2 {
		if r.Fields == nil {
			r.Fields = map[string]string{}
		}
		r.Fields[fields[i]] = fields[i+1]
	}
	return r
}

// rejectErr carries a rejection out of an apply function, so a tx group
// can roll back.
type rejectErr struct{ r *Result }

func (e *rejectErr) Error() string { return "rejected: " + e.r.Code }

// validUUID reports whether s is a UUID in canonical text form.
func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// citizenRef is the keyed hash that stands for a citizen: HMAC-SHA256 of the
// normalized ID-card or phone number with the deployment's citizen key.
func (s *Store) citizenRef(kind, normalized string) string {
	h := hmac.New(sha256.New, []byte(s.citizenKey))
	h.Write([]byte(kind + ":" + normalized))
	return hex.EncodeToString(h.Sum(nil))
}

// citizenFields turns citizen_id_number / citizen_phone into a citizen ref.
// The raw value never leaves this function: errors name the field only.
func (s *Store) citizenFields(f map[string]json.RawMessage) (ref string, set bool, rej *Result) {
	if raw, ok := f["citizen_id_number"]; ok {
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return "", false, reject(CodeValidation, "citizen_id_number", "must be a string of 12 digits")
		}
		v = strings.ReplaceAll(strings.TrimSpace(v), " ", "")
		if len(v) != 12 || strings.Trim(v, "0123456789") != "" {
			return "", false, reject(CodeValidation, "citizen_id_number", "must be 12 digits")
		}
		return s.citizenRef("id", v), true, nil
	}
	if raw, ok := f["citizen_phone"]; ok {
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return "", false, reject(CodeValidation, "citizen_phone", "must be a phone number")
		}
		p, err := NormalizePhone(v)
		if err != nil {
			return "", false, reject(CodeValidation, "citizen_phone", "must be a Vietnamese mobile number")
		}
		return s.citizenRef("phone", p), true, nil
	}
	return "", false, nil
}

// catalog is the set of known codes, loaded once per push.
type catalog struct {
	services, barriers, indicators map[string]bool
}

func (s *Store) loadCatalog(ctx context.Context) (*catalog, error) {
	c := &catalog{services: map[string]bool{}, barriers: map[string]bool{}, indicators: map[string]bool{}}
	for _, q := range []struct {
		sql string
		m   map[string]bool
	}{
		{`SELECT code FROM services WHERE active = 1`, c.services},
		{`SELECT code FROM barriers WHERE active = 1`, c.barriers},
		{`SELECT code FROM indicators WHERE active = 1`, c.indicators},
	} {
		rows, err := s.read.QueryContext(ctx, q.sql)
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		for rows.Next() {
			var code string
			if err := rows.Scan(&code); err != nil {
				rows.Close()
				return nil, fmt.Errorf("catalog: %w", err)
			}
			q.m[code] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
	}
	return c, nil
}

// SetSyncRulesChanged makes every cursor older than now reset: call it after
// a server-side change of what a scope contains.
func (s *Store) SetSyncRulesChanged(ctx context.Context) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		v, err := nextSeq(ctx, tx)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('sync_rules_seq', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, fmt.Sprint(v))
		return err
	})
}

// PruneSync removes tombstones older than the horizon and stored push
// results older than their retention, as of now. Cursors from before the
// newest pruned tombstone then get a reset.
func (s *Store) PruneSync(ctx context.Context, now time.Time) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var maxSeq sql.NullInt64
		cut := ts(now.Add(-TombstoneHorizon))
		if err := tx.QueryRowContext(ctx, `SELECT max(seq) FROM tombstones WHERE created_at < ?`, cut).Scan(&maxSeq); err != nil {
			return fmt.Errorf("prune sync: %w", err)
		}
		if maxSeq.Valid {
			if _, err := tx.ExecContext(ctx, `DELETE FROM tombstones WHERE seq <= ?`, maxSeq.Int64); err != nil {
				return fmt.Errorf("prune sync: %w", err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('sync_horizon_seq', ?)
				ON CONFLICT (key) DO UPDATE SET value = max(CAST(settings.value AS BIGINT), CAST(excluded.value AS BIGINT))`,
				fmt.Sprint(maxSeq.Int64))
			if err != nil {
				return fmt.Errorf("prune sync: %w", err)
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM sync_results WHERE created_at < ?`, ts(now.Add(-syncResultRetention)))
		if err != nil {
			return fmt.Errorf("prune sync: %w", err)
		}
		return nil
	})
}

// DeviceLastMid is the last processed mid of the actor's device (0 if the
// device never pushed).
func (s *Store) DeviceLastMid(ctx context.Context, a Actor, deviceID string) (int64, error) {
	var v int64
	err := s.read.QueryRowContext(ctx, `SELECT last_mid FROM devices WHERE id = ? AND user_id = ?`, deviceID, a.UserID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("device last mid: %w", err)
	}
	return v, nil
}

// IsSyncTable reports whether phones sync a table of that name.
func (s *Store) IsSyncTable(name string) bool {
	_, ok := s.tables[name]
	return ok
}

// SyncTableNames lists the tables phones sync, sorted: docs/sync.md and
// the OpenAPI document describe each (their tests compare).
func (s *Store) SyncTableNames() []string {
	names := make([]string, 0, len(s.tables))
	for name := range s.tables {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// SyncTableWritable reports whether phones may send mutations for a table.
func (s *Store) SyncTableWritable(name string) bool {
	t, ok := s.tables[name]
	return ok && t.apply != nil
}
