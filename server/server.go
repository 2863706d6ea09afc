// Package server is Toso's Fiber app: configuration, middleware, the error
// handler, routes mounted, and Run with graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/recover"
	"github.com/gofiber/fiber/v3/middleware/requestid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"toso/dashboard"
	"toso/mobileapi"
	"toso/store"
	"toso/webapp"
)

// Config is the server's part of the configuration, built in main.
type Config struct {
	Addr            string        // listen address, e.g. 127.0.0.1:8080
	JWTSecret       string        // ≥ 32 characters
	BodyLimit       int           // bytes; default 1 MiB (sync allows 512 KB of mutations)
	ImportBodyLimit int           // bytes, for mobileapi.ImportPaths only; default 16 MiB
	ReadTimeout     time.Duration // default 30 s: a slow client cannot hold a connection forever
	WriteTimeout    time.Duration // default 60 s
	IdleTimeout     time.Duration // default 120 s
	ShutdownTimeout time.Duration // default 30 s: longer than a push may wait for the writer (25 s), so every push in flight gets its answer
	AccessLog       bool          // one JSON line per request
	Now             func() time.Time

	AccessTokenTTL  time.Duration // default 15 minutes
	RefreshTokenTTL time.Duration // default 60 days
	// Limits are the login throttles and the per-device request rate; zero
	// fields take mobileapi.DefaultLimits.
	Limits mobileapi.Limits
	// Collectors are extra Prometheus metrics served at /metrics (the
	// push worker's, for example).
	Collectors []prometheus.Collector
	// The periodic jobs (jobs.go): defaults store.ActivityFlushEvery and
	// store.CampaignRanksEvery.
	ActivityFlushEvery time.Duration
	CampaignRanksEvery time.Duration
	// TrustedProxies are the addresses (IPs or CIDRs) of reverse proxies.
	// Only for a request from one of them does the client address come
	// from X-Forwarded-For (the rightmost address that is not a trusted
	// proxy) and the scheme from X-Forwarded-Proto; anyone else's headers
	// are ignored. Empty: no proxy is trusted.
	TrustedProxies []string
	// MetricsToken, when set, serves /metrics on the main listener to
	// requests bearing it (Authorization: Bearer …). Without it /metrics is
	// not on the main listener at all: main serves Metrics() on its own
	// address (--metrics-addr, loopback by default).
	MetricsToken string
}

// Server is the HTTP side of Toso.
type Server struct {
	app     *fiber.App
	cfg     Config
	log     *slog.Logger
	store   *store.Store
	metrics *metrics

	largeBody map[string]bool // paths allowed ImportBodyLimit

	jobsRan chan struct{} // closed when every periodic job has run once (tests wait for it)
}

// New builds the app with every route mounted.
func New(cfg Config, s *store.Store, log *slog.Logger) (*Server, error) {
	if cfg.BodyLimit == 0 {
		cfg.BodyLimit = 1 << 20
	}
	if cfg.ImportBodyLimit == 0 {
		cfg.ImportBodyLimit = 16 << 20
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 60 * time.Second
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 120 * time.Second
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	cfg.jobDefaults()
	sv, err := newStructValidator()
	if err != nil {
		return nil, fmt.Errorf("validator: %w", err)
	}
	api, err := mobileapi.New(s, mobileapi.Config{
		JWTSecret: cfg.JWTSecret, AccessTokenTTL: cfg.AccessTokenTTL, RefreshTokenTTL: cfg.RefreshTokenTTL,
		Limits: cfg.Limits, Now: cfg.Now,
	}, log)
	if err != nil {
		return nil, err
	}
	dash, err := dashboard.New(s, dashboard.Config{Secret: cfg.JWTSecret, Throttle: api, Now: cfg.Now}, log)
	if err != nil {
		return nil, err
	}
	app, err := webapp.New(log)
	if err != nil {
		return nil, err
	}
	srv := &Server{cfg: cfg, log: log, store: s, metrics: newMetrics(s, slices.Concat(cfg.Collectors, api.Collectors())...), largeBody: map[string]bool{},
		jobsRan: make(chan struct{})}
	for _, p := range mobileapi.ImportPaths() {
		srv.largeBody[p] = true
	}
	srv.app = fiber.New(fiber.Config{
		AppName:         "toso",
		BodyLimit:       cfg.BodyLimit,
		ReadTimeout:     cfg.ReadTimeout,
		WriteTimeout:    cfg.WriteTimeout,
		IdleTimeout:     cfg.IdleTimeout,
		ErrorHandler:    errorHandler(log, sv),
		StructValidator: sv,
		// c.IP() and c.Scheme() read the proxy headers only from a trusted
		// proxy; EnableIPValidation makes c.IP() walk X-Forwarded-For from
		// the right and skip the trusted hops, so a client cannot choose
		// its address by sending the header itself.
		TrustProxy:         len(cfg.TrustedProxies) > 0,
		TrustProxyConfig:   fiber.TrustProxyConfig{Proxies: cfg.TrustedProxies},
		ProxyHeader:        proxyHeader(cfg.TrustedProxies),
		EnableIPValidation: true,
	})
	srv.app.Server().HeaderReceived = srv.bodyLimit
	srv.observeRejected(srv.app.Server())
	srv.app.Use(clientRequestID) // before requestid: the id is always the server's
	srv.app.Use(requestid.New())
	srv.app.Use(srv.observe)
	srv.app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c fiber.Ctx, e any) {
		log.Error("panic", "request_id", requestid.FromContext(c), "panic", fmt.Sprint(e))
	}}))

	srv.app.Get("/healthz", func(c fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	srv.app.Get("/readyz", srv.ready)
	if cfg.MetricsToken != "" {
		srv.app.Get("/metrics", srv.metricsBehindToken(cfg.MetricsToken))
	}
	api.Register(srv.app)
	app.Register(srv.app)  // the member web app, at /app/
	dash.Register(srv.app) // the coordinator's web pages, at /
	return srv, nil
}

func proxyHeader(trusted []string) string {
	if len(trusted) == 0 {
		return ""
	}
	return fiber.HeaderXForwardedFor
}

// Metrics is the Prometheus endpoint as a plain HTTP handler, for the
// metrics listener main starts beside the app.
func (s *Server) Metrics() http.Handler { return s.metrics.httpHandler() }

// App is the Fiber app, for tests (app.Test).
func (s *Server) App() *fiber.App { return s.app }

// bodyLimit raises the body limit of the import routes once the request
// header is read: Fiber has one BodyLimit per app, but fasthttp (under it)
// takes a per-request limit from Server.HeaderReceived before reading the
// body, so every other route still refuses a large body before it is sent.
func (s *Server) bodyLimit(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	path, _, _ := strings.Cut(string(h.RequestURI()), "?")
	if string(h.Method()) == fiber.MethodPost && s.largeBody[strings.TrimSuffix(strings.ToLower(path), "/")] {
		return fasthttp.RequestConfig{MaxRequestBodySize: s.cfg.ImportBodyLimit}
	}
	return fasthttp.RequestConfig{}
}

// ready handles GET /readyz: the database answers within a second.
func (s *Server) ready(c fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.Context(), time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable"})
	}
	return c.JSON(fiber.Map{"status": "ok"})
}

// Run serves until ctx is cancelled, then stops accepting connections and
// waits up to ShutdownTimeout for in-flight requests. ready, if not nil,
// receives the bound address once listening.
func (s *Server) Run(ctx context.Context, ready func(addr net.Addr)) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln, ready)
}

// Serve is Run on a listener the caller made (a TLS listener, for one).
func (s *Server) Serve(ctx context.Context, ln net.Listener, ready func(addr net.Addr)) error {
	var err error
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() {
		errc <- s.app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
	}()
	go s.pruneSync(ctx)
	stopJobs := s.jobs(ctx)
	defer stopJobs() // after the requests in flight: their device activity is flushed last
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	err = s.app.ShutdownWithTimeout(s.cfg.ShutdownTimeout)
	if lerr := <-errc; lerr != nil && !errors.Is(lerr, net.ErrClosed) {
		err = errors.Join(err, lerr)
	}
	return err
}

// pruneSync drops sync tombstones past the 180-day horizon and old stored
// push results, at start and then daily, until ctx ends.
func (s *Server) pruneSync(ctx context.Context) {
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		if err := s.store.PruneSync(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Error("prune sync", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
