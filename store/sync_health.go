package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sync health: for every phone of every active team in an area, what a
// coordinator needs to keep it syncing. Device times come from the
// device-activity recorder (device_activity.go), rejections from the stored
// push results (sync_results), open conflicts from sync_conflicts.

// Defaults of SyncHealthFilter.
const (
	DefaultStaleDays = 3                  // a team whose phones have not synced for this long is listed first
	RejectionWindow  = 7 * 24 * time.Hour // rejections are counted over this window
)

// Push token states of a device.
const (
	TokenNone  = "none"  // the app never gave one (or FCM said it is dead): sync only
	TokenFresh = "fresh" // pushes go to it
	TokenStale = "stale" // unseen for TokenStaleAfter: pushes skip it
)

// DeviceHealth is one phone of a team member.
type DeviceHealth struct {
	DeviceID    string
	UserID      int64
	UserName    string
	Role        Role
	Platform    string
	AppVersion  string
	LastPushAt  time.Time // zero: never since the server recorded it
	LastPullAt  time.Time
	LastLoginAt time.Time // last password login
	LastSeenAt  time.Time // any authenticated contact the server keeps (login, token refresh, push)
	PushToken   string    // TokenNone, TokenFresh or TokenStale
	// Pending is how many mutations the phone last said wait in its outbox
	// (PendingAt zero: it never said; apps before pending_mutations).
	Pending       int
	PendingAt     time.Time
	Rejected      map[string]int // rejection code → mutations rejected in the last 7 days
	ConflictsOpen int            // unresolved conflicts this phone raised: its edits overwrote values changed meanwhile
}

// LastSync is the later of the device's last push and pull.
func (d DeviceHealth) LastSync() time.Time {
	if d.LastPullAt.After(d.LastPushAt) {
		return d.LastPullAt
	}
	return d.LastPushAt
}

// TeamHealth is one team with its members' phones (members without a
// phone appear as a device without DeviceID, so "never signed in" shows).
type TeamHealth struct {
	TeamID   int64
	TeamName string
	AreaID   int64
	AreaPath string
	Devices  []DeviceHealth
	// LastSync is the latest sync of any of its phones, LastSyncBy the
	// member whose phone it was; zero and "" when none ever synced.
	LastSync   time.Time
	LastSyncBy string
	Stale      bool // no phone synced for StaleDays (or ever)
}

// SyncHealthFilter selects the teams of an area (its subtree) to report.
type SyncHealthFilter struct {
	AreaID int64 // default: the actor's root (a member's or lead's: their team's area)
	// AppVersionBelow keeps only the phones whose app version is below it
	// (dotted numbers compared part by part; an unknown version is below
	// everything), and the teams that have one.
	AppVersionBelow string
	StaleDays       int  // default DefaultStaleDays
	OnlyStale       bool // only the teams with no sync for StaleDays
	// Brief leaves out each phone's rejections and conflicts (zero): they
	// are read from the stored push results, about 14 rows a phone a day,
	// 1.3 s for a whole province of 25,647 phones (a page of 500 teams,
	// ~130 ms). A province's dashboard view shows neither.
	Brief bool
	After int64
	Limit int // teams per page, ≤ MaxPageSize
}

// SyncHealthPage is one page of teams, by team id. Next is the ?after= of
// the next page (0 when this was the last): filters may leave a page short
// of Limit although more teams follow.
type SyncHealthPage struct {
	Area      Area
	AsOf      time.Time
	StaleDays int
	Teams     []TeamHealth
	Next      int64
}

// SyncHealth reports the phones of the teams in an area the actor may
// review: admins anywhere, coordinators in their subtree, a team lead their
// own team, a member their own phones only.
func (s *Store) SyncHealth(ctx context.Context, a Actor, f SyncHealthFilter) (*SyncHealthPage, error) {
	if f.AreaID == 0 {
		f.AreaID = a.AreaID
		if a.IsAdmin() {
			return nil, fmt.Errorf("area_id is required: %w", ErrInvalid)
		}
	}
	if f.StaleDays <= 0 {
		f.StaleDays = DefaultStaleDays
	}
	if f.AppVersionBelow != "" && !validVersion(f.AppVersionBelow) {
		return nil, fmt.Errorf("app_version_below must be a dotted version such as 1.4.0: %w", ErrInvalid)
	}
	ar, err := s.reportArea(ctx, a, f.AreaID)
	if err != nil {
		return nil, err
	}
	limit := clampLimit(f.Limit)
	now := s.now()
	page := &SyncHealthPage{Area: *ar, AsOf: Truncate(now), StaleDays: f.StaleDays, Teams: []TeamHealth{}}
	var onlyTeam, onlyUser int64
	switch a.Role {
	case RoleTeamLead:
		onlyTeam = a.TeamID
	case RoleMember:
		onlyTeam, onlyUser = a.TeamID, a.UserID
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sync health: %w", err)
	}
	defer tx.Rollback()
	lo, hi := subtreeRange(ar.Path)
	rows, err := tx.QueryContext(ctx, syncHealthSQL, lo, hi, f.After, onlyTeam, limit, onlyUser,
		ts(now.Add(-TokenStaleAfter)))
	if err != nil {
		return nil, fmt.Errorf("sync health: %w", err)
	}
	var (
		teams   []*TeamHealth
		devices = map[string]*DeviceHealth{}
		last    int64
		scanned int
	)
	for rows.Next() {
		var (
			t                                TeamHealth
			d                                DeviceHealth
			userID                           sql.NullInt64
			userName, role, devID, platform  sql.NullString
			version, push, pull, login, seen sql.NullString
			token, pendingAt                 sql.NullString
			pending                          sql.NullInt64
		)
		if err := rows.Scan(&t.TeamID, &t.TeamName, &t.AreaID, &t.AreaPath, &userID, &userName, &role, &devID, &platform,
			&version, &push, &pull, &login, &seen, &token, &pending, &pendingAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sync health: %w", err)
		}
		if len(teams) == 0 || teams[len(teams)-1].TeamID != t.TeamID {
			teams = append(teams, &t)
			last = t.TeamID
			scanned++
		}
		cur := teams[len(teams)-1]
		if !userID.Valid {
			continue // a team without members
		}
		d = DeviceHealth{DeviceID: devID.String, UserID: userID.Int64, UserName: userName.String, Role: Role(role.String),
			Platform: platform.String, AppVersion: version.String, LastPushAt: parseTS(push.String),
			LastPullAt: parseTS(pull.String), LastLoginAt: parseTS(login.String), LastSeenAt: parseTS(seen.String),
			PushToken: token.String, Pending: int(pending.Int64), PendingAt: parseTS(pendingAt.String), Rejected: map[string]int{}}
		if d.DeviceID == "" {
			d.PushToken = TokenNone
		}
		cur.Devices = append(cur.Devices, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sync health: %w", err)
	}
	if scanned == limit {
		page.Next = last
	}
	for _, t := range teams {
		for i := range t.Devices {
			if id := t.Devices[i].DeviceID; id != "" {
				devices[id] = &t.Devices[i]
			}
		}
	}
	if !f.Brief {
		if err := deviceRejections(ctx, tx, devices, ts(now.Add(-RejectionWindow))); err != nil {
			return nil, err
		}
		if err := deviceConflicts(ctx, tx, teams, devices); err != nil {
			return nil, err
		}
	}
	cutoff := now.Add(-time.Duration(f.StaleDays) * 24 * time.Hour)
	for _, t := range teams {
		for _, d := range t.Devices {
			if ls := d.LastSync(); ls.After(t.LastSync) {
				t.LastSync, t.LastSyncBy = ls, d.UserName
			}
		}
		t.Stale = t.LastSync.Before(cutoff)
		if f.AppVersionBelow != "" {
			kept := t.Devices[:0]
			for _, d := range t.Devices {
				if d.DeviceID != "" && VersionBelow(d.AppVersion, f.AppVersionBelow) {
					kept = append(kept, d)
				}
			}
			if t.Devices = kept; len(kept) == 0 {
				continue
			}
		}
		if f.OnlyStale && !t.Stale {
			continue
		}
		page.Teams = append(page.Teams, *t)
	}
	return page, nil
}

// syncHealthSQL lists a page of active teams of the subtree [?1, ?2) after
// team ?3 (or team ?4 alone), ?5 teams, each with its active members and
// leads (user ?6 alone when set) and their phones (not dashboard sessions),
// one row per phone, a member without a phone once, a team without members
// once. ?7 is the time before which a push token is stale. The app
// version is the later of what the last login and the last push said.
const syncHealthSQL = `
	WITH pt AS (SELECT t.id, t.name, t.area_id, ta.path FROM areas ta JOIN teams t ON t.area_id = ta.id
		WHERE ta.path >= ?1 AND ta.path < ?2 AND t.active = 1 AND t.id > ?3 AND (?4 = 0 OR t.id = ?4)
		ORDER BY t.id LIMIT ?5)
	SELECT pt.id, pt.name, pt.area_id, pt.path, u.id, u.name, u.role, d.id, d.platform,
		CASE WHEN x.app_version IS NOT NULL AND (x.last_login_at IS NULL OR x.last_push_at >= x.last_login_at)
			THEN x.app_version ELSE d.app_version END,
		x.last_push_at, x.last_pull_at, x.last_login_at, d.last_seen_at,
		CASE WHEN d.id IS NULL OR d.push_token IS NULL THEN 'none'
			WHEN max(d.last_seen_at, COALESCE(d.push_token_updated_at, '')) >= ?7 THEN 'fresh' ELSE 'stale' END,
		x.pending_mutations, x.pending_at
	FROM pt
	LEFT JOIN users u ON u.team_id = pt.id AND u.active = 1 AND u.role IN ('member', 'team_lead') AND (?6 = 0 OR u.id = ?6)
	LEFT JOIN devices d ON d.user_id = u.id AND d.platform <> 'web'
	LEFT JOIN device_activity x ON x.device_id = d.id
	ORDER BY pt.id, u.role = 'member', u.name, u.id, d.id`

// deviceRejections counts each device's rejected mutations since cut, by
// code, from the stored push results (a primary-key range per device).
func deviceRejections(ctx context.Context, tx *sql.Tx, devices map[string]*DeviceHealth, cut string) error {
	if len(devices) == 0 {
		return nil
	}
	ids := make([]string, 0, len(devices))
	for id := range devices {
		ids = append(ids, id)
	}
	rows, err := tx.QueryContext(ctx, `SELECT r.device_id, COALESCE(r.result ->> 'code', ''), count(*)
		FROM json_each(?1) j JOIN sync_results r ON r.device_id = j.value
		WHERE r.created_at >= ?2 AND r.result ->> 'status' = 'rejected'
		GROUP BY r.device_id, 2`, mustJSON(ids), cut)
	if err != nil {
		return fmt.Errorf("sync health rejections: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, code string
		var n int
		if err := rows.Scan(&id, &code, &n); err != nil {
			return fmt.Errorf("sync health rejections: %w", err)
		}
		devices[id].Rejected[code] = n
	}
	return rows.Err()
}

// deviceConflicts counts the open conflicts of the teams' phones.
func deviceConflicts(ctx context.Context, tx *sql.Tx, teams []*TeamHealth, devices map[string]*DeviceHealth) error {
	if len(teams) == 0 {
		return nil
	}
	ids := make([]int64, len(teams))
	for i, t := range teams {
		ids[i] = t.TeamID
	}
	rows, err := tx.QueryContext(ctx, `SELECT c.device_id, count(*) FROM json_each(?) j
		JOIN sync_conflicts c ON c.team_id = CAST(j.value AS BIGINT) WHERE c.resolved = 0 AND c.device_id IS NOT NULL
		GROUP BY c.device_id`, mustJSON(ids))
	if err != nil {
		return fmt.Errorf("sync health conflicts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return fmt.Errorf("sync health conflicts: %w", err)
		}
		if d := devices[id]; d != nil {
			d.ConflictsOpen = n
		}
	}
	return rows.Err()
}

// validVersion reports whether v is a dotted version of numbers (1.4.0).
func validVersion(v string) bool {
	if v == "" || len(v) > 40 {
		return false
	}
	for _, p := range strings.Split(v, ".") {
		if _, err := strconv.Atoi(p); err != nil || p == "" {
			return false
		}
	}
	return true
}

// VersionBelow reports whether app version v is below min, comparing the
// leading number of each dotted part ("1.10.0" > "1.9.2"; "1.4" = "1.4.0";
// "1.4.0-beta" counts as 1.4.0). An empty or unreadable version is below
// every minimum: an app too old to say.
func VersionBelow(v, min string) bool {
	a, b := versionParts(v), versionParts(min)
	if a == nil {
		return true
	}
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func versionParts(v string) []int {
	if v == "" {
		return nil
	}
	var out []int
	for _, p := range strings.Split(v, ".") {
		n, digits := 0, 0
		for _, c := range p {
			if c < '0' || c > '9' || digits > 6 {
				break
			}
			n, digits = n*10+int(c-'0'), digits+1
		}
		if digits == 0 {
			if len(out) == 0 {
				return nil
			}
			break
		}
		out = append(out, n)
	}
	return out
}
