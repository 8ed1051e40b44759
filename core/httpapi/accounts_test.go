package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/tenants"
)

// postForm posts a page form as a browser would: with the visitor's participant cookie and
// the CSRF token bound to it.
func postForm(t *testing.T, e *testsupport.Env, host, path string, form url.Values) testsupport.Response {
	t.Helper()
	res := e.Do(testsupport.Request{Method: "GET", Host: host, Path: "/api/v1/auth/me"})
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	res.JSON(t, &me)
	form.Set("_csrf", me.CSRF)
	return e.Do(testsupport.Request{Method: "POST", Host: host, Path: path, Body: form.Encode(), Cookies: res.Cookie,
		Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
}

// Accounts of the platform tenant are staff and may sign in on every site where they hold
// a role: nobody may create one by signing up on the platform host.
func TestSignUp_RefusedOnThePlatformHost(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newWorld(t, e)
		ctx := context.Background()
		platformUsers := func() int {
			us, err := e.App.Users.List(ctx, tenants.PlatformID, 500, 0)
			if err != nil {
				t.Fatal(err)
			}
			return len(us)
		}
		before := platformUsers()
		body := map[string]string{"email": "ethics2@platform.test", "name": "Squatter", "password": testsupport.Password}

		res := e.Do(testsupport.Request{Method: "POST", Host: "admin.test", Path: "/api/v1/auth/signup", Body: body})
		if res.Status != http.StatusForbidden {
			t.Fatalf("API sign-up on the platform host: %d %s", res.Status, res.Body)
		}
		errorBody(t, res)
		form := url.Values{"email": {"ethics3@platform.test"}, "name": {"Squatter"}, "password": {testsupport.Password}}
		if res := postForm(t, e, "admin.test", "/account/signup", form); res.Status != http.StatusForbidden {
			t.Fatalf("page sign-up on the platform host: %d %s", res.Status, res.Body)
		}
		if n := platformUsers(); n != before {
			t.Fatalf("platform accounts: %d, then %d", before, n)
		}

		// A tenant's site still takes sign-ups, through the API and the page.
		if res := e.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/auth/signup", Body: body}); res.Status != http.StatusCreated {
			t.Fatalf("API sign-up on a site: %d %s", res.Status, res.Body)
		}
		if res := postForm(t, e, w.A.Host, "/account/signup", form); res.Status != http.StatusSeeOther {
			t.Fatalf("page sign-up on a site: %d %s", res.Status, res.Body)
		}
	})
}

// Platform staff can sign in on every site: guesses are counted per account over all of
// them, and globally, with one password hash per attempt.
func TestSignIn_LimitedPerAccountAcrossSitesAndGlobally(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newWorld(t, e)
		login := func(host, email, password string) int {
			return e.Do(testsupport.Request{Method: "POST", Host: host, Path: "/api/v1/auth/login", Body: map[string]string{"email": email, "password": password}}).Status
		}
		e.App.Users.LimitSignIns(identity.SignInLimits{PerAccount: 3, Global: -1})
		for i, host := range []string{w.A.Host, w.B.Host, w.A.Host} {
			if st := login(host, "ethics@platform.test", "wrong password!"); st != http.StatusUnauthorized {
				t.Fatalf("guess %d on %s: %d", i+1, host, st)
			}
		}
		if st := login(w.B.Host, "ethics@platform.test", testsupport.Password); st != http.StatusTooManyRequests {
			t.Fatalf("fourth attempt with the right password on another site: %d, want 429", st)
		}
		form := url.Values{"email": {"ethics@platform.test"}, "password": {testsupport.Password}}
		if res := postForm(t, e, w.B.Host, "/account/signin", form); res.Status != http.StatusTooManyRequests {
			t.Fatalf("through the page: %d", res.Status)
		}
		if st := login(w.B.Host, "citizen@bee.test", testsupport.Password); st != http.StatusOK {
			t.Fatalf("another account: %d", st)
		}

		// Globally: four attempts of platform staff on a site fit in a limit of four (one
		// hash each, not one against the site's accounts and one against the platform's).
		e.App.Users.LimitSignIns(identity.SignInLimits{PerAccount: -1, Global: 4})
		for i := 0; i < 4; i++ {
			if st := login(w.A.Host, "root@platform.test", "wrong password!"); st != http.StatusUnauthorized {
				t.Fatalf("attempt %d under the global limit: %d", i+1, st)
			}
		}
		if st := login(w.A.Host, "admin@ay.test", testsupport.Password); st != http.StatusTooManyRequests {
			t.Fatalf("past the global limit: %d", st)
		}
	})
}

// A token acts as its account: a tenant admin must not mint one for a citizen and vote or
// propose in their name. Tokens go to staff accounts, or to an account for itself.
func TestTokens_OnlyForStaffAccountsOrOneself(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newWorld(t, e)
		admin := w.A.Tokens[authz.TenantAdmin]
		mint := func(userID int64) testsupport.Response {
			return w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/tokens", Token: admin, Body: map[string]any{"name": "n", "user_id": userID}})
		}
		before, err := e.App.Staff.Tokens(context.Background(), w.A.Tenant.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		partner, _ := e.Account(w.A.Tenant.ID, "venue@ay.test", authz.Moderator)
		if _, err := e.App.Staff.Revoke(context.Background(), "test", w.A.Tenant.ID, partner.ID, string(authz.Moderator)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.App.Staff.Grant(context.Background(), "test", w.A.Tenant.ID, partner.ID, string(authz.Partner)); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name   string
			userID int64
			status int
		}{
			{"a citizen", w.A.Users[authz.Citizen].ID, http.StatusForbidden},
			{"a partner", partner.ID, http.StatusForbidden},
			{"a moderator", w.A.Users[authz.Moderator].ID, http.StatusCreated},
			{"an auditor", w.A.Users[authz.Auditor].ID, http.StatusCreated},
			{"oneself", 0, http.StatusCreated},
		} {
			res := mint(c.userID)
			if res.Status != c.status {
				t.Errorf("token for %s: %d %s, want %d", c.name, res.Status, res.Body, c.status)
			}
		}
		after, err := e.App.Staff.Tokens(context.Background(), w.A.Tenant.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		// The three granted, and the one for the partner account made by the test helper.
		if len(after) != len(before)+4 {
			t.Fatalf("tokens: %d, then %d", len(before), len(after))
		}
		for _, tok := range after {
			if tok.UserID == w.A.Users[authz.Citizen].ID && tok.Name != "test" {
				t.Fatalf("a citizen's token was minted: %+v", tok)
			}
		}
	})
}

// Every use of a token is on record: an audit entry per write (refused ones too), and the
// token's last-used time for reads, which are not audited one by one.
func TestTokens_EveryUseIsAudited(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newWorld(t, e)
		ctx := context.Background()
		tokenOf := func(userID int64) identity.Token {
			toks, err := e.App.Staff.Tokens(ctx, w.A.Tenant.ID, userID)
			if err != nil || len(toks) != 1 {
				t.Fatalf("tokens of %d: %v %v", userID, toks, err)
			}
			return toks[0]
		}
		uses := func() []audit.Entry {
			p, err := e.App.Audit.List(ctx, w.A.Tenant.ID, audit.Filter{Action: "token.use", Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			return p.Entries
		}
		admin := w.A.Users[authz.TenantAdmin]
		if tok := tokenOf(admin.ID); tok.LastUsedAt != nil {
			t.Fatalf("an unused token has a last use: %+v", tok)
		}

		if res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/users", Token: w.A.Tokens[authz.TenantAdmin]}); res.Status != http.StatusOK {
			t.Fatalf("read: %d", res.Status)
		}
		first := tokenOf(admin.ID).LastUsedAt
		if first == nil {
			t.Fatal("a read did not record the token's use")
		}
		w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/tenant", Token: w.A.Tokens[authz.TenantAdmin]})
		if again := tokenOf(admin.ID).LastUsedAt; again == nil || !again.Equal(*first) {
			t.Fatalf("a second read within a minute wrote the last use again: %v then %v", first, again)
		}
		if n := len(uses()); n != 0 {
			t.Fatalf("reads were audited one by one: %d entries", n)
		}

		if res := w.Do(testsupport.Request{Method: "PATCH", Host: w.A.Host, Path: "/api/v1/tenant", Token: w.A.Tokens[authz.TenantAdmin], Body: map[string]any{"name": "Ay"}}); res.Status != http.StatusOK {
			t.Fatalf("write: %d %s", res.Status, res.Body)
		}
		if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/users", Token: w.A.Tokens[authz.Auditor], Body: map[string]any{"email": "x@ay.test"}}); res.Status != http.StatusForbidden {
			t.Fatalf("refused write: %d", res.Status)
		}
		// A platform token used on the site is recorded in the site's chain.
		w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/tenants/ay/suspend", Token: w.PlatformAdmin})

		got := uses()
		if len(got) != 3 {
			t.Fatalf("%d token.use entries, want 3: %+v", len(got), got)
		}
		want := []struct{ token, method, path string }{
			{"", "POST", "/api/v1/tenants/ay/suspend"},
			{fmt.Sprintf("token:%d", tokenOf(w.A.Users[authz.Auditor].ID).ID), "POST", "/api/v1/users"},
			{fmt.Sprintf("token:%d", tokenOf(admin.ID).ID), "PATCH", "/api/v1/tenant"},
		}
		for i, en := range got {
			var d struct{ Method, Path string }
			if err := json.Unmarshal(en.Detail, &d); err != nil {
				t.Fatal(err)
			}
			if want[i].token != "" && en.Object != want[i].token || d.Method != want[i].method || d.Path != want[i].path || en.Actor == "anonymous" {
				t.Errorf("entry %d: %s %s %s by %s, want %+v", i, en.Object, d.Method, d.Path, en.Actor, want[i])
			}
		}
		if rep, err := e.App.Audit.Verify(ctx, w.A.Tenant.ID); err != nil || !rep.OK {
			t.Fatalf("verify: %+v %v", rep, err)
		}
	})
}

// The signed head of a site's chain is for its auditors and admins; saved, it detects a
// truncated tail later.
func TestAuditHead_SignedForAuditorsAndDetectsTruncation(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newWorld(t, e)
		ctx := context.Background()
		for _, c := range []struct {
			who    string
			token  string
			status int
		}{
			{"auditor", w.A.Tokens[authz.Auditor], http.StatusOK},
			{"tenant admin", w.A.Tokens[authz.TenantAdmin], http.StatusOK},
			{"platform auditor", w.PlatformAuditor, http.StatusOK},
			{"moderator", w.A.Tokens[authz.Moderator], http.StatusForbidden},
			{"citizen", w.A.Tokens[authz.Citizen], http.StatusForbidden},
			{"B's auditor", w.B.Tokens[authz.Auditor], http.StatusUnauthorized},
			{"anonymous", "", http.StatusUnauthorized},
		} {
			if res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/audit/head", Token: c.token}); res.Status != c.status {
				t.Errorf("%s: %d, want %d", c.who, res.Status, c.status)
			}
		}
		res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/audit/head", Token: w.A.Tokens[authz.Auditor]})
		var h audit.Head
		res.JSON(t, &h)
		if h.TenantID != w.A.Tenant.ID || h.Tenant != "ay" || h.Seq == 0 || h.KeyedFrom != 1 || h.Signature == "" {
			t.Fatalf("head %s", res.Body)
		}
		if rep, err := e.App.Audit.VerifyHead(ctx, h); err != nil || !rep.OK {
			t.Fatalf("verify head: %+v %v", rep, err)
		}
		if _, err := e.App.DB.ExecContext(ctx, `DELETE FROM audit_entries WHERE tenant_id = ? AND seq = ?`, h.TenantID, h.Seq); err != nil {
			t.Fatal(err)
		}
		if rep, err := e.App.Audit.VerifyHead(ctx, h); err != nil || rep.OK || rep.Reason != audit.ReasonTruncated {
			t.Fatalf("after truncation: %+v %v", rep, err)
		}
		if !strings.HasPrefix(h.KeyID, "k") {
			t.Fatalf("key id %q", h.KeyID)
		}
	})
}
