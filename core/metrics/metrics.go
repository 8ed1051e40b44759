// Package metrics holds the server's Prometheus registry and the metrics it exports.
// The registry is not the global one: each server (and each test) has its own.
package metrics

import (
	"errors"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Version is the build's version, set by the linker (-X) or "dev".
var Version = "dev"

// Metrics is the set of metrics the core exports.
type Metrics struct {
	Registry *prometheus.Registry

	Requests       *prometheus.CounterVec
	Duration       *prometheus.HistogramVec
	InFlight       prometheus.Gauge
	ActiveSessions prometheus.Gauge
	Tenants        *prometheus.GaugeVec
	DBReady        prometheus.Gauge
}

// New builds the registry with the Go runtime, process and Concorde metrics.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "concorde_http_requests_total", Help: "HTTP requests served, by method, route template and status code.",
		}, []string{"method", "route", "status"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "concorde_http_request_duration_seconds", Help: "Time to serve HTTP requests, by method and route template.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "concorde_http_requests_in_flight", Help: "HTTP requests being served now.",
		}),
		ActiveSessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "concorde_active_sessions", Help: "Unexpired staff and citizen sign-in sessions.",
		}),
		Tenants: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "concorde_tenants", Help: "Tenants, by status.",
		}, []string{"status"}),
		DBReady: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "concorde_db_ready", Help: "1 when the database answers and its migrations are current, else 0.",
		}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "concorde_build_info", Help: "Always 1; labels give the build's version.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(Version, runtime.Version()).Set(1)
	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Requests, m.Duration, m.InFlight, m.ActiveSessions, m.Tenants, m.DBReady, build,
	)
	return m
}

// Register registers c, or returns the collector already registered under its name (two
// services on one registry share their metrics instead of panicking).
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a name clash with another metric: a programming error
	}
	return c
}
