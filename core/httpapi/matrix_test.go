package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/httpapi"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/tenants"
)

// world is two tenants, A ("ay") and B ("bee"), and platform staff.
type world struct {
	*testsupport.Env
	A, B            *testsupport.Site
	PlatformAdmin   string // token
	PlatformAuditor string // token
	Ops             string // token
	bTokenID        int64
}

func newWorld(t *testing.T, e *testsupport.Env) *world {
	w := &world{Env: e, A: e.Site("ay"), B: e.Site("bee")}
	_, w.PlatformAdmin = e.Account(tenants.PlatformID, "root@platform.test", authz.PlatformAdmin)
	_, w.PlatformAuditor = e.Account(tenants.PlatformID, "ethics@platform.test", authz.Auditor)
	_, w.Ops = e.Account(tenants.PlatformID, "ops@platform.test", authz.Ops)
	toks, err := e.App.Staff.Tokens(context.Background(), w.B.Tenant.ID, 0)
	if err != nil || len(toks) == 0 {
		t.Fatalf("tokens of B: %v", err)
	}
	w.bTokenID = toks[0].ID
	return w
}

// pathFor fills a route's parameters with B's objects.
func (w *world) pathFor(r httpapi.Route) string {
	p := r.Path
	id := w.B.Users[authz.TenantAdmin].ID
	if strings.Contains(p, "/tokens/") {
		id = w.bTokenID
	}
	p = strings.ReplaceAll(p, ":slug", w.B.Tenant.Slug)
	p = strings.ReplaceAll(p, ":id", fmt.Sprint(id))
	p = strings.ReplaceAll(p, ":role", string(authz.Moderator))
	p = strings.ReplaceAll(p, "*", "site.css")
	return p
}

// secretsOfB are strings of B's private data (its accounts); its name and colours are public
// on its own host, so they count as secrets only in responses from A's host.
func (w *world) secretsOfB(onA bool) []string {
	s := []string{"@bee.test"}
	if onA {
		s = append(s, "Ville de bee", "bee.test")
	}
	return s
}

func (w *world) snapshot(t *testing.T) string { return w.snapshotOf(t, 0) }

// snapshotOf summarises the stored data, of one tenant when tenantID is not 0.
func (w *world) snapshotOf(t *testing.T, tenantID int64) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"tenants", "tenant_hosts", "users", "sessions", "api_tokens", "audit_entries", "casbin_rules",
		"consultations", "proposals", "votes", "participant_profiles", "tenant_margins"} {
		q := w.App.DB.NewSelect().TableExpr(table)
		if tenantID != 0 && table != "tenants" && table != "casbin_rules" {
			q = q.Where("tenant_id = ?", tenantID)
		}
		if table == "audit_entries" {
			// Every token-authenticated write is audited, refused or not: that is a record of
			// the attempt, not a change the request made.
			q = q.Where("action <> 'token.use'")
		}
		n, err := q.Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%d ", table, n)
	}
	ts, _ := w.App.Tenants.List(context.Background())
	for _, tn := range ts {
		if tenantID == 0 || tn.ID == tenantID {
			fmt.Fprintf(&b, "%s:%s:%s:%s ", tn.Slug, tn.Status, tn.Name, tn.ColorPrimary)
		}
	}
	return b.String()
}

func tenantRoutes(s *httpapi.Server) []httpapi.Route {
	var out []httpapi.Route
	for _, r := range s.Routes() {
		if r.Perm.Scope != httpapi.NoTenant {
			out = append(out, r)
		}
	}
	return out
}

func TestCrossTenant_EveryRoleOfAGetsNothingOfB(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newWorld(t, e)
		routes := tenantRoutes(e.Server)
		if len(routes) < 15 {
			t.Fatalf("only %d routes enumerated", len(routes))
		}
		before := w.snapshotOf(t, w.B.Tenant.ID)
		for _, r := range routes {
			for _, role := range testsupport.TenantRoles {
				tok := w.A.Tokens[role]
				// A's credentials on B's host.
				res := w.Do(testsupport.Request{Method: r.Method, Host: w.B.Host, Path: w.pathFor(r), Token: tok, Body: "{}"})
				if res.Status != http.StatusUnauthorized && res.Status != http.StatusForbidden && res.Status != http.StatusNotFound {
					t.Errorf("%s %s as %s of A on B's host: status %d, want 401/403/404", r.Method, r.Path, role, res.Status)
				}
				w.noSecretOfB(t, r, role, res, false)
				// A's credentials on A's host, aimed at B's objects.
				res = w.Do(testsupport.Request{Method: r.Method, Host: w.A.Host, Path: w.pathFor(r), Token: tok, Body: "{}"})
				w.noSecretOfB(t, r, role, res, true)
				if r.Perm.Scope == httpapi.PlatformScope && res.Status != http.StatusForbidden {
					t.Errorf("%s %s (platform route) as %s of A: status %d, want 403", r.Method, r.Path, role, res.Status)
				}
			}
		}
		if after := w.snapshotOf(t, w.B.Tenant.ID); after != before {
			t.Errorf("B's data changed:\nbefore %s\nafter  %s", before, after)
		}
	})
}

func (w *world) noSecretOfB(t *testing.T, r httpapi.Route, role authz.Role, res testsupport.Response, onA bool) {
	t.Helper()
	for _, s := range w.secretsOfB(onA) {
		if strings.Contains(string(res.Body), s) {
			t.Errorf("%s %s as %s of A: response holds %q of B: %s", r.Method, r.Path, role, s, res.Body)
		}
	}
}

func TestAuditor_EveryWriteIsRefusedAndChangesNothing(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newWorld(t, e)
		before := w.snapshot(t)
		writes := 0
		for _, r := range tenantRoutes(e.Server) {
			if r.Method == http.MethodGet || r.Perm.Object == "session" {
				continue // signing in and out changes no tenant data: auditors must be able to
			}
			writes++
			for name, tok := range map[string]string{"tenant auditor": w.A.Tokens[authz.Auditor], "platform auditor": w.PlatformAuditor} {
				// A valid-looking body, so only authorization can refuse it.
				body := `{"email":"x@ay.test","name":"X","password":"0123456789ab","role":"moderator","host":"x.test","slug":"zz","kind":"city","hosts":["zz.test"]}`
				path := strings.NewReplacer(":slug", "ay", ":id", fmt.Sprint(w.A.Users[authz.Citizen].ID), ":role", "citizen").Replace(r.Path)
				res := w.Do(testsupport.Request{Method: r.Method, Host: w.A.Host, Path: path, Token: tok, Body: body})
				if res.Status != http.StatusForbidden {
					t.Errorf("%s %s as %s: status %d, want 403 (%s)", r.Method, r.Path, name, res.Status, res.Body)
				}
			}
		}
		if writes < 8 {
			t.Fatalf("only %d write routes enumerated", writes)
		}
		if after := w.snapshot(t); after != before {
			t.Errorf("an auditor changed data:\nbefore %s\nafter  %s", before, after)
		}
		// And they read everything in their tenant.
		for _, path := range []string{"/api/v1/users", "/api/v1/audit", "/api/v1/audit/verify", "/api/v1/tenant", "/api/v1/tokens"} {
			for name, tok := range map[string]string{"tenant auditor": w.A.Tokens[authz.Auditor], "platform auditor": w.PlatformAuditor} {
				if res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: path, Token: tok}); res.Status != http.StatusOK {
					t.Errorf("GET %s as %s: %d %s", path, name, res.Status, res.Body)
				}
			}
		}
	})
}

func TestRoutes_EveryRouteDeclaresAPermission(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	if err := e.Server.CheckRoutes(); err != nil {
		t.Fatal(err)
	}
	e.Server.App.Get("/rogue", func(c *fiber.Ctx) error { return nil })
	if err := e.Server.CheckRoutes(); err == nil || !strings.Contains(err.Error(), "/rogue") {
		t.Fatalf("a route without permission passed the check: %v", err)
	}
}
