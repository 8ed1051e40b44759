package browser_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/testsupport"
)

// TestCandidates runs the candidates plugin's pages in Chromium on the Bordeaux demo, whose
// "mobilites" consultation has published results: the staff freeze three statements from its
// consensus; a candidate accepts the invitation link and takes a position through the form;
// a signed-out visitor answers the questionnaire with the keyboard, one statement at a time,
// without JavaScript, and reads the result in French ("… %") with the positions side by side.
// Every page passes axe-core and is screenshot at 360 and 1280 px.
func TestCandidates(t *testing.T) {
	s := newSite(t)
	bin := filepath.Join(t.TempDir(), "candidates")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/concorde-civic/concorde/plugins/candidates").CombinedOutput(); err != nil {
		t.Fatalf("build the candidates plugin: %v\n%s", err, out)
	}
	ctx0 := context.Background()
	if _, err := s.env.App.Plugins.Install(ctx0, "test", bin); err != nil {
		t.Fatal(err)
	}
	tid := s.tenants["bordeaux"].ID
	if _, err := s.env.App.Plugins.Enable(ctx0, "test", tid, "candidates"); err != nil {
		t.Fatal(err)
	}
	_, admin := s.env.Account(tid, "elections@bordeaux.localhost", authz.TenantAdmin)
	_, bob := s.env.Account(tid, "bob@bordeaux.localhost", authz.Citizen)
	s.env.Account(tid, "alice@bordeaux.localhost", authz.Citizen)
	s.password["alice@bordeaux.localhost"] = testsupport.Password
	api := func(method, path, token string, body any) testsupport.Response {
		t.Helper()
		return s.env.Do(testsupport.Request{Method: method, Host: "bordeaux.localhost", Path: "/api/v1/p/candidates" + path, Token: token, Body: body})
	}
	res := api("POST", "/elections", admin, map[string]any{"title": "Municipales 2026", "date": "2026-03-15", "consultation": "mobilites",
		"statements_count": 3, "positions_deadline": "2099-03-01"})
	if res.Status != 201 {
		t.Fatalf("create the election: %d %s", res.Status, res.Body)
	}
	var el struct {
		ID         string
		Statements []struct{ ID, Text string }
	}
	res.JSON(t, &el)
	invite := func(name string) string {
		var c struct {
			URL string `json:"invitation_url"`
		}
		res := api("POST", "/elections/"+el.ID+"/candidates", admin, map[string]any{"name": name, "list": "Liste " + name, "email": strings.ToLower(name) + "@example.org"})
		res.JSON(t, &c)
		if res.Status != 201 {
			t.Fatalf("invite %s: %d %s", name, res.Status, res.Body)
		}
		return c.URL
	}
	aliceLink, bobLink := invite("Alice"), invite("Bob")
	if res := api("POST", "/invitations/"+bobLink[strings.LastIndex(bobLink, "/")+1:]+"/accept", bob, nil); res.Status != 200 {
		t.Fatalf("bob accepts: %d %s", res.Status, res.Body)
	}
	for _, sid := range []string{"s1", "s2", "s3"} {
		if res := api("PUT", "/elections/"+el.ID+"/positions/"+sid, bob, map[string]any{"position": "disagree", "justification": "Trop cher pour la ville."}); res.Status != 200 {
			t.Fatalf("bob's position: %d %s", res.Status, res.Body)
		}
	}

	// Alice opens her invitation link signed in, accepts, and takes a position on s1.
	alice := s.tab(t, true)
	s.signIn(t, alice, "bordeaux", "alice@bordeaux.localhost")
	link := s.url("bordeaux", aliceLink[strings.Index(aliceLink, "/p/candidates/"):])
	do(t, alice, "invitation", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#inv-title")))
	s.check(t, alice, "candidates-invitation")
	navigate(t, alice, "accept", chromedp.Click(chromedp.CSS(`form[action^="/p/candidates/invitations/"] button`)))
	do(t, alice, "my positions", chromedp.WaitVisible(chromedp.CSS("#me-title")))
	s.check(t, alice, "candidates-me")
	do(t, alice, "take a position", chromedp.Click(chromedp.CSS("#p-s1-agree")),
		chromedp.SendKeys(chromedp.CSS("#j-s1"), "C'est dans notre programme."),
		chromedp.SendKeys(chromedp.CSS("#u-s1"), "https://example.org/programme"))
	navigate(t, alice, "save", chromedp.Click(chromedp.CSS(`#pos-s1 button[type=submit]`)))
	if msg := text(t, alice, ".notice"); !strings.Contains(msg, "enregistrée") {
		t.Errorf("after saving: %q", msg)
	}

	// A signed-out visitor, without JavaScript: the election page, then the questionnaire.
	v := s.tab(t, false)
	do(t, v, "election", chromedp.Navigate(s.url("bordeaux", "/p/candidates/elections/"+el.ID)), chromedp.WaitVisible(chromedp.CSS("#el-title")))
	page := text(t, v, "main")
	for _, want := range []string{"Les affirmations", el.Statements[0].Text, "ordre tiré au hasard", "Alice", "Bob"} {
		if !strings.Contains(page, want) {
			t.Errorf("election page lacks %q:\n%s", want, page)
		}
	}
	// The same space and style for each candidate.
	if n := eval[int](t, v, `new Set([...document.querySelectorAll('.candidates li')].map(li => li.className + '|' + li.getBoundingClientRect().width)).size`); n != 1 {
		t.Errorf("candidates laid out in %d different ways", n)
	}
	navigate(t, v, "questionnaire", chromedp.Click(chromedp.CSS(`a[href$="/quiz"]`)))
	do(t, v, "statement 1", chromedp.WaitVisible(chromedp.CSS("#q-statement")))
	if p := text(t, v, "#q-progress"); !strings.Contains(p, "1 sur 3") {
		t.Errorf("progress: %q", p)
	}
	// Keyboard only: Space picks the focused answer and ticks "compte double", Enter goes on.
	do(t, v, "answer s1 with the keyboard", chromedp.Focus(chromedp.CSS("#q-agree")), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS("#q-important")), chromedp.KeyEvent(" "))
	if !eval[bool](t, v, `document.querySelector('#q-agree').checked && document.querySelector('#q-important').checked`) {
		t.Fatal("the keyboard did not answer")
	}
	navigate(t, v, "next", chromedp.Focus(chromedp.CSS("#q-next")), chromedp.KeyEvent(kb.Enter))
	if p := text(t, v, "#q-progress"); !strings.Contains(p, "2 sur 3") || !strings.Contains(text(t, v, "#q-statement"), el.Statements[1].Text) {
		t.Fatalf("statement 2: %q", p)
	}
	do(t, v, "skip s2", chromedp.Click(chromedp.CSS("#q-skip")))
	navigate(t, v, "next", chromedp.Click(chromedp.CSS("#q-next")))
	// Back and forth keeps the answers.
	navigate(t, v, "back", chromedp.Click(chromedp.CSS(`button[value=back]`)))
	if !eval[bool](t, v, `document.querySelector('#q-skip').checked`) {
		t.Error("going back lost the answer to s2")
	}
	navigate(t, v, "next", chromedp.Click(chromedp.CSS("#q-next")))
	do(t, v, "answer s3", chromedp.Click(chromedp.CSS("#q-disagree")))
	navigate(t, v, "result", chromedp.Click(chromedp.CSS("#q-next")))
	do(t, v, "result", chromedp.WaitVisible(chromedp.CSS("#r-title")))
	scores := text(t, v, ".scores")
	// s1 doubled agree, s3 disagree: max 6. Alice: s1 agree = 4 of 6 (67 %); Bob: s3 = 2 of 6 (33 %).
	if !strings.Contains(scores, "67\u00a0%") || !strings.Contains(scores, "33\u00a0%") || strings.Index(scores, "Alice") > strings.Index(scores, "Bob") {
		t.Errorf("scores: %q", scores)
	}
	table := text(t, v, "#side-by-side")
	for _, want := range []string{"C'est dans notre programme.", "Trop cher pour la ville.", "compte double", "Pas de position"} {
		if !strings.Contains(table, want) {
			t.Errorf("side-by-side table lacks %q:\n%s", want, table)
		}
	}
	// Nothing of the answers was stored: the plugin's storage holds no trace of them.
	if res := api("GET", "/elections/"+el.ID+"/positions/history", "", nil); strings.Contains(string(res.Body), `"skip"`) {
		t.Errorf("answers leaked into the history: %s", res.Body)
	}

	// The same pages pass axe-core (which needs JavaScript to run: a second tab).
	a := s.tab(t, true)
	do(t, a, "election", chromedp.Navigate(s.url("bordeaux", "/p/candidates/elections/"+el.ID)), chromedp.WaitVisible(chromedp.CSS("#el-title")))
	s.check(t, a, "candidates-election")
	// Nothing wider than a phone: the long SHA-256 wraps.
	do(t, a, "phone", chromedp.EmulateViewport(360, 800))
	if w := eval[int](t, a, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the election page is %d px wide on a 360 px screen", w)
	}
	do(t, a, "desktop", chromedp.EmulateViewport(1280, 900))
	navigate(t, a, "questionnaire", chromedp.Click(chromedp.CSS(`a[href$="/quiz"]`)))
	s.check(t, a, "candidates-quiz")
	do(t, a, "agree", chromedp.Click(chromedp.CSS("#q-agree")))
	for range el.Statements {
		navigate(t, a, "next", chromedp.Click(chromedp.CSS("#q-next")))
	}
	do(t, a, "result", chromedp.WaitVisible(chromedp.CSS("#r-title")))
	s.check(t, a, "candidates-result")
	do(t, a, "method", chromedp.Navigate(s.url("bordeaux", "/p/candidates/method")), chromedp.WaitVisible(chromedp.CSS("#m-title")))
	s.check(t, a, "candidates-method")
}
