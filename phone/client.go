// Package phone is the reference sync client of the Toso app: a local
// SQLite database with an outbox of mutations and one cursor per scope,
// speaking SYNC.md over HTTP. Tests, the simulation and the load generator
// play the phone with it; the app's developers can copy its rules:
//
//   - a local write and its outbox entry (with the next mid) are one local
//     transaction; the mid is never reused, even after the entry is done;
//   - an outbox entry is done only when a push response (or a retried push)
//     gave it a result; a lost response is retried and the server answers
//     from its stored results;
//   - pulled rows and the scope's new cursor are one local transaction, so a
//     lost or cut response repeats changes and never skips one;
//   - a reset or a digest mismatch empties the scope and pulls it from 0,
//     after the outbox was pushed;
//   - a result may name the id the server gave the row (session attendees:
//     derived from session and person, so two phones adding the same
//     person converge); the phone keeps it beside the entry and shows the
//     pulled row under that id. The phone's own id stays a valid alias for
//     later patches and deletes.
package phone

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the phone's local database
)

// maxRenewals bounds how often one request renews its token after a 401.
const maxRenewals = 3

// Protocol and schema this client speaks.
const (
	Protocol      = 1
	SchemaVersion = 1
)

// Config configures a phone.
type Config struct {
	BaseURL    string       // e.g. http://127.0.0.1:8080
	HTTP       *http.Client // default http.DefaultClient
	AppVersion string       // default "1.0.0"
	Platform   string       // default "android"
	PageLimit  int          // rows per pull, default 500
	BatchSize  int          // mutations per push, default 200 (the server's maximum)
	GzipPush   bool         // compress push bodies
	Now        func() time.Time
	// Unsynced skips fsync (synchronous=OFF): for simulations of many
	// phones, where a power cut is not what is tested. A real app syncs.
	Unsynced bool
}

// Client is one phone: its local database and its link to the server.
type Client struct {
	db       *sql.DB
	cfg      Config
	deviceID string

	phone, password string // kept in memory only, to sign in again when the refresh token died
	access, refresh string
	userID          int64
}

const localSchema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
	mid          INTEGER PRIMARY KEY,
	tx           TEXT NOT NULL DEFAULT '',
	tbl          TEXT NOT NULL,
	op           TEXT NOT NULL,
	id           TEXT NOT NULL,
	base_version INTEGER NOT NULL DEFAULT 0,
	fields       TEXT,
	created_at   TEXT NOT NULL,
	status       TEXT,             -- NULL while pending
	code         TEXT NOT NULL DEFAULT '',
	version      INTEGER NOT NULL DEFAULT 0,
	conflict_id  TEXT NOT NULL DEFAULT '',
	server_id    TEXT NOT NULL DEFAULT '' -- the id the server gave the row, when not the phone's
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (mid) WHERE status IS NULL;
CREATE TABLE IF NOT EXISTS rows (
	scope   TEXT NOT NULL,
	tbl     TEXT NOT NULL,
	id      TEXT NOT NULL,
	version INTEGER NOT NULL,
	data    TEXT NOT NULL,
	PRIMARY KEY (scope, tbl, id)
);
CREATE TABLE IF NOT EXISTS cursors (scope TEXT PRIMARY KEY, cursor TEXT NOT NULL);
`

// Open opens (creating) the phone's database at path. A new database gets a
// new device id; an existing one keeps its id and its mid counter.
func Open(ctx context.Context, path string, cfg Config) (*Client, error) {
	if cfg.HTTP == nil {
		cfg.HTTP = http.DefaultClient
	}
	if cfg.AppVersion == "" {
		cfg.AppVersion = "1.0.0"
	}
	if cfg.Platform == "" {
		cfg.Platform = "android"
	}
	if cfg.PageLimit == 0 {
		cfg.PageLimit = 500
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 200
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	sync := "FULL"
	if cfg.Unsynced {
		sync = "OFF"
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous("+sync+")")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := ensureSchema(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("phone schema: %w", err)
	}
	c := &Client{db: db, cfg: cfg}
	c.deviceID, err = c.meta(ctx, "device_id")
	if err != nil {
		db.Close()
		return nil, err
	}
	if c.deviceID == "" {
		c.deviceID = uuid.NewString()
		if err := c.setMeta(ctx, db, "device_id", c.deviceID); err != nil {
			db.Close()
			return nil, err
		}
	}
	c.refresh, _ = c.meta(ctx, "refresh_token")
	return c, nil
}

// localSchemaVersion is the local schema's user_version. An app opens its
// database on every start: checking one pragma costs less than parsing the
// schema again.
const localSchemaVersion = 1

func ensureSchema(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	if v == localSchemaVersion {
		return nil
	}
	_, err := db.ExecContext(ctx, localSchema+fmt.Sprintf("PRAGMA user_version = %d;", localSchemaVersion))
	return err
}

// Close closes the local database.
func (c *Client) Close() error { return c.db.Close() }

// DeviceID is the id this phone registered with.
func (c *Client) DeviceID() string { return c.deviceID }

// UserID is the signed-in user, or 0.
func (c *Client) UserID() int64 { return c.userID }

func (c *Client) meta(ctx context.Context, key string) (string, error) {
	var v string
	err := c.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (c *Client) setMeta(ctx context.Context, db execer, key, value string) error {
	_, err := db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// Login signs in with a phone number and password and binds this device.
func (c *Client) Login(ctx context.Context, phone, password string) error {
	c.phone, c.password = phone, password
	var tr tokenResponse
	err := c.post(ctx, "/v1/auth/login", loginRequest{
		Phone: phone, Password: password, DeviceID: c.deviceID, Platform: c.cfg.Platform, AppVersion: c.cfg.AppVersion,
	}, &tr, false)
	if err != nil {
		return err
	}
	return c.keepTokens(ctx, tr)
}

func (c *Client) keepTokens(ctx context.Context, tr tokenResponse) error {
	c.access, c.refresh = tr.AccessToken, tr.RefreshToken
	if tr.User.ID != 0 {
		c.userID = tr.User.ID
	}
	return c.setMeta(ctx, c.db, "refresh_token", tr.RefreshToken)
}

// UseSession keeps a refresh token issued to this phone's device id by
// someone else (a provisioning tool, the load generator's warm-up): the
// phone is then signed in as if it had logged in yesterday, and its next
// request renews the access token with the refresh token.
func (c *Client) UseSession(ctx context.Context, refreshToken string) error {
	c.access, c.refresh = "", refreshToken
	return c.setMeta(ctx, c.db, "refresh_token", refreshToken)
}

// ExpireAccessToken forgets the access token, as if it had expired.
func (c *Client) ExpireAccessToken() { c.access = "" }

// renew gets a new access token: with the refresh token, or by signing in
// again when the refresh token is dead.
func (c *Client) renew(ctx context.Context) error {
	if c.refresh != "" {
		var tr tokenResponse
		err := c.post(ctx, "/v1/auth/refresh", map[string]string{"refresh_token": c.refresh, "device_id": c.deviceID}, &tr, false)
		if err == nil {
			return c.keepTokens(ctx, tr)
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
			return err
		}
	}
	if c.password == "" {
		return errors.New("phone: signed out")
	}
	return c.Login(ctx, c.phone, c.password)
}

// post sends a JSON request and decodes a JSON answer. With auth, a 401 is
// answered by renewing the token and retrying, a few times: a late copy of
// an old refresh request (a network that delivers twice) makes the server
// revoke the whole token chain, even the pair just renewed, and the phone
// must then sign in again.
func (c *Client) post(ctx context.Context, path string, in, out any, auth bool) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		if auth && c.access == "" {
			if err := c.renew(ctx); err != nil {
				return err
			}
		}
		err := c.send(ctx, path, body, out, auth)
		var ae *APIError
		if auth && attempt < maxRenewals && errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			c.access = ""
			continue
		}
		return err
	}
}

func (c *Client) send(ctx context.Context, path string, body []byte, out any, auth bool) error {
	rd := io.Reader(bytes.NewReader(body))
	gz := c.cfg.GzipPush && len(body) > 1024
	if gz {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(body)
		w.Close()
		rd = &buf
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Language", "en")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.access)
	}
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var env struct {
			Error APIError `json:"error"`
		}
		json.Unmarshal(b, &env)
		env.Error.Status = resp.StatusCode
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			env.Error.RetryAfter = ra
		}
		if env.Error.Code == "" {
			env.Error.Code = strconv.Itoa(resp.StatusCode)
		}
		return &env.Error
	}
	return json.Unmarshal(b, out)
}

// SetPageLimit changes the rows asked for per pull (at most 500).
func (c *Client) SetPageLimit(n int) { c.cfg.PageLimit = n }
