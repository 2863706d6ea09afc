package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"toso/server"
)

// defaultMetricsAddr is where /metrics is served unless told otherwise:
// loopback, so only this machine (a local Prometheus or node agent) reads
// how busy the server is.
const defaultMetricsAddr = "127.0.0.1:9464"

// proxies parses --trusted-proxies: comma-separated IPs or CIDRs.
func (c *Config) proxies() ([]string, error) {
	var out []string
	for _, p := range strings.Split(c.TrustedProxies, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if strings.Contains(p, "/") {
			if _, err := netip.ParsePrefix(p); err != nil {
				return nil, fmt.Errorf("%q is not an IP or CIDR", p)
			}
		} else if _, err := netip.ParseAddr(p); err != nil {
			return nil, fmt.Errorf("%q is not an IP or CIDR", p)
		}
		out = append(out, p)
	}
	return out, nil
}

func (c *Config) validateMetrics() error {
	if c.MetricsAddr != "off" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("%w: --metrics-addr %q: %v (or \"off\")", errUsage, c.MetricsAddr, err)
		}
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 32 {
		return fmt.Errorf("%w: the metrics token must be at least 32 characters", errUsage)
	}
	return nil
}

// serveMetrics serves srv's /metrics on --metrics-addr. When that is the
// default address and it is taken (another Toso on this machine, a test),
// serving goes on without it and says so; an address given explicitly
// must work.
func serveMetrics(cfg Config, srv *server.Server, log *slog.Logger) (stop func(), err error) {
	if cfg.MetricsAddr == "off" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if errors.Is(err, syscall.EADDRINUSE) && cfg.MetricsAddr == defaultMetricsAddr {
		log.Warn("metrics: the default address is in use; /metrics is not served (set --metrics-addr)", "addr", cfg.MetricsAddr)
		return func() {}, nil
	} else if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", srv.Metrics())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	log.Info("metrics listening", "addr", ln.Addr().String())
	return func() { hs.Close() }, nil
}
