package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

// metrics are the service's Prometheus collectors. Each Server has its own registry rather
// than the global one, so that tests (and a program embedding two services) do not collide.
type metrics struct {
	reg         *prometheus.Registry
	discoveries *prometheus.CounterVec
	duration    prometheus.Histogram
	probes      *prometheus.CounterVec
	cacheHits   prometheus.Counter
	shared      prometheus.Counter
	inFlight    prometheus.Gauge
	requests    *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		discoveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailscout_discoveries_total",
			Help: "Discoveries run, by diagnosis status (ok, partial, insecure_only, unusable, no_mail, dns_failed, local_failure, login_failed) or outcome (private_address, canceled, error).",
		}, []string{"status"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mailscout_discovery_duration_seconds",
			Help:    "Wall time of each discovery.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30},
		}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailscout_probes_total",
			Help: `Probe results in discovery reports, by error kind ("none" for a probe that succeeded).`,
		}, []string{"error_kind"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mailscout_cache_hits_total",
			Help: "Requests answered from a cached discovery, without running one.",
		}),
		shared: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mailscout_discoveries_shared_total",
			Help: "Requests that joined an identical discovery already running instead of starting one.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mailscout_discoveries_in_flight",
			Help: "Discoveries running now.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailscout_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
	}
	m.reg.MustRegister(m.discoveries, m.duration, m.probes, m.cacheHits, m.shared, m.inFlight, m.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every status exists from the start, so a rate() over it never starts from nothing.
	for _, s := range []string{discover.StatusOK, discover.StatusPartial, discover.StatusInsecureOnly, discover.StatusUnusable,
		discover.StatusNoMail, discover.StatusDNSFailed, discover.StatusLocalFailure, discover.StatusLoginFailed, statusPrivate, statusCanceled, statusError} {
		m.discoveries.WithLabelValues(s)
	}
	return m
}

// Outcomes of a discovery that has no diagnosis status of its own.
const (
	statusPrivate  = "private_address"
	statusCanceled = "canceled"
	statusError    = "error"
)

// observe counts one finished discovery and its probes.
func (m *metrics) observe(status string, seconds float64, rep *discover.Report) {
	m.discoveries.WithLabelValues(status).Inc()
	m.duration.Observe(seconds)
	if rep == nil {
		return
	}
	for _, p := range rep.Probes {
		kind := string(p.ErrorKind)
		if p.ErrorKind == probe.KindNone {
			kind = "none"
		}
		m.probes.WithLabelValues(kind).Inc()
	}
}
