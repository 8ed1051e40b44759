package ops_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/ops"
)

const (
	rulesFile     = "prometheus/alerts.yml"
	rulesTestFile = "prometheus/alerts_test.yml"
	configFile    = "prometheus/prometheus.yml"
	dashboardFile = "grafana/concorde.json"
)

// promtool returns the path of promtool. Without it the test is skipped on a
// workstation but fails in CI (CI set), where .ci/run installs it.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("promtool not found on PATH in CI (CI=%q): .ci/run installs it with `apt-get install prometheus`", os.Getenv("CI"))
	}
	t.Skip("promtool not found on PATH; install it with `apt-get install prometheus` (Debian) to run this test")
	return ""
}

func runPromtool(t *testing.T, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestAlertRules_PassPromtool(t *testing.T) {
	bin := promtool(t)
	t.Run("check rules", func(t *testing.T) { runPromtool(t, bin, "check", "rules", rulesFile) })
	t.Run("test rules", func(t *testing.T) { runPromtool(t, bin, "test", "rules", rulesTestFile) })
	t.Run("check config", func(t *testing.T) { runPromtool(t, bin, "check", "config", configFile) })
}

func TestAlertRules_EveryAlertIsTested(t *testing.T) {
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(rulesTestFile)
	if err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, line := range strings.Split(string(rules), "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "- alert:"); ok {
			alerts = append(alerts, strings.TrimSpace(name))
		}
	}
	if len(alerts) == 0 {
		t.Fatal("no alert found in " + rulesFile)
	}
	for _, a := range alerts {
		// An alert that fires has a test expecting its labels; every alert
		// also appears in the healthy test with exp_alerts: [].
		if !strings.Contains(string(tests), "alertname: "+a+", exp_alerts: []") {
			t.Errorf("%s: no test checks that %s stays silent", rulesTestFile, a)
		}
		if !strings.Contains(string(tests), "alertname: "+a+"\n") {
			t.Errorf("%s: no test checks that %s fires", rulesTestFile, a)
		}
	}
}

type panel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource json.RawMessage `json:"datasource"`
	Targets    []struct {
		Expr       string          `json:"expr"`
		RefID      string          `json:"refId"`
		Datasource json.RawMessage `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // panels of a collapsed row
}

type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	return d
}

// leafPanels returns every panel that shows data, descending into rows.
func leafPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		if p.Type == "row" {
			out = append(out, leafPanels(p.Panels)...)
			continue
		}
		out = append(out, p)
	}
	return out
}

const wantDatasource = `{"type":"prometheus","uid":"${DS_PROMETHEUS}"}`

func sameJSON(a json.RawMessage, b string) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func TestDashboard_IsValidJSON(t *testing.T) {
	d := loadDashboard(t)
	if d.Title == "" || d.UID == "" {
		t.Errorf("dashboard needs a title and a uid, got %q / %q", d.Title, d.UID)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion = %d, want >= 36", d.SchemaVersion)
	}
	hasDS := false
	for _, v := range d.Templating.List {
		if v.Name == "DS_PROMETHEUS" && v.Type == "datasource" && v.Query == "prometheus" {
			hasDS = true
		}
	}
	if !hasDS {
		t.Error("templating needs a datasource variable DS_PROMETHEUS of type prometheus")
	}

	panels := leafPanels(d.Panels)
	if len(panels) == 0 {
		t.Fatal("dashboard has no panels")
	}
	ids := map[int]string{}
	for _, p := range panels {
		name := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if other, dup := ids[p.ID]; dup {
			t.Errorf("%s: id already used by %q", name, other)
		}
		ids[p.ID] = p.Title
		if p.Title == "" {
			t.Errorf("%s: no title", name)
		}
		if !sameJSON(p.Datasource, wantDatasource) {
			t.Errorf("%s: datasource = %s, want %s", name, p.Datasource, wantDatasource)
		}
		withExpr := 0
		refIDs := map[string]bool{}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) != "" {
				withExpr++
			}
			if refIDs[tg.RefID] {
				t.Errorf("%s: duplicate refId %q", name, tg.RefID)
			}
			refIDs[tg.RefID] = true
			if !sameJSON(tg.Datasource, wantDatasource) {
				t.Errorf("%s: target %s datasource = %s, want %s", name, tg.RefID, tg.Datasource, wantDatasource)
			}
		}
		if withExpr == 0 {
			t.Errorf("%s: no target with an expr", name)
		}
	}
}

// TestDashboard_ExprsParse has promtool parse every dashboard query, with
// Grafana's variables replaced by plausible values, as recording rules.
func TestDashboard_ExprsParse(t *testing.T) {
	bin := promtool(t)
	d := loadDashboard(t)
	vars := strings.NewReplacer(
		"$__rate_interval", "5m", "${__rate_interval}", "5m",
		"$__interval", "1m", "$__range", "1h",
		"$job", "concorde", "$instance", ".*",
	)
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for _, p := range leafPanels(d.Panels) {
		for _, tg := range p.Targets {
			expr := vars.Replace(tg.Expr)
			if strings.Contains(expr, "$") {
				t.Errorf("panel %q target %s: unknown Grafana variable in %q", p.Title, tg.RefID, tg.Expr)
				continue
			}
			q, _ := json.Marshal(expr) // JSON strings are valid YAML
			fmt.Fprintf(&b, "      - record: dashboard_panel_%d_%s\n        expr: %s\n", p.ID, tg.RefID, q)
		}
	}
	file := filepath.Join(t.TempDir(), "dashboard_rules.yml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, bin, "check", "rules", file)
}

func TestReferencedMetrics(t *testing.T) {
	got, err := ops.ReferencedMetrics()
	if err != nil {
		t.Fatal(err)
	}
	// Every metric the server exports (see core's metrics) and the runtime
	// metrics the dashboard shows. Changing the rules or the dashboard to use
	// another metric means updating this list and the live /metrics test.
	want := []string{
		"concorde_active_sessions",
		"concorde_build_info",
		"concorde_db_ready",
		"concorde_http_request_duration_seconds",
		"concorde_http_requests_in_flight",
		"concorde_http_requests_total",
		"concorde_mail_queue_depth",
		"concorde_mail_sent_total",
		"concorde_tenants",
		"go_goroutines",
		"go_memstats_heap_alloc_bytes",
		"process_cpu_seconds_total",
		"process_resident_memory_bytes",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ReferencedMetrics() =\n  %q\nwant\n  %q", got, want)
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("ReferencedMetrics() is not sorted and de-duplicated: %q", got)
	}
	for _, name := range got {
		if name == "up" || strings.HasSuffix(name, "_bucket") || strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count") {
			t.Errorf("ReferencedMetrics() contains %q", name)
		}
	}
}
