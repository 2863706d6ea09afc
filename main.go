// Command toso is the backend of the field app of Vietnam's community
// digital technology teams: one binary, an embedded SQLite database.
//
//	toso [serve]            run the server (default)
//	toso demo               run with a demo database (created on first use)
//	toso migrate            create or migrate the database and exit
//	toso user create        create a user (the first admin)
//	toso backup PATH        write a consistent copy of the live database
//	toso import areas FILE.csv
//	toso import users FILE.csv|FILE.xlsx
//	toso import completions FILE.csv|FILE.xlsx
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
	LogLevel     string
	AccessLog    bool
	ShutdownWait time.Duration
	AccessTTL    time.Duration
	RefreshTTL   time.Duration
	Push         PushConfig
	LoginPerIP   int    // login attempts per IP a minute (0: the default)
	Pprof        string // loopback address for /debug/pprof, empty: off
}

// flags binds the common flags, with defaults from the environment.
func (c *Config) flags(fs *flag.FlagSet, getenv func(string) string, defaultDB string) {
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Addr, "addr", env("TOSO_ADDR", "127.0.0.1:8080"), "listen address (TOSO_ADDR)")
	fs.StringVar(&c.DB, "db", env("TOSO_DB", defaultDB), "database file (TOSO_DB)")
	fs.StringVar(&c.JWTSecret, "jwt-secret", getenv("TOSO_JWT_SECRET"), "JWT signing secret, ≥ 32 characters; generated and stored in the database when empty (TOSO_JWT_SECRET)")
	fs.StringVar(&c.CitizenKey, "citizen-key", getenv("TOSO_CITIZEN_KEY"), "secret for citizen reference hashes; generated and stored in the database when empty (TOSO_CITIZEN_KEY)")
	fs.StringVar(&c.LogLevel, "log-level", env("TOSO_LOG_LEVEL", "info"), "debug, info, warn or error (TOSO_LOG_LEVEL)")
	fs.BoolVar(&c.AccessLog, "access-log", env("TOSO_ACCESS_LOG", "true") == "true", "log every request (TOSO_ACCESS_LOG)")
	fs.DurationVar(&c.ShutdownWait, "shutdown-timeout", 30*time.Second, "how long to let in-flight requests finish (longer than a push waits for the writer, 25 s)")
	c.Push.flags(fs, env)
	fs.DurationVar(&c.AccessTTL, "access-ttl", envDuration(getenv, "TOSO_ACCESS_TTL", 15*time.Minute), "lifetime of access tokens (TOSO_ACCESS_TTL)")
	fs.IntVar(&c.LoginPerIP, "login-per-ip", 0, "login attempts per client IP a minute; 0: the default 30 (raise it for a load test from one address)")
	fs.StringVar(&c.Pprof, "pprof", "", "serve /debug/pprof on this loopback address, e.g. 127.0.0.1:6060 (off when empty)")
	fs.DurationVar(&c.RefreshTTL, "refresh-ttl", envDuration(getenv, "TOSO_REFRESH_TTL", 60*24*time.Hour), "lifetime of refresh tokens, renewed on every refresh (TOSO_REFRESH_TTL)")
}

// envDuration reads a duration like "15m" or "1440h" from the environment;
// an unparsable value is left for validate to refuse (as -1).
func envDuration(getenv func(string) string, key string, def time.Duration) time.Duration {
	v := getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return -1
	}
	return d
}

func (c *Config) validate() error {
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		return fmt.Errorf("%w: the JWT secret must be at least 32 characters", errUsage)
	}
	if c.CitizenKey != "" && len(c.CitizenKey) < 32 {
		return fmt.Errorf("%w: the citizen key must be at least 32 characters", errUsage)
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
  backup PATH                write a consistent copy of the live database to PATH
  import areas FILE.csv      import the official list of administrative units
  import users FILE.csv|xlsx import team rosters
  import completions FILE    import Bình dân học vụ số course completions (CSV or XLSX)
  generate-logs              a reports benchmark province with raw logs (-logs, -communes, -villages)

Run "toso COMMAND -h" for a command's flags.`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
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
	case "import":
		return runImport(ctx, args, getenv, stdout, stderr)
	case "generate-logs":
		return runGenerateLogs(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

// parse parses a subcommand's flags into a Config.
func parse(name string, args []string, getenv func(string) string, stderr io.Writer, defaultDB string) (Config, *flag.FlagSet, error) {
	var cfg Config
	fs := flag.NewFlagSet("toso "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.flags(fs, getenv, defaultDB)
	if err := fs.Parse(args); err != nil {
		return cfg, fs, fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := cfg.validate(); err != nil {
		return cfg, fs, err
	}
	return cfg, fs, nil
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, _, err := parse("serve", args, getenv, stderr, "toso.db")
	if err != nil {
		return err
	}
	log := cfg.logger(stderr)
	st, err := store.Open(ctx, cfg.DB, store.Options{CitizenKey: cfg.CitizenKey})
	if err != nil {
		return err
	}
	defer st.Close()
	return serve(ctx, cfg, st, log, nil)
}

// serve runs the server on an open store until ctx ends.
func serve(ctx context.Context, cfg Config, st *store.Store, log *slog.Logger, ready func(net.Addr)) error {
	jwtSecret, err := st.Secret(ctx, "jwt_secret", cfg.JWTSecret)
	if err != nil {
		return err
	}
	push, err := newPush(ctx, cfg.Push, st, log)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{
		Addr:            cfg.Addr,
		JWTSecret:       jwtSecret,
		AccessTokenTTL:  cfg.AccessTTL,
		RefreshTokenTTL: cfg.RefreshTTL,
		AccessLog:       cfg.AccessLog,
		ShutdownTimeout: cfg.ShutdownWait,
		Collectors:      push.Collectors(),
		Limits:          mobileapi.Limits{LoginPerIP: cfg.LoginPerIP, LoginIPWindow: time.Minute},
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
	return srv.Run(ctx, func(addr net.Addr) {
		log.Info("listening", "addr", addr.String(), "db", st.Path())
		if ready != nil {
			ready(addr)
		}
	})
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, _, err := parse("migrate", args, getenv, stderr, "toso.db")
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DB, store.Options{CitizenKey: cfg.CitizenKey})
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is at schema version %d\n", cfg.DB, v)
	return nil
}

func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, fs, err := parse("backup", args, getenv, stderr, "toso.db")
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: toso backup [flags] PATH", errUsage)
	}
	dest := fs.Arg(0)
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("backup: %s already exists", dest)
	}
	st, err := store.Open(ctx, cfg.DB, store.Options{CitizenKey: cfg.CitizenKey})
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	if err := st.Backup(ctx, dest); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s in %s\n", cfg.DB, dest, time.Since(start).Round(time.Millisecond))
	return nil
}

func runUser(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("%w: toso user create -phone P -name N -role admin [-team ID | -area ID] (password from TOSO_PASSWORD or stdin)", errUsage)
	}
	var cfg Config
	fs := flag.NewFlagSet("toso user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.flags(fs, getenv, "toso.db")
	phone := fs.String("phone", "", "phone number")
	name := fs.String("name", "", "full name")
	role := fs.String("role", "admin", "member, team_lead, coordinator or admin")
	team := fs.Int64("team", 0, "team id (members and team leads)")
	area := fs.Int64("area", 0, "area id (coordinators)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
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
	st, err := store.Open(ctx, cfg.DB, store.Options{CitizenKey: cfg.CitizenKey})
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
