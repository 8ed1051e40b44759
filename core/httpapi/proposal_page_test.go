package httpapi_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/testsupport"
)

// A proposal's page shows the visitor's vote once, and a share control that works without
// JavaScript (the link in a read-only field, an e-mail link) and with it (copy, share sheet).
func TestProposalPage_VoteOnceAndShare(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		ids := w.propose(t, e.Visitor(w.A.Host), "Il faut ouvrir les musées le soir")
		path := "/proposals/" + itoa64(ids[0])
		v := e.Visitor(w.A.Host)
		page := string(v.Do("GET", path, nil).Body)
		if !strings.Contains(page, `id="my-vote"></p>`) || strings.Contains(page, " chosen\"") {
			t.Errorf("a vote shown before any")
		}
		form := proposalVoteForm(t, page)
		form.Set("vote", "disagree")
		form.Set("step", "vote")
		res := v.PostForm("/c/culture/vote", form)
		if res.Status != http.StatusOK {
			t.Fatalf("vote: %d %s", res.Status, res.Body)
		}
		page = string(v.Do("GET", path, nil).Body)
		if n := strings.Count(page, "Votre vote : Pas d’accord"); n != 1 {
			t.Errorf("the vote is written %d times", n)
		}
		if n := strings.Count(page, " chosen"); n != 1 || !strings.Contains(page, `class="btn disagree chosen"`) {
			t.Errorf("%d chosen buttons", n)
		}
		share := between(page, `id="share"`, "</section>")
		for _, want := range []string{`id="share-link" type="text" readonly value="http://ay.test` + path + `"`, `id="share-copy" hidden`, `id="share-native" hidden`,
			`href="mailto:?subject=Comment%20rendre%20la%20culture%20accessible%20%c3%a0%20tous%20%3f&amp;body=Il%20faut%20ouvrir%20les%20mus%c3%a9es%20le%20soir%0Ahttp%3a%2f%2fay.test%2fproposals%2f`} {
			if !strings.Contains(share, want) {
				t.Errorf("share control lacks %s:\n%s", want, share)
			}
		}
		if strings.Contains(page, "<script src=\"http") || strings.Contains(page, "facebook") || strings.Contains(page, "twitter") {
			t.Error("a third-party script or tracker")
		}
	})
}

// proposalVoteForm reads the vote form of a proposal's page.
func proposalVoteForm(t *testing.T, page string) url.Values {
	t.Helper()
	form := url.Values{}
	for _, m := range cardField.FindAllStringSubmatch(between(page, `id="proposal-vote"`, "</form>"), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("proposal") == "" {
		t.Fatalf("no vote form on the page")
	}
	return form
}
