package browser_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/testsupport"
)

// TestCulture runs the culture plugin's pages in Chromium: a moderator creates an event as a
// draft through the staff form and publishes it; a signed-out visitor finds it on the agenda,
// and "Ça m'intéresse" takes them through the sign-in page and back; a partner's submission and
// a citizen's idea are decided on the staff screen. Every page passes axe-core and is
// screenshot at 360 and 1280 px.
func TestCulture(t *testing.T) {
	s := newSite(t)
	bin := filepath.Join(t.TempDir(), "culture")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/concorde-civic/concorde/plugins/culture").CombinedOutput(); err != nil {
		t.Fatalf("build the culture plugin: %v\n%s", err, out)
	}
	ctx0 := context.Background()
	if _, err := s.env.App.Plugins.Install(ctx0, "test", bin); err != nil {
		t.Fatal(err)
	}
	for _, slug := range []string{"bordeaux", "acme"} {
		tn, err := s.env.App.Tenants.BySlug(ctx0, slug)
		if err != nil {
			t.Fatal(err)
		}
		s.tenants[slug] = tn
		if _, err := s.env.App.Plugins.Enable(ctx0, "test", tn.ID, "culture"); err != nil {
			t.Fatal(err)
		}
	}
	tid := s.tenants["bordeaux"].ID
	s.env.Account(tid, "citoyenne@bordeaux.localhost", authz.Citizen)
	s.password["citoyenne@bordeaux.localhost"] = testsupport.Password
	_, partner := s.env.Account(tid, "salle@bordeaux.localhost", authz.Partner)
	day := time.Now().AddDate(0, 0, 3).Format("2006-01-02")
	sub := map[string]any{"title": "Nuit du conte", "category": "reading", "description": "Contes pour petits et grands",
		"venue": map[string]any{"name": "Médiathèque Mériadeck", "city": "Bordeaux"}, "free": false, "price_eur": 5,
		"slots": []map[string]any{{"start": day + "T18:00:00+01:00", "end": day + "T20:00:00+01:00"}}}
	if res := s.env.Do(testsupport.Request{Method: "POST", Host: "bordeaux.localhost", Path: "/api/v1/p/culture/submissions", Token: partner, Body: sub}); res.Status != 201 {
		t.Fatalf("partner submission: %d %s", res.Status, res.Body)
	}

	// A citizen proposes an idea: it waits for moderation.
	cit := s.tab(t, false)
	s.signIn(t, cit, "bordeaux", "citoyenne@bordeaux.localhost")
	do(t, cit, "ideas", chromedp.Navigate(s.url("bordeaux", "/p/culture/ideas")), chromedp.WaitVisible(chromedp.CSS("#i-title")),
		chromedp.SendKeys(chromedp.CSS("#i-title"), "Ciné plein air aux Chartrons"), chromedp.SetValue(chromedp.CSS("#i-cat"), "cinema"),
		chromedp.SendKeys(chromedp.CSS("#i-desc"), "Un écran sur les quais en août"))
	navigate(t, cit, "propose", chromedp.Click(chromedp.CSS(`form[action="/p/culture/ideas"] button[type=submit]`)))
	if msg := text(t, cit, ".notice"); !strings.Contains(msg, "relecture") {
		t.Errorf("after proposing: %q", msg)
	}
	if n := eval[int](t, cit, `document.querySelectorAll('ol.tiles li').length`); n != 0 {
		t.Errorf("the pending idea is listed publicly")
	}

	// The moderator's staff screen: submission, idea, and a new event through the form.
	mod := s.tab(t, true)
	s.signIn(t, mod, "bordeaux", "moderator@bordeaux.localhost")
	do(t, mod, "agenda", chromedp.Navigate(s.url("bordeaux", "/p/culture/")), chromedp.WaitVisible(chromedp.CSS(".filters")))
	navigate(t, mod, "staff link", chromedp.Click(chromedp.CSS(`a[href="/p/culture/staff"]`)))
	do(t, mod, "staff", chromedp.WaitVisible(chromedp.CSS("#staff-title")))
	// The layout around a plugin's page knows who is signed in.
	if n := eval[int](t, mod, `document.querySelectorAll('form[action="/account/signout"], a[href="/account"]').length`); n == 0 || strings.Contains(text(t, mod, ".site-nav"), "Se connecter") {
		t.Errorf("the layout of a plugin page shows the moderator as signed out: %q", text(t, mod, ".site-nav"))
	}
	s.check(t, mod, "culture-staff")
	actions := eval[[]string](t, mod, `[...document.querySelectorAll('form[method=post]')].map(f => f.getAttribute('action'))`)
	for _, a := range actions {
		if !strings.HasPrefix(a, "/p/culture/") {
			t.Errorf("a staff form posts to %s", a)
		}
	}
	if n := eval[int](t, mod, `[...document.querySelectorAll('form[method=post]')].filter(f => !(f.querySelector('input[name=_csrf]') || {}).value).length`); n != 0 {
		t.Errorf("%d staff forms without a CSRF token", n)
	}
	navigate(t, mod, "accept the idea", chromedp.Click(chromedp.CSS(`form[action$="/accept"] button`)))
	navigate(t, mod, "approve the submission", chromedp.Click(chromedp.CSS(`form[action$="/approve"] button`)))
	if msg := text(t, mod, ".notice"); !strings.Contains(msg, "approuvée") {
		t.Errorf("after approving: %q", msg)
	}

	// A tab lives a minute at most: the event is made in a second one.
	mod = s.tab(t, true)
	s.signIn(t, mod, "bordeaux", "moderator@bordeaux.localhost")
	do(t, mod, "staff", chromedp.Navigate(s.url("bordeaux", "/p/culture/staff")), chromedp.WaitVisible(chromedp.CSS("#staff-title")))
	navigate(t, mod, "new event", chromedp.Click(chromedp.CSS(`a[href="/p/culture/staff/events/new"]`)))
	do(t, mod, "form", chromedp.WaitVisible(chromedp.CSS("#e-title")))
	s.check(t, mod, "culture-event-form")
	do(t, mod, "fill the form",
		chromedp.SendKeys(chromedp.CSS("#e-title"), "Le Cid au Grand-Théâtre"),
		chromedp.SetValue(chromedp.CSS("#e-cat"), "theatre"),
		chromedp.SendKeys(chromedp.CSS("#e-desc"), "La tragédie de Corneille, par la troupe du quartier."),
		chromedp.SetValue(chromedp.CSS("#e-start"), day+"T20:30"), chromedp.SetValue(chromedp.CSS("#e-end"), day+"T22:30"),
		chromedp.SendKeys(chromedp.CSS("#e-venue"), "Grand-Théâtre"), chromedp.SendKeys(chromedp.CSS("#e-city"), "Bordeaux"),
		chromedp.Click(chromedp.CSS("#e-free")), chromedp.SetValue(chromedp.CSS("#e-price"), "12.5"),
		chromedp.Click(chromedp.CSS("#acc-motor")))
	navigate(t, mod, "save the draft", chromedp.Click(chromedp.CSS(`button[type=submit]:not([name])`)))
	if msg := text(t, mod, ".notice"); !strings.Contains(msg, "brouillon") {
		t.Errorf("after saving: %q", msg)
	}
	if res := s.env.Do(testsupport.Request{Method: "GET", Host: "bordeaux.localhost", Path: "/p/culture/"}); strings.Contains(string(res.Body), "Le Cid") {
		t.Fatal("the draft is on the public agenda")
	}
	navigate(t, mod, "publish", chromedp.Click(chromedp.CSS(`form[action$="/publish"] button`)))
	if msg := text(t, mod, ".notice"); !strings.Contains(msg, "publié") {
		t.Errorf("after publishing: %q", msg)
	}
	s.check(t, mod, "culture-staff-after")

	// The public agenda: the event with its French price and category, filters aligned.
	anon := s.tab(t, true)
	do(t, anon, "agenda", chromedp.Navigate(s.url("bordeaux", "/p/culture/")), chromedp.WaitVisible(chromedp.CSS(".filters")))
	main := text(t, anon, "main")
	for _, want := range []string{"Le Cid au Grand-Théâtre", "12,50\u00a0€", "Théâtre", "Nuit du conte", "5\u00a0€"} {
		if !strings.Contains(main, want) {
			t.Errorf("agenda lacks %q:\n%s", want, main)
		}
	}
	// The filters' controls share one baseline: each field's bottom edge within a few pixels.
	if spread := eval[float64](t, anon, `(() => { const b = [...document.querySelectorAll('.filters input, .filters select, .filters button')].map(e => e.getBoundingClientRect().bottom); return Math.max(...b) - Math.min(...b); })()`); spread > 6 {
		t.Errorf("filters misaligned at 1280 px: bottoms spread over %.0f px", spread)
	}
	if bg := eval[string](t, anon, `getComputedStyle(document.querySelector('.filters button')).backgroundColor`); bg == "rgb(239, 239, 239)" || bg == "rgba(0, 0, 0, 0)" {
		t.Errorf("the filter button has the browser's default look (%s)", bg)
	}
	s.check(t, anon, "culture-agenda")
	href := eval[string](t, anon, `[...document.querySelectorAll('.tiles a')].find(a => a.textContent.includes('Le Cid')).getAttribute('href')`)
	navigate(t, anon, "Le Cid", chromedp.Click(chromedp.CSS(`.tiles a[href="`+href+`"]`)))
	do(t, anon, "event page", chromedp.WaitVisible(chromedp.CSS("#event-title")))
	event := strings.TrimPrefix(location(t, anon), s.url("bordeaux", ""))
	if ev := text(t, anon, "main"); !strings.Contains(ev, "Handicap moteur") || !strings.Contains(ev, "12,50\u00a0€") {
		t.Errorf("event page: %s", ev)
	}
	s.check(t, anon, "culture-event")
	anon = s.tab(t, true)
	do(t, anon, "event page", chromedp.Navigate(s.url("bordeaux", event)), chromedp.WaitVisible(chromedp.CSS("#event-title")))

	// Signed out, "Ça m'intéresse" leads to the sign-in page, and signing in back to the event.
	navigate(t, anon, "interest signed out", chromedp.Click(chromedp.CSS(`form[action$="/interest"] button`)))
	if loc := location(t, anon); !strings.Contains(loc, "/account/signin?next=") {
		t.Fatalf("signed-out interest led to %s", loc)
	}
	do(t, anon, "sign in", chromedp.WaitVisible(chromedp.CSS("#signin-email")),
		chromedp.SendKeys(chromedp.CSS("#signin-email"), "citoyenne@bordeaux.localhost"),
		chromedp.SendKeys(chromedp.CSS("#signin-password"), testsupport.Password))
	navigate(t, anon, "sign in", chromedp.Click(chromedp.CSS(`form[action="/account/signin"] button[type=submit]`)))
	if loc := location(t, anon); !strings.HasSuffix(loc, event) {
		t.Fatalf("after signing in: %s, want %s", loc, event)
	}
	navigate(t, anon, "interest", chromedp.Click(chromedp.CSS(`form[action$="/interest"] button`)))
	if b := text(t, anon, `form[action$="/interest"] button`); !strings.Contains(b, "(1)") {
		t.Errorf("after interest: %q", b)
	}

	// The accepted idea is public.
	cit = s.tab(t, true)
	do(t, cit, "ideas", chromedp.Navigate(s.url("bordeaux", "/p/culture/ideas")), chromedp.WaitVisible(chromedp.CSS("#ideas-title")))
	if !strings.Contains(text(t, cit, "main"), "Ciné plein air aux Chartrons") {
		t.Errorf("the accepted idea is not listed")
	}
	s.check(t, cit, "culture-ideas")

	// An English site: English labels.
	en := s.tab(t, true)
	do(t, en, "acme agenda", chromedp.Navigate(s.url("acme", "/p/culture/")), chromedp.WaitVisible(chromedp.CSS(".filters")))
	if f := text(t, en, ".filters"); !strings.Contains(f, "Category") || !strings.Contains(f, "Filter") {
		t.Errorf("English filters: %q", f)
	}
	s.check(t, en, "culture-agenda-en")
	// The visitor's language choice reaches the plugin: English on a French site.
	navigate(t, en, "English on bordeaux", chromedp.Navigate(s.url("bordeaux", "/lang/en?next=/p/culture/")))
	if f := text(t, en, ".filters"); !strings.Contains(f, "Category") {
		t.Errorf("English chosen on a French site, filters: %q", f)
	}
}
