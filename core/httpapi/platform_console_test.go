package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/testsupport"
)

// Platform admins run the platform from its own site: they find a tenant, create one, suspend
// and resume its site, add a host name; nobody else reaches the console.
func TestPlatformConsole_CreateSuspendResumeAddHost(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newWorld(t, e)
		root := e.Visitor("admin.test")
		if res := root.SignIn("root@platform.test", testsupport.Password); res.Status != 200 {
			t.Fatalf("sign in: %d %s", res.Status, res.Body)
		}
		page := string(root.Do("GET", "/platform", nil).Body)
		if !strings.Contains(page, `id="tenant-ay"`) || !strings.Contains(page, `id="tenant-bee"`) || !strings.Contains(page, "2 sites") {
			t.Fatalf("the console does not list the tenants: %.500s", page)
		}
		if !strings.Contains(page, "0 consultations") || !strings.Contains(page, "last action on") { // the platform site speaks English
			t.Error("the console does not show the tenants' activity")
		}
		if found := tbody([]byte(root.Do("GET", "/platform?q=bee", nil).Body)); strings.Contains(found, `id="tenant-ay"`) || !strings.Contains(found, `id="tenant-bee"`) {
			t.Error("the search")
		}
		// Create, with a mistake first: nothing created, the form keeps what was typed.
		bad := url.Values{"name": {"Ville de Nantes"}, "slug": {"Nantes!"}, "kind": {"city"}, "host": {"nantes.test"}, "default_locale": {"fr"}, "time_zone": {"Europe/Paris"}}
		res := submit(root, "/platform/tenants", bad)
		if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), `value="Ville de Nantes"`) {
			t.Fatalf("a bad slug: %d", res.Status)
		}
		good := url.Values{"name": {"Ville de Nantes"}, "slug": {"nantes"}, "kind": {"city"}, "host": {"nantes.test"}, "default_locale": {"fr"}, "time_zone": {"Europe/Paris"}}
		if res := submit(root, "/platform/tenants", good); res.Status != http.StatusSeeOther {
			t.Fatalf("create: %d %s", res.Status, res.Body)
		}
		if res := w.Do(testsupport.Request{Method: "GET", Host: "nantes.test", Path: "/"}); res.Status != 200 {
			t.Fatalf("the new site: %d", res.Status)
		}
		// Suspend: the site answers 503; resume: it answers again.
		if res := submit(root, "/platform/tenants/nantes/suspend", url.Values{}); res.Status != http.StatusSeeOther {
			t.Fatalf("suspend: %d %s", res.Status, res.Body)
		}
		if res := w.Do(testsupport.Request{Method: "GET", Host: "nantes.test", Path: "/"}); res.Status != http.StatusServiceUnavailable {
			t.Errorf("a suspended site: %d", res.Status)
		}
		if res := submit(root, "/platform/tenants/nantes/resume", url.Values{}); res.Status != http.StatusSeeOther {
			t.Fatalf("resume: %d", res.Status)
		}
		if res := submit(root, "/platform/tenants/nantes/hosts", url.Values{"host": {"www.nantes.test"}}); res.Status != http.StatusSeeOther {
			t.Fatalf("add host: %d %s", res.Status, res.Body)
		}
		if res := w.Do(testsupport.Request{Method: "GET", Host: "www.nantes.test", Path: "/"}); res.Status != 200 {
			t.Errorf("the added host: %d", res.Status)
		}
		if res := submit(root, "/platform/tenants/nantes/hosts", url.Values{"host": {"ay.test"}}); res.Status != http.StatusBadRequest && res.Status != http.StatusConflict {
			t.Errorf("another site's host: %d", res.Status)
		}
		// A tenant admin reaches no console, on their site or the platform's.
		admin := e.Visitor(w.A.Host)
		admin.SignIn("tenant-admin@ay.test", testsupport.Password)
		if res := admin.Do("GET", "/platform", nil); res.Status != http.StatusForbidden && res.Status != http.StatusNotFound {
			t.Errorf("a tenant admin on /platform: %d", res.Status)
		}
		if res := submit(admin, "/platform/tenants/bee/suspend", url.Values{}); res.Status != http.StatusForbidden && res.Status != http.StatusNotFound {
			t.Errorf("a tenant admin suspending another site: %d", res.Status)
		}
	})
}
