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

// TestCofinancing runs the co-financing plugin's pages in Chromium: a signed-out visitor sees
// a project in French with its progress bars and is sent to sign in; a citizen pledges
// "25,50" euros through the form and reads the French notice with the fund's match; the same
// form sent twice more (a double click, a retry) counts once; the staff screen. Every page
// passes axe-core and is screenshot at 360 and 1280 px.
func TestCofinancing(t *testing.T) {
	s := newSite(t)
	bin := filepath.Join(t.TempDir(), "cofinancing")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/concorde-civic/concorde/plugins/cofinancing").CombinedOutput(); err != nil {
		t.Fatalf("build the cofinancing plugin: %v\n%s", err, out)
	}
	ctx0 := context.Background()
	if _, err := s.env.App.Plugins.Install(ctx0, "test", bin); err != nil {
		t.Fatal(err)
	}
	tid := s.tenants["bordeaux"].ID
	if _, err := s.env.App.Plugins.Enable(ctx0, "test", tid, "cofinancing"); err != nil {
		t.Fatal(err)
	}
	_, admin := s.env.Account(tid, "finances@bordeaux.localhost", authz.TenantAdmin)
	s.password["finances@bordeaux.localhost"] = testsupport.Password
	s.env.Account(tid, "mecene@bordeaux.localhost", authz.Citizen)
	s.password["mecene@bordeaux.localhost"] = testsupport.Password
	api := func(method, path string, body any, out any) {
		t.Helper()
		res := s.env.Do(testsupport.Request{Method: method, Host: "bordeaux.localhost", Path: "/api/v1/p/cofinancing" + path, Token: admin, Body: body})
		if res.Status >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, res.Status, res.Body)
		}
		if out != nil {
			res.JSON(t, out)
		}
	}
	var p, f struct{ ID string }
	api("POST", "/projects", map[string]any{"title": "Fresque du quai des Chartrons", "description": "Une fresque peinte avec les habitants.",
		"minimum_cents": 300000, "optimum_cents": 450000, "deadline": time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339),
		"budget": []map[string]any{{"label": "Peinture et matériel", "cents": 180000, "kind": "minimum"}, {"label": "Artiste", "cents": 120000, "kind": "minimum"},
			{"label": "Inauguration", "cents": 150000, "kind": "optimum"}}}, &p)
	api("POST", "/projects/"+p.ID+"/open", nil, nil)
	api("POST", "/funds", map[string]any{"name": "Fonds culture de la métropole", "budget_cents": 100000,
		"rule": map[string]any{"kind": "factor", "factor": 1, "cap_per_pledge_cents": 2000, "one_per_person": true}}, &f)
	api("POST", "/funds/"+f.ID+"/projects", map[string]any{"project_id": p.ID}, nil)
	page := s.url("bordeaux", "/p/cofinancing/projects/"+p.ID)

	// Signed out: the project in French, progress bars, and a way to sign in.
	anon := s.tab(t, true)
	do(t, anon, "project page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#project-title")))
	main := text(t, anon, "main")
	for _, want := range []string{"Fresque du quai des Chartrons", "Objectif minimum : 3\u202f000\u00a0€", "Objectif optimum : 4\u202f500\u00a0€",
		"Peinture et matériel", "1\u202f800\u00a0€", "Connectez-vous pour contribuer", "Fonds culture de la métropole", "Registre public"} {
		if !strings.Contains(main, want) {
			t.Errorf("project page lacks %q:\n%s", want, main)
		}
	}
	if n := eval[int](t, anon, `document.querySelectorAll('progress').length`); n != 2 {
		t.Errorf("%d progress bars, want 2", n)
	}
	s.check(t, anon, "cofinancing-project")
	navigate(t, anon, "sign in to pledge", chromedp.Click(chromedp.CSS(`a[href^="/account/signin?next="]`)))
	if loc := location(t, anon); !strings.Contains(loc, "next=%2Fp%2Fcofinancing%2Fprojects%2F"+p.ID) {
		t.Errorf("sign-in link leads to %s", loc)
	}

	// A citizen pledges 25,50 € through the form.
	cit := s.tab(t, true)
	s.signIn(t, cit, "bordeaux", "mecene@bordeaux.localhost")
	do(t, cit, "project page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#pl-amount")),
		chromedp.SendKeys(chromedp.CSS("#pl-amount"), "25,50"), chromedp.SendKeys(chromedp.CSS("#pl-name"), "Mécène du quai"))
	s.check(t, cit, "cofinancing-pledge-form")
	// The form as filled, to send again below as a retry would.
	form := eval[string](t, cit, `new URLSearchParams(new FormData(document.querySelector('#pledge-form'))).toString()`)
	navigate(t, cit, "pledge", chromedp.Click(chromedp.CSS(`#pledge-form button[type=submit]`)))
	notice := text(t, cit, ".notice")
	if !strings.Contains(notice, "Merci ! Votre promesse de 25,50\u00a0€ est enregistrée.") || !strings.Contains(notice, "Les fonds d'abondement y ajoutent 20\u00a0€.") {
		t.Errorf("after pledging: %q", notice)
	}
	if b := text(t, cit, "#backers"); !strings.Contains(b, "Mécène du quai — 25,50\u00a0€ (+ 20\u00a0€)") {
		t.Errorf("backers: %q", b)
	}
	if v := eval[string](t, cit, `document.querySelector('#bar-min').getAttribute('value')`); v != "4550" {
		t.Errorf("minimum bar at %s, want 4550 (25,50 € + 20 €)", v)
	}
	s.check(t, cit, "cofinancing-pledged")
	// The same form twice more: a double click or a browser retry counts once.
	statuses := eval[[]int](t, cit, `Promise.all([1, 2].map(() => fetch('/p/cofinancing/projects/`+p.ID+`/pledges', {method: 'POST',
		headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: `+"`"+form+"`"+`, redirect: 'manual'}).then(r => r.status)))`)
	if len(statuses) != 2 {
		t.Fatalf("resubmissions: %v", statuses)
	}
	res := s.env.Do(testsupport.Request{Method: "GET", Host: "bordeaux.localhost", Path: "/api/v1/p/cofinancing/projects/" + p.ID})
	var got struct {
		Pledged int64 `json:"pledged_cents"`
		Matched int64 `json:"matched_cents"`
		Backers int64 `json:"backers"`
	}
	res.JSON(t, &got)
	if got.Pledged != 2550 || got.Matched != 2000 || got.Backers != 1 {
		t.Errorf("after resubmitting the form: %+v (statuses %v)", got, statuses)
	}
	navigate(t, cit, "my pledges", chromedp.Navigate(s.url("bordeaux", "/p/cofinancing/my")))
	if m := text(t, cit, "main"); !strings.Contains(m, "Fresque du quai des Chartrons") || !strings.Contains(m, "promise") {
		t.Errorf("my pledges: %q", m)
	}
	s.check(t, cit, "cofinancing-my")

	// The staff screen.
	adm := s.tab(t, true)
	s.signIn(t, adm, "bordeaux", "finances@bordeaux.localhost")
	do(t, adm, "staff", chromedp.Navigate(s.url("bordeaux", "/p/cofinancing/staff")), chromedp.WaitVisible(chromedp.CSS("#staff-title")))
	if n := eval[int](t, adm, `[...document.querySelectorAll('form[method=post]')].filter(f => !(f.querySelector('input[name=_csrf]') || {}).value).length`); n != 0 {
		t.Errorf("%d staff forms without a CSRF token", n)
	}
	s.check(t, adm, "cofinancing-staff")
}
