package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/httpapi"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/ops"
)

func errorBody(t *testing.T, res testsupport.Response) httpapi.ErrorBody {
	t.Helper()
	var b httpapi.ErrorBody
	if err := json.Unmarshal(res.Body, &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("not a JSON error (%v): %s", err, res.Body)
	}
	return b
}

func TestBadInput_EveryWriteRouteAnswers400AndWritesNothing(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newWorld(t, e)
		before := w.snapshot(t)
		bad := map[string]string{
			"malformed JSON": `{"email": `,
			"not an object":  `"just a string"`,
			"an array":       `[1,2]`,
			"unknown field":  `{"no_such_field": 1}`,
			"two objects":    `{} {}`,
			"oversize body":  `{"name": "` + strings.Repeat("x", 70<<10) + `"}`,
			"empty body":     ``,
		}
		bodyRoutes, plainWrites := 0, 0
		for _, r := range tenantRoutes(e.Server) {
			if r.Method == http.MethodGet {
				continue
			}
			path := strings.NewReplacer(":slug", "ay", ":id", fmt.Sprint(w.A.Users[authz.Citizen].ID), ":role", "citizen").Replace(r.Path)
			cases := bad
			if !r.Body {
				plainWrites++
				cases = map[string]string{"a body where none is read": `{"x": 1}`}
			} else {
				bodyRoutes++
			}
			// Plugin routes name a plugin; none is installed here, so they answer 404 before
			// reading the body (core/pluginhost's tests send bad input to a real plugin).
			pluginRoute := strings.Contains(r.Path, ":plugin") || strings.Contains(r.Path, ":name")
			for name, body := range cases {
				res := w.Do(testsupport.Request{Method: r.Method, Host: w.A.Host, Path: path, Token: w.PlatformAdmin, Body: []byte(body)})
				if pluginRoute && res.Status == http.StatusNotFound {
					continue
				}
				if res.Status != http.StatusBadRequest {
					t.Errorf("%s %s with %s: status %d, want 400: %s", r.Method, r.Path, name, res.Status, res.Body)
					continue
				}
				errorBody(t, res)
			}
			if r.Body {
				// Right JSON, wrong content type.
				res := w.Do(testsupport.Request{Method: r.Method, Host: w.A.Host, Path: path, Token: w.PlatformAdmin, Body: []byte(`{}`), Header: map[string]string{"Content-Type": "text/plain"}})
				if res.Status != http.StatusBadRequest && !(pluginRoute && res.Status == http.StatusNotFound) {
					t.Errorf("%s %s as text/plain: status %d", r.Method, r.Path, res.Status)
				}
			}
		}
		if bodyRoutes < 6 || plainWrites < 3 {
			t.Fatalf("enumerated %d body routes and %d plain writes", bodyRoutes, plainWrites)
		}
		if after := w.snapshot(t); after != before {
			t.Errorf("bad input changed data:\nbefore %s\nafter  %s", before, after)
		}
	})
}

func TestBadInput_WrongTypesNameTheField(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	w := newWorld(t, e)
	for _, c := range []struct{ path, body, field string }{
		{"/api/v1/users", `{"email": 12, "password": "0123456789", "role": "moderator"}`, "email"},
		{"/api/v1/tenants", `{"slug": "ok", "kind": "city", "name": "Ok", "hosts": "ok.test"}`, "hosts"},
		{"/api/v1/tokens", `{"name": "x", "user_id": "me"}`, "user_id"},
	} {
		res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: c.path, Token: w.PlatformAdmin, Body: c.body})
		if res.Status != http.StatusBadRequest || errorBody(t, res).Error.Field != c.field {
			t.Errorf("POST %s %s: %d %s, want 400 naming %q", c.path, c.body, res.Status, res.Body, c.field)
		}
	}
}

func TestHost_UnknownIs404AndSuspendedIs503(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	w := newWorld(t, e)
	res := w.Do(testsupport.Request{Method: "GET", Host: "unknown.test", Path: "/"})
	if res.Status != http.StatusNotFound || !strings.Contains(string(res.Body), "<html") || strings.Contains(string(res.Body), "Ville de") {
		t.Fatalf("unknown host: %d %s", res.Status, res.Body)
	}
	res = w.Do(testsupport.Request{Method: "GET", Host: "unknown.test", Path: "/api/v1/auth/me"})
	if res.Status != http.StatusNotFound || errorBody(t, res).Error.Code != "not_found" {
		t.Fatalf("unknown host API: %d %s", res.Status, res.Body)
	}
	res = w.Do(testsupport.Request{Method: "GET", Host: "AY.test:8080", Path: "/"})
	if res.Status != http.StatusOK || !strings.Contains(string(res.Body), "Ville de ay") {
		t.Fatalf("host with port and capitals: %d", res.Status)
	}
	res = w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/tenants/bee/suspend", Token: w.PlatformAdmin})
	if res.Status != http.StatusOK {
		t.Fatalf("suspend: %d %s", res.Status, res.Body)
	}
	res = w.Do(testsupport.Request{Method: "GET", Host: w.B.Host, Path: "/"})
	if res.Status != http.StatusServiceUnavailable {
		t.Fatalf("suspended site: %d", res.Status)
	}
	if res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/"}); res.Status != http.StatusOK {
		t.Fatalf("other site while B is suspended: %d", res.Status)
	}
	res = w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/tenants/bee/resume", Token: w.PlatformAdmin})
	if res.Status != http.StatusOK {
		t.Fatalf("resume: %d %s", res.Status, res.Body)
	}
	if res := w.Do(testsupport.Request{Method: "GET", Host: w.B.Host, Path: "/"}); res.Status != http.StatusOK {
		t.Fatalf("resumed site: %d", res.Status)
	}
	if res := w.Do(testsupport.Request{Method: "GET", Host: "anything.example", Path: "/healthz"}); res.Status != http.StatusOK {
		t.Fatalf("healthz on any host: %d", res.Status)
	}
	if res := w.Do(testsupport.Request{Method: "GET", Host: "127.0.0.1:8080", Path: "/readyz"}); res.Status != http.StatusOK {
		t.Fatalf("readyz: %d %s", res.Status, res.Body)
	}
}

func TestTenantAPI_PlatformAdminProvisionsAndEveryChangeIsAudited(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newWorld(t, e)
		do := func(method, host, path, tok string, body any) testsupport.Response {
			return w.Do(testsupport.Request{Method: method, Host: host, Path: path, Token: tok, Body: body})
		}
		res := do("POST", "admin.test", "/api/v1/tenants", w.PlatformAdmin, map[string]any{"slug": "nantes", "kind": "city", "name": "Ville de Nantes", "hosts": []string{"nantes.test"}})
		if res.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", res.Status, res.Body)
		}
		if res := do("GET", "nantes.test", "/", "", nil); res.Status != http.StatusOK || !strings.Contains(string(res.Body), "Ville de Nantes") {
			t.Fatalf("new site: %d", res.Status)
		}
		res = do("POST", "admin.test", "/api/v1/tenants", w.PlatformAdmin, map[string]any{"slug": "nantes2", "kind": "city", "name": "Nantes bis", "hosts": []string{"nantes.test"}})
		if res.Status != http.StatusBadRequest {
			t.Fatalf("taken host: %d %s", res.Status, res.Body)
		}
		if res := do("POST", "admin.test", "/api/v1/tenants/nantes/hosts", w.PlatformAdmin, map[string]any{"host": "www.nantes.test"}); res.Status != http.StatusOK {
			t.Fatalf("add host: %d %s", res.Status, res.Body)
		}
		if res := do("GET", "www.nantes.test", "/", "", nil); res.Status != http.StatusOK {
			t.Fatalf("added host: %d", res.Status)
		}
		// The tenant admin creates a moderator, changes branding, and reads the audit log.
		res = do("POST", "nantes.test", "/api/v1/users", w.PlatformAdmin, map[string]any{"email": "chef@nantes.test", "role": "tenant-admin"})
		if res.Status != http.StatusCreated {
			t.Fatalf("create admin: %d %s", res.Status, res.Body)
		}
		tok, _, err := e.App.Staff.CreateToken(context.Background(), "test", mustTenant(t, e, "nantes"), userID(t, res), "t")
		if err != nil {
			t.Fatal(err)
		}
		if res := do("PATCH", "nantes.test", "/api/v1/tenant", tok, map[string]any{"color_primary": "#ffff00"}); res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), "contrast") {
			t.Fatalf("low-contrast colour: %d %s", res.Status, res.Body)
		}
		if res := do("PATCH", "nantes.test", "/api/v1/tenant", tok, map[string]any{"color_primary": "#003366", "name": "Nantes Métropole"}); res.Status != http.StatusOK {
			t.Fatalf("branding: %d %s", res.Status, res.Body)
		}
		if res := do("GET", "nantes.test", "/theme.css", "", nil); !strings.Contains(string(res.Body), "#003366") {
			t.Fatalf("theme: %s", res.Body)
		}
		// The site's time zone: an unknown one is refused and changes nothing.
		if res := do("PATCH", "nantes.test", "/api/v1/tenant", tok, map[string]any{"time_zone": "Europe/Nantes", "name": "Nantes X"}); res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), "time_zone") {
			t.Fatalf("unknown time zone: %d %s", res.Status, res.Body)
		}
		if res := do("GET", "nantes.test", "/api/v1/tenant", tok, nil); !strings.Contains(string(res.Body), `"time_zone":"Europe/Paris"`) || !strings.Contains(string(res.Body), `"name":"Nantes Métropole"`) {
			t.Fatalf("a refused change changed the tenant: %s", res.Body)
		}
		if res := do("PATCH", "nantes.test", "/api/v1/tenant", tok, map[string]any{"time_zone": "Indian/Reunion"}); res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"time_zone":"Indian/Reunion"`) {
			t.Fatalf("time zone: %d %s", res.Status, res.Body)
		}
		if res := do("POST", "nantes.test", "/api/v1/users", tok, map[string]any{"email": "modo@nantes.test", "role": "platform-admin"}); res.Status != http.StatusBadRequest {
			t.Fatalf("tenant admin granting platform-admin: %d %s", res.Status, res.Body)
		}
		res = do("POST", "nantes.test", "/api/v1/users", tok, map[string]any{"email": "modo@nantes.test", "role": "moderator"})
		if res.Status != http.StatusCreated {
			t.Fatalf("create moderator: %d %s", res.Status, res.Body)
		}
		modID := userID(t, res)
		if res := do("POST", "nantes.test", fmt.Sprintf("/api/v1/users/%d/roles", modID), tok, map[string]any{"role": "auditor"}); res.Status != http.StatusOK || !strings.Contains(string(res.Body), "auditor") {
			t.Fatalf("grant: %d %s", res.Status, res.Body)
		}
		if res := do("DELETE", "nantes.test", fmt.Sprintf("/api/v1/users/%d/roles/auditor", modID), tok, nil); res.Status != http.StatusOK || strings.Contains(string(res.Body), "auditor") {
			t.Fatalf("revoke: %d %s", res.Status, res.Body)
		}
		res = do("GET", "nantes.test", "/api/v1/audit?limit=20", tok, nil)
		var page struct {
			Entries []struct{ Action, Actor string } `json:"entries"`
		}
		res.JSON(t, &page)
		var actions []string
		for _, en := range page.Entries {
			if en.Action != "token.use" { // every write with the token is audited too (TestTokens_EveryUseIsAudited)
				actions = append(actions, en.Action)
			}
		}
		want := "role.revoke role.grant user.invite tenant.update tenant.update token.create user.invite"
		if got := strings.Join(actions, " "); !strings.HasPrefix(got, want) {
			t.Fatalf("audit of nantes: %q, want prefix %q", got, want)
		}
		if res := do("GET", "nantes.test", "/api/v1/audit?action=role.grant", tok, nil); strings.Count(string(res.Body), `"seq"`) != 1 {
			t.Fatalf("filtered audit: %s", res.Body)
		}
		if res := do("GET", "nantes.test", "/api/v1/audit/verify", tok, nil); !strings.Contains(string(res.Body), `"ok":true`) {
			t.Fatalf("verify: %s", res.Body)
		}
		// The platform's own chain recorded the provisioning.
		pl, err := e.App.Audit.List(context.Background(), 1, auditFilter("tenant.create"))
		if err != nil || len(pl.Entries) == 0 {
			t.Fatalf("platform audit: %v %v", pl, err)
		}
	})
}

func TestSession_LoginCookieCSRFAndLogout(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newWorld(t, e)
		login := func(email, pw string) testsupport.Response {
			return w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/auth/login", Body: map[string]string{"email": email, "password": pw}})
		}
		bad := login("tenant-admin@ay.test", "wrong password")
		unknown := login("nobody@ay.test", "wrong password")
		if bad.Status != 401 || unknown.Status != 401 || errorBody(t, bad).Error.Message != errorBody(t, unknown).Error.Message {
			t.Fatalf("failed logins differ: %s / %s", bad.Body, unknown.Body)
		}
		if res := w.Do(testsupport.Request{Method: "POST", Host: w.B.Host, Path: "/api/v1/auth/login", Body: map[string]string{"email": "tenant-admin@ay.test", "password": testsupport.Password}}); res.Status != 401 {
			t.Fatalf("A's admin signed in on B: %d", res.Status)
		}
		res := login("tenant-admin@ay.test", testsupport.Password)
		if res.Status != 200 {
			t.Fatalf("login: %d %s", res.Status, res.Body)
		}
		var me struct {
			CSRF  string   `json:"csrf_token"`
			Roles []string `json:"roles"`
		}
		res.JSON(t, &me)
		var cookie *http.Cookie
		for _, c := range res.Cookie {
			if c.Name == "concorde_session" {
				cookie = c
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || me.CSRF == "" || len(me.Roles) != 1 {
			t.Fatalf("session cookie %+v, me %+v", cookie, me)
		}
		var count int64
		countAfter := func() int64 {
			n, _ := e.App.DB.NewSelect().TableExpr("users").Count(context.Background())
			return n
		}
		count = countAfter()
		body := map[string]any{"email": "new@ay.test", "role": "moderator"}
		res = w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/users", Cookies: []*http.Cookie{cookie}, Body: body})
		if res.Status != http.StatusForbidden || countAfter() != count {
			t.Fatalf("cookie write without CSRF token: %d %s", res.Status, res.Body)
		}
		res = w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/users", Cookies: []*http.Cookie{cookie}, Body: body, Header: map[string]string{"X-CSRF-Token": "forged"}})
		if res.Status != http.StatusForbidden {
			t.Fatalf("forged CSRF token: %d", res.Status)
		}
		res = w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/users", Cookies: []*http.Cookie{cookie}, Body: body, Header: map[string]string{"X-CSRF-Token": me.CSRF}})
		if res.Status != http.StatusCreated {
			t.Fatalf("cookie write with CSRF token: %d %s", res.Status, res.Body)
		}
		// The session cookie means nothing on B's host.
		if res := w.Do(testsupport.Request{Method: "GET", Host: w.B.Host, Path: "/api/v1/users", Cookies: []*http.Cookie{cookie}}); res.Status != 401 {
			t.Fatalf("A's session on B: %d", res.Status)
		}
		res = w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/auth/logout", Cookies: []*http.Cookie{cookie}, Header: map[string]string{"X-CSRF-Token": me.CSRF}})
		if res.Status != http.StatusNoContent {
			t.Fatalf("logout: %d %s", res.Status, res.Body)
		}
		if res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/users", Cookies: []*http.Cookie{cookie}}); res.Status != 401 {
			t.Fatalf("after logout: %d", res.Status)
		}
		// Platform staff sign in on a site where they hold a role.
		if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/auth/login", Body: map[string]string{"email": "ethics@platform.test", "password": testsupport.Password}}); res.Status != 200 {
			t.Fatalf("platform auditor login on A: %d %s", res.Status, res.Body)
		}
	})
}

func TestLogin_IsRateLimited(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	w := newWorld(t, e)
	limited := false
	for i := 0; i < 15; i++ {
		res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/auth/login", Body: map[string]string{"email": "x@ay.test", "password": "wrong password"}})
		if res.Status == http.StatusTooManyRequests {
			limited = i >= 10 && errorBody(t, res).Error.Code == "rate_limited"
			break
		}
	}
	if !limited {
		t.Fatal("15 failed logins in a row were not rate-limited after 10")
	}
	// Another site is not affected.
	if res := w.Do(testsupport.Request{Method: "POST", Host: w.B.Host, Path: "/api/v1/auth/login", Body: map[string]string{"email": "tenant-admin@bee.test", "password": testsupport.Password}}); res.Status != 200 {
		t.Fatalf("login on B: %d", res.Status)
	}
}

func TestTokens_RevokedTokenStopsWorking(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	w := newWorld(t, e)
	admin := w.A.Tokens[authz.TenantAdmin]
	res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/tokens", Token: admin, Body: map[string]any{"name": "ci"}})
	var created struct {
		Token string `json:"token"`
		Info  struct {
			ID int64 `json:"id"`
		} `json:"info"`
	}
	res.JSON(t, &created)
	if res.Status != 201 || !strings.HasPrefix(created.Token, "cct_") {
		t.Fatalf("create token: %d %s", res.Status, res.Body)
	}
	if res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/tokens", Token: created.Token}); res.Status != 200 || strings.Contains(string(res.Body), created.Token) {
		t.Fatalf("list tokens shows the secret or fails: %d", res.Status)
	}
	if res := w.Do(testsupport.Request{Method: "DELETE", Host: w.A.Host, Path: fmt.Sprintf("/api/v1/tokens/%d", created.Info.ID), Token: admin}); res.Status != 204 {
		t.Fatalf("revoke: %d %s", res.Status, res.Body)
	}
	if res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/tokens", Token: created.Token}); res.Status != 401 {
		t.Fatalf("revoked token: %d", res.Status)
	}
}

func TestMetrics_OpsOnlyAndEveryReferencedMetricIsExported(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	w := newWorld(t, e)
	w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/"})
	w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: fmt.Sprintf("/api/v1/users/%d", w.A.Users[authz.Citizen].ID), Token: w.A.Tokens[authz.TenantAdmin]})
	w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/readyz"})
	e.App.Tick(context.Background())
	if res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/metrics", Token: w.A.Tokens[authz.TenantAdmin]}); res.Status != http.StatusForbidden {
		t.Fatalf("metrics for a tenant admin: %d", res.Status)
	}
	res := w.Do(testsupport.Request{Method: "GET", Host: "admin.test", Path: "/metrics", Token: w.Ops})
	if res.Status != 200 {
		t.Fatalf("metrics for ops: %d %s", res.Status, res.Body)
	}
	text := string(res.Body)
	if !strings.Contains(text, `route="/api/v1/users/:id"`) || strings.Contains(text, fmt.Sprint(w.A.Users[authz.Citizen].ID)) {
		t.Fatal("requests are not labelled by route template only")
	}
	names, err := ops.ReferencedMetrics()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !strings.Contains(text, "\n"+n+" ") && !strings.Contains(text, "\n"+n+"{") && !strings.Contains(text, "\n"+n+"_bucket{") {
			t.Errorf("the rules or dashboard use %s, which the server does not export", n)
		}
	}
	if !strings.Contains(text, `concorde_tenants{status="active"} 3`) {
		t.Errorf("tenant gauge: want 3 active (platform, ay, bee)")
	}
}
