package api

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/wayline/wayline/runtime/engine"
)

// metrics are the node's Prometheus metrics, on a registry of the server's own (so tests can
// build many servers in one process).
type metrics struct {
	reg      *prometheus.Registry
	events   *prometheus.CounterVec
	commit   prometheus.Histogram
	requests *prometheus.CounterVec
}

func newMetrics(e *engine.Engine) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wayline_events_total",
		Help: "Events received, by outcome (accepted, duplicate, not_qualified, rejected, failed)."}, []string{"status"})
	m.commit = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "wayline_ingest_commit_seconds",
		Help: "Time from submitting a batch of events to its synced commit.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wayline_http_requests_total",
		Help: "HTTP requests by method and status code."}, []string{"method", "code"})
	m.reg.MustRegister(m.events, m.commit, m.requests, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if e != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wayline_outbox_pending",
			Help: "Action calls in the outbox not yet settled."}, func() float64 { return float64(e.PendingActions()) }))
	}
	return m
}

func (m *metrics) handler() fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
}

func (m *metrics) wrap(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		h(ctx)
		m.requests.WithLabelValues(methodLabel(ctx.Method()), strconv.Itoa(ctx.Response.StatusCode())).Inc()
	}
}

func (m *metrics) rejected(n int) {
	if n > 0 {
		m.events.WithLabelValues(statusRejected).Add(float64(n))
	}
}

func (m *metrics) accepted(results []itemResult) {
	for i := range results {
		if s := results[i].Status; s != statusRejected {
			m.events.WithLabelValues(s).Inc()
		}
	}
}

func (m *metrics) observeCommit(d time.Duration) { m.commit.Observe(d.Seconds()) }

// methodLabel keeps the label's values bounded whatever method a client sends.
func methodLabel(m []byte) string {
	switch s := string(m); s {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
		return s
	}
	return "other"
}
