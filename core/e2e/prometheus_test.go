package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/e2e"
	"github.com/concorde-civic/concorde/core/storetest"
)

// voteRoute is the vote route's template, the label its requests must be counted under.
const voteRoute = "/api/v1/proposals/:id/vote"

// A real Prometheus scrapes the metrics listener every second while participants and
// scripts send mixed concurrent traffic (pages, API, cookies, odd methods, errors, 404s, the
// culture plugin). Every scrape must succeed, and the vote route's counter, read back through
// Prometheus's query API, must equal the number of votes sent: before labels were copied out
// of Fiber's buffers, /metrics failed after such traffic and the counts went to garbled labels.
func TestMetrics_RealPrometheusScrapesDuringMixedTraffic(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (Debian package `prometheus`): the real-scrape test is skipped; TestMetrics_LabelsSurviveConcurrentMixedTraffic in core/httpapi still runs")
	}
	url := storetest.URL(t, storetest.Dialects()[0])
	s, err := e2e.StartWithMetrics(binary, url, filepath.Join(t.TempDir(), "concorde.log"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Kill()
		if t.Failed() {
			t.Logf("server output:\n%s", s.LogTail())
		}
	})
	prom := startPrometheus(t, promBin, s.MetricsAddr)

	var votes atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(6 * time.Second)
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				mixedRound(t, s, w, i, &votes)
			}
		}(w)
	}
	wg.Wait()
	sent := votes.Load()
	if sent == 0 {
		t.Fatal("no vote was sent")
	}

	// Wait for a scrape after the last request, then read the counter through Prometheus.
	var got float64
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, ok := prom.scalar(t, fmt.Sprintf(`sum(concorde_http_requests_total{job="concorde",method="POST",route=%q})`, voteRoute))
		if ok {
			got = v
		}
		if got == float64(sent) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got != float64(sent) {
		t.Errorf("Prometheus counts %v requests on %s, %d were sent", got, voteRoute, sent)
	}
	if v, ok := prom.scalar(t, `min_over_time(up{job="concorde"}[10m])`); !ok || v != 1 {
		t.Errorf("a scrape failed: min(up) = %v (%v)", v, ok)
	}
	if v, ok := prom.scalar(t, `count_over_time(up{job="concorde"}[10m])`); !ok || v < 3 {
		t.Errorf("only %v scrapes", v)
	}
	for _, tg := range prom.targets(t) {
		if tg.Health != "up" || tg.LastError != "" {
			t.Errorf("target %s: health %s, last error %q", tg.ScrapeURL, tg.Health, tg.LastError)
		}
	}
	// Every series is labelled by a route template and a known method, never a raw path.
	methods := map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true, "CONNECT": true, "TRACE": true, "OTHER": true}
	for _, m := range prom.vector(t, `count by (method, route) (concorde_http_requests_total{job="concorde"})`) {
		route, method := m.Metric["route"], m.Metric["method"]
		if !methods[method] || route != "unmatched" && !strings.HasPrefix(route, "/") || strings.Contains(route, "xx") ||
			strings.ContainsAny(strings.ReplaceAll(route, "/v1/", "/"), "0123456789") {
			t.Errorf("series with labels method=%q route=%q", method, route)
		}
	}
}

// mixedRound is one worker's round of browser and script traffic.
func mixedRound(t *testing.T, s *e2e.Server, w, i int, votes *atomic.Int64) {
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, ct string, body []byte, hdr map[string]string) (int, []byte) {
		req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Error(err)
			return 0, nil
		}
		req.Host = host
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := cl.Do(req)
		if err != nil {
			t.Error(err)
			return 0, nil
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	var seq struct {
		CSRF      string `json:"csrf_token"`
		Proposals []struct {
			ID  int64  `json:"id"`
			Key string `json:"key"`
		} `json:"proposals"`
	}
	if st, b := do("GET", "/api/v1/consultations/culture/sequence", "", nil, nil); st == 200 {
		_ = json.Unmarshal(b, &seq)
	}
	for k, p := range seq.Proposals {
		if k >= 3 {
			break
		}
		body, _ := json.Marshal(map[string]any{"vote": []string{"agree", "disagree", "neutral"}[(w+k)%3], "key": p.Key})
		if st, _ := do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", p.ID), "application/json", body, map[string]string{"X-CSRF-Token": seq.CSRF}); st != 0 {
			votes.Add(1)
		}
	}
	// A vote with a malformed body, and one on a proposal that does not exist: errors, counted too.
	if st, _ := do("POST", "/api/v1/proposals/1/vote", "application/json", []byte(`{"vote":`), map[string]string{"X-CSRF-Token": seq.CSRF}); st != 0 {
		votes.Add(1)
	}
	if st, _ := do("POST", "/api/v1/proposals/999999999/vote", "application/json", []byte(`{"vote":"agree"}`), map[string]string{"X-CSRF-Token": seq.CSRF}); st != 0 {
		votes.Add(1)
	}
	odd := strings.Repeat("x", 1+(w*7+i)%50)
	for _, r := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/c/culture"}, {"HEAD", "/c/culture"}, {"GET", "/account"},
		{"GET", "/p/culture/"}, {"GET", "/api/v1/p/culture/api/events"}, {"GET", "/p/culture/ideas"},
		{"GET", "/no/such/" + odd}, {"PUT", "/api/v1/" + odd}, {"PATCH", "/api/v1/consultations/culture"},
		{"DELETE", "/api/v1/proposals/1/vote"}, {"OPTIONS", "/api/v1/auth/me"}, {"PROPFIND", "/" + odd},
		{"TRACE", "/"}, {"GET", "/static/site.css"}, {"GET", "/api/v1/consultations/culture/results"},
		{"GET", "/api/v1/consultations/" + odd}, {"POST", "/account/signin"},
	} {
		do(r.method, r.path, "", nil, nil)
	}
}

type prometheus struct {
	url string
}

// startPrometheus runs a Prometheus server scraping target every second; it stops with the test.
func startPrometheus(t *testing.T, bin, target string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: concorde\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Logf("prometheus output:\n%s", b)
		}
	})
	p := &prometheus{url: "http://" + addr}
	// Ready, and the target scraped at least once.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if v, ok := p.scalar(t, `count_over_time(up{job="concorde"}[1m])`); ok && v >= 1 {
			return p
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("prometheus did not scrape the server within 30 s")
	return nil
}

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (p *prometheus) vector(t *testing.T, query string) []sample {
	t.Helper()
	res, err := http.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	var out struct {
		Status string `json:"status"`
		Data   struct {
			Result []sample `json:"result"`
		} `json:"data"`
	}
	if json.NewDecoder(res.Body).Decode(&out) != nil || out.Status != "success" {
		return nil
	}
	return out.Data.Result
}

// scalar is the value of a query with one result; false if there is none.
func (p *prometheus) scalar(t *testing.T, query string) (float64, bool) {
	t.Helper()
	r := p.vector(t, query)
	if len(r) != 1 {
		return 0, false
	}
	s, _ := r[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

type target struct {
	ScrapeURL string `json:"scrapeUrl"`
	Health    string `json:"health"`
	LastError string `json:"lastError"`
}

func (p *prometheus) targets(t *testing.T) []target {
	t.Helper()
	res, err := http.Get(p.url + "/api/v1/targets")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Data struct {
			Active []target `json:"activeTargets"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if len(out.Data.Active) == 0 {
		t.Fatal("prometheus has no target")
	}
	return out.Data.Active
}
