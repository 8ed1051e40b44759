package pluginhost_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/pluginhost"
	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
)

// binaries holds the plugins built once for every test: name → path.
var binaries = map[string]string{}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "concorde-plugins-")
	if err != nil {
		panic(err)
	}
	const misbehave = "github.com/concorde-civic/concorde/plugins/internal/testplugins/misbehave"
	for name, args := range map[string][]string{
		"culture":    {"github.com/concorde-civic/concorde/plugins/culture"},
		"candidates": {"github.com/concorde-civic/concorde/plugins/candidates"},
		"misbehave":  {misbehave},
		// The same plugin, another version (another checksum), for upgrades.
		"misbehave-v2": {"-ldflags", "-X main.version=0.0.2", misbehave},
		// The same plugin isolated per tenant: one process per tenant.
		"misbehave-isolated": {"-ldflags", "-X main.version=0.0.3 -X main.isolation=tenant", misbehave},
	} {
		out := filepath.Join(dir, name)
		if b, err := exec.Command("go", append([]string{"build", "-o", out}, args...)...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", name, err, b)
			os.Exit(1)
		}
		binaries[name] = out
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type world struct {
	*testsupport.Env
	A, B *testsupport.Site
}

func testLimits() pluginhost.Limits {
	l := pluginhost.DefaultLimits()
	l.CallTimeout = time.Second
	l.StartTimeout = 5 * time.Second
	l.BackoffMin = 50 * time.Millisecond
	return l
}

// newWorld is two tenants and the plugins installed (not enabled), on SQLite.
func newWorld(t *testing.T, plugins ...string) *world { return newWorldOn(t, "sqlite", plugins...) }

// newWorldOn is newWorld on a given dialect.
func newWorldOn(t *testing.T, dialect string, plugins ...string) *world {
	e := testsupport.New(t, dialect)
	e.App.Plugins.SetLimits(testLimits())
	w := &world{Env: e, A: e.Site("ay"), B: e.Site("bee")}
	for _, p := range plugins {
		if _, err := e.App.Plugins.Install(context.Background(), "test", binaries[p]); err != nil {
			t.Fatalf("install %s: %v", p, err)
		}
	}
	return w
}

func (w *world) enable(t *testing.T, s *testsupport.Site, name string) {
	t.Helper()
	res := w.Do(testsupport.Request{Method: "POST", Host: s.Host, Path: "/api/v1/plugins/" + name + "/enable", Token: s.Tokens[authz.TenantAdmin]})
	if res.Status != 200 {
		t.Fatalf("enable %s on %s: %d %s", name, s.Host, res.Status, res.Body)
	}
}

func (w *world) get(s *testsupport.Site, path, token string) testsupport.Response {
	return w.Do(testsupport.Request{Method: "GET", Host: s.Host, Path: path, Token: token})
}

func concert(start time.Time) map[string]any {
	return map[string]any{
		"title": "Concert au jardin", "description": "Musique; danse, et joie\nen plein air", "category": "concert",
		"venue": map[string]any{"name": "Jardin public", "address": "1 rue des Fleurs", "city": "Bordeaux", "lat": 44.84, "lon": -0.57},
		"slots": []map[string]any{{"start": start.Format(time.RFC3339), "end": start.Add(2 * time.Hour).Format(time.RFC3339)}},
		"free":  true, "accessibility": []string{"motor"},
	}
}

func TestCulture_EnabledPerTenantAndDataIsolated(t *testing.T) {
	// Plugin storage goes through the host to the database: both dialects.
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			w := newWorldOn(t, dialect, "culture")
			admin := w.A.Tokens[authz.TenantAdmin]
			if res := w.get(w.A, "/api/v1/p/culture/events", ""); res.Status != 404 {
				t.Fatalf("before enabling: %d %s", res.Status, res.Body)
			}
			w.enable(t, w.A, "culture")
			if res := w.get(w.A, "/api/v1/p/culture/events", ""); res.Status != 200 {
				t.Fatalf("after enabling on A: %d %s", res.Status, res.Body)
			}
			if res := w.get(w.B, "/api/v1/p/culture/events", ""); res.Status != 404 {
				t.Fatalf("A enabling exposed the plugin on B: %d %s", res.Status, res.Body)
			}
			start := time.Now().Add(48 * time.Hour).Truncate(time.Hour)
			res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/events", Token: admin, Body: concert(start)})
			if res.Status != 201 {
				t.Fatalf("create event: %d %s", res.Status, res.Body)
			}
			var ev struct{ ID string }
			res.JSON(t, &ev)
			var list struct {
				Events []struct{ ID, Title string }
			}
			w.get(w.A, "/api/v1/p/culture/events", "").JSON(t, &list)
			if len(list.Events) != 1 || list.Events[0].ID != ev.ID {
				t.Fatalf("A's agenda: %+v", list)
			}
			// B enables it too and sees none of A's data, even by id.
			w.enable(t, w.B, "culture")
			list.Events = nil
			w.get(w.B, "/api/v1/p/culture/events", "").JSON(t, &list)
			if len(list.Events) != 0 {
				t.Fatalf("B sees A's events: %+v", list)
			}
			if res := w.get(w.B, "/api/v1/p/culture/events/"+ev.ID, ""); res.Status != 404 {
				t.Fatalf("B reads A's event by id: %d %s", res.Status, res.Body)
			}
			// Interest counts once per person.
			cit := w.A.Tokens[authz.Citizen]
			for i := 0; i < 2; i++ {
				res = w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/events/" + ev.ID + "/interest", Token: cit})
			}
			if res.Status != 200 || !strings.Contains(string(res.Body), `"interested":1`) {
				t.Fatalf("interest: %d %s", res.Status, res.Body)
			}
			// Disabled: 404 again, and the change is audited.
			if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/plugins/culture/disable", Token: admin}); res.Status != 200 {
				t.Fatalf("disable: %d %s", res.Status, res.Body)
			}
			if res := w.get(w.A, "/api/v1/p/culture/events", ""); res.Status != 404 {
				t.Fatalf("disabled plugin answers: %d", res.Status)
			}
			if res := w.get(w.A, "/p/culture/", ""); res.Status != 404 {
				t.Fatalf("disabled plugin page answers: %d", res.Status)
			}
			audit := w.get(w.A, "/api/v1/audit?object=plugin:culture", w.A.Tokens[authz.Auditor])
			for _, a := range []string{"plugin.enable", "plugin.disable"} {
				if !strings.Contains(string(audit.Body), a) {
					t.Errorf("audit log lacks %s: %s", a, audit.Body)
				}
			}
			if !strings.Contains(string(w.get(w.A, "/api/v1/audit?actor=plugin:culture", w.A.Tokens[authz.Auditor]).Body), "culture.event.create") {
				t.Errorf("the plugin's own audit entry is missing")
			}
		})
	}
}

func TestCulture_BadEventDataIsRefusedClearly(t *testing.T) {
	w := newWorld(t, "culture")
	w.enable(t, w.A, "culture")
	admin := w.A.Tokens[authz.TenantAdmin]
	start := time.Now().Add(24 * time.Hour)
	cases := []struct {
		name  string
		patch func(m map[string]any)
		field string
	}{
		{"end before start", func(m map[string]any) {
			m["slots"] = []map[string]any{{"start": start.Format(time.RFC3339), "end": start.Add(-time.Hour).Format(time.RFC3339)}}
		}, "slots[0].end"},
		{"invalid rrule", func(m map[string]any) {
			delete(m, "slots")
			m["recurrence"] = map[string]any{"start": start.Format(time.RFC3339), "end": start.Add(time.Hour).Format(time.RFC3339), "rrule": "FREQ=HOURLY;COUNT=3"}
		}, "recurrence.rrule"},
		{"count and until", func(m map[string]any) {
			delete(m, "slots")
			m["recurrence"] = map[string]any{"start": start.Format(time.RFC3339), "end": start.Add(time.Hour).Format(time.RFC3339), "rrule": "FREQ=WEEKLY;COUNT=3;UNTIL=20300101"}
		}, "recurrence.rrule"},
		{"latitude out of range", func(m map[string]any) {
			m["venue"].(map[string]any)["lat"] = 91.0
		}, "venue.lat"},
		{"longitude out of range", func(m map[string]any) {
			m["venue"].(map[string]any)["lon"] = -181.0
		}, "venue.lon"},
		{"unknown category", func(m map[string]any) { m["category"] = "rodeo" }, "category"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := concert(start)
			c.patch(body)
			res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/events", Token: admin, Body: body})
			if res.Status != 400 || !strings.Contains(string(res.Body), c.field) {
				t.Fatalf("status %d %s, want 400 about %s", res.Status, res.Body, c.field)
			}
		})
	}
	if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/events", Token: w.A.Tokens[authz.Citizen], Body: concert(start)}); res.Status != 403 {
		t.Errorf("a citizen created an event: %d", res.Status)
	}
	if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/events", Body: concert(start)}); res.Status != 401 {
		t.Errorf("an anonymous visitor created an event: %d", res.Status)
	}
	if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/events", Token: w.A.Tokens[authz.Auditor], Body: concert(start)}); res.Status != 403 {
		t.Errorf("an auditor created an event: %d", res.Status)
	}
}

func TestCulture_PageInLayoutWithJSONLDAndICalFeed(t *testing.T) {
	w := newWorld(t, "culture")
	w.enable(t, w.A, "culture")
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	ev := concert(start)
	ev["description"] = strings.Repeat("Une très longue description, avec des virgules; ", 5)
	if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/events", Token: w.A.Tokens[authz.TenantAdmin], Body: ev}); res.Status != 201 {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	page := w.get(w.A, "/p/culture/", "")
	body := string(page.Body)
	if page.Status != 200 || !strings.Contains(body, "Ville de ay") || !strings.Contains(body, "Concert au jardin") ||
		!strings.Contains(body, `<script type="application/ld+json">`) || !strings.Contains(body, `"@type":"Event"`) {
		t.Fatalf("agenda page: %d %s", page.Status, body)
	}
	feed := w.get(w.A, "/p/culture/agenda.ics", "")
	ics := string(feed.Body)
	if feed.Status != 200 || !strings.HasPrefix(feed.Header.Get("Content-Type"), "text/calendar") ||
		!strings.HasPrefix(ics, "BEGIN:VCALENDAR\r\n") || !strings.Contains(ics, "SUMMARY:Concert au jardin\r\n") ||
		!strings.Contains(ics, `virgules\;`) || !strings.Contains(ics, "GEO:44.840000;-0.570000") {
		t.Fatalf("feed: %d %s", feed.Status, ics)
	}
	for _, line := range strings.Split(ics, "\r\n") {
		if len(line) > 75 {
			t.Errorf("line longer than 75 octets: %q", line)
		}
	}
	if c := w.get(w.A, "/p/culture/categories/theatre/agenda.ics", ""); c.Status != 200 || strings.Contains(string(c.Body), "BEGIN:VEVENT") {
		t.Errorf("theatre feed holds the concert: %d %s", c.Status, c.Body)
	}
	if b := w.get(w.B, "/p/culture/agenda.ics", ""); b.Status != 404 {
		t.Errorf("B's feed: %d", b.Status)
	}
}

func TestCulture_CitizensProposeVoteAndStaffSchedule(t *testing.T) {
	// Plugin storage goes through the host to the database: both dialects.
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			w := newWorldOn(t, dialect, "culture")
			w.enable(t, w.A, "culture")
			cit, mod, admin := w.A.Tokens[authz.Citizen], w.A.Tokens[authz.Moderator], w.A.Tokens[authz.TenantAdmin]
			res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/ideas", Token: cit,
				Body: map[string]any{"title": "Un ciné en plein air", "category": "cinema", "description": "L'été, au parc"}})
			if res.Status != 201 {
				t.Fatalf("propose: %d %s", res.Status, res.Body)
			}
			var idea struct{ ID string }
			res.JSON(t, &idea)
			// Ideas wait for moderation (culture_staff_test.go); staff accept this one.
			if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/ideas/" + idea.ID + "/accept", Token: mod}); res.Status != 200 {
				t.Fatalf("accept: %d %s", res.Status, res.Body)
			}
			if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/ideas/" + idea.ID + "/vote", Token: cit}); res.Status != 400 {
				t.Errorf("self-vote: %d %s", res.Status, res.Body)
			}
			if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/ideas/" + idea.ID + "/vote", Token: mod}); res.Status != 200 || !strings.Contains(string(res.Body), `"votes":1`) {
				t.Errorf("vote: %d %s", res.Status, res.Body)
			}
			body := concert(time.Now().Add(24 * time.Hour))
			delete(body, "title")
			res = w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/culture/ideas/" + idea.ID + "/schedule", Token: admin, Body: body})
			if res.Status != 201 || !strings.Contains(string(res.Body), `"idea_id":"`+idea.ID) || !strings.Contains(string(res.Body), "Un ciné en plein air") {
				t.Fatalf("schedule: %d %s", res.Status, res.Body)
			}
			if ideas := w.get(w.A, "/api/v1/p/culture/ideas", ""); !strings.Contains(string(ideas.Body), `"event_id"`) {
				t.Errorf("the idea does not link to its event: %s", ideas.Body)
			}
		})
	}
}

func TestSettings_ValidatedAgainstTheSchema(t *testing.T) {
	w := newWorld(t, "culture")
	admin := w.A.Tokens[authz.TenantAdmin]
	put := func(body string) testsupport.Response {
		return w.Do(testsupport.Request{Method: "PUT", Host: w.A.Host, Path: "/api/v1/plugins/culture/settings", Token: admin, Body: body})
	}
	for _, bad := range []string{`{"default_days":0}`, `{"default_days":1.5}`, `{"nope":1}`, `{"agenda_title":"` + strings.Repeat("x", 81) + `"}`, `{"ideas_open":"yes"}`, `[]`} {
		if res := put(bad); res.Status != 400 {
			t.Errorf("settings %s: %d %s", bad, res.Status, res.Body)
		}
	}
	res := put(`{"agenda_title":"Sorties à Ay","ideas_open":false}`)
	if res.Status != 200 || !strings.Contains(string(res.Body), `"default_days":60`) {
		t.Fatalf("valid settings: %d %s", res.Status, res.Body)
	}
	w.enable(t, w.A, "culture")
	if page := w.get(w.A, "/p/culture/", ""); !strings.Contains(string(page.Body), "Sorties à Ay") {
		t.Errorf("settings did not reach the plugin: %s", page.Body)
	}
	if res := w.Do(testsupport.Request{Method: "PUT", Host: w.A.Host, Path: "/api/v1/plugins/culture/settings", Token: w.A.Tokens[authz.Auditor], Body: `{}`}); res.Status != 403 {
		t.Errorf("an auditor changed settings: %d", res.Status)
	}
	var list struct {
		Plugins []pluginhost.TenantPlugin
	}
	w.get(w.A, "/api/v1/plugins", w.A.Tokens[authz.Auditor]).JSON(t, &list)
	if len(list.Plugins) != 1 || !list.Plugins[0].Enabled || list.Plugins[0].State != pluginhost.Running {
		t.Errorf("plugin list: %+v", list)
	}
}

func TestHost_SIGKILLUnderTraffic(t *testing.T) {
	w := newWorld(t, "culture")
	w.enable(t, w.A, "culture")
	if res := w.get(w.A, "/api/v1/p/culture/events", ""); res.Status != 200 {
		t.Fatalf("warm up: %d", res.Status)
	}
	pid := w.App.Plugins.Pid("culture")
	if pid == 0 {
		t.Fatal("no pid for the running plugin")
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	coreFailures := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			st := w.get(w.A, "/api/v1/p/culture/events", "").Status
			core := w.get(w.A, "/api/v1/tenant", w.A.Tokens[authz.TenantAdmin]).Status
			mu.Lock()
			statuses[st]++
			if core != 200 {
				coreFailures++
			}
			mu.Unlock()
		}
	}()
	time.Sleep(100 * time.Millisecond)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// Right after the kill, the plugin's routes answer 503 until it is back.
	sawDown := false
	for time.Since(killed) < 2*time.Second {
		st := w.get(w.A, "/api/v1/p/culture/events", "").Status
		if st == 503 {
			sawDown = true
		}
		if st == 200 && w.App.Plugins.Pid("culture") != pid && w.App.Plugins.Pid("culture") != 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	back := time.Since(killed)
	stop.Store(true)
	wg.Wait()
	if back >= 2*time.Second {
		t.Fatalf("the plugin was not back within 2 s (statuses %v)", statuses)
	}
	for st := range statuses {
		if st != 200 && st != 503 {
			t.Errorf("plugin route answered %d during the crash", st)
		}
	}
	if coreFailures > 0 {
		t.Errorf("core route failed %d times while the plugin was down", coreFailures)
	}
	if !sawDown && statuses[503] == 0 {
		t.Log("no request fell in the restart window (restart was faster than the traffic)")
	}
	if st := w.App.Plugins.Status("culture"); st.Restarts < 1 || st.State != pluginhost.Running {
		t.Errorf("status after restart: %+v", st)
	}
	t.Logf("back after %v; statuses %v", back, statuses)
}

func TestHost_MisbehavingPluginCannotHarmTheHost(t *testing.T) {
	w := newWorld(t, "misbehave")
	w.enable(t, w.A, "misbehave")
	ok := w.get(w.A, "/api/v1/p/misbehave/ok", "")
	if ok.Status != 200 || strings.Contains(strings.Join(ok.Header.Values("Set-Cookie"), " "), "stolen") || !strings.Contains(string(ok.Body), `"tenant":"ay"`) {
		t.Fatalf("ok: %d %v %s", ok.Status, ok.Header, ok.Body)
	}
	for _, path := range []string{"hang", "huge", "malformed", "badstatus", "badheader", "redirect"} {
		start := time.Now()
		res := w.get(w.A, "/api/v1/p/misbehave/"+path, "")
		if res.Status != 503 {
			t.Errorf("%s: %d %.200s, want 503", path, res.Status, res.Body)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s took %v", path, d)
		}
		if core := w.get(w.A, "/api/v1/tenant", w.A.Tokens[authz.TenantAdmin]); core.Status != 200 {
			t.Errorf("core after %s: %d", path, core.Status)
		}
	}
	if res := w.get(w.A, "/api/v1/p/misbehave/stdout", ""); res.Status != 200 {
		t.Errorf("stdout: %d %s", res.Status, res.Body)
	}
	if res := w.get(w.A, "/api/v1/p/misbehave/ok", ""); res.Status != 200 {
		t.Errorf("after stdout: %d %s", res.Status, res.Body)
	}
	page := w.get(w.A, "/p/misbehave/page", "")
	body := string(page.Body)
	if page.Status != 200 || !strings.Contains(body, "<h1>Hello</h1>") || strings.Contains(body, "alert(1)</script>") ||
		strings.Contains(body, "javascript:") || strings.Contains(body, "onclick") || !strings.Contains(body, "Ville de ay") {
		t.Errorf("page not sanitised or not wrapped: %s", body)
	}
	// A call token does not outlive its call.
	w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/misbehave/kv?k=a&v=1", Token: w.A.Tokens[authz.Citizen]})
	if res := w.get(w.A, "/api/v1/p/misbehave/expired-token", ""); !strings.Contains(string(res.Body), `"refused":true`) {
		t.Errorf("an expired call token still works: %s", res.Body)
	}
	// Storage is per tenant.
	w.enable(t, w.B, "misbehave")
	w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/p/misbehave/kv?k=secret&v=of-a", Token: w.A.Tokens[authz.Citizen]})
	if res := w.get(w.B, "/api/v1/p/misbehave/kv?k=secret", ""); !strings.Contains(string(res.Body), `"found":false`) {
		t.Errorf("B reads A's storage: %s", res.Body)
	}
	if res := w.get(w.A, "/api/v1/p/misbehave/kv?k=secret", ""); !strings.Contains(string(res.Body), `"value":"of-a"`) {
		t.Errorf("A lost its storage: %s", res.Body)
	}
	metrics := w.get(w.A, "/metrics", "")
	_ = metrics
	if n := testutilCount(w, `concorde_plugin_errors_total{plugin="misbehave",reason="timeout"}`); n < 1 {
		t.Errorf("the timeout was not counted")
	}
}

func testutilCount(w *world, series string) float64 {
	mfs, err := w.App.Metrics.Registry.Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			if fmt.Sprintf("%s{%s}", mf.GetName(), strings.Join(labels, ",")) == series {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestHost_BinaryWithAnotherChecksumNeverStarts(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "culture")
	b, err := os.ReadFile(binaries["culture"])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := w.App.Plugins.Install(context.Background(), "test", bin); err != nil {
		t.Fatal(err)
	}
	w.enable(t, w.A, "culture")
	// Someone swaps the binary after installation.
	f, err := os.OpenFile(bin, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte("tampered"))
	_ = f.Close()
	if res := w.get(w.A, "/api/v1/p/culture/events", ""); res.Status != 503 {
		t.Fatalf("tampered binary: %d %s", res.Status, res.Body)
	}
	if pid := w.App.Plugins.Pid("culture"); pid != 0 {
		t.Fatalf("the tampered binary runs as pid %d", pid)
	}
	if st := w.App.Plugins.Status("culture"); !strings.Contains(st.LastError, "checksum") {
		t.Errorf("status: %+v", st)
	}
	if res := w.get(w.A, "/api/v1/tenant", w.A.Tokens[authz.TenantAdmin]); res.Status != http.StatusOK {
		t.Errorf("core: %d", res.Status)
	}
}

func TestPermissions_TenantAdminGrantsADeclaredPermissionToARole(t *testing.T) {
	w := newWorld(t, "culture")
	w.enable(t, w.A, "culture")
	w.enable(t, w.B, "culture")
	admin, citizen := w.A.Tokens[authz.TenantAdmin], w.A.Tokens[authz.Citizen]
	post := func(s *testsupport.Site, path, token string, body any) testsupport.Response {
		return w.Do(testsupport.Request{Method: "POST", Host: s.Host, Path: path, Token: token, Body: body})
	}
	event := concert(time.Now().Add(48 * time.Hour))
	if res := post(w.A, "/api/v1/p/culture/events", citizen, event); res.Status != 403 {
		t.Fatalf("citizen creating an event before the grant: %d %s", res.Status, res.Body)
	}
	grant := map[string]string{"object": "events", "action": "create", "role": "citizen"}
	if res := post(w.A, "/api/v1/plugins/culture/permissions/grant", citizen, grant); res.Status != 403 {
		t.Fatalf("a citizen granting: %d", res.Status)
	}
	for _, bad := range []map[string]string{
		{"object": "events", "action": "create", "role": "platform-admin"},
		{"object": "budget", "action": "create", "role": "citizen"},
		{"object": "events", "action": "create", "role": "king"},
	} {
		if res := post(w.A, "/api/v1/plugins/culture/permissions/grant", admin, bad); res.Status != 400 {
			t.Fatalf("grant %v: %d %s", bad, res.Status, res.Body)
		}
	}
	res := post(w.A, "/api/v1/plugins/culture/permissions/grant", admin, grant)
	if res.Status != 200 || !strings.Contains(string(res.Body), `"citizen"`) {
		t.Fatalf("grant: %d %s", res.Status, res.Body)
	}
	if res := post(w.A, "/api/v1/p/culture/events", citizen, event); res.Status != 201 && res.Status != 200 {
		t.Fatalf("citizen creating an event after the grant: %d %s", res.Status, res.Body)
	}
	// The grant holds on A only.
	if res := post(w.B, "/api/v1/p/culture/events", w.B.Tokens[authz.Citizen], event); res.Status != 403 {
		t.Fatalf("citizen of B after A's grant: %d", res.Status)
	}
	if res := post(w.A, "/api/v1/plugins/culture/permissions/revoke", admin, grant); res.Status != 200 {
		t.Fatalf("revoke: %d %s", res.Status, res.Body)
	}
	if res := post(w.A, "/api/v1/p/culture/events", citizen, event); res.Status != 403 {
		t.Fatalf("citizen after the revoke: %d", res.Status)
	}
	page, err := w.App.Audit.List(context.Background(), w.A.Tenant.ID, audit.Filter{Action: "plugin.permission.grant"})
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("grant not audited: %v %v", page, err)
	}
}

func TestCulture_PartnerSubmissionsAreReviewedBeforePublication(t *testing.T) {
	w := newWorld(t, "culture")
	w.enable(t, w.A, "culture")
	_, partner := w.Account(w.A.Tenant.ID, "salle@ay.test", authz.Partner)
	admin := w.A.Tokens[authz.TenantAdmin]
	do := func(method, path, token string, body any) testsupport.Response {
		return w.Do(testsupport.Request{Method: method, Host: w.A.Host, Path: path, Token: token, Body: body})
	}
	event := concert(time.Now().Add(72 * time.Hour))
	if res := do("POST", "/api/v1/p/culture/submissions", w.A.Tokens[authz.Citizen], event); res.Status != 403 {
		t.Fatalf("citizen submitting: %d %s", res.Status, res.Body)
	}
	bad := concert(time.Now().Add(72 * time.Hour))
	bad["venue"].(map[string]any)["lat"] = 123.0
	if res := do("POST", "/api/v1/p/culture/submissions", partner, bad); res.Status != 400 {
		t.Fatalf("bad submission: %d %s", res.Status, res.Body)
	}
	submit := func() string {
		var s struct {
			ID string `json:"id"`
		}
		res := do("POST", "/api/v1/p/culture/submissions", partner, event)
		res.JSON(t, &s)
		if res.Status != 201 || s.ID == "" {
			t.Fatalf("submit: %d %s", res.Status, res.Body)
		}
		return s.ID
	}
	first, second := submit(), submit()
	if res := do("GET", "/api/v1/p/culture/events", "", nil); strings.Contains(string(res.Body), "Concert au jardin") {
		t.Fatal("a submission reached the public agenda before review")
	}
	if res := do("POST", "/api/v1/p/culture/submissions/"+first+"/approve", partner, nil); res.Status != 403 {
		t.Fatalf("partner approving their own: %d", res.Status)
	}
	if res := do("POST", "/api/v1/p/culture/submissions/"+first+"/approve", admin, nil); res.Status != 200 {
		t.Fatalf("approve: %d %s", res.Status, res.Body)
	}
	if res := do("POST", "/api/v1/p/culture/submissions/"+second+"/reject", admin, map[string]string{"reason": ""}); res.Status != 400 {
		t.Fatalf("reject without reason: %d", res.Status)
	}
	if res := do("POST", "/api/v1/p/culture/submissions/"+second+"/reject", admin, map[string]string{"reason": "Déjà au programme"}); res.Status != 200 {
		t.Fatalf("reject: %d %s", res.Status, res.Body)
	}
	if res := do("GET", "/api/v1/p/culture/events", "", nil); strings.Count(string(res.Body), "Concert au jardin") != 1 {
		t.Fatalf("the approved event is not on the agenda once: %s", res.Body)
	}
	var mine struct {
		Submissions []struct {
			Status string `json:"status"`
			Reason string `json:"reason"`
		} `json:"submissions"`
	}
	do("GET", "/api/v1/p/culture/my-submissions", partner, nil).JSON(t, &mine)
	if len(mine.Submissions) != 2 || mine.Submissions[0].Status != "approved" || mine.Submissions[1].Reason != "Déjà au programme" {
		t.Fatalf("partner's view: %+v", mine)
	}
}

func TestCulture_HearsOfPublishedConsultationsOfItsTenantOnly(t *testing.T) {
	w := newWorld(t, "culture")
	w.enable(t, w.A, "culture")
	w.enable(t, w.B, "culture")
	ctx := context.Background()
	if _, err := w.App.Consultations.Create(ctx, w.A.Tenant.ID, "test", consultation.Input{Slug: "culture", Question: "Comment rendre la culture accessible à tous ?"}); err != nil {
		t.Fatal(err)
	}
	for _, st := range []consultation.Status{consultation.Open, consultation.Closed, consultation.Published} {
		if _, err := w.App.Consultations.SetStatus(ctx, w.A.Tenant.ID, "test", "culture", st); err != nil {
			t.Fatal(err)
		}
	}
	// Delivery is asynchronous: wait for it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := w.get(w.A, "/api/v1/p/culture/inspiration", "")
		if strings.Contains(string(res.Body), `"slug":"culture"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plugin never heard of the publication: %s", res.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res := w.get(w.B, "/api/v1/p/culture/inspiration", ""); strings.Contains(string(res.Body), `"slug":"culture"`) {
		t.Fatalf("B's plugin heard of A's publication: %s", res.Body)
	}
}

// go-plugin forgets a broker stream's connection info a few seconds after it was announced:
// a plugin that first uses its host services after an idle start must still reach them.
func TestHost_HostServicesWorkAfterAnIdleStart(t *testing.T) {
	if testing.Short() {
		t.Skip("waits past go-plugin's broker timeout")
	}
	w := newWorld(t, "misbehave")
	w.enable(t, w.A, "misbehave")
	// Start the process without touching storage, then stay idle past the broker's 5 s.
	if res := w.get(w.A, "/api/v1/p/misbehave/ok", ""); res.Status != 200 {
		t.Fatalf("ok: %d %s", res.Status, res.Body)
	}
	time.Sleep(6 * time.Second)
	if res := w.get(w.A, "/api/v1/p/misbehave/kv?k=a", ""); res.Status != 200 || !strings.Contains(string(res.Body), `"found":false`) {
		t.Fatalf("storage after an idle start: %d %s", res.Status, res.Body)
	}
}

// Only the core publishes core events: a plugin's made-up consultation.publish is refused and
// never reaches another plugin, while its own events pass.
func TestEvents_APluginCannotForgeCoreEvents(t *testing.T) {
	w := newWorld(t, "culture", "misbehave")
	w.enable(t, w.A, "culture")
	w.enable(t, w.A, "misbehave")
	res := w.get(w.A, "/api/v1/p/misbehave/forge", "")
	if res.Status != 200 || !strings.Contains(string(res.Body), `"forged_refused":true,"own_refused":false`) {
		t.Fatalf("forge: %d %s", res.Status, res.Body)
	}
	time.Sleep(300 * time.Millisecond) // delivery is asynchronous
	if res := w.get(w.A, "/api/v1/p/culture/inspiration", ""); strings.Contains(string(res.Body), "forged") {
		t.Fatalf("culture stored a forged event: %s", res.Body)
	}
}

func TestManifest_CoreNamespacesAreReserved(t *testing.T) {
	for _, name := range []string{"core", "consultation", "proposal"} {
		err := pluginhost.ValidateManifest(&pluginpb.Manifest{Name: name, Version: "1"})
		if err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A plugin's page cannot make the viewer post to core routes: its forms may only post to the
// plugin's own paths, and the CSRF token it is given is refused everywhere else.
func TestHost_PluginPagesCannotPostToCoreRoutes(t *testing.T) {
	w := newWorld(t, "misbehave")
	w.enable(t, w.A, "misbehave")
	page := string(w.get(w.A, "/p/misbehave/page", "").Body)
	if strings.Contains(page, `action="/admin/users"`) || !strings.Contains(page, `action="/p/misbehave/x"`) {
		t.Errorf("form actions: %s", page)
	}
	v := w.Visitor(w.A.Host)
	if res := v.SignIn("citizen@ay.test", testsupport.Password); res.Status != 200 {
		t.Fatalf("sign in: %d %s", res.Status, res.Body)
	}
	tokens := string(v.Do("GET", "/p/misbehave/tokens", nil).Body)
	i := strings.Index(tokens, `<data id="csrf" value="`)
	if i < 0 {
		t.Fatalf("no token on the plugin's page: %s", tokens)
	}
	pluginToken, _, _ := strings.Cut(tokens[i+len(`<data id="csrf" value="`):], `"`)
	if res := v.WithCSRF(pluginToken).Do("POST", "/api/v1/auth/logout", nil); res.Status != 403 {
		t.Errorf("a core route took the plugin's token: %d %s", res.Status, res.Body)
	}
	if res := v.Do("POST", "/api/v1/p/misbehave/kv?k=a&v=1", nil); res.Status != 403 {
		t.Errorf("the plugin's route took the core's token: %d %s", res.Status, res.Body)
	}
	if res := v.WithCSRF(pluginToken).Do("POST", "/api/v1/p/misbehave/kv?k=a&v=1", nil); res.Status != 200 {
		t.Errorf("the plugin's own token on its route: %d %s", res.Status, res.Body)
	}
	if res := v.Do("GET", "/api/v1/auth/me", nil); !strings.Contains(string(res.Body), "citizen@ay.test") {
		t.Errorf("the visitor was signed out: %s", res.Body)
	}
}

// Plugins read consultations under the rule the API and the pages apply to a visitor: a
// draft does not exist for them.
func TestCulture_ReadsNoDraftConsultation(t *testing.T) {
	w := newWorld(t, "culture")
	w.enable(t, w.A, "culture")
	ctx := context.Background()
	for slug, question := range map[string]string{"ouverte": "Question ouverte au public ?", "brouillon": "Question encore en brouillon ?"} {
		if _, err := w.App.Consultations.Create(ctx, w.A.Tenant.ID, "test", consultation.Input{Slug: slug, Question: question}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.App.Consultations.SetStatus(ctx, w.A.Tenant.ID, "test", "ouverte", consultation.Open); err != nil {
		t.Fatal(err)
	}
	res := w.get(w.A, "/api/v1/p/culture/inspiration", "")
	if res.Status != 200 || !strings.Contains(string(res.Body), "Question ouverte au public") {
		t.Fatalf("inspiration: %d %s", res.Status, res.Body)
	}
	if strings.Contains(string(res.Body), "brouillon") {
		t.Fatalf("a plugin read a draft: %s", res.Body)
	}
}
