package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/config"
	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/core/testsupport"
)

// Responses for one person (a session, a participant cookie, an API token, the account
// pages) must never be kept by a browser's or a proxy's cache, where the next user of the
// machine or of the proxy would get them (with their CSRF token and personal data).
func TestHeaders_PrivateResponsesAreNotStored(t *testing.T) {
	e := testsupport.New(t, storetest.Dialects()[0])
	a := e.Site("ay")
	first := e.Do(testsupport.Request{Method: "GET", Host: a.Host, Path: "/"})
	participant := cookie(first, "concorde_participant")
	if participant == nil {
		t.Fatal("no participant cookie on the first visit")
	}
	res := e.Do(testsupport.Request{Method: "POST", Host: a.Host, Path: "/api/v1/auth/login", Body: map[string]string{"email": a.Users[authz.Citizen].Email, "password": testsupport.Password}})
	session := cookie(res, "concorde_session")
	if session == nil {
		t.Fatalf("login: %d %s", res.Status, res.Body)
	}
	for _, tc := range []struct {
		name string
		req  testsupport.Request
		res  *testsupport.Response
	}{
		{name: "first visit (sets the participant cookie)", res: &first},
		{name: "login response", res: &res},
		{name: "home page of a participant", req: testsupport.Request{Path: "/", Cookies: []*http.Cookie{participant}}},
		{name: "account page, no cookie", req: testsupport.Request{Path: "/account"}},
		{name: "account page, signed in", req: testsupport.Request{Path: "/account", Cookies: []*http.Cookie{session, participant}}},
		{name: "who am I, signed in", req: testsupport.Request{Path: "/api/v1/auth/me", Cookies: []*http.Cookie{session}}},
		{name: "API with a token", req: testsupport.Request{Path: "/api/v1/users", Token: a.Tokens[authz.TenantAdmin]}},
		{name: "API error with a token", req: testsupport.Request{Path: "/api/v1/consultations/none", Token: a.Tokens[authz.TenantAdmin]}},
		{name: "page not found, signed in", req: testsupport.Request{Path: "/no/such/page", Cookies: []*http.Cookie{session}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.res
			if r == nil {
				tc.req.Method, tc.req.Host = "GET", a.Host
				x := e.Do(tc.req)
				r = &x
			}
			if got := r.Header.Get("Cache-Control"); got != "no-store" {
				t.Fatalf("%d: Cache-Control %q, want no-store", r.Status, got)
			}
		})
	}
	// Static files stay cacheable, whoever asks.
	if res := e.Do(testsupport.Request{Method: "GET", Host: a.Host, Path: "/static/site.css", Cookies: []*http.Cookie{session}}); res.Header.Get("Cache-Control") != "public, max-age=3600" {
		t.Fatalf("static file: Cache-Control %q", res.Header.Get("Cache-Control"))
	}
}

// In production, browsers are told to reach the site over HTTPS only (HSTS); not in
// development, where sites are served over http://*.localhost.
func TestHeaders_HSTSInProductionOnly(t *testing.T) {
	url := storetest.URL(t, storetest.Dialects()[0])
	prod := testsupport.NewConfigured(t, url, func(c *config.Config) { c.Env = "production"; c.CookieSecure = true })
	a := prod.Site("ay")
	for _, path := range []string{"/", "/healthz", "/no/such/page"} {
		res := prod.Do(testsupport.Request{Method: "GET", Host: a.Host, Path: path})
		if got := res.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
			t.Errorf("production %s: Strict-Transport-Security %q", path, got)
		}
	}
	dev := testsupport.New(t, storetest.Dialects()[0])
	if got := dev.Do(testsupport.Request{Method: "GET", Host: "admin.test", Path: "/healthz"}).Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("development: Strict-Transport-Security %q", got)
	}
}
