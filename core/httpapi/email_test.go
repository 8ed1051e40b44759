package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/mail"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/tenants"
)

// linkIn returns the path and token of the link to path in the newest e-mail of kind to addr.
func linkIn(t *testing.T, e *testsupport.Env, tenantID int64, to string, kind mail.Kind, path string) (string, string) {
	t.Helper()
	rows, err := e.App.Outbox.List(context.Background(), tenantID, to)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].Kind != kind {
			continue
		}
		m := regexp.MustCompile(`https?://[^\s]+` + regexp.QuoteMeta(path) + `\?token=([A-Za-z0-9_-]+)`).FindStringSubmatch(rows[i].Body)
		if m == nil {
			t.Fatalf("no %s link in the %s e-mail: %s", path, kind, rows[i].Body)
		}
		return path + "?token=" + m[1], m[1]
	}
	t.Fatalf("no %s e-mail to %s in %d messages", kind, to, len(rows))
	return "", ""
}

func countUsers(t *testing.T, e *testsupport.Env) int64 {
	n, err := e.App.DB.NewSelect().TableExpr("users").Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// An admin invites by e-mail; the invitee chooses a password on the site's host and is
// signed in; the link works once, a re-invitation revokes the older one, and everything is
// audited. Nobody types a password for someone else.
func TestInvitation_TheInviteeChoosesTheirPasswordAndIsSignedIn(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		site := e.Site("ay")
		admin := e.Visitor(site.Host)
		admin.SignIn("tenant-admin@ay.test", testsupport.Password)

		// A password typed by the admin is refused, and creates nothing (form and API).
		before := countUsers(t, e)
		if res := admin.PostForm("/admin/users", url.Values{"email": {"modo@ay.test"}, "role": {"moderator"}, "password": {"0123456789ab"}}); res.Status != http.StatusBadRequest {
			t.Fatalf("a password typed for someone else: %d", res.Status)
		}
		if res := e.Do(testsupport.Request{Method: "POST", Host: site.Host, Path: "/api/v1/users", Token: site.Tokens[authz.TenantAdmin],
			Body: map[string]any{"email": "modo@ay.test", "role": "moderator", "password": "0123456789ab"}}); res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), `"field":"password"`) {
			t.Fatalf("API with a password: %d %s", res.Status, res.Body)
		}
		if countUsers(t, e) != before {
			t.Fatal("a refused invitation created an account")
		}

		res := admin.PostForm("/admin/users", url.Values{"email": {"Modo@ay.test"}, "name": {"Modo"}, "role": {"moderator"}})
		if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/admin/users?invited=1" {
			t.Fatalf("invite: %d %s", res.Status, res.Body)
		}
		page := string(admin.Do("GET", "/admin/users?invited=1", nil).Body)
		if !strings.Contains(page, "L&#39;invitation est partie") || !strings.Contains(page, "invitation en attente") {
			t.Errorf("the users page does not say the invitation left or is pending")
		}
		first, firstToken := linkIn(t, e, site.Tenant.ID, "modo@ay.test", mail.Invitation, "/account/invitation")
		rows, _ := e.App.Outbox.List(context.Background(), site.Tenant.ID, "modo@ay.test")
		if m := rows[0]; !strings.Contains(m.Subject, "Invitation à rejoindre Ville de ay") || !strings.Contains(m.Body, "http://ay.test/account/invitation?token=") ||
			!strings.Contains(m.Body, "Modérateur·rice") || !strings.Contains(m.Body, "tenant-admin@ay.test") {
			t.Errorf("invitation e-mail: %q\n%s", m.Subject, m.Body)
		}
		// The invited account cannot sign in before choosing its password (an empty one included).
		if res := e.Visitor(site.Host).SignIn("modo@ay.test", ""); res.Status == http.StatusOK {
			t.Fatal("a pending invitation signs in without a password")
		}

		// Inviting again revokes the first link.
		res = admin.PostForm("/admin/users", url.Values{"email": {"modo@ay.test"}, "role": {"moderator"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("re-invite: %d %s", res.Status, res.Body)
		}
		second, _ := linkIn(t, e, site.Tenant.ID, "modo@ay.test", mail.Invitation, "/account/invitation")
		if second == first {
			t.Fatal("the re-invitation reused the link")
		}
		invitee := e.Visitor(site.Host)
		if res := invitee.Do("GET", first, nil); res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), "Ce lien n&#39;est plus valable") {
			t.Fatalf("the revoked link: %d", res.Status)
		}
		if res := invitee.PostForm("/account/invitation", url.Values{"token": {firstToken}, "password": {"un mot de passe sûr"}, "password_again": {"un mot de passe sûr"}}); res.Status != http.StatusBadRequest {
			t.Fatalf("accepting with the revoked link: %d", res.Status)
		}

		// Bad tokens: clear 400s.
		for _, bad := range []string{"", "nope", "ccl_" + strings.Repeat("A", 43), "ccl_" + strings.Repeat("x", 200)} {
			if res := invitee.Do("GET", "/account/invitation?token="+url.QueryEscape(bad), nil); res.Status != http.StatusBadRequest {
				t.Errorf("token %q: %d", bad, res.Status)
			}
		}

		page = string(invitee.Do("GET", second, nil).Body)
		if !strings.Contains(page, "modo@ay.test") || !strings.Contains(page, `autocomplete="new-password"`) {
			t.Fatalf("the invitation page: %s", page)
		}
		_, token := linkIn(t, e, site.Tenant.ID, "modo@ay.test", mail.Invitation, "/account/invitation")
		// Two different passwords, or a short one: the page says so and nothing changes.
		if res := invitee.PostForm("/account/invitation", url.Values{"token": {token}, "password": {"un mot de passe sûr"}, "password_again": {"un autre"}}); res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), "pas identiques") {
			t.Fatalf("mismatch: %d", res.Status)
		}
		if res := invitee.PostForm("/account/invitation", url.Values{"token": {token}, "password": {"court"}, "password_again": {"court"}}); res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), "10 à 256") {
			t.Fatalf("short password: %d", res.Status)
		}
		res = invitee.PostForm("/account/invitation", url.Values{"token": {token}, "password": {"un mot de passe sûr"}, "password_again": {"un mot de passe sûr"}})
		if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/admin" {
			t.Fatalf("accept: %d %s", res.Status, res.Body)
		}
		if me := string(invitee.Do("GET", "/api/v1/auth/me", nil).Body); !strings.Contains(me, `"authenticated":true`) || !strings.Contains(me, "moderator") {
			t.Fatalf("not signed in after accepting: %s", me)
		}
		u, err := e.App.Users.ByEmail(context.Background(), site.Tenant.ID, "modo@ay.test")
		if err != nil || !u.Verified() || u.InvitationPending {
			t.Fatalf("the accepted account: %+v %v", u, err)
		}
		// The link is used up.
		if res := e.Visitor(site.Host).PostForm("/account/invitation", url.Values{"token": {token}, "password": {"encore un autre mot"}, "password_again": {"encore un autre mot"}}); res.Status != http.StatusBadRequest {
			t.Fatalf("a reused link: %d", res.Status)
		}
		if res := e.Visitor(site.Host).SignIn("modo@ay.test", "encore un autre mot"); res.Status == http.StatusOK {
			t.Fatal("the reused link changed the password")
		}
		if res := e.Visitor(site.Host).SignIn("modo@ay.test", "un mot de passe sûr"); res.Status != http.StatusOK {
			t.Fatalf("sign in with the chosen password: %d", res.Status)
		}
		// An account in use cannot be invited again.
		if res := admin.PostForm("/admin/users", url.Values{"email": {"modo@ay.test"}, "role": {"auditor"}}); res.Status != http.StatusConflict || !strings.Contains(string(res.Body), "existe déjà") {
			t.Fatalf("inviting an account in use: %d", res.Status)
		}
		// Audited: the invitation, the re-invitation and the acceptance.
		log := string(e.Do(testsupport.Request{Method: "GET", Host: site.Host, Path: "/api/v1/audit?limit=50", Token: site.Tokens[authz.Auditor]}).Body)
		for _, action := range []string{"user.invite", "user.reinvite", "user.invitation_accepted"} {
			if !strings.Contains(log, `"`+action+`"`) {
				t.Errorf("%s is not in the audit log", action)
			}
		}
		if strings.Contains(log, token) || strings.Contains(log, firstToken) {
			t.Error("an invitation token is in the audit log")
		}
	})
}

// An invitation expires after a week: its page then says so (400), and nothing changes.
func TestInvitation_AnExpiredLinkIsRefused(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	site := e.Site("ay")
	res := e.Do(testsupport.Request{Method: "POST", Host: site.Host, Path: "/api/v1/users", Token: site.Tokens[authz.TenantAdmin], Body: map[string]any{"email": "late@ay.test", "role": "auditor"}})
	if res.Status != http.StatusCreated || !strings.Contains(string(res.Body), `"invitation_pending":true`) {
		t.Fatalf("invite: %d %s", res.Status, res.Body)
	}
	link, token := linkIn(t, e, site.Tenant.ID, "late@ay.test", mail.Invitation, "/account/invitation")
	e.App.Links.Now = func() time.Time { return time.Now().Add(7*24*time.Hour + time.Minute) }
	v := e.Visitor(site.Host)
	if res := v.Do("GET", link, nil); res.Status != http.StatusBadRequest {
		t.Fatalf("expired link page: %d", res.Status)
	}
	if res := v.PostForm("/account/invitation", url.Values{"token": {token}, "password": {"un mot de passe sûr"}, "password_again": {"un mot de passe sûr"}}); res.Status != http.StatusBadRequest {
		t.Fatalf("expired link accepted: %d", res.Status)
	}
	if u, _ := e.App.Users.ByEmail(context.Background(), site.Tenant.ID, "late@ay.test"); !u.InvitationPending || u.Verified() {
		t.Fatal("the expired link changed the account")
	}
	// A new invitation (through the API) works again.
	e.App.Links.Now = time.Now
	u, _ := e.App.Users.ByEmail(context.Background(), site.Tenant.ID, "late@ay.test")
	if res := e.Do(testsupport.Request{Method: "POST", Host: site.Host, Path: fmt.Sprintf("/api/v1/users/%d/invitation", u.ID), Token: site.Tokens[authz.TenantAdmin]}); res.Status != http.StatusOK {
		t.Fatalf("re-invite: %d %s", res.Status, res.Body)
	}
	if l, _ := linkIn(t, e, site.Tenant.ID, "late@ay.test", mail.Invitation, "/account/invitation"); l == link {
		t.Fatal("no new link")
	}
	// Re-inviting an account in use is a conflict.
	if res := e.Do(testsupport.Request{Method: "POST", Host: site.Host, Path: fmt.Sprintf("/api/v1/users/%d/invitation", site.Users[authz.Moderator].ID), Token: site.Tokens[authz.TenantAdmin]}); res.Status != http.StatusConflict {
		t.Fatalf("re-inviting an account in use: %d", res.Status)
	}
}

// A citizen who signs up receives a verification link; the account page says whether the
// address is verified and resends the link, at most once a minute and five times a day.
func TestVerification_SignUpVerifyAndResendLimits(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		site := e.Site("ay")
		v := e.Visitor(site.Host)
		v.Do("GET", "/account", nil)
		res := v.PostForm("/account/signup", url.Values{"email": {"lea@ay.test"}, "name": {"Léa"}, "password": {"un mot de passe sûr"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("sign up: %d %s", res.Status, res.Body)
		}
		page := string(v.Do("GET", "/account", nil).Body)
		if !strings.Contains(page, "Adresse non vérifiée") || !strings.Contains(page, `action="/account/verify/resend"`) {
			t.Fatalf("the account page does not say the address is unverified")
		}
		link, token := linkIn(t, e, site.Tenant.ID, "lea@ay.test", mail.Verification, "/account/verify")
		// Resending at once is refused (429) and sends nothing.
		n := len(must(e.App.Outbox.List(context.Background(), site.Tenant.ID, "lea@ay.test")))
		if res := v.PostForm("/account/verify/resend", nil); res.Status != http.StatusTooManyRequests || !strings.Contains(string(res.Body), "moins d&#39;une minute") {
			t.Fatalf("resend at once: %d", res.Status)
		}
		if len(must(e.App.Outbox.List(context.Background(), site.Tenant.ID, "lea@ay.test"))) != n {
			t.Fatal("a refused resend queued an e-mail")
		}
		// A minute later, four more; the sixth of the day is refused.
		clock := time.Now()
		e.App.Notify.Now = func() time.Time { return clock }
		for i := range 5 {
			clock = clock.Add(61 * time.Second)
			e.App.Links.Now = func() time.Time { return clock }
			res := v.PostForm("/account/verify/resend", nil)
			if i < 4 && res.Status != http.StatusSeeOther {
				t.Fatalf("resend %d: %d %s", i+2, res.Status, res.Body)
			}
			if i == 4 && res.Status != http.StatusTooManyRequests {
				t.Fatalf("the sixth link of the day: %d", res.Status)
			}
		}
		e.App.Links.Now, e.App.Notify.Now = time.Now, time.Now
		// Every link but the newest is revoked.
		if res := v.Do("GET", link, nil); res.Status != http.StatusBadRequest {
			t.Fatalf("an older link still works: %d", res.Status)
		}
		if res := v.PostForm("/account/verify", url.Values{"token": {token}}); res.Status != http.StatusBadRequest {
			t.Fatalf("an older link verifies: %d", res.Status)
		}
		newest, newToken := linkIn(t, e, site.Tenant.ID, "lea@ay.test", mail.Verification, "/account/verify")
		// The link's page only shows a button: following it (a mail scanner) verifies nothing.
		other := e.Visitor(site.Host)
		if res := other.Do("GET", newest, nil); res.Status != http.StatusOK {
			t.Fatalf("verify page: %d", res.Status)
		}
		if u, _ := e.App.Users.ByEmail(context.Background(), site.Tenant.ID, "lea@ay.test"); u.Verified() {
			t.Fatal("opening the link verified the address")
		}
		// Whoever holds the link confirms it, signed in or not (it proves they read the mailbox).
		if res := other.PostForm("/account/verify", url.Values{"token": {newToken}}); res.Status != http.StatusSeeOther {
			t.Fatalf("verify: %d %s", res.Status, res.Body)
		}
		if res := other.PostForm("/account/verify", url.Values{"token": {newToken}}); res.Status != http.StatusBadRequest {
			t.Fatalf("verify twice: %d", res.Status)
		}
		page = string(v.Do("GET", "/account?verified=1", nil).Body)
		if !strings.Contains(page, "Adresse vérifiée") || strings.Contains(page, `action="/account/verify/resend"`) {
			t.Fatal("the account page does not show the verified address")
		}
		if res := v.PostForm("/account/verify/resend", nil); res.Status != http.StatusConflict {
			t.Fatalf("resend once verified: %d", res.Status)
		}
		// An invitation token is not a verification token (nor the reverse).
		if res := other.PostForm("/account/verify", url.Values{"token": {"ccl_" + strings.Repeat("a", 43)}}); res.Status != http.StatusBadRequest {
			t.Fatalf("unknown token: %d", res.Status)
		}
		// A visitor without an account cannot ask for links.
		if res := e.Visitor(site.Host).PostForm("/account/verify/resend", nil); res.Status != http.StatusUnauthorized {
			t.Fatalf("anonymous resend: %d", res.Status)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// The author of a proposal hears of its moderation (with the reason and the moderator's
// comment) if they verified their address and did not opt out; participants who opted in hear
// of the results; nobody else does.
func TestNotifications_ModerationAndResults(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		ctx := context.Background()
		tid := w.A.Tenant.ID
		signUp := func(email string, verified bool) *testsupport.Visitor {
			v := e.Visitor(w.A.Host)
			v.Do("GET", "/account", nil)
			if res := v.PostForm("/account/signup", url.Values{"email": {email}, "password": {"un mot de passe sûr"}}); res.Status != http.StatusSeeOther {
				t.Fatalf("sign up %s: %d", email, res.Status)
			}
			if verified {
				_, token := linkIn(t, e, tid, email, mail.Verification, "/account/verify")
				if res := v.PostForm("/account/verify", url.Values{"token": {token}}); res.Status != http.StatusSeeOther {
					t.Fatalf("verify %s: %d", email, res.Status)
				}
			}
			return v
		}
		ana, bob, cleo := signUp("ana@ay.test", true), signUp("bob@ay.test", false), signUp("cleo@ay.test", true)

		propose := func(v *testsupport.Visitor, text string) int64 {
			res := v.Do("POST", "/api/v1/consultations/"+w.slug+"/proposals", map[string]string{"content": text})
			if res.Status != http.StatusCreated {
				t.Fatalf("propose: %d %s", res.Status, res.Body)
			}
			return userID(t, res)
		}
		refused := propose(ana, "Il faut fermer les musées le dimanche")
		accepted := propose(ana, "Il faut ouvrir les musées le soir")
		bobs := propose(bob, "Il faut des concerts gratuits")
		comment := "Reformulez : que gagnerait-on ?"
		if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: fmt.Sprintf("/api/v1/moderation/proposals/%d/refuse", refused), Token: w.moderator,
			Body: map[string]any{"reason": "incomprehensible", "comment": comment}}); res.Status != 200 {
			t.Fatalf("refuse: %d %s", res.Status, res.Body)
		}
		for _, id := range []int64{accepted, bobs} {
			if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: fmt.Sprintf("/api/v1/moderation/proposals/%d/accept", id), Token: w.moderator, Body: map[string]any{"themes": []string{"musees"}}}); res.Status != 200 {
				t.Fatalf("accept: %d %s", res.Status, res.Body)
			}
		}
		byKind := func(to string, kind mail.Kind) []mail.Row {
			var out []mail.Row
			for _, r := range must(e.App.Outbox.List(ctx, tid, to)) {
				if r.Kind == kind {
					out = append(out, r)
				}
			}
			return out
		}
		ref := byKind("ana@ay.test", mail.ProposalRefused)
		if len(ref) != 1 || !strings.Contains(ref[0].Body, "Il faut fermer les musées le dimanche") || !strings.Contains(ref[0].Body, "Motif : Incompréhensible") ||
			!strings.Contains(ref[0].Body, comment) || !strings.Contains(ref[0].Body, "http://ay.test/charte") {
			t.Fatalf("refusal e-mail: %+v", ref)
		}
		if acc := byKind("ana@ay.test", mail.ProposalAccepted); len(acc) != 1 || !strings.Contains(acc[0].Body, fmt.Sprintf("http://ay.test/proposals/%d", accepted)) {
			t.Fatalf("acceptance e-mail: %+v", acc)
		}
		if got := byKind("bob@ay.test", mail.ProposalAccepted); len(got) != 0 {
			t.Fatal("an unverified address was notified")
		}

		// Ana opts out of moderation news and into results; Cléo votes and opts in; Bob (unverified) opts in.
		if res := ana.PostForm("/account/notifications", url.Values{"notify_results": {"on"}}); res.Status != http.StatusSeeOther {
			t.Fatalf("preferences: %d", res.Status)
		}
		if page := string(ana.Do("GET", "/account?saved=1", nil).Body); !strings.Contains(page, `id="notify-results" name="notify_results" type="checkbox" checked`) || strings.Contains(page, `name="notify_proposals" type="checkbox" checked`) {
			t.Fatal("the account page does not show the saved choices")
		}
		cleo.PostForm("/account/notifications", url.Values{"notify_results": {"on"}, "notify_proposals": {"on"}})
		bob.PostForm("/account/notifications", url.Values{"notify_results": {"on"}})
		if res := cleo.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", accepted), map[string]any{"vote": "agree"}); res.Status >= 300 {
			t.Fatalf("vote: %d %s", res.Status, res.Body)
		}
		later := propose(ana, "Il faut des musées gratuits le dimanche")
		w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: fmt.Sprintf("/api/v1/moderation/proposals/%d/accept", later), Token: w.moderator, Body: map[string]any{"themes": []string{"musees"}}})
		if got := byKind("ana@ay.test", mail.ProposalAccepted); len(got) != 1 {
			t.Fatalf("ana opted out, still notified: %d", len(got))
		}

		// As the server does: the results fan-out runs in the background (Close waits for it).
		e.App.Notify.Start()
		for _, step := range []string{"close", "publish"} {
			if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations/culture/" + step, Token: w.admin}); res.Status != 200 {
				t.Fatalf("%s: %d %s", step, res.Status, res.Body)
			}
		}
		e.App.Notify.Close()
		for who, want := range map[string]int{"ana@ay.test": 1, "cleo@ay.test": 1, "bob@ay.test": 0, "citizen@ay.test": 0} {
			got := byKind(who, mail.ResultsPublished)
			if len(got) != want {
				t.Errorf("%s: %d results e-mails, want %d", who, len(got), want)
			}
			if len(got) == 1 && !strings.Contains(got[0].Body, "http://ay.test/c/culture/results") {
				t.Errorf("results e-mail: %s", got[0].Body)
			}
		}
	})
}

// A consultation reserved to accounts takes proposals only from verified addresses; voting
// stays open to every account.
func TestVerification_AccountOnlyConsultationsNeedAVerifiedAddress(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	w := newConsultation(t, e)
	res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations", Token: w.admin, Body: map[string]any{
		"slug": "ville", "question": "Que changer en ville ?", "requires_account": true}})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations/ville/open", Token: w.admin}); res.Status != 200 {
		t.Fatalf("open: %d %s", res.Status, res.Body)
	}
	v := e.Visitor(w.A.Host)
	v.Do("GET", "/account", nil)
	v.PostForm("/account/signup", url.Values{"email": {"new@ay.test"}, "password": {"un mot de passe sûr"}})
	res = v.Do("POST", "/api/v1/consultations/ville/proposals", map[string]string{"content": "Il faut ouvrir les musées le soir"})
	if res.Status != http.StatusForbidden || !strings.Contains(string(res.Body), "confirm your e-mail address") {
		t.Fatalf("unverified proposal: %d %s", res.Status, res.Body)
	}
	v.Header = map[string]string{"Accept-Language": "fr"}
	res = v.Do("POST", "/api/v1/consultations/ville/proposals", map[string]string{"content": "Il faut ouvrir les musées le soir"})
	v.Header = nil
	if res.Status != http.StatusForbidden || !strings.Contains(string(res.Body), "Confirmez votre adresse électronique") {
		t.Fatalf("unverified proposal, in French: %d %s", res.Status, res.Body)
	}
	_, token := linkIn(t, e, w.A.Tenant.ID, "new@ay.test", mail.Verification, "/account/verify")
	v.PostForm("/account/verify", url.Values{"token": {token}})
	if res := v.Do("POST", "/api/v1/consultations/ville/proposals", map[string]string{"content": "Il faut ouvrir les musées le soir"}); res.Status != http.StatusCreated {
		t.Fatalf("verified proposal: %d %s", res.Status, res.Body)
	}
}

// Platform staff signed in on a site manage their address on the platform's site: the site's
// account page offers them no verification, and asking for a link there is refused.
func TestVerification_PlatformStaffAreNotVerifiedOnASite(t *testing.T) {
	e := testsupport.New(t, "sqlite")
	site := e.Site("ay")
	e.Account(tenants.PlatformID, "root@admin.test", authz.PlatformAdmin)
	v := e.Visitor(site.Host)
	if res := v.SignIn("root@admin.test", testsupport.Password); res.Status != http.StatusOK {
		t.Fatalf("platform admin on a site: %d %s", res.Status, res.Body)
	}
	if page := string(v.Do("GET", "/account", nil).Body); strings.Contains(page, `id="email-title"`) || strings.Contains(page, `id="notifications"`) {
		t.Error("the site's account page offers a platform account its e-mail settings")
	}
	before := len(must(e.App.Outbox.List(context.Background(), site.Tenant.ID, "")))
	if res := v.PostForm("/account/verify/resend", nil); res.Status != http.StatusForbidden {
		t.Fatalf("resend for a platform account on a site: %d", res.Status)
	}
	if res := v.PostForm("/account/notifications", url.Values{"notify_results": {"on"}}); res.Status != http.StatusForbidden {
		t.Fatalf("notifications of a platform account on a site: %d", res.Status)
	}
	if after := len(must(e.App.Outbox.List(context.Background(), site.Tenant.ID, ""))); after != before {
		t.Error("an e-mail was queued")
	}
}

// The links an e-mail carries lead to the site the request reached, whatever X-Forwarded-Host
// a client sends: otherwise anyone could have a victim's verification link point at their own
// domain, and take the token.
func TestMail_LinksIgnoreForwardedHost(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		site := e.Site("ay")
		v := e.Visitor(site.Host)
		v.Header = map[string]string{"X-Forwarded-Host": "evil.example"}
		v.Do("GET", "/account", nil)
		if res := v.PostForm("/account/signup", url.Values{"email": {"victim@ay.test"}, "password": {"un mot de passe sûr"}}); res.Status >= 400 {
			t.Fatalf("sign up: %d %s", res.Status, res.Body)
		}
		rows, err := e.App.Outbox.List(context.Background(), site.Tenant.ID, "victim@ay.test")
		if err != nil || len(rows) == 0 {
			t.Fatalf("no e-mail: %v", err)
		}
		for _, r := range rows {
			if strings.Contains(r.Body, "evil.example") || !strings.Contains(r.Body, "://"+site.Host) {
				t.Fatalf("the e-mail's links follow X-Forwarded-Host: %s", r.Body)
			}
		}
	})
}
