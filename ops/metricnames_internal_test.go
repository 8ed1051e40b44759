package ops

import (
	"slices"
	"testing"
)

func TestMetricsInExpr(t *testing.T) {
	cases := []struct {
		expr string
		want []string
	}{
		{`up{job="concorde"} == 0`, nil},
		{`sum by (go_label, le) (rate(concorde_x_bucket{route="/go_not_a_metric", a='process_no'}[5m]))`, []string{"concorde_x"}},
		{"concorde_a_sum / concorde_a_count # process_comment\n+ go_goroutines", []string{"concorde_a", "concorde_a", "go_goroutines"}},
		{`a * on (concorde_label) group_left (process_label) process_cpu_seconds_total`, []string{"process_cpu_seconds_total"}},
		{`absent(concorde_build_info{version=~"v1.*"})`, []string{"concorde_build_info"}},
	}
	for _, c := range cases {
		if got := metricsInExpr(c.expr); !slices.Equal(got, c.want) {
			t.Errorf("metricsInExpr(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}

func TestRuleExprs(t *testing.T) {
	doc := `groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0 # comment
      - alert: B
        expr: |
          sum(
            concorde_b
          )
        for: 1m
      - alert: C
        expr: "concorde_c{job=\"x\"} > 1"
      - expr: 'concorde_d{job=''x''}'
        record: r
      - alert: E
        expr: concorde_e
          > 2
        labels: {}
`
	got, err := ruleExprs(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"up == 0",
		"          sum(\n            concorde_b\n          )",
		`concorde_c{job="x"} > 1`,
		`concorde_d{job='x'}`,
		"concorde_e > 2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ruleExprs =\n%q\nwant\n%q", got, want)
	}
}
