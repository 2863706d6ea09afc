package notifications

import "github.com/prometheus/client_golang/prometheus"

// workerMetrics are the push worker's Prometheus collectors. They are not
// registered anywhere by themselves: the server adds Collectors() to its
// own registry.
type workerMetrics struct {
	sent        prometheus.Counter
	failed      *prometheus.CounterVec
	invalidated prometheus.Counter
	pruned      prometheus.Counter
	depth       prometheus.Gauge
	due         prometheus.Gauge
	oldestAge   prometheus.Gauge
	paused      prometheus.Gauge
}

func newWorkerMetrics() *workerMetrics {
	return &workerMetrics{
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "toso_push_sent_total", Help: "Pushes accepted by FCM (one per device token).",
		}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "toso_push_failed_total", Help: "Failed push attempts by error class, retried or not.",
		}, []string{"class"}),
		invalidated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "toso_push_tokens_invalidated_total", Help: "Device tokens cleared because FCM reported them dead.",
		}),
		pruned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "toso_push_tokens_pruned_total", Help: "Device tokens cleared after 270 days without contact.",
		}),
		depth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "toso_push_queue_depth", Help: "Push outbox rows waiting (pending or sending), due or not.",
		}),
		due: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "toso_push_queue_due", Help: "Push outbox rows due now.",
		}),
		oldestAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "toso_push_oldest_due_age_seconds", Help: "How long the oldest due push outbox row has been due.",
		}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "toso_push_paused", Help: "1 while the sender is paused after FCM reported a quota exceeded.",
		}),
	}
}

func (m *workerMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.sent, m.failed, m.invalidated, m.pruned, m.depth, m.due, m.oldestAge, m.paused}
}
