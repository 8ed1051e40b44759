package pluginhost

import (
	"context"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
)

// maxPluginSeries bounds how many series of its own a plugin may expose through the host.
const maxPluginSeries = 2000

type hostMetrics struct {
	calls    *prometheus.CounterVec
	errors   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	restarts *prometheus.CounterVec
	failures *prometheus.CounterVec
	state    *prometheus.GaugeVec

	mu  sync.Mutex
	own map[string][]*dto.MetricFamily // the plugins' own metrics, last collected
}

var states = []string{Stopped, Starting, Running, Restarting, Failed}

func newHostMetrics(reg *prometheus.Registry, h *Host) *hostMetrics {
	m := &hostMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "concorde_plugin_calls_total",
			Help: "Calls the host made to plugins, by plugin and kind (handle, event)."}, []string{"plugin", "kind"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "concorde_plugin_errors_total",
			Help: "Plugin calls that failed, by plugin and reason (down, timeout, too_large, invalid_response, busy, error)."}, []string{"plugin", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "concorde_plugin_call_duration_seconds",
			Help: "Time plugins took to answer requests.", Buckets: prometheus.DefBuckets}, []string{"plugin"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "concorde_plugin_restarts_total",
			Help: "Restarts of plugin processes after a crash."}, []string{"plugin"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "concorde_plugin_failures_total",
			Help: "Plugin processes that crashed or did not start."}, []string{"plugin"}),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "concorde_plugin_state",
			Help: "1 for the state each plugin's process is in (stopped, starting, running, restarting, failed)."}, []string{"plugin", "state"}),
		own: map[string][]*dto.MetricFamily{},
	}
	reg.MustRegister(m.calls, m.errors, m.latency, m.restarts, m.failures, m.state, &ownCollector{m})
	return m
}

func (m *hostMetrics) setState(plugin, state string) {
	for _, s := range states {
		v := 0.0
		if s == state {
			v = 1
		}
		m.state.WithLabelValues(plugin, s).Set(v)
	}
}

// collect fetches a plugin's own metrics; they are served from this copy at scrape time.
func (m *hostMetrics) collect(ctx context.Context, name string, l *launched) {
	res, err := l.rpc.CollectMetrics(ctx, &pluginpb.MetricsRequest{})
	if err != nil || len(res.GetText()) > 4<<20 {
		return
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(res.GetText()))
	if err != nil {
		return
	}
	var out []*dto.MetricFamily
	series := 0
	for _, mf := range mfs {
		series += len(mf.GetMetric())
		if series > maxPluginSeries {
			break
		}
		out = append(out, mf)
	}
	m.mu.Lock()
	m.own[name] = out
	m.mu.Unlock()
}

// ownCollector re-exposes the plugins' metrics as plugin_<name>{plugin="..."}: the prefix
// keeps them from clashing with the host's own metrics (a plugin's go_goroutines, say).
type ownCollector struct{ m *hostMetrics }

func (c *ownCollector) Describe(chan<- *prometheus.Desc) {} // unchecked: families vary

func (c *ownCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	for plugin, mfs := range c.m.own {
		for _, mf := range mfs {
			name := "plugin_" + mf.GetName()
			for _, metric := range mf.GetMetric() {
				names := []string{"plugin"}
				values := []string{plugin}
				clash := false
				for _, lp := range metric.GetLabel() {
					if lp.GetName() == "plugin" {
						clash = true
					}
					names = append(names, lp.GetName())
					values = append(values, lp.GetValue())
				}
				if clash {
					continue
				}
				desc := prometheus.NewDesc(name, mf.GetHelp(), names, nil)
				var pm prometheus.Metric
				var err error
				switch mf.GetType() {
				case dto.MetricType_COUNTER:
					pm, err = prometheus.NewConstMetric(desc, prometheus.CounterValue, metric.GetCounter().GetValue(), values...)
				case dto.MetricType_GAUGE:
					pm, err = prometheus.NewConstMetric(desc, prometheus.GaugeValue, metric.GetGauge().GetValue(), values...)
				case dto.MetricType_UNTYPED:
					pm, err = prometheus.NewConstMetric(desc, prometheus.UntypedValue, metric.GetUntyped().GetValue(), values...)
				case dto.MetricType_HISTOGRAM:
					hg := metric.GetHistogram()
					buckets := map[float64]uint64{}
					for _, b := range hg.GetBucket() {
						buckets[b.GetUpperBound()] = b.GetCumulativeCount()
					}
					pm, err = prometheus.NewConstHistogram(desc, hg.GetSampleCount(), hg.GetSampleSum(), buckets, values...)
				case dto.MetricType_SUMMARY:
					sm := metric.GetSummary()
					qs := map[float64]float64{}
					for _, q := range sm.GetQuantile() {
						qs[q.GetQuantile()] = q.GetValue()
					}
					pm, err = prometheus.NewConstSummary(desc, sm.GetSampleCount(), sm.GetSampleSum(), qs, values...)
				default:
					continue
				}
				if err == nil {
					ch <- pm
				}
			}
		}
	}
}
