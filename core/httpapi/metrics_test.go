package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/core/testsupport"
)

// Fiber reuses its request buffers: a metric label that points into one is rewritten by the
// next request, and the exposition then holds "POS", half a route, or duplicates (and
// /metrics fails). Under concurrent mixed traffic every label value must stay a route
// template or a method name.
func TestMetrics_LabelsSurviveConcurrentMixedTraffic(t *testing.T) {
	e := testsupport.New(t, storetest.Dialects()[0])
	w := newConsultation(t, e)
	routes := map[string]bool{"unmatched": true}
	for _, r := range e.Server.Routes() {
		routes[r.Path] = true
	}
	methods := map[string]bool{}
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "OTHER"} {
		methods[m] = true
	}
	type req struct{ method, path string }
	reqs := []req{
		{"GET", "/"}, {"GET", "/c/culture"}, {"POST", "/api/v1/proposals/1/votes"},
		{"PATCH", "/api/v1/consultations/culture"}, {"DELETE", "/api/v1/proposals/1/votes"},
		{"GET", "/api/v1/consultations/culture/sequence"}, {"PUT", "/nowhere/at/all/" + strings.Repeat("x", 40)},
		{"OPTIONS", "/api/v1/auth/me"}, {"PROPFIND", "/api/v1/auth/me"}, {"GET", "/static/site.css"},
		{"HEAD", "/c/culture"}, {"POST", "/account/signin"}, {"GET", "/no/such/page"}, {"TRACE", "/"},
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				r := reqs[(g+i)%len(reqs)]
				hr, _ := http.NewRequest(r.method, "http://"+w.A.Host+r.path, nil)
				hr.Host = w.A.Host
				hr.AddCookie(&http.Cookie{Name: "concorde_participant", Value: fmt.Sprintf("garbage-%d", i)})
				res, err := e.Server.App.Test(hr, 10000)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
			}
		}(g)
	}
	wg.Wait()
	mfs, err := e.Server.Metrics.Registry.Gather()
	if err != nil {
		msg := err.Error()
		if len(msg) > 600 {
			msg = msg[:600] + "…"
		}
		t.Fatalf("gather: %s", msg)
	}
	seen := 0
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "concorde_http_request") {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "method":
					seen++
					if !methods[l.GetValue()] {
						t.Errorf("%s: method label %q is not a method name", mf.GetName(), l.GetValue())
					}
				case "route":
					if !routes[l.GetValue()] {
						t.Errorf("%s: route label %q is not a route template", mf.GetName(), l.GetValue())
					}
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no request metric recorded")
	}
	res := e.Do(testsupport.Request{Method: "GET", Host: "admin.test", Path: "/metrics", Token: w.Ops})
	if res.Status != http.StatusOK {
		t.Fatalf("/metrics after mixed traffic: %d %s", res.Status, res.Body)
	}
}
