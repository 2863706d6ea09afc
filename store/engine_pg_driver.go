package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
)

// The store's database/sql connections to PostgreSQL: pgx's stdlib driver
// taught SQLite's dialect of parameters and values, so the store's SQL and
// its arguments stay one set for both engines. On every Prepare, Query and
// Exec it rewrites SQLite's placeholders (? and ?N) into PostgreSQL's ($N),
// renames the few SQLite functions whose PostgreSQL twin differs only by
// name (pgRenames) and drops INDEXED BY hints; every argument that modernc
// stored one way and pgx would send another is converted (pgArg,
// sqliteText). SQLite functions PostgreSQL lacks are defined in
// pg/compat.sql. Where neither is enough, the shared SQL was rewritten into
// a form both engines run the same (CASE WHEN instead of a boolean sum,
// CAST(value AS BIGINT) from json_each, qualified columns in ON CONFLICT).

// pgConnector makes the store's connections: pgx's, with text parameters
// that take numbers (sqliteText) and the SQL rewritten (pgConn). Open on
// PostgreSQL builds its pools with sql.OpenDB, so the driver needs no global
// registration.
type pgConnector struct {
	base     driver.Connector
	rewrites *pgSQL
}

func newPGConnector(dsn string, rewrites *pgSQL) (pgConnector, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return pgConnector{}, err
	}
	return pgConnector{stdlib.GetConnector(*cfg, stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
		c.TypeMap().RegisterType(&pgtype.Type{Name: "text", OID: pgtype.TextOID, Codec: sqliteText{}})
		return nil
	})), rewrites}, nil
}

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{conn.(*stdlib.Conn), c.rewrites}, nil
}

func (c pgConnector) Driver() driver.Driver { return c.base.Driver() }

// sqliteText is PostgreSQL's text codec that also takes an integer or a
// float, written in decimal, as SQLite turns a number bound to a TEXT column
// into text: the shared code gives Go numbers to parameters PostgreSQL types
// as text (a VALUES list, a settings value), which pgx would refuse.
type sqliteText struct{ pgtype.TextCodec }

func (c sqliteText) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	switch value.(type) {
	case int, int32, int64, float64:
		return numberAsText{}
	}
	return c.TextCodec.PlanEncode(m, oid, format, value)
}

type numberAsText struct{}

func (numberAsText) Encode(value any, buf []byte) ([]byte, error) {
	switch x := value.(type) {
	case int:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(buf, x, 10), nil
	case float64:
		return strconv.AppendFloat(buf, x, 'g', -1, 64), nil
	}
	return nil, fmt.Errorf("numberAsText: %T", value)
}

// pgConn is pgx's connection with the SQL rewritten on the way in.
type pgConn struct {
	*stdlib.Conn
	rewrites *pgSQL
}

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(context.Background(), c.rewrites.rewrite(query))
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, c.rewrites.rewrite(query))
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, c.rewrites.rewrite(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, c.rewrites.rewrite(query), args)
}

// CheckNamedValue converts each argument (database/sql calls it for
// statements and direct queries alike, before the driver sees the value).
func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	v, err := pgArg(nv.Value)
	nv.Value = v
	return err
}

// pgArg converts a Go argument to what SQLite's driver would have stored:
// a bool is the integer 0 or 1 (the schema keeps booleans as 0/1 BIGINT,
// and PostgreSQL will not compare a boolean with an integer); a time.Time is
// text in the store's layout (ts): times are columns of ISO text and the
// store formats its own, so a raw time is a slip, which modernc would write
// as time.Time.String and pgx as a timestamp into a text column. A string
// PostgreSQL cannot hold is refused (errNotPGText). A driver.Valuer is asked
// for its value first, so sql.NullBool and friends convert the same way.
func pgArg(v any) (any, error) {
	if vr, ok := v.(driver.Valuer); ok {
		var err error
		if v, err = vr.Value(); err != nil {
			return nil, err
		}
	}
	switch x := v.(type) {
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case time.Time:
		return ts(x), nil
	case string:
		if !utf8.ValidString(x) || strings.IndexByte(x, 0) >= 0 {
			return nil, errNotPGText
		}
	}
	return v, nil
}

// errNotPGText refuses, before it reaches the server, a string PostgreSQL's
// text cannot hold (SQLite stores any bytes): the caller's mistake, so it
// wraps ErrInvalid (database/sql keeps the wrap). JSON bodies never carry
// one (encoding/json repairs bad UTF-8); a URL's query can.
var errNotPGText = fmt.Errorf("text must be UTF-8 without NUL bytes: %w", ErrInvalid)

// pgRenames are SQLite functions whose PostgreSQL twin takes the same
// arguments under another name; compat.sql cannot define them because
// PL/pgSQL has no variadic function over arguments of mixed types.
var pgRenames = map[string]string{
	"json_object": "json_build_object",
}

// indexedBy is the rest of SQLite's "INDEXED BY name" hint, which rewritePG
// drops.
var indexedBy = regexp.MustCompile(`^(?i)\s+BY\s+[A-Za-z_][A-Za-z0-9_]*`)

// pgSQL maps SQLite SQL to its rewrite, one per Store (both pools). Most of
// the store's queries are constants; some are built with a number of
// placeholders (IN lists, batches), so the cache stops growing at
// pgSQLCacheMax entries and rewrites the rest each time (microseconds).
type pgSQL struct {
	cache sync.Map
	n     atomic.Int64
}

const pgSQLCacheMax = 4096

// rewrite is q for PostgreSQL (rewritePG), from the cache.
func (c *pgSQL) rewrite(q string) string {
	if v, ok := c.cache.Load(q); ok {
		return v.(string)
	}
	out := rewritePG(q)
	if c.n.Load() < pgSQLCacheMax {
		if _, loaded := c.cache.LoadOrStore(q, out); !loaded {
			c.n.Add(1)
		}
	}
	return out
}

// rewritePG turns ? and ?N into $N (a bare ? numbers itself one past the
// largest number so far, as SQLite does), renames pgRenames' functions and
// drops SQLite's INDEXED BY hints, outside string literals, quoted
// identifiers and comments.
func rewritePG(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	maxN := 0
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled quote inside
						j += 2
						continue
					}
					break
				}
				j++
			}
			j = min(j+1, len(q))
			b.WriteString(q[i:j])
			i = j
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(q[i:end])
			i = end
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n := maxN + 1
			if j > i+1 {
				n, _ = strconv.Atoi(q[i+1 : j])
			}
			maxN = max(maxN, n)
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i = j
		case isIdentStart(c):
			j := i + 1
			for j < len(q) && (isIdentStart(q[j]) || q[j] >= '0' && q[j] <= '9') {
				j++
			}
			word := q[i:j]
			if strings.EqualFold(word, "INDEXED") {
				if m := indexedBy.FindStringIndex(q[j:]); m != nil {
					i = j + m[1] // a planner hint PostgreSQL has no use for
					continue
				}
			}
			if to, ok := pgRenames[strings.ToLower(word)]; ok && j < len(q) && q[j] == '(' {
				word = to
			}
			b.WriteString(word)
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
