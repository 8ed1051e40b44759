package httpapi_test

import (
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/web"
)

// A new consultation invites the first proposals instead of thanking the visitor "for voting
// on everything"; counts read as French readers write them.
func TestJourney_EmptyConsultationAndCountsInFrench(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		visitor := e.Visitor(w.A.Host)
		page := string(visitor.Do("GET", "/c/"+w.slug, nil).Body)
		if !strings.Contains(page, `id="vote-empty"`) || !strings.Contains(page, "0 proposition · 0 vote") {
			t.Errorf("an empty consultation: no invitation to propose, or wrong counts")
		}
		if strings.Contains(page, "Vous avez voté sur toutes les propositions") && !strings.Contains(page, `id="vote-done" role="status" hidden`) {
			t.Error("an empty consultation thanks the visitor for voting on everything")
		}
		w.propose(t, e.Visitor(w.A.Host), "Il faut ouvrir les musées le soir")
		page = string(visitor.Do("GET", "/c/"+w.slug, nil).Body)
		if !strings.Contains(page, "1 proposition ·") || strings.Contains(page, `id="vote-empty"`) {
			t.Errorf("one proposal: %q", between(page, `class="figures">`, "</p>"))
		}
	})
}

func TestNumber_AndPluralForms(t *testing.T) {
	for _, c := range []struct {
		locale string
		n      int64
		want   string
	}{{"fr", 1234567, "1\u202f234\u202f567"}, {"en", 1234567, "1,234,567"}, {"fr", 999, "999"}, {"fr", -1000, "-1\u202f000"}} {
		if got := web.Number(c.locale, c.n); got != c.want {
			t.Errorf("Number(%s, %d) = %q, want %q", c.locale, c.n, got, c.want)
		}
	}
	if web.PluralForm("fr", 0) != "one" || web.PluralForm("en", 0) != "other" || web.PluralForm("fr", 2) != "other" {
		t.Error("plural forms")
	}
}

func between(s, from, to string) string {
	_, after, _ := strings.Cut(s, from)
	before, _, _ := strings.Cut(after, to)
	return before
}

// Proposals name their themes by label ("Musées"), not by slug ("musees").
func TestJourney_ThemesByTheirLabels(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		ids := w.propose(t, e.Visitor(w.A.Host), "Il faut ouvrir les musées le soir")
		v := e.Visitor(w.A.Host)
		for _, path := range []string{"/proposals/" + itoa64(ids[0]), "/c/" + w.slug + "/proposals"} {
			page := string(v.Do("GET", path, nil).Body)
			if !strings.Contains(page, "Musées") || strings.Contains(page, " musees") || strings.Contains(page, "(musees") {
				t.Errorf("%s does not name the theme by its label", path)
			}
		}
	})
}

// Results not yet published: the page says when they come, instead of refusing; the API
// still answers 403.
func TestJourney_UnpublishedResultsSayWhenTheyCome(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		v := e.Visitor(w.A.Host)
		res := v.Do("GET", "/c/"+w.slug+"/results", nil)
		if res.Status != 200 || !strings.Contains(string(res.Body), "Les résultats ne sont pas encore publiés") || !strings.Contains(string(res.Body), "après sa clôture") {
			t.Errorf("unpublished results page: %d", res.Status)
		}
		if res := v.Do("GET", "/api/v1/consultations/"+w.slug+"/results", nil); res.Status != 403 {
			t.Errorf("the API: %d", res.Status)
		}
	})
}

// The home page's tiles say how far each open consultation has come and until when.
func TestJourney_HomeTilesShowParticipation(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		w.propose(t, e.Visitor(w.A.Host), "Il faut ouvrir les musées le soir", "Il faut des concerts gratuits")
		home := string(e.Visitor(w.A.Host).Do("GET", "/", nil).Body)
		if !strings.Contains(home, "2 propositions · 0 vote") {
			t.Errorf("the open consultation's tile: %q", between(home, `class="tile"`, "</li>"))
		}
	})
}

// A closed consultation leads with its results, or says they are coming.
func TestJourney_ClosedConsultationLeadsWithItsResults(t *testing.T) {
	for _, d := range storetest.Dialects() {
		for _, publish := range []bool{false, true} {
			e := testsupport.New(t, d)
			w := newFrozen(t, e, publish)
			page := string(e.Visitor(w.A.Host).Do("GET", "/c/culture", nil).Body)
			vote := between(page, `id="vote"`, "</section>")
			if publish && !strings.Contains(vote, `href="/c/culture/results"`) {
				t.Errorf("a published consultation does not lead with its results: %s", vote)
			}
			if !publish && !strings.Contains(vote, "seront publiés prochainement") {
				t.Errorf("a closed consultation does not say its results are coming: %s", vote)
			}
		}
	}
}

// French error pages speak French; the API keeps its precise message.
func TestErrorPages_InFrench(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newWorld(t, e)
		v := e.Visitor(w.A.Host)
		for path, want := range map[string]string{"/c/nope": "Cette consultation n’existe pas", "/no/such/page": "Cette page n’existe pas"} {
			res := v.Do("GET", path, nil)
			body := string(res.Body)
			if res.Status != 404 || !strings.Contains(body, want) || strings.Contains(body, "no such") {
				t.Errorf("%s: %d %q", path, res.Status, between(body, "<main", "</main>"))
			}
		}
		c := e.Visitor(w.A.Host)
		c.SignIn("citizen@ay.test", testsupport.Password)
		if body := string(c.Do("GET", "/admin/users", nil).Body); !strings.Contains(body, "Votre rôle sur ce site ne permet pas cette action") || strings.Contains(body, "does not allow") {
			t.Errorf("403 page: %q", between(body, "<main", "</main>"))
		}
		if res := v.Do("GET", "/api/v1/consultations/nope", nil); !strings.Contains(string(res.Body), "no such") {
			t.Errorf("the API's message: %s", res.Body)
		}
	})
}
