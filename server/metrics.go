package server

import (
	"database/sql"
	"log/slog"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/gofiber/fiber/v3/middleware/requestid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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

func (m *metrics) handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
}
