package browser_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/concorde-civic/concorde/core/mail"
)

// TestEmail runs the e-mail journeys in Chromium: an admin invites a moderator from the
// accounts page; the invitee opens the link of the e-mail, chooses a password and is signed
// in; the link then no longer works. A citizen signs up, sees that their address is not
// verified, confirms it with the link of their e-mail and chooses what to receive. Every page
// passes axe-core and is screenshot at 360 and 1280 px.
func TestEmail(t *testing.T) {
	s := newSite(t)
	t.Run("invitation, choose a password, signed in", s.testInvitation)
	t.Run("sign up, verify the address, choose the e-mails", s.testVerification)
}

// mailedLink is the path and query of the link to path in the newest e-mail of kind to addr,
// checked to lead to the tenant's own host.
func (s *site) mailedLink(t *testing.T, tenant, to string, kind mail.Kind, path string) string {
	t.Helper()
	rows, err := s.env.App.Outbox.List(context.Background(), s.tenants[tenant].ID, to)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].Kind != kind {
			continue
		}
		m := regexp.MustCompile(`https?://([^/\s]+)(` + regexp.QuoteMeta(path) + `\?token=[A-Za-z0-9_-]+)`).FindStringSubmatch(rows[i].Body)
		if m == nil || m[1] != tenant+".localhost" {
			t.Fatalf("the %s e-mail has no link to %s on %s.localhost: %s", kind, path, tenant, rows[i].Body)
		}
		return m[2]
	}
	t.Fatalf("no %s e-mail to %s", kind, to)
	return ""
}

func (s *site) testInvitation(t *testing.T) {
	admin := s.tab(t, true)
	s.signIn(t, admin, "bretagne", "admin@bretagne.localhost")
	do(t, admin, "accounts page", chromedp.Navigate(s.url("bretagne", "/admin/users")), chromedp.WaitVisible(chromedp.CSS("#nu-email")))
	if n := eval[int](t, admin, `document.querySelectorAll('form[method="post"][action="/admin/users"] input[type=password]').length`); n != 0 {
		t.Fatalf("the invitation form asks the admin for a password (%d fields)", n)
	}
	do(t, admin, "fill the invitation",
		chromedp.SendKeys(chromedp.CSS("#nu-email"), "camille@bretagne.localhost"),
		chromedp.SendKeys(chromedp.CSS("#nu-name"), "Camille Le Goff"),
		chromedp.SetValue(chromedp.CSS("#nu-role"), "moderator"),
	)
	if st := navigate(t, admin, "send the invitation", chromedp.Click(chromedp.CSS(`form[method="post"][action="/admin/users"] button[type=submit]`))); st != 200 {
		t.Fatalf("sending the invitation: %d at %s: %s", st, location(t, admin), text(t, admin, "main"))
	}
	if n := eval[int](t, admin, `document.querySelectorAll('p.notice').length`); n != 1 {
		t.Fatalf("no notice at %s: %s", location(t, admin), eval[string](t, admin, `document.querySelector('main').innerHTML.slice(0, 1500)`))
	}
	if !strings.Contains(text(t, admin, "p.notice"), "7 jours") {
		t.Errorf("the notice does not say how long the link lasts")
	}
	s.check(t, admin, "admin-users-invited")

	link := s.mailedLink(t, "bretagne", "camille@bretagne.localhost", mail.Invitation, "/account/invitation")
	invitee := s.tab(t, true)
	if st := navigate(t, invitee, "open the invitation", chromedp.Navigate(s.url("bretagne", link))); st != 200 {
		t.Fatalf("invitation page: %d", st)
	}
	if !strings.Contains(text(t, invitee, "main"), "camille@bretagne.localhost") {
		t.Error("the invitation page does not say which address is invited")
	}
	s.check(t, invitee, "invitation")
	// Two different passwords: the page says so, in French, and keeps the link usable.
	do(t, invitee, "mismatch",
		chromedp.SendKeys(chromedp.CSS("#inv-password"), "une phrase de passe solide"),
		chromedp.SendKeys(chromedp.CSS("#inv-password-again"), "une autre phrase de passe"))
	if st := navigate(t, invitee, "submit a mismatch", chromedp.Click(chromedp.CSS(`form[action="/account/invitation"] button[type=submit]`))); st != 400 {
		t.Fatalf("mismatch: %d", st)
	}
	if msg := text(t, invitee, "#invitation-error"); !strings.Contains(msg, "pas identiques") {
		t.Errorf("mismatch message %q", msg)
	}
	s.check(t, invitee, "invitation-mismatch")
	do(t, invitee, "choose a password",
		chromedp.SendKeys(chromedp.CSS("#inv-password"), "une phrase de passe solide"),
		chromedp.SendKeys(chromedp.CSS("#inv-password-again"), "une phrase de passe solide"))
	navigate(t, invitee, "accept", chromedp.Click(chromedp.CSS(`form[action="/account/invitation"] button[type=submit]`)))
	if loc := location(t, invitee); !strings.Contains(loc, "/admin/") {
		t.Fatalf("after accepting, at %s, want the back office", loc)
	}
	if me := eval[string](t, invitee, `fetch('/api/v1/auth/me').then(r => r.json()).then(j => j.email + ' ' + j.roles.join(','))`); me != "camille@bretagne.localhost moderator" {
		t.Fatalf("after accepting, signed in as %q", me)
	}
	s.check(t, invitee, "invitation-signed-in")

	// The link is used up: a clear page, nothing changed.
	again := s.tab(t, true)
	if st := navigate(t, again, "reuse the link", chromedp.Navigate(s.url("bretagne", link))); st != 400 {
		t.Fatalf("a reused invitation link: %d", st)
	}
	if h := text(t, again, "h1"); !strings.Contains(h, "plus valable") {
		t.Errorf("reused link page says %q", h)
	}
	s.check(t, again, "link-invalid")
}

func (s *site) testVerification(t *testing.T) {
	ctx := s.tab(t, true)
	do(t, ctx, "account page", chromedp.Navigate(s.url("bordeaux", "/account")), chromedp.WaitVisible(chromedp.CSS("#signup-email")),
		chromedp.SendKeys(chromedp.CSS("#signup-name"), "Yanis"),
		chromedp.SendKeys(chromedp.CSS("#signup-email"), "yanis@bordeaux.localhost"),
		chromedp.SendKeys(chromedp.CSS("#signup-password"), "une phrase de passe solide"))
	navigate(t, ctx, "sign up", chromedp.Click(chromedp.CSS(`form[action="/account/signup"] button[type=submit]`)))
	do(t, ctx, "signed up", chromedp.WaitVisible(chromedp.CSS(`form[action="/account/verify/resend"]`)))
	if !strings.Contains(text(t, ctx, "#email-title + p"), "non vérifiée") {
		t.Error("the account page does not say the address is unverified")
	}
	s.check(t, ctx, "account-unverified")

	link := s.mailedLink(t, "bordeaux", "yanis@bordeaux.localhost", mail.Verification, "/account/verify")
	if _, err := url.Parse(link); err != nil {
		t.Fatal(err)
	}
	navigate(t, ctx, "open the verification link", chromedp.Navigate(s.url("bordeaux", link)))
	s.check(t, ctx, "verify")
	navigate(t, ctx, "confirm", chromedp.Click(chromedp.CSS(`form[action="/account/verify"] button[type=submit]`)))
	do(t, ctx, "verified", chromedp.WaitVisible(chromedp.CSS("p.notice")))
	if !strings.Contains(text(t, ctx, "#email-title + p"), "Adresse vérifiée") {
		t.Error("the account page does not show the verified address")
	}
	// Results e-mails are opt-in: unticked until the person ticks them.
	if eval[bool](t, ctx, `document.getElementById('notify-results').checked`) || !eval[bool](t, ctx, `document.getElementById('notify-proposals').checked`) {
		t.Error("the default choices are not: proposals yes, results no")
	}
	do(t, ctx, "opt in to results", chromedp.Click(chromedp.CSS("#notify-results")))
	navigate(t, ctx, "save the choices", chromedp.Click(chromedp.CSS(`#notifications button[type=submit]`)))
	if !eval[bool](t, ctx, `document.getElementById('notify-results').checked`) {
		t.Error("the choice was not saved")
	}
	s.check(t, ctx, "account-verified")
}
