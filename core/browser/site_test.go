package browser_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/concorde-civic/concorde/core/account"
	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/proposal"
	"github.com/concorde-civic/concorde/core/results"
)

// TestSite runs the site of `make run` in Chromium, as its people use it. The subtests share
// one server and one browser (each person gets their own browser context, hence cookies);
// they run in order because the last one closes the demo consultation.
func TestSite(t *testing.T) {
	s := newSite(t)
	t.Run("branding is applied and low contrast refused", s.testBranding)
	t.Run("vote flow with the keyboard only", s.testKeyboard)
	t.Run("vote flow without JavaScript", s.testWithoutJavaScript)
	t.Run("votes on search results count as search votes, with and without JavaScript", s.testSearchVotes)
	t.Run("results by segment, weighted to the population", s.testSegments)
	t.Run("plugin settings form built from the schema", s.testPluginSettings)
	t.Run("pages are accessible in both languages", s.testTour)
	t.Run("auditor reads everything and can write nothing", s.testAuditor)
	t.Run("citizen votes ten cards, proposes, is moderated and sees the results", s.testCitizen)
}

func (s *site) testBranding(t *testing.T) {
	ctx := s.tab(t, true)
	do(t, ctx, "home", chromedp.Navigate(s.url("bretagne", "/")), chromedp.WaitVisible(chromedp.CSS(".site-header")))
	// The demo region's colour is #00508c.
	if bg := eval[string](t, ctx, `getComputedStyle(document.querySelector('.site-header')).backgroundColor`); bg != "rgb(0, 80, 140)" {
		t.Errorf("header background %q, want the tenant's rgb(0, 80, 140)", bg)
	}

	s.signIn(t, ctx, "bretagne", "admin@bretagne.localhost")
	do(t, ctx, "branding page", chromedp.Navigate(s.url("bretagne", "/admin/branding")), chromedp.WaitVisible(chromedp.CSS("#b-primary")))
	s.check(t, ctx, "admin-branding")
	// Live preview: the page takes the colour being chosen at once, and says the contrast is too low.
	eval[bool](t, ctx, `(() => { const i = document.getElementById('b-primary'); i.value = '#ffff00'; i.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`)
	if v := eval[string](t, ctx, `getComputedStyle(document.querySelector('.site-header')).backgroundColor`); v != "rgb(255, 255, 0)" {
		t.Errorf("live preview: header %q, want rgb(255, 255, 0)", v)
	}
	if cls := eval[string](t, ctx, `document.getElementById('contrast').className`); cls != "error-msg" {
		t.Errorf("contrast warning class %q, want error-msg", cls)
	}
	// The server refuses it, and says why.
	if st := navigate(t, ctx, "save low contrast", chromedp.Click(chromedp.CSS(`#branding-form button[type=submit]`))); st != 400 {
		t.Errorf("saving a low-contrast colour: status %d, want 400", st)
	}
	if msg := text(t, ctx, "#branding-error"); !strings.Contains(strings.ToLower(msg), "contrast") {
		t.Errorf("refusal message %q does not speak of contrast", msg)
	}
	// A colour with enough contrast is saved and applied to the site.
	eval[bool](t, ctx, `(() => { const i = document.getElementById('b-primary'); i.value = '#5b2a86'; i.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`)
	navigate(t, ctx, "save good colour", chromedp.Click(chromedp.CSS(`#branding-form button[type=submit]`)))
	do(t, ctx, "saved", chromedp.WaitVisible(chromedp.CSS(`p.notice`)), chromedp.Navigate(s.url("bretagne", "/")), chromedp.WaitVisible(chromedp.CSS(".site-header")))
	if bg := eval[string](t, ctx, `getComputedStyle(document.querySelector('.site-header')).backgroundColor`); bg != "rgb(91, 42, 134)" {
		t.Errorf("after saving, header background %q, want rgb(91, 42, 134)", bg)
	}
}

func (s *site) testKeyboard(t *testing.T) {
	ctx := s.tab(t, true)
	do(t, ctx, "consultation", chromedp.Navigate(s.url("bretagne", "/c/culture")), chromedp.WaitVisible(chromedp.CSS("#card-content")))
	active := func(sel string) bool {
		return eval[bool](t, ctx, fmt.Sprintf(`!!document.activeElement && document.activeElement.matches(%q)`, sel))
	}
	tabTo := func(sel string, max int) {
		t.Helper()
		for i := 0; i < max; i++ {
			if active(sel) {
				return
			}
			do(t, ctx, "tab", chromedp.KeyEvent("\t"))
		}
		if !active(sel) {
			t.Fatalf("Tab never reached %s (at %s)", sel, eval[string](t, ctx, `document.activeElement.outerHTML.slice(0, 120)`))
		}
	}
	cardID := func() string { return eval[string](t, ctx, `document.querySelector('#card [name=proposal]').value`) }

	// Card 1: Tab to "agree", Enter, Space on the first qualification, Tab to "next", Enter.
	tabTo(`#card button[value=agree]`, 40)
	if o := eval[string](t, ctx, `getComputedStyle(document.activeElement).outlineStyle`); o == "none" {
		t.Errorf("the focused vote button shows no focus outline")
	}
	first := cardID()
	do(t, ctx, "agree", chromedp.KeyEvent("\r"))
	waitFor(t, ctx, "qualifications", `document.activeElement && document.activeElement.matches('fieldset.quals[data-key=agree] input[value=likeIt]')`)
	do(t, ctx, "qualify", chromedp.KeyEvent(" "))
	if !eval[bool](t, ctx, `document.querySelector('input[value=likeIt]').checked`) {
		t.Fatal("Space did not tick the qualification")
	}
	tabTo(`#card .next button`, 5)
	do(t, ctx, "next", chromedp.KeyEvent("\r"))
	waitFor(t, ctx, "the next card", fmt.Sprintf(`document.querySelector('#card [name=proposal]').value !== %q && document.activeElement.id === 'card-text'`, first))

	// Card 2: the first Tab from the card's text is "agree", the next "disagree".
	do(t, ctx, "tab", chromedp.KeyEvent("\t"))
	if !active(`#card button[value=agree]`) {
		t.Fatalf("after a new card, Tab goes to %s, not to the agree button", eval[string](t, ctx, `document.activeElement.outerHTML.slice(0, 120)`))
	}
	second := cardID()
	do(t, ctx, "disagree", chromedp.KeyEvent("\t"), chromedp.KeyEvent("\r"))
	waitFor(t, ctx, "qualifications", `document.activeElement && document.activeElement.matches('fieldset.quals[data-key=disagree] input')`)
	tabTo(`#card .next button`, 5)
	do(t, ctx, "next", chromedp.KeyEvent("\r"))
	waitFor(t, ctx, "the third card", fmt.Sprintf(`document.querySelector('#card [name=proposal]').value !== %q`, second))

	// Card 3: "neutral" with Space.
	do(t, ctx, "neutral", chromedp.KeyEvent("\t"), chromedp.KeyEvent("\t"), chromedp.KeyEvent("\t"), chromedp.KeyEvent(" "))
	waitFor(t, ctx, "qualifications", `document.activeElement && document.activeElement.matches('fieldset.quals[data-key=neutral] input')`)
	tabTo(`#card .next button`, 5)
	do(t, ctx, "next", chromedp.KeyEvent("\r"))
	// After three votes, the optional profile questions come, and can be skipped.
	waitFor(t, ctx, "the profile questions", `document.activeElement && document.activeElement.id === 'profile-title'`)
	tabTo(`#profile button[value=skip]`, 10)
	do(t, ctx, "skip", chromedp.KeyEvent("\r"))
	waitFor(t, ctx, "a card again", `document.getElementById('profile-slot').hidden && !document.getElementById('card').hidden && document.activeElement.id === 'card-text'`)

	votes := s.votesOf(t, "bretagne", s.participant(t, ctx))
	if len(votes) != 3 {
		t.Fatalf("%d votes stored, want 3: %+v", len(votes), votes)
	}
	keys := map[int]int{}
	quals := 0
	for _, v := range votes {
		keys[v.Vote]++
		if v.Qualifications != 0 {
			quals++
		}
		if v.Origin != "sequence" {
			t.Errorf("vote on %d has origin %q, want sequence", v.ProposalID, v.Origin)
		}
	}
	if len(keys) != 3 || quals != 1 {
		t.Errorf("votes %+v: want one of each key, one qualified", votes)
	}
}

func (s *site) testWithoutJavaScript(t *testing.T) {
	ctx := s.tab(t, false)
	do(t, ctx, "consultation", chromedp.Navigate(s.url("bretagne", "/c/culture")), chromedp.WaitVisible(chromedp.CSS("#card-content")))
	for i := 0; i < 4; i++ {
		if i == 3 {
			// After three votes the profile questions come as their own form.
			do(t, ctx, "the profile questions", chromedp.WaitVisible(chromedp.CSS(`#profile`)))
			navigate(t, ctx, "skip the profile", chromedp.Click(chromedp.CSS(`#profile button[value=skip]`)))
		}
		key := []string{"agree", "disagree", "neutral", "agree"}[i]
		navigate(t, ctx, "vote "+key, chromedp.Click(chromedp.CSS(`#card button[value=`+key+`]`)))
		do(t, ctx, "qualifications", chromedp.WaitVisible(chromedp.CSS(`fieldset.quals[data-key=`+key+`]`)))
		if loc := location(t, ctx); !strings.HasSuffix(loc, "/c/culture/vote") {
			t.Fatalf("without JavaScript the vote should post the form; the page is %s", loc)
		}
		if i%2 == 0 {
			do(t, ctx, "qualify", chromedp.Click(chromedp.CSS(`fieldset.quals[data-key=`+key+`] input`)))
		}
		navigate(t, ctx, "next", chromedp.Click(chromedp.CSS(`#card .next button`)))
	}
	votes := s.votesOf(t, "bretagne", s.participant(t, ctx))
	if len(votes) != 4 {
		t.Fatalf("%d votes stored without JavaScript, want 4: %+v", len(votes), votes)
	}
	quals := 0
	for _, v := range votes {
		if v.Qualifications != 0 {
			quals++
		}
	}
	if quals != 2 {
		t.Errorf("%d qualified votes, want 2: %+v", quals, votes)
	}

	// Proposing works as a plain form too.
	const idea = "preter des instruments de musique dans les mediatheques"
	do(t, ctx, "propose", chromedp.WaitVisible(chromedp.CSS("#content")), chromedp.SendKeys(chromedp.CSS("#content"), idea))
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#content"))); err != nil || v != idea {
		t.Fatalf("typed %q (%v)", v, err)
	}
	navigate(t, ctx, "send", chromedp.Click(chromedp.CSS(`#propose-form button[type=submit]`)))
	do(t, ctx, "sent", chromedp.WaitVisible(chromedp.CSS(`#propose p.notice`)))
}

// testTour visits every citizen and admin page: axe-core on each, screenshots of the main ones.
func (s *site) testTour(t *testing.T) {
	ctx := s.tab(t, true)
	e, err := s.env.App.Catalog.BySlug(context.Background(), s.tenants["bretagne"].ID, "culture")
	if err != nil {
		t.Fatal(err)
	}
	var someID int64
	for id := range e.Proposals {
		someID = id
		break
	}
	for _, p := range []struct{ tenant, path, shot string }{
		{"bretagne", "/", "home"},
		{"bretagne", "/c/culture", "consultation"},
		{"bretagne", "/c/culture/proposals?q=musées", "search"},
		{"bretagne", "/c/culture/proposals?theme=prix", ""},
		{"bretagne", fmt.Sprintf("/proposals/%d", someID), "proposal"},
		{"bretagne", "/account", "account"},
		{"bretagne", "/account/delete", ""},
		{"bordeaux", "/", ""},
		{"bordeaux", "/c/mobilites", ""},
		{"bordeaux", "/c/mobilites/results", "results"},
		{"bretagne", "/no-such-page", ""},
	} {
		do(t, ctx, p.path, chromedp.Navigate(s.url(p.tenant, p.path)), chromedp.WaitReady(chromedp.CSS("footer")))
		s.check(t, ctx, p.shot)
	}

	// A vote through a proposal's own page counts as a direct-link vote.
	do(t, ctx, "proposal page", chromedp.Navigate(s.url("bretagne", fmt.Sprintf("/proposals/%d", someID))), chromedp.WaitVisible(chromedp.CSS("#proposal-vote")),
		chromedp.Click(chromedp.CSS(`#proposal-vote button[value=agree]`)), chromedp.WaitVisible(chromedp.CSS(`#proposal-vote .next button`)),
		chromedp.Click(chromedp.CSS(`#proposal-vote .next button`)))
	waitFor(t, ctx, "the thanks", `document.querySelector('#proposal-vote .vote-feedback').textContent.length > 0 && !document.querySelector('#proposal-vote .vote-buttons').hidden`)
	if vs := s.votesOf(t, "bretagne", s.participant(t, ctx)); len(vs) != 1 || vs[0].Origin != "direct" || vs[0].Trust != 1 || vs[0].ProposalID != someID {
		t.Errorf("vote from the proposal page: %+v, want one direct, trusted vote on %d", vs, someID)
	}
	// Back on the page, the vote shows once: one line, one chosen button.
	do(t, ctx, "proposal page again", chromedp.Navigate(s.url("bretagne", fmt.Sprintf("/proposals/%d", someID))), chromedp.WaitVisible(chromedp.CSS("#proposal-vote")))
	if got := eval[string](t, ctx, `document.getElementById('my-vote').textContent`); got != "Votre vote : D’accord" {
		t.Errorf("the visitor's vote reads %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('main .chosen').length + [...document.querySelectorAll('main p, main span')].filter(e => e.textContent.startsWith('Votre vote')).length`); n != 2 {
		t.Errorf("the vote is shown %d times (one line and one chosen button expected)", n)
	}

	// The checker itself catches what it must: a field without a label.
	do(t, ctx, "home", chromedp.Navigate(s.url("bretagne", "/")), chromedp.WaitVisible(chromedp.CSS("main")))
	eval[bool](t, ctx, `(() => { document.querySelector('main').insertAdjacentHTML('beforeend', '<input type="text">'); return true; })()`)
	if vs := s.violations(t, ctx); len(vs) == 0 {
		t.Error("axe found no violation in a page with an unlabelled field: the accessibility checks check nothing")
	}
	// And the CSP recorder sees what the policy blocks: an inline style.
	if n := eval[int](t, ctx, `(document.body.setAttribute('style', 'color: red'), new Promise(r => setTimeout(() => r(window.__csp.length), 100)))`); n == 0 {
		t.Error("an inline style went unreported: the CSP checks check nothing")
	}

	// The results page shows the lists, the bars and the chart.
	do(t, ctx, "results", chromedp.Navigate(s.url("bordeaux", "/c/mobilites/results")), chromedp.WaitVisible(chromedp.CSS(".chart-svg")))
	if n := eval[int](t, ctx, `document.querySelectorAll('.chart-svg circle').length`); n < 4 {
		t.Errorf("the chart places %d proposals", n)
	}
	for _, zone := range []string{"consensus", "controversy", "rejection"} {
		if n := eval[int](t, ctx, fmt.Sprintf(`document.querySelectorAll('#zone-%s ~ ol li.result').length`, zone)); n == 0 {
			t.Errorf("no proposal in the %s list", zone)
		}
	}

	// Results for one theme.
	do(t, ctx, "theme", chromedp.SetValue(chromedp.CSS("#theme"), "velo"))
	navigate(t, ctx, "filter by theme", chromedp.Click(chromedp.CSS(`form[action$="/results"] button`)))
	if n, all := eval[int](t, ctx, `document.querySelectorAll('li.result').length`), 6; n == 0 || n >= all {
		t.Errorf("results for the theme velo list %d proposals, want some of the %d", n, all)
	}
	s.check(t, ctx, "")

	// English: the language link switches, and remembers.
	do(t, ctx, "home", chromedp.Navigate(s.url("bretagne", "/")), chromedp.WaitVisible(chromedp.CSS("#lang-switch")))
	if l := eval[string](t, ctx, `document.documentElement.lang`); l != "fr" {
		t.Errorf("the region's site is in %q, want fr", l)
	}
	navigate(t, ctx, "switch language", chromedp.Click(chromedp.CSS("#lang-switch")))
	if l, h := eval[string](t, ctx, `document.documentElement.lang`), text(t, ctx, "#open-title"); l != "en" || h != "Open consultations" {
		t.Errorf("after switching: lang %q, heading %q", l, h)
	}
	do(t, ctx, "consultation in English", chromedp.Navigate(s.url("bretagne", "/c/culture")), chromedp.WaitVisible(chromedp.CSS("#vote-title")))
	if h := text(t, ctx, "#vote-title"); h != "Vote on proposals" {
		t.Errorf("the language did not stick: %q", h)
	}
	s.check(t, ctx, "consultation-en")

	// The admin console, as the region's admin.
	s.signIn(t, ctx, "bretagne", "admin@bretagne.localhost")
	for _, p := range []struct{ path, shot string }{
		{"/admin/consultations", "admin-consultations"},
		{"/admin/consultations/culture", "admin-consultation"},
		{"/admin/consultations/new", ""},
		{"/admin/moderation", "admin-moderation"},
		{"/admin/users", "admin-users"},
		{"/admin/plugins", ""},
	} {
		do(t, ctx, p.path, chromedp.Navigate(s.url("bretagne", p.path)), chromedp.WaitReady(chromedp.CSS("footer")))
		s.check(t, ctx, p.shot)
	}
	// The Markdown preview renders on the server, without leaving the page.
	do(t, ctx, "preview", chromedp.Navigate(s.url("bretagne", "/admin/consultations/culture")), chromedp.WaitVisible(chromedp.CSS("#context")))
	eval[bool](t, ctx, `(() => { document.getElementById('context').value = 'Un **test** <script>alert(1)</script>'; return true; })()`)
	do(t, ctx, "preview", chromedp.Click(chromedp.CSS("#preview-button")))
	waitFor(t, ctx, "the preview", `!!document.querySelector('#preview strong')`)
	if n := eval[int](t, ctx, `document.querySelectorAll('#preview script').length`); n != 0 {
		t.Errorf("the preview kept a script element")
	}
}

func (s *site) testAuditor(t *testing.T) {
	ctx := s.tab(t, true)
	s.signIn(t, ctx, "bordeaux", "auditor@bordeaux.localhost")
	for _, p := range []struct{ path, shot string }{
		{"/audit", "audit"},
		{"/audit/decisions", ""},
		{"/audit/log", "audit-log"},
		{"/audit/c/mobilites", "audit-results"},
	} {
		do(t, ctx, p.path, chromedp.Navigate(s.url("bordeaux", p.path)), chromedp.WaitReady(chromedp.CSS("footer")))
		if w := writeControls(t, ctx); len(w) > 0 {
			t.Errorf("the auditor sees write controls on %s: %v", p.path, w)
		}
		s.check(t, ctx, p.shot)
	}
	do(t, ctx, "log", chromedp.Navigate(s.url("bordeaux", "/audit/log")), chromedp.WaitVisible(chromedp.CSS("#chain-status")))
	if cls := eval[string](t, ctx, `document.getElementById('chain-status').className`); cls != "notice" {
		t.Errorf("the audit chain is reported %q: %s", cls, text(t, ctx, "#chain-status"))
	}
	do(t, ctx, "results", chromedp.Navigate(s.url("bordeaux", "/audit/c/mobilites")), chromedp.WaitVisible(chromedp.CSS("#verify-button")))
	navigate(t, ctx, "verify", chromedp.Click(chromedp.CSS("#verify-button")))
	if cls := eval[string](t, ctx, `document.getElementById('verify-result').className`); cls != "notice" {
		t.Errorf("recomputing the results from the raw votes: %s", text(t, ctx, "#verify-result"))
	}
	if w := writeControls(t, ctx); len(w) > 0 {
		t.Errorf("the auditor sees write controls after verifying: %v", w)
	}
	// Forged writes from the auditor's own page, with a valid CSRF token, are refused.
	for _, f := range []struct{ url, body, ct string }{
		{"/admin/consultations/mobilites/status", "to=open", "application/x-www-form-urlencoded"},
		{"/api/v1/consultations/mobilites/close", "", ""},
		{"/admin/branding", "name=Hacked&color_primary=%23000000&color_accent=%23000000&default_locale=fr", "application/x-www-form-urlencoded"},
	} {
		status := eval[int](t, ctx, fmt.Sprintf(`fetch(%q, {method: 'POST', headers: Object.assign({'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content}, %q ? {'Content-Type': %q} : {}), body: %q || undefined}).then(r => r.status)`,
			f.url, f.ct, f.ct, f.body))
		if status != 403 {
			t.Errorf("forged POST %s as the auditor: %d, want 403", f.url, status)
		}
	}
	tn, err := s.env.App.Tenants.BySlug(context.Background(), "bordeaux")
	if err != nil || tn.Name != "Ville de Bordeaux" {
		t.Errorf("the auditor changed the tenant: %+v %v", tn, err)
	}
}

func (s *site) testCitizen(t *testing.T) {
	ctx := s.tab(t, true)
	before := s.countedVotes(t, "bretagne", "culture")
	do(t, ctx, "consultation", chromedp.Navigate(s.url("bretagne", "/c/culture")), chromedp.WaitVisible(chromedp.CSS("#card-content")))
	seen := map[string]bool{}
	profiled := false
	for i := 0; i < 10; i++ {
		if eval[bool](t, ctx, `!!document.getElementById('profile-slot') && !document.getElementById('profile-slot').hidden`) {
			profiled = true
			do(t, ctx, "answer the profile", chromedp.SetValue(chromedp.CSS("#age_band"), "25-34"), chromedp.SendKeys(chromedp.CSS("#area"), "35"),
				chromedp.Click(chromedp.CSS(`#profile button[value=save]`)))
			waitFor(t, ctx, "the card after the profile", `!document.getElementById('card').hidden`)
		}
		id := eval[string](t, ctx, `document.querySelector('#card [name=proposal]').value`)
		if seen[id] {
			t.Fatalf("card %d shows proposal %s again", i+1, id)
		}
		seen[id] = true
		key := []string{"agree", "disagree", "neutral"}[i%3]
		do(t, ctx, "vote", chromedp.Click(chromedp.CSS(`#card button[value=`+key+`]`)), chromedp.WaitVisible(chromedp.CSS(`#card .next button`)))
		if i%2 == 0 {
			do(t, ctx, "qualify", chromedp.Click(chromedp.CSS(`fieldset.quals[data-key=`+key+`] input`)))
		}
		do(t, ctx, "next", chromedp.Click(chromedp.CSS(`#card .next button`)))
		waitFor(t, ctx, "the next card", fmt.Sprintf(`(!document.getElementById('card').hidden && document.querySelector('#card [name=proposal]').value !== %q && !document.querySelector('#card .vote-buttons').hidden)
			|| (document.getElementById('profile-slot') && !document.getElementById('profile-slot').hidden)`, id))
	}
	if !profiled {
		t.Error("the profile questions never came")
	}
	me := s.participant(t, ctx)
	votes := s.votesOf(t, "bretagne", me)
	if len(votes) != 10 {
		t.Fatalf("%d votes stored, want 10", len(votes))
	}
	quals := 0
	for _, v := range votes {
		if v.Qualifications != 0 {
			quals++
		}
		if v.Trust != 2 {
			t.Errorf("vote on %d has trust %d, want 2 (sequence)", v.ProposalID, v.Trust)
		}
	}
	if quals != 5 {
		t.Errorf("%d qualified votes, want 5", quals)
	}
	if after := s.countedVotes(t, "bretagne", "culture"); after != before+10 {
		t.Errorf("counted votes went from %d to %d, want +10", before, after)
	}
	if pr, err := s.env.App.Account.Profile(context.Background(), s.tenants["bretagne"].ID, me); err != nil || pr.AgeBand != "25-34" || pr.Area != "35" {
		t.Errorf("profile %+v %v", pr, err)
	}

	// Propose: the prefix is fixed, the count is live, similar proposals show while typing.
	const mine = "ouvrir les musées gratuitement tous les dimanches"
	do(t, ctx, "type a proposal", chromedp.SendKeys(chromedp.CSS("#content"), mine))
	waitFor(t, ctx, "similar proposals", `[...document.querySelectorAll('#similar-list a')].some(a => a.textContent.includes('musées gratuitement le premier dimanche'))`)
	if c := text(t, ctx, "#propose-count"); !strings.Contains(c, fmt.Sprint(len([]rune(mine)))) {
		t.Errorf("character count %q", c)
	}
	s.check(t, ctx, "propose")
	navigate(t, ctx, "send", chromedp.Click(chromedp.CSS(`#propose-form button[type=submit]`)))
	do(t, ctx, "sent", chromedp.WaitVisible(chromedp.CSS(`#propose p.notice`)))
	do(t, ctx, "account", chromedp.Navigate(s.url("bretagne", "/account")), chromedp.WaitReady(chromedp.CSS("footer")))
	if got := text(t, ctx, "main table"); !strings.Contains(got, mine) || !strings.Contains(got, "En attente") {
		t.Errorf("my proposals: %q", got)
	}

	// A moderator accepts it from the console.
	mod := s.tab(t, true)
	s.signIn(t, mod, "bretagne", "moderator@bretagne.localhost")
	do(t, mod, "moderation", chromedp.Navigate(s.url("bretagne", "/admin/moderation")), chromedp.WaitVisible(chromedp.CSS("#next-button")))
	navigate(t, mod, "take the next", chromedp.Click(chromedp.CSS("#next-button")))
	for text(t, mod, "#current-content") != mine {
		// Other proposals of this run wait too: refuse them as out of scope.
		do(t, mod, "reason", chromedp.SetValue(chromedp.CSS("#reason"), string(proposal.OutOfScope)))
		navigate(t, mod, "refuse", chromedp.Click(chromedp.CSS("#refuse-button")))
		if eval[bool](t, mod, `!document.getElementById('current')`) {
			t.Fatalf("the citizen's proposal never came up for moderation")
		}
	}
	s.check(t, mod, "moderation")
	if id := eval[string](t, mod, `document.activeElement.id`); id != "accept-button" {
		t.Errorf("a proposal to moderate opens with focus on %q, want the accept button", id)
	}
	// Tick a theme, then accept with the "a" shortcut.
	do(t, mod, "theme", chromedp.Click(chromedp.CSS(`#accept-form input[value=prix]`)))
	eval[bool](t, mod, `(document.activeElement.blur(), true)`)
	navigate(t, mod, "accept", chromedp.KeyEvent("a"))
	ps, err := s.env.App.Proposals.ByAuthor(context.Background(), s.tenants["bretagne"].ID, me)
	if err != nil || len(ps) != 1 || ps[0].Status != proposal.Accepted || len(ps[0].Themes) != 1 {
		t.Fatalf("after moderation: %+v %v", ps, err)
	}

	// The admin closes the consultation and publishes its results from the console.
	admin := s.tab(t, true)
	s.signIn(t, admin, "bretagne", "admin@bretagne.localhost")
	// Closing and publishing each ask for a confirmation first (a <details> without script).
	do(t, admin, "console", chromedp.Navigate(s.url("bretagne", "/admin/consultations/culture")), chromedp.WaitVisible(chromedp.CSS(`details.confirm > summary`)))
	if eval[bool](t, admin, `[...document.querySelectorAll('form[action$="/status"] input[value=close] ~ button')].some(b => b.checkVisibility())`) {
		t.Error("the close button shows before its confirmation is opened")
	}
	do(t, admin, "open the close confirmation", chromedp.Click(chromedp.CSS(`details.confirm > summary`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/status"] input[value=close] ~ button`)))
	s.check(t, admin, "admin-close-confirm")
	navigate(t, admin, "close", chromedp.Click(chromedp.CSS(`form[action$="/status"] input[value=close] ~ button`)))
	do(t, admin, "open the publish confirmation", chromedp.Click(chromedp.CSS(`details.confirm:has(input[value=publish]) > summary`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/status"] input[value=publish] ~ button`)))
	navigate(t, admin, "publish", chromedp.Click(chromedp.CSS(`form[action$="/status"] input[value=publish] ~ button`)))

	// The citizen sees it in the results.
	do(t, ctx, "results", chromedp.Navigate(s.url("bretagne", "/c/culture/results")), chromedp.WaitVisible(chromedp.CSS(".chart-svg")))
	if !eval[bool](t, ctx, fmt.Sprintf(`[...document.querySelectorAll('li.result')].some(li => li.textContent.includes(%q))`, mine)) {
		t.Errorf("the results do not list the citizen's proposal")
	}
	s.check(t, ctx, "results-bretagne")

	// Signing up carries the anonymous votes and proposal over to the account.
	const email = "citoyenne@example.org"
	do(t, ctx, "sign up", chromedp.Navigate(s.url("bretagne", "/account")), chromedp.WaitVisible(chromedp.CSS("#signup-email")),
		chromedp.SendKeys(chromedp.CSS("#signup-name"), "Citoyenne"), chromedp.SendKeys(chromedp.CSS("#signup-email"), email),
		chromedp.SendKeys(chromedp.CSS("#signup-password"), "une phrase de passe assez longue"))
	navigate(t, ctx, "sign up", chromedp.Click(chromedp.CSS(`form[action="/account/signup"] button[type=submit]`)))
	do(t, ctx, "signed up", chromedp.WaitVisible(chromedp.CSS(`form[action="/account/signout"]`)))
	tid := s.tenants["bretagne"].ID
	m, err := s.env.App.Staff.ByEmail(context.Background(), tid, email)
	if err != nil {
		t.Fatal(err)
	}
	if vs := s.votesOf(t, "bretagne", authz.UserSubject(tid, m.ID)); len(vs) != 10 {
		t.Errorf("after signing up the account holds %d votes, want the 10 anonymous ones", len(vs))
	}
	if got := text(t, ctx, "main table"); !strings.Contains(got, mine) {
		t.Errorf("after signing up, my proposals: %q", got)
	}
	// Download my data: the JSON the link gives.
	if n := eval[string](t, ctx, `fetch(document.querySelector('a[href="/api/v1/my/data"]').href).then(r => r.json()).then(d => d.votes.length + '/' + d.proposals.length + '/' + d.account.email)`); n != "10/1/"+email {
		t.Errorf("my data: votes/proposals/email = %s", n)
	}
	// Delete my account, after a confirmation step; the votes stay counted.
	counted := s.countedVotes(t, "bretagne", "culture")
	do(t, ctx, "delete", chromedp.Navigate(s.url("bretagne", "/account/delete")), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	s.check(t, ctx, "")
	do(t, ctx, "confirm", chromedp.Click(chromedp.CSS("#confirm")))
	navigate(t, ctx, "delete", chromedp.Click(chromedp.CSS(`form[action="/account/delete"] button[type=submit]`)))
	if _, err := s.env.App.Staff.ByEmail(context.Background(), tid, email); err == nil {
		t.Error("the account still exists after deleting it")
	}
	if after := s.countedVotes(t, "bretagne", "culture"); after != counted {
		t.Errorf("deleting the account changed the counted votes from %d to %d", counted, after)
	}
}

// testSearchVotes votes on a search result, with JavaScript (in place) and without (a form
// post that comes back to the search page): the votes carry the search origin, and count.
func (s *site) testSearchVotes(t *testing.T) {
	const search = "/c/culture/proposals?q=mus%C3%A9es"
	for _, js := range []bool{true, false} {
		t.Run(fmt.Sprintf("javascript=%v", js), func(t *testing.T) {
			ctx := s.tab(t, js)
			do(t, ctx, "search", chromedp.Navigate(s.url("bretagne", search)), chromedp.WaitVisible(chromedp.CSS("form.result-vote")))
			id := eval[string](t, ctx, `document.querySelector('form.result-vote [name=proposal]').value`)
			if mine := eval[string](t, ctx, `document.getElementById('p-`+id+`-mine').textContent`); mine != "" {
				t.Errorf("before any vote, the result says %q", mine)
			}
			form := `#p-` + id + ` form.result-vote`
			if js {
				do(t, ctx, "disagree", chromedp.Click(chromedp.CSS(form+` button[value=disagree]`)))
				waitFor(t, ctx, "the qualifications", `document.activeElement && document.activeElement.matches('#p-`+id+` fieldset.quals[data-key=disagree] input')`)
				if loc := location(t, ctx); !strings.HasSuffix(loc, search) {
					t.Errorf("with JavaScript the vote should stay on the page; it is %s", loc)
				}
				s.check(t, ctx, "search-vote")
				do(t, ctx, "qualify", chromedp.Click(chromedp.CSS(form+` fieldset.quals[data-key=disagree] input`)), chromedp.Click(chromedp.CSS(form+` .next button`)))
				waitFor(t, ctx, "the thanks", `!document.querySelector('`+form+` .vote-buttons').hidden && document.activeElement.matches('`+form+` button[value=disagree]')`)
			} else {
				navigate(t, ctx, "disagree", chromedp.Click(chromedp.CSS(form+` button[value=disagree]`)))
				if loc := location(t, ctx); !strings.Contains(loc, "/c/culture/proposals?") || !strings.Contains(loc, "voted="+id) {
					t.Fatalf("without JavaScript the vote should come back to the search page; the page is %s", loc)
				}
				do(t, ctx, "the qualifications", chromedp.WaitVisible(chromedp.CSS(form+` fieldset.quals[data-key=disagree]`)))
				do(t, ctx, "qualify", chromedp.Click(chromedp.CSS(form+` fieldset.quals[data-key=disagree] input`)))
				navigate(t, ctx, "save", chromedp.Click(chromedp.CSS(form+` .next button`)))
				do(t, ctx, "back", chromedp.WaitVisible(chromedp.CSS(form+` .vote-buttons`)))
			}
			if mine := text(t, ctx, `#p-`+id+`-mine`); !strings.Contains(mine, "Pas d’accord") {
				t.Errorf("the result shows the vote as %q, want it to name Pas d’accord", mine)
			}
			vs := s.votesOf(t, "bretagne", s.participant(t, ctx))
			if len(vs) != 1 || fmt.Sprint(vs[0].ProposalID) != id || vs[0].Origin != "search" || vs[0].Trust != 1 || vs[0].Qualifications == 0 {
				t.Errorf("votes stored %+v, want one qualified, trusted search vote on %s", vs, id)
			}
			// Reloaded, the page still shows the vote.
			do(t, ctx, "reload", chromedp.Navigate(s.url("bretagne", search)), chromedp.WaitVisible(chromedp.CSS(form)))
			if mine := text(t, ctx, `#p-`+id+`-mine`); !strings.Contains(mine, "Pas d’accord") {
				t.Errorf("after reloading, the result shows the vote as %q", mine)
			}
			if js { // axe needs scripts: check the no-JS qualification step's page here
				do(t, ctx, "qualify step", chromedp.Navigate(s.url("bretagne", search+"&voted="+id)), chromedp.WaitVisible(chromedp.CSS(form+` fieldset.quals[data-key=disagree]`)))
				s.check(t, ctx, "search-vote-nojs")
			}
		})
	}
}

// testSegments gives every voter of the published demo consultation a gender and the site
// population margins: the results page then splits by segment and weighs to the population.
func (s *site) testSegments(t *testing.T) {
	ctx0 := context.Background()
	tn := s.tenants["bordeaux"]
	var voters []string
	if err := s.env.App.DB.NewSelect().TableExpr("votes").ColumnExpr("DISTINCT participant").Where("tenant_id = ?", tn.ID).Scan(ctx0, &voters); err != nil {
		t.Fatal(err)
	}
	for i, p := range voters {
		if err := s.env.App.Account.SetProfile(ctx0, tn.ID, p, account.Profile{Gender: []string{"female", "male"}[i%2]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.env.App.Tenants.SetMargins(ctx0, "test", tn.ID, results.Margins{"gender": {"female": 0.6, "male": 0.4}}); err != nil {
		t.Fatal(err)
	}
	ctx := s.tab(t, true) // a plain GET form, but axe needs scripts
	do(t, ctx, "results", chromedp.Navigate(s.url("bordeaux", "/c/mobilites/results")), chromedp.WaitVisible(chromedp.CSS("#segments")))
	do(t, ctx, "gender", chromedp.SetValue(chromedp.CSS("#dimension"), "gender"))
	navigate(t, ctx, "split by gender", chromedp.Click(chromedp.CSS(`#segments form button`)))
	if loc := location(t, ctx); !strings.Contains(loc, "dimension=gender") {
		t.Fatalf("the dimension form went to %s", loc)
	}
	if got := eval[[]string](t, ctx, `[...document.querySelectorAll('#segments table caption')].map(c => c.textContent)`); strings.Join(got, "|") != "Genre : Femme|Genre : Homme" {
		t.Errorf("segment tables %q, want Femme then Homme", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#segments table th[scope=col]').length`); n != 6 {
		t.Errorf("%d column headers, want 3 per table (proposal, segment, weighted)", n)
	}
	rows := eval[int](t, ctx, `document.querySelectorAll('#segments tbody tr').length`)
	filled := eval[int](t, ctx, `[...document.querySelectorAll('#segments tbody tr')].filter(r => r.cells.length === 3 && r.cells[1].textContent.includes('%') && r.cells[2].textContent.includes('%') && r.querySelector('.zone-label')).length`)
	if rows == 0 || filled != rows {
		t.Errorf("%d of %d segment rows show shares in words, a zone and the weighted result", filled, rows)
	}
	s.check(t, ctx, "results-segments")
	// Not answered is a segment of its own.
	do(t, ctx, "age", chromedp.Navigate(s.url("bordeaux", "/c/mobilites/results?dimension=age_band")), chromedp.WaitVisible(chromedp.CSS("#segments table")))
	if got := text(t, ctx, "#segments table caption"); got != "Âge : Sans réponse" {
		t.Errorf("split by age, the table is %q, want the not-answered segment", got)
	}
}

// testPluginSettings installs the culture plugin (built here, as core/pluginhost's tests do)
// and edits its settings through the form its schema gives; a refused value is explained
// next to the form, which keeps what was typed.
func (s *site) testPluginSettings(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "culture")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/concorde-civic/concorde/plugins/culture").CombinedOutput(); err != nil {
		t.Fatalf("build the culture plugin: %v\n%s", err, out)
	}
	ctx0 := context.Background()
	tid := s.tenants["bretagne"].ID
	if _, err := s.env.App.Plugins.Install(ctx0, "test", bin); err != nil {
		t.Fatal(err)
	}
	if _, err := s.env.App.Plugins.Enable(ctx0, "test", tid, "culture"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = s.env.App.Plugins.Disable(context.Background(), "test", tid, "culture") })

	ctx := s.tab(t, true)
	s.signIn(t, ctx, "bretagne", "admin@bretagne.localhost")
	do(t, ctx, "plugins", chromedp.Navigate(s.url("bretagne", "/admin/plugins")), chromedp.WaitVisible(chromedp.CSS("#settings-form-culture")))
	field := func(name string) string { return "#setting-culture-" + name }
	// The schema's types give the inputs, with its limits and defaults.
	got := eval[string](t, ctx, `['agenda_title', 'ideas_open', 'default_days'].map(n => { const i = document.getElementById('setting-culture-' + n);
		return [i.type, i.getAttribute('maxlength'), i.min, i.max, i.type === 'checkbox' ? i.checked : i.value, document.querySelector('label[for="' + i.id + '"]').textContent].join(',') }).join(' | ')`)
	if want := "text,80,,,,Agenda title | checkbox,,,,true,Citizens may propose activities | number,,1,365,60,Days shown by default"; got != want {
		t.Errorf("settings inputs:\n got %s\nwant %s", got, want)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#plugin-culture ~ form textarea, section textarea[name=settings]').length`); n != 0 {
		t.Errorf("the raw JSON textarea is shown although the form covers the schema")
	}
	s.check(t, ctx, "admin-plugins")

	do(t, ctx, "fill", chromedp.SendKeys(chromedp.CSS(field("agenda_title")), "Agenda de l’été"),
		chromedp.Click(chromedp.CSS(field("ideas_open"))), chromedp.SetValue(chromedp.CSS(field("default_days")), "30"))
	navigate(t, ctx, "save", chromedp.Click(chromedp.CSS(`#settings-form-culture button[value=fields]`)))
	do(t, ctx, "saved", chromedp.WaitVisible(chromedp.CSS("#settings-saved-culture")))
	p, err := s.env.App.Plugins.ForTenantOne(ctx0, tid, "culture")
	if err != nil {
		t.Fatal(err)
	}
	var settings map[string]any
	if err := json.Unmarshal(p.Settings, &settings); err != nil || fmt.Sprint(settings) != "map[agenda_title:Agenda de l’été default_days:30 ideas_open:false]" {
		t.Errorf("saved settings %s (%v)", p.Settings, err)
	}
	if v := eval[string](t, ctx, `document.getElementById('setting-culture-default_days').value + ' ' + document.getElementById('setting-culture-ideas_open').checked`); v != "30 false" {
		t.Errorf("after saving, the form shows %s", v)
	}

	// Past the browser's own check, the server refuses, says why next to the form, keeps the value.
	eval[bool](t, ctx, `(() => { const i = document.getElementById('setting-culture-default_days'); i.removeAttribute('max'); i.value = '999'; return true; })()`)
	if st := navigate(t, ctx, "save too many days", chromedp.Click(chromedp.CSS(`#settings-form-culture button[value=fields]`))); st != 400 {
		t.Errorf("saving 999 days: status %d, want 400", st)
	}
	if msg := text(t, ctx, "#settings-error-culture"); !strings.Contains(msg, "365") {
		t.Errorf("the refusal %q does not give the maximum", msg)
	}
	if v := eval[string](t, ctx, `document.getElementById('setting-culture-default_days').value`); v != "999" {
		t.Errorf("the refused form shows %q, want what was typed", v)
	}
	s.check(t, ctx, "")
	if p, _ := s.env.App.Plugins.ForTenantOne(ctx0, tid, "culture"); !strings.Contains(string(p.Settings), `"default_days":30`) {
		t.Errorf("a refused value changed the settings: %s", p.Settings)
	}
}
