package pluginhost

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"

	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
)

// textPlugin answers CollectMetrics with a fixed exposition, as any process speaking the
// protocol could (the SDK's registry would refuse to produce some of these).
type textPlugin struct {
	pluginpb.PluginClient
	text string
}

func (p textPlugin) CollectMetrics(context.Context, *pluginpb.MetricsRequest, ...grpc.CallOption) (*pluginpb.MetricsResponse, error) {
	return &pluginpb.MetricsResponse{Text: p.text}, nil
}

func TestMetrics_OnePluginCannotBreakTheScrape(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newHostMetrics(reg, &Host{log: slog.New(slog.DiscardHandler)})
	collect := func(plugin, text string) {
		m.collect(context.Background(), plugin, &launched{rpc: textPlugin{text: text}})
	}
	// Two plugins with the same family but other help and labels: fine, each under its name.
	collect("alpha", "# HELP requests_total Alpha's.\n# TYPE requests_total counter\nrequests_total{route=\"a\"} 1\n")
	collect("beta", "# HELP requests_total Beta's.\n# TYPE requests_total counter\nrequests_total{kind=\"b\"} 2\n"+
		// Series that disagree on their labels, and one that claims the host's plugin label.
		"# TYPE mixed gauge\nmixed{a=\"1\"} 1\nmixed{b=\"2\"} 2\n"+
		"# TYPE spoof gauge\nspoof{plugin=\"alpha\"} 1\n"+
		// beta_jobs and jobs would both be plugin_beta_jobs.
		"# TYPE beta_jobs gauge\nbeta_jobs 3\n# TYPE jobs gauge\njobs 4\n")
	// A plugin whose name, once dashes become underscores, prefixes another's family.
	collect("beta-x", "# TYPE y gauge\ny 1\n")
	collect("beta", "# HELP requests_total Beta's.\n# TYPE requests_total counter\nrequests_total{kind=\"b\"} 2\n# TYPE x_y gauge\nx_y 5\n")

	if _, err := reg.Gather(); err != nil {
		t.Fatalf("the scrape fails: %v", err)
	}
	got, err := testutil.GatherAndCount(reg, "plugin_alpha_requests_total", "plugin_beta_requests_total", "plugin_beta_x_y")
	if err != nil || got != 3 {
		t.Fatalf("kept families: %d %v", got, err)
	}
	if n := testutil.ToFloat64(m.dropped.WithLabelValues("beta", "inconsistent")); n != 2 {
		t.Errorf("inconsistent families dropped: %v, want 2 (mixed, spoof)", n)
	}
	if n := testutil.ToFloat64(m.dropped.WithLabelValues("beta", "conflict")); n != 2 {
		t.Errorf("conflicting families dropped: %v, want 2 (jobs after beta_jobs, then x_y after beta-x's y)", n)
	}
	var b strings.Builder
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		b.WriteString(mf.GetName() + " ")
	}
	if strings.Contains(b.String(), "plugin_beta_mixed") || strings.Contains(b.String(), "plugin_beta_spoof") {
		t.Errorf("dropped families exposed: %s", b.String())
	}
}
