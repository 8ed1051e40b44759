package pluginhost_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/pluginhost"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
)

// The trust model: in one shared process, a call of tenant B can use a token tenant A's call
// has in flight (plugin code sees every tenant). Isolated per tenant, B's process never sees
// A's calls: the same code finds no token to steal.
func TestIsolation_SharedProcessLetsATokenCrossTenantsIsolatedDoesNot(t *testing.T) {
	for _, c := range []struct {
		binary     string
		wantStolen bool
	}{{"misbehave", true}, {"misbehave-isolated", false}} {
		t.Run(c.binary, func(t *testing.T) {
			w := newWorld(t, c.binary)
			w.enable(t, w.A, "misbehave")
			w.enable(t, w.B, "misbehave")
			w.get(w.A, "/api/v1/p/misbehave/version", "") // started before the race
			w.get(w.B, "/api/v1/p/misbehave/version", "")
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.get(w.A, "/api/v1/p/misbehave/hold", "")
			}()
			time.Sleep(200 * time.Millisecond)
			res := w.get(w.B, "/api/v1/p/misbehave/steal", "")
			wg.Wait()
			if got := strings.Contains(string(res.Body), `"stolen":true`); got != c.wantStolen {
				t.Fatalf("stolen %v, want %v: %s", got, c.wantStolen, res.Body)
			}
			if c.wantStolen {
				if v := stored(t, w.Env, w.A, "stolen"); v != "by bee" {
					t.Errorf("A's storage: %q", v)
				}
			} else if v := stored(t, w.Env, w.A, "stolen"); v != "" {
				t.Errorf("A's storage written from B's call: %q", v)
			}
		})
	}
}

func TestIsolation_OneProcessPerTenantStoppedWhenIdle(t *testing.T) {
	w := newWorld(t, "misbehave-isolated")
	l := testLimits()
	l.IdleStop = 300 * time.Millisecond
	w.App.Plugins.SetLimits(l)
	w.enable(t, w.A, "misbehave")
	w.enable(t, w.B, "misbehave")
	pid := func(s string) string {
		res := w.get(map[string]*testsupport.Site{"A": w.A, "B": w.B}[s], "/api/v1/p/misbehave/version", "")
		_, after, _ := strings.Cut(string(res.Body), `"pid":`)
		return strings.TrimSuffix(after, "}")
	}
	a, b := pid("A"), pid("B")
	if a == "" || a == b {
		t.Fatalf("pids %q and %q: want one process per tenant", a, b)
	}
	if w.App.Plugins.PidOf("misbehave", w.A.Tenant.ID) == 0 || w.App.Plugins.Pid("misbehave") != 0 {
		t.Errorf("processes: A %d, shared %d", w.App.Plugins.PidOf("misbehave", w.A.Tenant.ID), w.App.Plugins.Pid("misbehave"))
	}
	if st := w.App.Plugins.Status("misbehave"); st.State != "running" || st.TenantProcesses != 2 {
		t.Errorf("status: %+v", st)
	}
	// Each tenant's data stays its own, as with a shared process.
	w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/misbehave/kv?k=k&v=ay", Token: w.A.Tokens[authz.Citizen]})
	if v := stored(t, w.Env, w.B, "k"); v != "" {
		t.Errorf("B reads %q", v)
	}
	// A process used within IdleStop is not stopped; idle ones are, and the next call starts a new one.
	if n := w.App.Plugins.StopIdle(); n != 0 {
		t.Fatalf("%d processes stopped though just used", n)
	}
	time.Sleep(400 * time.Millisecond)
	if n := w.App.Plugins.StopIdle(); n != 2 {
		t.Fatalf("%d idle processes stopped, want 2", n)
	}
	if w.App.Plugins.PidOf("misbehave", w.A.Tenant.ID) != 0 || w.App.Plugins.PidOf("misbehave", w.B.Tenant.ID) != 0 {
		t.Fatal("idle processes still run")
	}
	if again := pid("A"); again == "" || again == a {
		t.Errorf("after the idle stop: pid %q (was %q)", again, a)
	}
}

func TestManifest_IsolationIsSharedOrTenant(t *testing.T) {
	for iso, ok := range map[string]bool{"": true, "shared": true, "tenant": true, "process": false, "Tenant": false} {
		err := pluginhost.ValidateManifest(&pluginpb.Manifest{Name: "pledges", Version: "1", Isolation: iso,
			Permissions: []*pluginpb.Permission{{Object: "pledges", Action: "read", DefaultRoles: []string{"anonymous"}}},
			Routes:      []*pluginpb.Route{{Method: "GET", Path: "/api/pledges", Kind: "api", Object: "pledges", Action: "read"}}})
		if (err == nil) != ok {
			t.Errorf("isolation %q: %v", iso, err)
		}
	}
}
