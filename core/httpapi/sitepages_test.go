package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/sitepages"
	"github.com/concorde-civic/concorde/core/testsupport"
)

// Every site serves its legal and trust pages, linked from every page, with a default written
// for it; its admins replace them in Markdown (no HTML gets through), and empty brings the
// default back. Another site's pages are its own.
func TestSitePages_DefaultsEditsAndIsolation(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newWorld(t, e)
		home := string(w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/"}).Body)
		for _, name := range append(sitepages.Names, "methode") {
			if !strings.Contains(home, `href="/`+name+`"`) {
				t.Errorf("the footer does not link to /%s", name)
			}
		}
		for _, name := range sitepages.Names {
			res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/" + name})
			if res.Status != 200 || !strings.Contains(string(res.Body), w.A.Tenant.Name) || !strings.Contains(string(res.Body), "<h1") {
				t.Errorf("/%s: %d, no default written for the site", name, res.Status)
			}
		}
		if charte := string(w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/charte"}).Body); !strings.Contains(charte, "<li>Hors du champ de la consultation</li>") {
			t.Error("the charter does not list the refusal reasons")
		}
		if en := string(w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/confidentialite", Cookies: []*http.Cookie{{Name: "concorde_lang", Value: "en"}}}).Body); !strings.Contains(en, "Privacy policy") {
			t.Error("no English default")
		}

		admin := e.Visitor(w.A.Host)
		admin.SignIn("tenant-admin@ay.test", testsupport.Password)
		md := "# Mentions légales\n\nÉditeur : Ville d'Ay, 1 place de la Mairie.\n\n<script>alert(1)</script><img src=x onerror=alert(2)>"
		res := submit(admin, "/admin/pages/mentions-legales", url.Values{"markdown": {md}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("save: %d %s", res.Status, res.Body)
		}
		page := string(w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/mentions-legales"}).Body)
		if !strings.Contains(page, "1 place de la Mairie") || strings.Contains(page, "<script>alert") || strings.Contains(page, "onerror") {
			t.Errorf("the saved page: %s", page)
		}
		if other := string(w.Do(testsupport.Request{Method: "GET", Host: w.B.Host, Path: "/mentions-legales"}).Body); strings.Contains(other, "place de la Mairie") {
			t.Error("B serves A's page")
		}
		// Too long: refused, nothing changes.
		if res := submit(admin, "/admin/pages/mentions-legales", url.Values{"markdown": {strings.Repeat("a", sitepages.MaxBytes+1)}}); res.Status != http.StatusBadRequest {
			t.Errorf("a 64 KiB+1 page: %d", res.Status)
		}
		if page := string(w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/mentions-legales"}).Body); !strings.Contains(page, "place de la Mairie") {
			t.Error("a refused save changed the page")
		}
		// Empty: the default again.
		submit(admin, "/admin/pages/mentions-legales", url.Values{"markdown": {"  "}})
		if page := string(w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/mentions-legales"}).Body); strings.Contains(page, "place de la Mairie") || !strings.Contains(page, "à compléter") {
			t.Error("an empty text did not bring the default back")
		}
		// Only tenant admins edit; unknown pages are not found.
		for role, want := range map[authz.Role]int{authz.Moderator: 403, authz.Auditor: 403, authz.Citizen: 403} {
			res := w.Do(testsupport.Request{Method: "PUT", Host: w.A.Host, Path: "/api/v1/tenant/pages/charte", Token: w.A.Tokens[role], Body: map[string]string{"markdown": "# x"}})
			if res.Status != want {
				t.Errorf("%s PUT: %d", role, res.Status)
			}
		}
		res = w.Do(testsupport.Request{Method: "PUT", Host: w.A.Host, Path: "/api/v1/tenant/pages/charte", Token: w.A.Tokens[authz.TenantAdmin], Body: map[string]string{"markdown": "# Notre charte"}})
		if res.Status != 200 || !strings.Contains(string(res.Body), `"custom":true`) {
			t.Errorf("admin PUT: %d %s", res.Status, res.Body)
		}
		if res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/tenant/pages/cgu"}); res.Status != 404 {
			t.Errorf("an unknown page: %d", res.Status)
		}
		if res := admin.Do("GET", "/admin/pages", nil); res.Status != 200 || !strings.Contains(string(res.Body), "Texte du site") {
			t.Errorf("the admin list: %d", res.Status)
		}
	})
}

// submit posts a form as the site's pages do, with the visitor's cookies and CSRF token.
func submit(v *testsupport.Visitor, path string, form url.Values) testsupport.Response {
	v.Header = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	defer func() { v.Header = nil }()
	return v.Do("POST", path, form.Encode())
}
