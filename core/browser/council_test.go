package browser_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestCouncilPages reads, in Chromium at 360 and 1280 px with axe-core, the pages a council
// puts its name on beside the vote: the legal and trust pages every page's footer links to,
// the tenant admin's editor of those pages, the ethics committee's audit log filtered, and the
// platform console on the platform's own host.
func TestCouncilPages(t *testing.T) {
	s := newSite(t)
	t.Run("legal and trust pages, from the footer", func(t *testing.T) {
		ctx := s.tab(t, true)
		do(t, ctx, "home", chromedp.Navigate(s.url("bretagne", "/")), chromedp.WaitReady(chromedp.CSS("footer")))
		links := eval[[]string](t, ctx, `[...document.querySelectorAll('footer a')].map(a => a.getAttribute('href'))`)
		for _, page := range []string{"/mentions-legales", "/confidentialite", "/accessibilite", "/charte", "/methode"} {
			if !strings.Contains(strings.Join(links, " "), page) {
				t.Errorf("the footer does not link to %s: %v", page, links)
			}
			status := navigate(t, ctx, page, chromedp.Navigate(s.url("bretagne", page)))
			if status != 200 {
				t.Fatalf("%s: %d", page, status)
			}
			if lang := eval[string](t, ctx, `document.documentElement.lang`); lang != "fr" {
				t.Errorf("%s is in %q", page, lang)
			}
			if h1 := text(t, ctx, "main h1"); h1 == "" {
				t.Errorf("%s has no title", page)
			}
			s.checkBoth(t, ctx, "legal"+strings.ReplaceAll(page, "/", "-"))
		}
		if got := text(t, ctx, "main"); !strings.Contains(got, "consensus") {
			t.Errorf("the methodology page does not explain the zones: %.200q", got)
		}
	})
	t.Run("the tenant admin edits the legal pages", func(t *testing.T) {
		ctx := s.tab(t, true)
		s.signIn(t, ctx, "bretagne", "admin@bretagne.localhost")
		do(t, ctx, "pages", chromedp.Navigate(s.url("bretagne", "/admin/pages")), chromedp.WaitReady(chromedp.CSS("footer")))
		s.checkBoth(t, ctx, "admin-pages")
	})
	t.Run("the ethics committee filters the audit log", func(t *testing.T) {
		ctx := s.tab(t, true)
		s.signIn(t, ctx, "bordeaux", "auditor@bordeaux.localhost")
		do(t, ctx, "log", chromedp.Navigate(s.url("bordeaux", "/audit/log?action=consultation.publish")), chromedp.WaitReady(chromedp.CSS("footer")))
		rows := eval[[]string](t, ctx, `[...document.querySelectorAll('tbody tr')].map(r => r.textContent)`)
		if len(rows) == 0 {
			t.Fatal("no entry for the filter consultation.publish")
		}
		for _, r := range rows {
			if !strings.Contains(r, "consultation.publish") {
				t.Errorf("the filter let through %q", r)
			}
		}
		if w := writeControls(t, ctx); len(w) > 0 {
			t.Errorf("the auditor sees write controls: %v", w)
		}
		s.checkBoth(t, ctx, "audit-log-filtered")
	})
	t.Run("the platform console", func(t *testing.T) {
		ctx := s.tab(t, true)
		host := s.env.App.Config.PlatformHost
		email := "admin@concorde.localhost"
		base := fmt.Sprintf("http://%s:%d", host, s.port)
		do(t, ctx, "sign in", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS("#signin-email")),
			chromedp.SendKeys(chromedp.CSS("#signin-email"), email), chromedp.SendKeys(chromedp.CSS("#signin-password"), s.password[email]))
		navigate(t, ctx, "sign in", chromedp.Click(chromedp.CSS(`form[action="/account/signin"] button[type=submit]`)))
		if status := navigate(t, ctx, "console", chromedp.Navigate(base+"/platform")); status != 200 {
			t.Fatalf("/platform: %d", status)
		}
		if got := text(t, ctx, "main"); !strings.Contains(got, "bretagne.localhost") || !strings.Contains(got, "bordeaux.localhost") {
			t.Errorf("the console does not list the tenants and their hosts: %.300q", got)
		}
		s.checkBoth(t, ctx, "platform-console")
	})
}
