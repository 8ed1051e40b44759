package pluginhost_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/pluginhost"
	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/core/testsupport"
)

// stored reads a key of the misbehave plugin's storage in a site.
func stored(t *testing.T, e *testsupport.Env, s *testsupport.Site, key string) string {
	t.Helper()
	res := e.Do(testsupport.Request{Method: "GET", Host: s.Host, Path: "/api/v1/p/misbehave/kv?k=" + key})
	var v struct {
		Value string `json:"value"`
	}
	res.JSON(t, &v)
	return v.Value
}

func TestJobs_RunOnceAcrossNodesAndShowTheirOutcome(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			url := storetest.URL(t, dialect)
			one, two := testsupport.NewAt(t, url), testsupport.NewAt(t, url)
			for _, e := range []*testsupport.Env{one, two} {
				l := testLimits()
				l.JobTick = time.Hour // the test runs the schedulers itself
				l.MinJobInterval = time.Hour
				e.App.Plugins.SetLimits(l)
			}
			ctx := context.Background()
			site := one.Site("ay")
			if _, err := one.App.Plugins.Install(ctx, "test", binaries["misbehave"]); err != nil {
				t.Fatal(err)
			}
			if _, err := one.App.Plugins.Enable(ctx, "test", site.Tenant.ID, "misbehave"); err != nil {
				t.Fatal(err)
			}
			if err := two.App.Plugins.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			// Both nodes look for due jobs at once, several times: each job runs once.
			for range 3 {
				var wg sync.WaitGroup
				for _, e := range []*testsupport.Env{one, two} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := e.App.Plugins.RunDueJobs(ctx); err != nil {
							t.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			if got := stored(t, one, site, "ticks"); got != ",t" {
				t.Errorf("tick ran %q, want once", got)
			}
			var list struct {
				Jobs []pluginhost.JobStatus `json:"jobs"`
			}
			res := one.Do(testsupport.Request{Method: "GET", Host: site.Host, Path: "/api/v1/plugins/misbehave/jobs", Token: site.Tokens[authz.TenantAdmin]})
			res.JSON(t, &list)
			if len(list.Jobs) != 2 {
				t.Fatalf("jobs: %s", res.Body)
			}
			byName := map[string]pluginhost.JobStatus{}
			for _, j := range list.Jobs {
				byName[j.Name] = j
			}
			if j := byName["tick"]; j.Runs != 1 || j.LastStatus != "ok" || j.EverySecs != 3600 || !j.NextRunAt.After(time.Now().Add(50*time.Minute)) {
				t.Errorf("tick: %+v", j)
			}
			if j := byName["boom"]; j.Failures != 1 || j.LastStatus != "error" || !strings.Contains(j.LastDetail, "always fails") {
				t.Errorf("boom: %+v", j)
			}
			page := one.Do(testsupport.Request{Method: "GET", Host: site.Host, Path: "/admin/plugins", Token: site.Tokens[authz.TenantAdmin]})
			if body := string(page.Body); page.Status != 200 || !strings.Contains(body, "Tâches planifiées") || !strings.Contains(body, "the boom job always fails") {
				t.Errorf("admin console: %d %s", page.Status, body)
			}
			if res := one.Do(testsupport.Request{Method: "GET", Host: site.Host, Path: "/api/v1/plugins/misbehave/jobs", Token: site.Tokens[authz.Citizen]}); res.Status != 403 {
				t.Errorf("a citizen read the jobs: %d", res.Status)
			}
		})
	}
}

func TestLifecycle_PluginHearsOfEnableSettingsAndDisable(t *testing.T) {
	w := newWorld(t, "misbehave")
	w.enable(t, w.A, "misbehave")
	if got := stored(t, w.Env, w.A, "lifecycle"); got != ",enabled" {
		t.Fatalf("after enable: %q", got)
	}
	w.enable(t, w.A, "misbehave") // no change, no hook
	ctx := context.Background()
	if _, err := w.App.Plugins.Disable(ctx, "test", w.A.Tenant.ID, "misbehave"); err != nil {
		t.Fatal(err)
	}
	w.enable(t, w.A, "misbehave")
	if got := stored(t, w.Env, w.A, "lifecycle"); got != ",enabled,disabled,enabled" {
		t.Errorf("lifecycle: %q", got)
	}
	w.enable(t, w.B, "misbehave")
	if got := stored(t, w.Env, w.B, "lifecycle"); got != ",enabled" {
		t.Errorf("B's lifecycle (A's changes are A's): %q", got)
	}
}
