package pluginhost

import (
	"context"
	"log/slog"
	"slices"
	"sort"
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
	// tenantProcs counts the running processes of plugins isolated per tenant.
	tenantProcs *prometheus.GaugeVec

	dropped *prometheus.CounterVec

	jobRuns     *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec

	log *slog.Logger
	mu  sync.Mutex
	own map[string][]ownFamily // the plugins' own metrics, last collected
	// isolated are the plugins seen with processes per tenant.
	isolated map[string]bool
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
		tenantProcs: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "concorde_plugin_tenant_processes",
			Help: "Running processes of a plugin isolated per tenant (one per tenant in use) on this node."}, []string{"plugin"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "concorde_plugin_metric_families_dropped_total",
			Help: "Plugin metric families left out of /metrics, by plugin and reason (conflict, inconsistent, unparsable, too_many_series)."}, []string{"plugin", "reason"}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "concorde_plugin_job_runs_total",
			Help: "Runs of plugins' scheduled jobs, all tenants together, by plugin, job and result (ok, error)."}, []string{"plugin", "job", "result"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "concorde_plugin_job_duration_seconds",
			Help: "Time plugins' scheduled jobs took.", Buckets: prometheus.DefBuckets}, []string{"plugin"}),
		own: map[string][]ownFamily{}, isolated: map[string]bool{},
		log: h.log,
	}
	reg.MustRegister(m.calls, m.errors, m.latency, m.restarts, m.failures, m.state, m.tenantProcs, m.dropped, m.jobRuns, m.jobDuration, &ownCollector{m})
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

// setTenantProcesses sets the count of running processes of each plugin isolated per tenant;
// plugins that no longer run any go to 0.
func (m *hostMetrics) setTenantProcesses(running map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for plugin := range m.isolated {
		if _, ok := running[plugin]; !ok {
			m.tenantProcs.WithLabelValues(plugin).Set(0)
		}
	}
	for plugin, n := range running {
		m.tenantProcs.WithLabelValues(plugin).Set(float64(n))
		m.isolated[plugin] = true
	}
}

// collect fetches a plugin's own metrics; they are served from this copy at scrape time.
// Each family is renamed plugin_<plugin>_<family>; a family that would still clash with
// another plugin's, or whose series disagree on their labels, is dropped and counted, so one
// plugin can never make a scrape fail.
func (m *hostMetrics) collect(ctx context.Context, name string, l *launched) {
	res, err := l.rpc.CollectMetrics(ctx, &pluginpb.MetricsRequest{})
	if err != nil || len(res.GetText()) > 4<<20 {
		return
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(res.GetText()))
	if err != nil {
		m.dropped.WithLabelValues(name, "unparsable").Inc()
		return
	}
	families := make([]string, 0, len(mfs))
	for f := range mfs {
		families = append(families, f)
	}
	sort.Strings(families)
	m.mu.Lock()
	defer m.mu.Unlock()
	taken := map[string]string{} // exposed family name → plugin, for the other plugins
	for p, own := range m.own {
		if p != name {
			for _, f := range own {
				taken[f.name] = p
			}
		}
	}
	var out []ownFamily
	series := 0
	for _, f := range families {
		mf := mfs[f]
		fam := ownFamily{name: exposedName(name, f), mf: mf}
		if other, ok := taken[fam.name]; ok {
			m.dropped.WithLabelValues(name, "conflict").Inc()
			m.log.Warn("plugin metric family dropped: its name clashes with another family", "plugin", name, "family", fam.name, "other", other)
			continue
		}
		taken[fam.name] = name // x and culture_x both become plugin_culture_x: the first stays
		if !consistentLabels(mf) {
			m.dropped.WithLabelValues(name, "inconsistent").Inc()
			m.log.Warn("plugin metric family dropped: its series disagree on their labels", "plugin", name, "family", fam.name)
			continue
		}
		if series += len(mf.GetMetric()); series > maxPluginSeries {
			m.dropped.WithLabelValues(name, "too_many_series").Inc()
			break
		}
		out = append(out, fam)
	}
	m.own[name] = out
}

// exposedName is a plugin's family under the plugin's own prefix, as Prometheus names go.
// A family already named after the plugin (culture_events_total) keeps one prefix.
func exposedName(plugin, family string) string {
	p := strings.ReplaceAll(plugin, "-", "_")
	return "plugin_" + p + "_" + strings.TrimPrefix(family, p+"_")
}

// consistentLabels says whether every series of a family has the same label names, none of
// them "plugin" (the host's own label), and no two series the same label values: the
// registry refuses anything else, failing the whole scrape.
func consistentLabels(mf *dto.MetricFamily) bool {
	var want []string
	seen := map[string]bool{}
	for i, metric := range mf.GetMetric() {
		names := make([]string, 0, len(metric.GetLabel()))
		var values strings.Builder
		for _, lp := range metric.GetLabel() {
			if lp.GetName() == "plugin" || lp.GetName() == "le" || lp.GetName() == "quantile" {
				return false
			}
			names = append(names, lp.GetName())
			values.WriteString(lp.GetName() + "\xff" + lp.GetValue() + "\xff")
		}
		sort.Strings(names)
		if i == 0 {
			want = names
		} else if !slices.Equal(want, names) {
			return false
		}
		if seen[values.String()] {
			return false
		}
		seen[values.String()] = true
	}
	return true
}

// ownFamily is one family of a plugin's metrics with the name the host exposes it under.
type ownFamily struct {
	name string
	mf   *dto.MetricFamily
}

// ownCollector re-exposes the plugins' metrics as plugin_<plugin>_<family>{plugin="..."}: the
// prefix keeps them from clashing with the host's own metrics and with each other's.
type ownCollector struct{ m *hostMetrics }

func (c *ownCollector) Describe(chan<- *prometheus.Desc) {} // unchecked: families vary

func (c *ownCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	for plugin, fams := range c.m.own {
		for _, fam := range fams {
			mf := fam.mf
			for _, metric := range mf.GetMetric() {
				names := []string{"plugin"}
				values := []string{plugin}
				for _, lp := range metric.GetLabel() {
					names = append(names, lp.GetName())
					values = append(values, lp.GetValue())
				}
				desc := prometheus.NewDesc(fam.name, mf.GetHelp(), names, nil)
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
