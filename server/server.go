// Package server is Toso's Fiber app: configuration, middleware, the error
// handler, routes mounted, and Run with graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/recover"
	"github.com/gofiber/fiber/v3/middleware/requestid"
	"github.com/prometheus/client_golang/prometheus"

	"toso/mobileapi"
	"toso/store"
)

// Config is the server's part of the configuration, built in main.
type Config struct {
	Addr            string        // listen address, e.g. 127.0.0.1:8080
	JWTSecret       string        // ≥ 32 characters
	BodyLimit       int           // bytes; default 1 MiB (sync allows 512 KB of mutations)
	ReadTimeout     time.Duration // default 30 s: a slow client cannot hold a connection forever
	WriteTimeout    time.Duration // default 60 s
	IdleTimeout     time.Duration // default 120 s
	ShutdownTimeout time.Duration // default 20 s to finish in-flight requests
	AccessLog       bool          // one JSON line per request
	Now             func() time.Time
	// Collectors are extra Prometheus metrics served at /metrics (the
	// push worker's, for example).
	Collectors []prometheus.Collector
}

// Server is the HTTP side of Toso.
type Server struct {
	app     *fiber.App
	cfg     Config
	log     *slog.Logger
	store   *store.Store
	metrics *metrics
}

// New builds the app with every route mounted.
func New(cfg Config, s *store.Store, log *slog.Logger) (*Server, error) {
	if cfg.BodyLimit == 0 {
		cfg.BodyLimit = 1 << 20
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
		cfg.ShutdownTimeout = 20 * time.Second
	}
	sv, err := newStructValidator()
	if err != nil {
		return nil, fmt.Errorf("validator: %w", err)
	}
	api, err := mobileapi.New(s, mobileapi.Config{JWTSecret: cfg.JWTSecret, Now: cfg.Now}, log)
	if err != nil {
		return nil, err
	}
	srv := &Server{cfg: cfg, log: log, store: s, metrics: newMetrics(s, cfg.Collectors...)}
	srv.app = fiber.New(fiber.Config{
		AppName:         "toso",
		BodyLimit:       cfg.BodyLimit,
		ReadTimeout:     cfg.ReadTimeout,
		WriteTimeout:    cfg.WriteTimeout,
		IdleTimeout:     cfg.IdleTimeout,
		ErrorHandler:    errorHandler(log, sv),
		StructValidator: sv,
	})
	srv.app.Use(requestid.New())
	srv.app.Use(srv.observe)
	srv.app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c fiber.Ctx, e any) {
		log.Error("panic", "request_id", requestid.FromContext(c), "panic", fmt.Sprint(e))
	}}))

	srv.app.Get("/healthz", func(c fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	srv.app.Get("/readyz", srv.ready)
	srv.app.Get("/metrics", srv.metrics.handler())
	api.Register(srv.app)
	return srv, nil
}

// App is the Fiber app, for tests (app.Test).
func (s *Server) App() *fiber.App { return s.app }

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
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() {
		errc <- s.app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
	}()
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
