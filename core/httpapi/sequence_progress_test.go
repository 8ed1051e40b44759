package httpapi_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/testsupport"
)

var cardField = regexp.MustCompile(`<input type="hidden" name="(proposal|key|return)" value="([^"]*)">`)

// cardForm reads the vote form of the card a consultation's page shows.
func cardForm(t *testing.T, page string) url.Values {
	t.Helper()
	form := url.Values{}
	for _, m := range cardField.FindAllStringSubmatch(between(page, `id="card"`, "</form>"), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("proposal") == "" {
		t.Fatalf("no card on the page: %.400s", between(page, `id="vote"`, "</section>"))
	}
	return form
}

// The sequence shows where the visitor is ("2 / 3", with a progress element named in words),
// out of the consultation's sequence size, and ends on the call to action; without JavaScript,
// each card is a page that carries the position.
func TestSequence_ProgressToTheEndOfTheSequence(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		for _, text := range []string{"Il faut ouvrir les musées le soir", "Il faut des concerts dans les parcs", "Il faut des bibliothèques ouvertes la nuit",
			"Il faut un pass culture pour les aînés", "Il faut des ateliers de théâtre au collège"} {
			w.propose(t, e.Visitor(w.A.Host), text)
		}
		if res := w.Do(testsupport.Request{Method: "PATCH", Host: w.A.Host, Path: "/api/v1/consultations/culture", Token: w.admin, Body: map[string]any{"settings": map[string]any{"sequence_size": 3}}}); res.Status != http.StatusOK {
			t.Fatalf("sequence size: %d %s", res.Status, res.Body)
		}
		v := e.Visitor(w.A.Host)
		page := string(v.Do("GET", "/c/culture", nil).Body)
		for pos, want := range []string{"1 / 3", "2 / 3", "3 / 3"} {
			progress := between(page, `id="seq-progress"`, "</div>")
			if !strings.Contains(progress, `>`+want+`</span>`) || !strings.Contains(progress, `max="3" value="`+want[:1]+`"`) ||
				!strings.Contains(progress, `aria-label="Proposition `+want[:1]+` sur 3"`) {
				t.Fatalf("card %d: progress %q", pos+1, progress)
			}
			form := cardForm(t, page)
			form.Set("vote", "agree")
			form.Set("step", "vote")
			res := v.PostForm("/c/culture/vote", form)
			if res.Status != http.StatusOK || !strings.Contains(between(string(res.Body), `id="seq-progress"`, "</div>"), `>`+want+`</span>`) {
				t.Fatalf("qualification step of card %d: %d %q", pos+1, res.Status, between(string(res.Body), `id="seq-progress"`, "</div>"))
			}
			form.Set("step", "qualify")
			res = v.PostForm("/c/culture/vote", form)
			if res.Status != http.StatusSeeOther {
				t.Fatalf("next: %d %s", res.Status, res.Body)
			}
			page = string(v.Do("GET", res.Header.Get("Location"), nil).Body)
		}
		end := between(page, `id="sequence-end-now"`, "</div>")
		if !strings.Contains(end, "Série terminée") || !strings.Contains(end, `href="/c/culture#vote"`) || !strings.Contains(end, "#propose") ||
			!strings.Contains(end, "mailto:?subject=Comment%20rendre") || strings.Contains(page, `id="card"`) {
			t.Fatalf("end of the sequence: %q\n%s", end, between(page, `id="vote"`, "</section>"))
		}
		// Another sequence starts again at 1, over what is left (2 proposals), after the profile
		// questions that were due (which come back to where the sequence was).
		page = string(v.Do("GET", "/c/culture?n=2&of=2", nil).Body)
		if !strings.Contains(page, `name="return" value="/c/culture?n=2&amp;of=2"`) {
			t.Fatalf("the profile questions do not keep the position: %q", between(page, `id="profile"`, "</form>"))
		}
		if res := v.PostForm("/c/culture/profile", url.Values{"action": {"skip"}, "return": {"/c/culture?n=1&of=2"}}); res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/c/culture?n=1&of=2#vote" {
			t.Fatalf("profile: %d %q", res.Status, res.Header.Get("Location"))
		}
		if res := v.PostForm("/c/culture/profile", url.Values{"action": {"skip"}, "return": {"//evil.example/c/culture?n=1"}}); res.Header.Get("Location") != "/c/culture#vote" {
			t.Errorf("profile return elsewhere: %q", res.Header.Get("Location"))
		}
		page = string(v.Do("GET", "/c/culture", nil).Body)
		if p := between(page, `id="seq-progress"`, "</div>"); !strings.Contains(p, ">1 / 2</span>") {
			t.Errorf("a new sequence over the 2 proposals left: %q", p)
		}
		// A position out of range is only a display: clamped, never an error.
		if res := v.Do("GET", "/c/culture?n=-4&of=999", nil); res.Status != http.StatusOK || !strings.Contains(between(string(res.Body), `id="seq-progress"`, "</div>"), ">1 / 2</span>") {
			t.Errorf("a bad position: %d %q", res.Status, between(string(res.Body), `id="seq-progress"`, "</div>"))
		}
	})
}
