package pluginhost_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/pluginhost"
	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/tenants"
)

type running struct {
	Version string `json:"version"`
	Pid     int    `json:"pid"`
}

func versionOn(t *testing.T, e *testsupport.Env, s *testsupport.Site) running {
	t.Helper()
	res := e.Do(testsupport.Request{Method: "GET", Host: s.Host, Path: "/api/v1/p/misbehave/version"})
	if res.Status != 200 {
		t.Fatalf("version: %d %s", res.Status, res.Body)
	}
	var r running
	res.JSON(t, &r)
	return r
}

// platformAdmin returns a platform admin's token.
func platformAdmin(e *testsupport.Env) string {
	_, tok := e.Account(tenants.PlatformID, "root@admin.test", authz.PlatformAdmin)
	return tok
}

func TestInstalls_UpgradeOnARunningServerDrainsCallsInFlight(t *testing.T) {
	w := newWorld(t, "misbehave")
	w.enable(t, w.A, "misbehave")
	root := platformAdmin(w.Env)
	v1 := versionOn(t, w.Env, w.A)
	if v1.Version != "0.0.1" {
		t.Fatalf("before: %+v", v1)
	}
	// Traffic all along the upgrade, and one slow call in flight when it happens.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			st := w.get(w.A, "/api/v1/p/misbehave/version", "").Status
			mu.Lock()
			statuses[st]++
			mu.Unlock()
		}
	}()
	slow := make(chan testsupport.Response, 1)
	go func() { slow <- w.get(w.A, "/api/v1/p/misbehave/slow", "") }()
	time.Sleep(100 * time.Millisecond)

	res := w.Do(testsupport.Request{Method: "POST", Host: "admin.test", Path: "/api/v1/platform/plugins", Token: root,
		Body: map[string]string{"path": binaries["misbehave-v2"]}})
	if res.Status != 201 || !strings.Contains(string(res.Body), `"version":"0.0.2"`) {
		t.Fatalf("install v2: %d %s", res.Status, res.Body)
	}
	if r := <-slow; r.Status != 200 || !strings.Contains(string(r.Body), `"version":"0.0.1"`) {
		t.Errorf("the call in flight during the upgrade: %d %s", r.Status, r.Body)
	}
	v2 := versionOn(t, w.Env, w.A)
	stop.Store(true)
	wg.Wait()
	if v2.Version != "0.0.2" || v2.Pid == v1.Pid {
		t.Errorf("after the upgrade: %+v (before %+v)", v2, v1)
	}
	for st, n := range statuses {
		if st != 200 {
			t.Errorf("%d requests answered %d during the upgrade", n, st)
		}
	}
	// The old process stops once drained.
	deadline := time.Now().Add(3 * time.Second)
	for syscall.Kill(v1.Pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the old version (pid %d) still runs", v1.Pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Only platform admins hold the catalogue.
	if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/platform/plugins", Token: w.A.Tokens[authz.TenantAdmin],
		Body: map[string]string{"path": binaries["misbehave"]}}); res.Status != 403 {
		t.Errorf("a tenant admin installed a plugin: %d %s", res.Status, res.Body)
	}
}

func TestInstalls_ChangesReachEveryNode(t *testing.T) {
	url := storetest.URL(t, "sqlite")
	one, two := testsupport.NewAt(t, url), testsupport.NewAt(t, url)
	for _, e := range []*testsupport.Env{one, two} {
		e.App.Plugins.SetLimits(testLimits())
	}
	site := one.Site("ay")
	ctx := context.Background()
	if _, err := one.App.Plugins.Install(ctx, "test", binaries["misbehave"]); err != nil {
		t.Fatal(err)
	}
	if _, err := one.App.Plugins.Enable(ctx, "test", site.Tenant.ID, "misbehave"); err != nil {
		t.Fatal(err)
	}
	if err := two.App.Tenants.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := two.App.Plugins.Refresh(ctx); err != nil { // what its health loop does every few seconds
		t.Fatal(err)
	}
	if r := versionOn(t, two, site); r.Version != "0.0.1" {
		t.Fatalf("node two before: %+v", r)
	}
	// Node one upgrades (as the CLI or the API would); node two follows at its next refresh,
	// which its health loop runs every few seconds.
	if _, err := one.App.Plugins.Install(ctx, "test", binaries["misbehave-v2"]); err != nil {
		t.Fatal(err)
	}
	if err := two.App.Plugins.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if r := versionOn(t, two, site); r.Version != "0.0.2" {
		t.Fatalf("node two after the upgrade: %+v", r)
	}
	var list struct {
		Plugins []pluginhost.NodeStatus `json:"plugins"`
	}
	res := two.Do(testsupport.Request{Method: "GET", Host: "admin.test", Path: "/api/v1/platform/plugins", Token: platformAdmin(two)})
	if res.Status != 200 {
		t.Fatalf("catalogue: %d %s", res.Status, res.Body)
	}
	if err := json.Unmarshal(res.Body, &list); err != nil || len(list.Plugins) != 1 || list.Plugins[0].Version != "0.0.2" || list.Plugins[0].Process.State != pluginhost.Running {
		t.Errorf("catalogue on node two: %s", res.Body)
	}
}

// A binary that no longer matches its checksum fails at once (no retries), and a platform
// admin resets it once the right binary is back.
func TestInstalls_ChecksumMismatchFailsAtOnceAndResetRecovers(t *testing.T) {
	w := newWorld(t)
	bin := t.TempDir() + "/misbehave"
	good, err := os.ReadFile(binaries["misbehave"])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, good, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := w.App.Plugins.Install(context.Background(), "test", bin); err != nil {
		t.Fatal(err)
	}
	w.enable(t, w.A, "misbehave")
	// The enable hook started the binary: replace the file, as a deploy would, not its content.
	replace := func(b []byte) {
		t.Helper()
		if err := os.WriteFile(bin+".new", b, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(bin+".new", bin); err != nil {
			t.Fatal(err)
		}
	}
	replace(append(good, "tampered"...))
	w.App.Plugins.Kill("misbehave") // a crash: its restart meets the tampered binary
	for deadline := time.Now().Add(5 * time.Second); w.App.Plugins.Status("misbehave").State != pluginhost.Failed && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if st := w.App.Plugins.Status("misbehave"); st.State != pluginhost.Failed || st.Restarts != 1 {
		t.Fatalf("a checksum mismatch was retried (one restart after the crash, then failed): %+v", st)
	}
	if res := w.get(w.A, "/api/v1/p/misbehave/ok", ""); res.Status != 503 {
		t.Fatalf("tampered: %d %s", res.Status, res.Body)
	}
	replace(good)
	root := platformAdmin(w.Env)
	if res := w.Do(testsupport.Request{Method: "POST", Host: "admin.test", Path: "/api/v1/platform/plugins/misbehave/reset", Token: root}); res.Status != 200 {
		t.Fatalf("reset: %d %s", res.Status, res.Body)
	}
	if res := w.get(w.A, "/api/v1/p/misbehave/ok", ""); res.Status != 200 {
		t.Fatalf("after reset: %d %s", res.Status, res.Body)
	}
	if res := w.Do(testsupport.Request{Method: "POST", Host: "admin.test", Path: "/api/v1/platform/plugins/nope/reset", Token: root}); res.Status != 404 {
		t.Errorf("reset of an unknown plugin: %d %s", res.Status, res.Body)
	}
}
