package server

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/gofiber/fiber/v3/middleware/requestid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"

	"toso/store"
)

// metrics holds the server's Prometheus collectors, in a registry of its
// own (no global state), served at /metrics.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(s *store.Store, extra ...prometheus.Collector) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "toso_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "toso_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
	}
	m.reg.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.reg.MustRegister(poolGauges("read", s.ReadStats)...)
	m.reg.MustRegister(poolGauges("write", s.WriteStats)...)
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "toso_write_waiting", Help: "Writes waiting for the writer or running now (group commit)."},
			func() float64 { return float64(s.WriterStats().Waiting) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "toso_write_groups_total", Help: "Write transactions (groups of writes committed together)."},
			func() float64 { return float64(s.WriterStats().Groups) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "toso_write_jobs_total", Help: "Writes run in those transactions."},
			func() float64 { return float64(s.WriterStats().Jobs) }),
	)
	m.reg.MustRegister(extra...)
	return m
}

// poolGauges exports a database pool's statistics.
func poolGauges(pool string, stats func() sql.DBStats) []prometheus.Collector {
	labels := prometheus.Labels{"pool": pool}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "toso_db_open_connections", Help: "Open database connections.", ConstLabels: labels},
			func() float64 { return float64(stats().OpenConnections) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "toso_db_in_use_connections", Help: "Database connections in use.", ConstLabels: labels},
			func() float64 { return float64(stats().InUse) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "toso_db_wait_count_total", Help: "Waits for a database connection.", ConstLabels: labels},
			func() float64 { return float64(stats().WaitCount) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "toso_db_wait_seconds_total", Help: "Time spent waiting for a database connection.", ConstLabels: labels},
			func() float64 { return stats().WaitDuration.Seconds() }),
	}
}

// observe runs the handler, lets the error handler answer any error right
// here (so the status is final), then records metrics and one access log line.
func (s *Server) observe(c fiber.Ctx) error {
	if c.RequestCtx().UserValue(rejectedKey) != nil {
		// fasthttp refused the request while reading it and Fiber runs the
		// middleware before its error handler: the status is not known
		// yet, observeRejected records it.
		return c.Next()
	}
	start := time.Now()
	if err := c.Next(); err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			return herr
		}
	}
	route := c.Route().Path
	if route == "" || c.Route().Method == "USE" {
		route = "unmatched"
	}
	status := c.Response().StatusCode()
	elapsed := time.Since(start)
	s.metrics.requests.WithLabelValues(route, c.Method(), strconv.Itoa(status)).Inc()
	s.metrics.latency.WithLabelValues(route, c.Method()).Observe(elapsed.Seconds())
	if s.cfg.AccessLog {
		s.log.LogAttrs(c.Context(), slog.LevelInfo, "request",
			slog.String("request_id", requestid.FromContext(c)),
			slog.String("client_request_id", clientRID(c.RequestCtx())),
			slog.String("method", c.Method()),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Duration("elapsed", elapsed),
			slog.String("ip", c.IP()),
			slog.Int("bytes", len(c.Response().Body())),
		)
	}
	return nil
}

// rejectedKey marks a request fasthttp refused while reading it.
const rejectedKey = "toso.rejected"

// observeRejected wraps the fasthttp error handler, which answers the
// requests refused before any route runs (413 body too large, 431 headers
// too large, 408 read timeouts, malformed requests), so they are counted
// and logged with the status the client got, under route "rejected".
func (s *Server) observeRejected(fs *fasthttp.Server) {
	next := fs.ErrorHandler
	fs.ErrorHandler = func(ctx *fasthttp.RequestCtx, err error) {
		start := time.Now()
		ctx.SetUserValue(rejectedKey, true)
		next(ctx, err)
		status := ctx.Response.StatusCode()
		method := string(ctx.Method())
		if method == "" {
			method = "unknown"
		}
		s.metrics.requests.WithLabelValues("rejected", method, strconv.Itoa(status)).Inc()
		s.metrics.latency.WithLabelValues("rejected", method).Observe(time.Since(start).Seconds())
		if s.cfg.AccessLog {
			s.log.LogAttrs(context.Background(), slog.LevelInfo, "request",
				slog.String("request_id", string(ctx.Response.Header.Peek(fiber.HeaderXRequestID))),
				slog.String("client_request_id", clientRID(ctx)),
				slog.String("method", method),
				slog.String("route", "rejected"),
				slog.Int("status", status),
				slog.Duration("elapsed", time.Since(start)),
				// Not err: fasthttp quotes the request bytes in it, and
				// those may hold a citizen's number.
				slog.String("ip", ctx.RemoteIP().String()),
			)
		}
	}
}

// clientRequestIDKey keeps the X-Request-ID a client sent.
const clientRequestIDKey = "toso.client_request_id"

// clientRequestID moves a client's X-Request-ID aside, so the requestid
// middleware after it always makes the server's own id: a client cannot
// choose the id its lines and error bodies carry. The client's value is
// kept (visible ASCII, at most 128 bytes) as client_request_id in the log.
func clientRequestID(c fiber.Ctx) error {
	if v := c.Get(fiber.HeaderXRequestID); v != "" {
		if len(v) > 128 {
			v = v[:128]
		}
		v = strings.Map(func(r rune) rune {
			if r < 0x20 || r > 0x7e {
				return '?'
			}
			return r
		}, v)
		c.RequestCtx().SetUserValue(clientRequestIDKey, strings.Clone(v))
		c.Request().Header.Del(fiber.HeaderXRequestID)
	}
	return c.Next()
}

func clientRID(ctx *fasthttp.RequestCtx) string {
	v, _ := ctx.UserValue(clientRequestIDKey).(string)
	return v
}

func (m *metrics) httpHandler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// metricsBehindToken serves /metrics on the main listener to a scraper
// that sends the token; anyone else gets the 404 of a route that is not
// there (the figures say how busy the server is and how big its database).
func (s *Server) metricsBehindToken(token string) fiber.Handler {
	h := adaptor.HTTPHandler(s.metrics.httpHandler())
	want := []byte("Bearer " + token)
	return func(c fiber.Ctx) error {
		if subtle.ConstantTimeCompare([]byte(c.Get(fiber.HeaderAuthorization)), want) != 1 {
			return fiber.ErrNotFound
		}
		return h(c)
	}
}
