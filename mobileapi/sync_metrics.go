package mobileapi

import (
	"github.com/prometheus/client_golang/prometheus"

	"toso/store"
)

// syncMetrics count what sync does, for operators: how many mutations
// phones send and how they end (a rise in rejections by code is the first
// sign of an app bug), how many rows pulls carry, and how often a scope
// must start over.
type syncMetrics struct {
	mutations *prometheus.CounterVec // table, status, code
	pulled    *prometheus.CounterVec // table, op
	resets    prometheus.Counter
}

func newSyncMetrics() *syncMetrics {
	return &syncMetrics{
		mutations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "toso_sync_mutations_total", Help: "Pushed sync mutations by table, status and rejection code.",
		}, []string{"table", "status", "code"}),
		pulled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "toso_sync_pulled_rows_total", Help: "Rows sent by sync pulls, by table and op (put or del).",
		}, []string{"table", "op"}),
		resets: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "toso_sync_scope_resets_total", Help: "Scopes a pull served from the start (horizon, rule change or move).",
		}),
	}
}

// Collectors are the API's own Prometheus metrics, for the server to serve.
func (a *API) Collectors() []prometheus.Collector {
	return []prometheus.Collector{a.sync.mutations, a.sync.pulled, a.sync.resets}
}

// pushed counts a push's results. A table the server does not know is
// counted as "unknown", so a phone cannot grow the label set.
func (m *syncMetrics) pushed(muts []store.Mutation, results []store.Result, known func(string) bool) {
	tables := make(map[int64]string, len(muts))
	for _, mu := range muts {
		tables[mu.Mid] = mu.Table
	}
	for _, r := range results {
		t := tables[r.Mid]
		if !known(t) {
			t = "unknown"
		}
		m.mutations.WithLabelValues(t, r.Status, r.Code).Inc()
	}
}

// pulledFrom counts a pull's rows.
func (m *syncMetrics) pulledFrom(r *store.PullResponse) {
	m.resets.Add(float64(len(r.Resets)))
	for _, sc := range r.Scopes {
		for _, c := range sc.Changes {
			m.pulled.WithLabelValues(c.Table, c.Op).Inc()
		}
	}
}
