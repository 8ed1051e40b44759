package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/testsupport"
)

// A bloc voting through shared links: the votes are counted beside (API, export, page) and
// never move the zone, which the sequence votes alone set. Search votes are published beside
// too, each origin with its own count and rates.
func TestResults_LinkVotesArePublishedBesideAndNeverMoveAZone(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		id := w.propose(t, e.Visitor(w.A.Host), "Il faut ouvrir les musées gratuitement le dimanche")[0]
		vote := func(v *testsupport.Visitor, key, value string) {
			t.Helper()
			if res := v.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", id), map[string]any{"vote": value, "key": key}); res.Status != 200 {
				t.Fatalf("vote: %d %s", res.Status, res.Body)
			}
		}
		for range 12 { // the sample: 12 sequence votes, all disagree
			p := e.Visitor(w.A.Host)
			vote(p, seqKeyFor(t, p, "culture", id), "disagree")
		}
		for range 30 { // the bloc: 30 agree through the shareable page
			p := e.Visitor(w.A.Host)
			vote(p, keyFor(t, p, id), "agree")
		}
		for i := range 5 { // 5 who found it by a search: 1 agree, 4 disagree
			p := e.Visitor(w.A.Host)
			var found struct {
				Proposals []struct {
					ID  int64  `json:"id"`
					Key string `json:"key"`
				} `json:"proposals"`
			}
			p.Do("GET", "/api/v1/consultations/culture/proposals?q=mus%C3%A9es", nil).JSON(t, &found)
			if len(found.Proposals) != 1 || found.Proposals[0].ID != id || !strings.HasPrefix(found.Proposals[0].Key, "q.") {
				t.Fatalf("search: %+v", found)
			}
			vote(p, found.Proposals[0].Key, map[bool]string{true: "agree", false: "disagree"}[i == 0])
		}
		if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations/culture/close", Token: w.admin}); res.Status != 200 {
			t.Fatalf("close: %d", res.Status)
		}
		var r struct {
			SequenceVotes int64 `json:"sequence_votes"`
			BesideVotes   int64 `json:"beside_votes"`
			Rejection     []struct {
				ID     int64 `json:"id"`
				Scores struct {
					Rates  map[string]float64 `json:"rates"`
					Beside struct {
						Votes int64              `json:"votes"`
						Rates map[string]float64 `json:"rates"`
					} `json:"beside"`
				} `json:"scores"`
				ByOrigin map[string]struct {
					Votes int64              `json:"votes"`
					Rates map[string]float64 `json:"rates"`
				} `json:"beside_by_origin"`
			} `json:"rejection"`
		}
		// The votes per origin are read from the raw votes in the background, with the
		// opinion groups: the results carry them once computed.
		var res testsupport.Response
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			res = w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/results", Token: w.admin})
			res.JSON(t, &r)
			if len(r.Rejection) == 1 && r.Rejection[0].ByOrigin != nil || time.Now().After(deadline) {
				break
			}
		}
		if r.SequenceVotes != 12 || r.BesideVotes != 35 || len(r.Rejection) != 1 || r.Rejection[0].ID != id {
			t.Fatalf("results: %s", res.Body)
		}
		sc := r.Rejection[0].Scores
		if sc.Rates["agree"] > 0.05 || sc.Beside.Votes != 35 {
			t.Fatalf("the link votes moved the score or were not published beside: %+v", sc)
		}
		by := r.Rejection[0].ByOrigin
		if d, q := by["direct"], by["search"]; d.Votes != 30 || d.Rates["agree"] < 0.95 || q.Votes != 5 || q.Rates["disagree"] < 0.6 || q.Rates["agree"] > 0.3 ||
			by["results"].Votes != 0 || by["ignored"].Votes != 0 {
			t.Fatalf("beside by origin: %+v", by)
		}
		csv := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/export.csv", Token: w.admin})
		lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(string(csv.Body), "\ufeff")), "\n")
		header, row := strings.Split(lines[0], ","), strings.Split(lines[1], ",")
		for name, want := range map[string]string{"beside_votes": "35", "beside_direct_votes": "30", "beside_search_votes": "5", "beside_results_votes": "0"} {
			col := -1
			for i, h := range header {
				if h == name {
					col = i
				}
			}
			if col < 0 || row[col] != want {
				t.Fatalf("export.csv has no %s of %s: %s", name, want, csv.Body)
			}
		}
		for lang, want := range map[string][]string{
			"fr": {"Hors séquence : 35 votes, 89\u202f% d’accord", "Par un lien direct : 30 votes", "Par une recherche : 5 votes"},
			"en": {"Outside the sequence: 35 votes, 89% agree", "Through a direct link: 30 votes", "Through a search: 5 votes"},
		} {
			page := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/c/culture/results", Token: w.admin, Cookies: []*http.Cookie{{Name: "concorde_lang", Value: lang}}})
			body := string(page.Body)
			for _, want := range want {
				if page.Status != 200 || !strings.Contains(body, want) || !strings.Contains(body, `href="/methode"`) {
					t.Fatalf("results page (%s): %d, want %q and a link to /methode", lang, page.Status, want)
				}
			}
		}
	})
}

// Keys that cannot be harvested, through the API: one sequence free, then keys that count
// only once the participant votes; a forged key is kept as a troll vote (403), a malformed one
// refused (400) and not recorded.
func TestSequence_KeysOfAParticipantWhoDoesNotVoteArePublishedBeside(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		ids := w.propose(t, e.Visitor(w.A.Host), "Il faut ouvrir les musées gratuitement le dimanche")
		harvester := e.Visitor(w.A.Host)
		first := seqKeyFor(t, harvester, "culture", ids[0])
		second := seqKeyFor(t, harvester, "culture", ids[0]) // asked again without voting
		if first[0] != 's' || second[0] != 'i' {
			t.Fatalf("keys %q then %q: want a sequence key, then an ignored one", first, second)
		}
		var v struct {
			Trust string `json:"trust"`
		}
		res := harvester.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", ids[0]), map[string]any{"vote": "agree", "key": second})
		res.JSON(t, &v)
		if res.Status != 200 || v.Trust != "trusted" {
			t.Fatalf("vote with the ignored key: %d %s, want 200 and trusted (beside)", res.Status, res.Body)
		}
		other := e.Visitor(w.A.Host)
		if res := other.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", ids[0]), map[string]any{"vote": "agree", "key": "s.notakey"}); res.Status != 400 {
			t.Fatalf("a malformed key: %d %s, want 400", res.Status, res.Body)
		}
		if n := countVotes(t, e); n != 1 {
			t.Fatalf("%d votes stored after a malformed key, want 1", n)
		}
		if res := other.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", ids[0]), map[string]any{"vote": "agree", "key": first}); res.Status != 403 {
			t.Fatalf("another participant's key: %d %s, want 403", res.Status, res.Body)
		}
	})
}

func TestMethode_APublicPageInTheSiteLanguage(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		for lang, want := range map[string][]string{
			"fr": {"Méthode : comment les résultats sont calculés", "moins de 10 votes de séquence", "au moins 60 % d’accord", "expire 24 heures", "entre 0,2 et 5 fois",
				"au moins 5 propositions en commun", "à 90 % au moins", "avec 100 votes de l’ensemble", "100 × le taux de tous", "chaque provenance avec son nombre"},
			"en": {"Method: how results are computed", "fewer than 10 sequence votes", "at least 60% agree", "expires 24 hours", "between 0.2 and 5 times",
				"at least 5 proposals in common", "at 90% or more", "pooled with 100 votes of everyone’s", "100 × everyone’s rate", "each origin with its own count"},
		} {
			page := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/methode", Cookies: []*http.Cookie{{Name: "concorde_lang", Value: lang}}})
			for _, s := range want {
				if page.Status != 200 || !strings.Contains(string(page.Body), s) {
					t.Fatalf("/methode (%s): %d, want %q", lang, page.Status, s)
				}
			}
		}
	})
}
