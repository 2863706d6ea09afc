// Command toso is the backend of the field app of Vietnam's community
// digital technology teams: one binary, an embedded SQLite database or,
// with --db postgres://…, a PostgreSQL server.
//
//	toso [serve]            run the server (default)
//	toso demo               run with a demo database (created on first use)
//	toso migrate            create or migrate the database and exit
//	toso user create        create a user (the first admin)
//	toso backup PATH        write a consistent copy of the live database (SQLite)
//	toso restore BACKUP     check a backup and make it the database (server stopped)
//	toso restore --after-pg-restore   mark a PostgreSQL database pg_restore filled
//	toso import areas FILE.csv
//	toso import users FILE.csv|FILE.xlsx
//	toso import completions FILE.csv|FILE.xlsx
//	toso version            version, commit, build time, Go and schema versions
//
// Every flag --some-name of a command can also be set as TOSO_SOME_NAME.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"toso/mobileapi"
	"toso/server"
	"toso/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "toso:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// Config is everything the binary can be told, from flags and TOSO_*
// environment variables (flags win).
type Config struct {
	Addr         string
	DB           string
	JWTSecret    string
	CitizenKey   string
	KeyFile      string // where the keys are kept; "": DB.keys on SQLite, none on PostgreSQL
	LogLevel     string
	AccessLog    bool
	ShutdownWait time.Duration
	AccessTTL    time.Duration
	RefreshTTL   time.Duration
	Push         PushConfig
	LoginPerIP   int    // login attempts per IP a minute (0: the default)
	Pprof        string // loopback address for /debug/pprof, empty: off
	// TrustedProxies: comma-separated IPs or CIDRs of reverse proxies whose
	// X-Forwarded-For and X-Forwarded-Proto are believed.
	TrustedProxies string
	MetricsAddr    string // where /metrics is served; "off": nowhere
	MetricsToken   string // when set, /metrics is also served on Addr to this bearer token
}

// logFlag binds --log-level.
func (c *Config) logFlag(fs *flag.FlagSet) {
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
}

// citizenKeyFlag binds --citizen-key and --key-file, for the commands that
// hash citizen numbers.
func (c *Config) citizenKeyFlag(fs *flag.FlagSet) {
	fs.StringVar(&c.CitizenKey, "citizen-key", "", "secret for citizen reference hashes, ≥ 32 characters; when empty, read from or generated into the key file (mode 0600; backup never copies it)")
	keyFileFlag(fs, &c.KeyFile)
}

// keyFileFlag binds --key-file.
func keyFileFlag(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "key-file", "", "the key file holding the secrets not given, created with mode 0600 on first start; "+
		"default DB.keys beside an SQLite database; on PostgreSQL, this or both secrets are required")
}

// serveFlags binds what a running server needs (serve and demo).
func (c *Config) serveFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.JWTSecret, "jwt-secret", "", "JWT signing secret, ≥ 32 characters; when empty, read from or generated into the key file")
	c.citizenKeyFlag(fs)
	c.logFlag(fs)
	fs.BoolVar(&c.AccessLog, "access-log", true, "log every request")
	fs.DurationVar(&c.ShutdownWait, "shutdown-timeout", 30*time.Second, "how long to let in-flight requests finish (longer than a push waits for the writer, 25 s)")
	c.Push.flags(fs)
	fs.DurationVar(&c.AccessTTL, "access-ttl", 15*time.Minute, "lifetime of access tokens")
	fs.DurationVar(&c.RefreshTTL, "refresh-ttl", 60*24*time.Hour, "lifetime of refresh tokens, renewed on every refresh")
	fs.IntVar(&c.LoginPerIP, "login-per-ip", 0, "login attempts per client IP a minute; 0: the default 30 (raise it for a load test from one address)")
	fs.StringVar(&c.Pprof, "pprof", "", "serve /debug/pprof on this loopback address, e.g. 127.0.0.1:6060 (off when empty)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "comma-separated IPs or CIDRs of reverse proxies; only from them do X-Forwarded-For and X-Forwarded-Proto count")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", defaultMetricsAddr, "serve /metrics here, a loopback address, or \"off\"")
	fs.StringVar(&c.MetricsToken, "metrics-token", "", "also serve /metrics on the main listener to this bearer token, ≥ 32 characters")
}

// validateSecrets checks the secrets given (empty ones are generated).
func (c *Config) validateSecrets() error {
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		return fmt.Errorf("%w: the JWT secret must be at least 32 characters", errUsage)
	}
	if c.CitizenKey != "" && len(c.CitizenKey) < 32 {
		return fmt.Errorf("%w: the citizen key must be at least 32 characters", errUsage)
	}
	return nil
}

// validateServe checks the configuration of a running server.
func (c *Config) validateServe() error {
	if err := c.validateSecrets(); err != nil {
		return err
	}
	if c.AccessTTL < time.Minute || c.AccessTTL > 24*time.Hour {
		return fmt.Errorf("%w: the access token TTL must be between 1m and 24h (TOSO_ACCESS_TTL, e.g. 15m)", errUsage)
	}
	if c.RefreshTTL < time.Hour || c.RefreshTTL < c.AccessTTL {
		return fmt.Errorf("%w: the refresh token TTL must be at least 1h and the access TTL (TOSO_REFRESH_TTL, e.g. 1440h)", errUsage)
	}
	if c.Pprof != "" {
		if err := loopbackAddr(c.Pprof); err != nil {
			return fmt.Errorf("%w: --pprof: %v", errUsage, err)
		}
	}
	if _, err := c.proxies(); err != nil {
		return fmt.Errorf("%w: --trusted-proxies: %v", errUsage, err)
	}
	if err := c.validateMetrics(); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("%w: address %q: %v", errUsage, c.Addr, err)
	}
	return c.Push.validate()
}

func (c *Config) logger(w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

const usage = `usage: toso [command] [flags]

commands:
  serve                      run the server (default)
  demo                       run the server on a demo database (created on first use)
  generate                   generate a large province for benchmarks (--teams 5000)
  bench                      simulate phones against a running server on loopback
  migrate                    create or migrate the database and exit
  user create                create a user, e.g. the first admin
  backup PATH                write a consistent copy of the live database to PATH (SQLite; pg_dump for PostgreSQL)
  restore BACKUP             check a backup and make it the database (the server stopped)
  restore --after-pg-restore on PostgreSQL, after pg_restore: phones pull their scopes again
  import areas FILE.csv      import the official list of administrative units
  import users FILE.csv|xlsx import team rosters
  import completions FILE    import Bình dân học vụ số course completions (CSV or XLSX)
  generate-logs              a reports benchmark province with raw logs (-logs, -communes, -villages)
  version                    print the version, commit, build time, Go and schema versions (also --version)

Run "toso COMMAND -h" for a command's flags; every flag --some-name can also be
set with the environment variable TOSO_SOME_NAME. --db takes a file (SQLite) or
a postgres:// URL (PostgreSQL: give the keys or --key-file).`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, getenv, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil // -h printed the command's flags
	}
	return err
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		cmd, args = "version", args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, getenv, stdout, stderr)
	case "generate":
		return runGenerate(ctx, args, getenv, stdout, stderr)
	case "bench":
		return runBench(ctx, args, getenv, stdout, stderr)
	case "demo":
		return runDemo(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args, getenv, stdout, stderr)
	case "user":
		return runUser(ctx, args, getenv, stdout, stderr)
	case "backup":
		return runBackup(ctx, args, getenv, stdout, stderr)
	case "restore":
		return runRestore(ctx, args, getenv, stdout, stderr)
	case "import":
		return runImport(ctx, args, getenv, stdout, stderr)
	case "generate-logs":
		return runGenerateLogs(ctx, args, getenv, stdout, stderr)
	case "version":
		return runVersion(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

// parseServe parses the flags of serve and demo.
func parseServe(name string, args []string, getenv func(string) string, stderr io.Writer, defaultDB string) (Config, error) {
	var cfg Config
	fs := newFlagSet(name, "", stderr)
	fs.StringVar(&cfg.DB, "db", defaultDB, "database file, or postgres://user:pass@host:5432/db for PostgreSQL")
	cfg.serveFlags(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("%w: toso %s takes no arguments, got %q", errUsage, name, fs.Args())
	}
	return cfg, cfg.validateServe()
}

// dbOnly parses the flags of a command that needs only the database file,
// and its operands (exactly want of them).
func dbOnly(name, operands string, want int, args []string, getenv func(string) string, stderr io.Writer) (db string, rest []string, err error) {
	fs := newFlagSet(name, operands, stderr)
	fs.StringVar(&db, "db", "toso.db", "database file, or postgres://user:pass@host:5432/db for PostgreSQL")
	if err := parseFlags(fs, args, getenv); err != nil {
		return "", nil, err
	}
	if fs.NArg() != want {
		return "", nil, fmt.Errorf("%w: toso %s [flags] %s", errUsage, name, operands)
	}
	return db, fs.Args(), nil
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServe("serve", args, getenv, stderr, "toso.db")
	if err != nil {
		return err
	}
	log := cfg.logger(stderr)
	st, k, err := openStore(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer st.Close()
	return serve(ctx, cfg, st, k, log, nil)
}

// serve runs the server on an open store until ctx ends.
func serve(ctx context.Context, cfg Config, st *store.Store, k keys, log *slog.Logger, ready func(net.Addr)) error {
	jwtSecret := k.JWTSecret
	push, err := newPush(ctx, cfg.Push, st, log)
	if err != nil {
		return err
	}
	proxies, _ := cfg.proxies() // validated
	srv, err := server.New(server.Config{
		Addr:            cfg.Addr,
		JWTSecret:       jwtSecret,
		AccessTokenTTL:  cfg.AccessTTL,
		RefreshTokenTTL: cfg.RefreshTTL,
		AccessLog:       cfg.AccessLog,
		ShutdownTimeout: cfg.ShutdownWait,
		Collectors:      append(push.Collectors(), readBuildInfo().collector()),
		Limits:          mobileapi.Limits{LoginPerIP: cfg.LoginPerIP, LoginIPWindow: time.Minute},
		TrustedProxies:  proxies,
		MetricsToken:    cfg.MetricsToken,
	}, st, log)
	if err != nil {
		return err
	}
	defer push.start(ctx)() // stopped (its last call recorded) before the store closes
	if cfg.Pprof != "" {
		stop, err := servePprof(cfg.Pprof, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	stopMetrics, err := serveMetrics(cfg, srv, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	return srv.Run(ctx, func(addr net.Addr) {
		log.Info("listening", "addr", addr.String(), "db", st.Path(), "version", readBuildInfo().Version)
		if ready != nil {
			ready(addr)
		}
	})
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	db, _, err := dbOnly("migrate", "", 0, args, getenv, stderr)
	if err != nil {
		return err
	}
	// Moves secrets an older Toso kept in the database out of it.
	st, _, err := openStore(ctx, keyConfig(db, getenv), (&Config{LogLevel: "info"}).logger(stderr), false)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is at schema version %d\n", store.Redacted(db), v)
	return nil
}

func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	db, rest, err := dbOnly("backup", "PATH", 1, args, getenv, stderr)
	if err != nil {
		return err
	}
	dest := rest[0]
	if store.IsPostgres(db) {
		return errBackupPG
	}
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("backup: %s already exists", dest)
	}
	// The copy holds the database only: secrets an older Toso kept in it
	// are moved out into the key file first.
	st, _, err := openStore(ctx, keyConfig(db, getenv), (&Config{LogLevel: "info"}).logger(stderr), false)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	if err := st.Backup(ctx, dest); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s in %s\n", store.Redacted(db), dest, time.Since(start).Round(time.Millisecond))
	return nil
}

func runUser(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "toso user create -phone P -name N -role admin [-team ID | -area ID] (password from TOSO_PASSWORD or stdin)"
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	fs := newFlagSet("user create", "", stderr)
	db := fs.String("db", "toso.db", "database file, or postgres://user:pass@host:5432/db for PostgreSQL")
	phone := fs.String("phone", "", "phone number")
	name := fs.String("name", "", "full name")
	role := fs.String("role", "admin", "member, team_lead, coordinator or admin")
	team := fs.Int64("team", 0, "team id (members and team leads)")
	area := fs.Int64("area", 0, "area id (coordinators)")
	if err := parseFlags(fs, args[1:], getenv); err != nil {
		return err
	}
	password := getenv("TOSO_PASSWORD")
	if password == "" {
		fmt.Fprint(stderr, "password: ")
		b, _ := io.ReadAll(io.LimitReader(os.Stdin, 1024))
		password = strings.TrimSpace(string(b))
	}
	if *phone == "" || *name == "" || len(password) < 8 {
		return fmt.Errorf("%w: -phone, -name and a password of at least 8 characters are required", errUsage)
	}
	st, err := store.Open(ctx, *db, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.CreateUser(ctx, store.System, store.NewUser{
		Phone: *phone, Name: *name, Role: store.Role(*role), TeamID: *team, AreaID: *area, Password: password,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s %d (%s, %s)\n", u.Role, u.ID, u.Name, u.Phone)
	return nil
}

// keyConfig is what openStore needs of the configuration for a command that
// takes only --db: the database and the secrets (or key file) the
// environment gives.
func keyConfig(db string, getenv func(string) string) Config {
	return Config{DB: db, CitizenKey: getenv("TOSO_CITIZEN_KEY"), JWTSecret: getenv("TOSO_JWT_SECRET"), KeyFile: getenv("TOSO_KEY_FILE")}
}

// errBackupPG is toso backup's answer on PostgreSQL.
var errBackupPG = fmt.Errorf("%w: toso backup copies SQLite databases only; back up PostgreSQL with its own tools, "+
	"e.g. pg_dump -Fc -f toso.dump URL (online and consistent), and keep the keys (TOSO_CITIZEN_KEY, TOSO_JWT_SECRET "+
	"or the key file) apart from the dump", errUsage)
