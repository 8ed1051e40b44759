package httpapi_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/testsupport"
)

type seqResponse struct {
	Proposals []struct {
		ID      int64  `json:"id"`
		Content string `json:"content"`
		Key     string `json:"key"`
	} `json:"proposals"`
}

type consultationWorld struct {
	*world
	admin, moderator, auditor string
	slug                      string
}

// newConsultation makes tenant A run an open consultation with two themes.
func newConsultation(t *testing.T, e *testsupport.Env) *consultationWorld {
	w := &consultationWorld{world: newWorld(t, e), slug: "culture"}
	w.admin, w.moderator, w.auditor = w.A.Tokens[authz.TenantAdmin], w.A.Tokens[authz.Moderator], w.A.Tokens[authz.Auditor]
	res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations", Token: w.admin, Body: map[string]any{
		"slug": w.slug, "question": "Comment rendre la culture accessible à tous ?",
		"context": "## Les enjeux\n\nLa culture **pour tous**. <script>alert(1)</script>",
		"themes":  []map[string]string{{"slug": "musees", "label": "Musées"}, {"slug": "spectacle", "label": "Spectacle vivant"}},
	}})
	if res.Status != http.StatusCreated {
		t.Fatalf("create consultation: %d %s", res.Status, res.Body)
	}
	if strings.Contains(string(res.Body), "<script>") {
		t.Fatalf("context HTML carries a script: %s", res.Body)
	}
	if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations/culture/open", Token: w.admin}); res.Status != 200 {
		t.Fatalf("open: %d %s", res.Status, res.Body)
	}
	return w
}

// propose makes a visitor submit proposals and a moderator accept them; it returns their ids.
func (w *consultationWorld) propose(t *testing.T, author *testsupport.Visitor, contents ...string) []int64 {
	t.Helper()
	var ids []int64
	for _, text := range contents {
		res := author.Do("POST", "/api/v1/consultations/"+w.slug+"/proposals", map[string]string{"content": text})
		if res.Status != http.StatusCreated {
			t.Fatalf("propose %q: %d %s", text, res.Status, res.Body)
		}
		id := userID(t, res)
		res = w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: fmt.Sprintf("/api/v1/moderation/proposals/%d/accept", id), Token: w.moderator, Body: map[string]any{"themes": []string{"musees"}}})
		if res.Status != 200 {
			t.Fatalf("accept: %d %s", res.Status, res.Body)
		}
		ids = append(ids, id)
	}
	return ids
}

func TestEngine_AWholeConsultationThroughTheAPI(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		author := e.Visitor(w.A.Host)

		// Bad proposals: clear 400s, nothing stored.
		for _, bad := range []string{"Il faut x", "Il faut <b>ouvrir</b> les musées le soir", "Il faut " + strings.Repeat("a", 141), "Il faut voir [ici](http://x.org) les musées"} {
			if res := author.Do("POST", "/api/v1/consultations/culture/proposals", map[string]string{"content": bad}); res.Status != 400 {
				t.Errorf("proposal %q: %d %s", bad, res.Status, res.Body)
			}
		}
		// Three authors: a sequence shows at most one proposal of each author.
		ids := w.propose(t, author, "Il faut ouvrir les musées gratuitement le dimanche")
		ids = append(ids, w.propose(t, e.Visitor(w.A.Host), "rendre les bibliothèques ouvertes la nuit")...)
		ids = append(ids, w.propose(t, e.Visitor(w.A.Host), "Il faut des concerts gratuits dans les parcs")...)

		// A refused proposal: the author sees why.
		res := author.Do("POST", "/api/v1/consultations/culture/proposals", map[string]string{"content": "Il faut voter pour mon parti aux élections"})
		refused := userID(t, res)
		res = w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: fmt.Sprintf("/api/v1/moderation/proposals/%d/refuse", refused), Token: w.moderator, Body: map[string]any{"reason": "partisan"}})
		if res.Status != 200 {
			t.Fatalf("refuse: %d %s", res.Status, res.Body)
		}
		if res := author.Do("GET", "/api/v1/my/proposals", nil); !strings.Contains(string(res.Body), `"partisan"`) {
			t.Fatalf("author does not see the refusal reason: %s", res.Body)
		}
		// An auditor may read the queue but not decide.
		if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: fmt.Sprintf("/api/v1/moderation/proposals/%d/accept", refused), Token: w.auditor, Body: map[string]any{"themes": []string{}}}); res.Status != 403 {
			t.Fatalf("auditor accepting: %d", res.Status)
		}

		// Duplicate hints and search.
		if res := author.Do("GET", "/api/v1/consultations/culture/similar?q=mus%C3%A9es%20gratuits", nil); !strings.Contains(string(res.Body), "dimanche") {
			t.Fatalf("similar: %s", res.Body)
		}
		if res := author.Do("GET", "/api/v1/consultations/culture/proposals?q=biblioth%C3%A8ques", nil); !strings.Contains(string(res.Body), "nuit") || strings.Contains(string(res.Body), "parti") {
			t.Fatalf("search: %s", res.Body)
		}

		// A participant votes through the sequence: never their own, never twice.
		voter := e.Visitor(w.A.Host)
		var seq seqResponse
		voter.Do("GET", "/api/v1/consultations/culture/sequence", nil).JSON(t, &seq)
		if len(seq.Proposals) != 3 {
			t.Fatalf("sequence has %d proposals, want 3", len(seq.Proposals))
		}
		var authorSeq seqResponse
		author.Do("GET", "/api/v1/consultations/culture/sequence", nil).JSON(t, &authorSeq)
		if len(authorSeq.Proposals) != 2 {
			t.Fatalf("the author is shown %d proposals, want the 2 of others: %+v", len(authorSeq.Proposals), authorSeq)
		}
		for _, p := range authorSeq.Proposals {
			if p.ID == ids[0] {
				t.Fatal("the author is shown their own proposal")
			}
		}
		for i, p := range seq.Proposals {
			v := []string{"agree", "disagree", "neutral"}[i]
			res := voter.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", p.ID), map[string]any{"vote": v, "key": p.Key})
			if res.Status != 200 || !strings.Contains(string(res.Body), `"trust":"sequence"`) {
				t.Fatalf("vote: %d %s", res.Status, res.Body)
			}
		}
		voter.Do("GET", "/api/v1/consultations/culture/sequence", nil).JSON(t, &seq)
		if len(seq.Proposals) != 0 {
			t.Fatalf("voted proposals come back: %+v", seq)
		}

		// Bad votes: clear 4xx, nothing counted.
		before := countVotes(t, e)
		p0 := ids[0]
		key0 := keyFor(t, voter, p0)
		for name, c := range map[string]struct {
			body   map[string]any
			status int
		}{
			"unknown vote":              {map[string]any{"vote": "maybe", "key": key0}, 400},
			"other key's qualification": {map[string]any{"vote": "agree", "qualifications": []string{"noWay"}, "key": key0}, 400},
			"unknown qualification":     {map[string]any{"vote": "agree", "qualifications": []string{"love"}, "key": key0}, 400},
			"malformed key":             {map[string]any{"vote": "agree", "key": "%%%"}, 400},
		} {
			if res := voter.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", p0), c.body); res.Status != c.status {
				t.Errorf("%s: %d %s", name, res.Status, res.Body)
			}
		}
		if res := voter.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", refused), map[string]any{"vote": "agree"}); res.Status != 409 {
			t.Errorf("vote on a refused proposal: %d %s", res.Status, res.Body)
		}
		if after := countVotes(t, e); after != before {
			t.Fatalf("bad votes changed the votes: %d → %d", before, after)
		}
		// A key replayed by someone else is kept as a troll vote and said so.
		other := e.Visitor(w.A.Host)
		if res := other.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", p0), map[string]any{"vote": "agree", "key": key0}); res.Status != 403 {
			t.Fatalf("replayed key: %d %s", res.Status, res.Body)
		}
		// Qualifications and a changed vote.
		if res := voter.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", p0), map[string]any{"vote": "agree", "qualifications": []string{"likeIt", "doable"}, "key": key0}); res.Status != 200 || !strings.Contains(string(res.Body), "likeIt") {
			t.Fatalf("requalify: %d %s", res.Status, res.Body)
		}
		// Another tenant's proposal ids are unknown here.
		if res := e.Visitor(w.B.Host).Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", p0), map[string]any{"vote": "agree"}); res.Status != 404 {
			t.Fatalf("vote through B on A's proposal: %d %s", res.Status, res.Body)
		}

		// Results before publication: staff only.
		if res := voter.Do("GET", "/api/v1/consultations/culture/results", nil); res.Status != 403 {
			t.Fatalf("unpublished results for a citizen: %d", res.Status)
		}
		for _, step := range []string{"close", "publish"} {
			if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations/culture/" + step, Token: w.admin}); res.Status != 200 {
				t.Fatalf("%s: %d %s", step, res.Status, res.Body)
			}
		}
		if res := voter.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", p0), map[string]any{"vote": "disagree", "key": key0}); res.Status != 409 {
			t.Fatalf("vote after closing: %d %s", res.Status, res.Body)
		}
		var results struct {
			Votes      int64 `json:"votes"`
			TrollVotes int64 `json:"troll_votes"`
			NotEnough  []struct {
				ID int64 `json:"id"`
			} `json:"not_enough_votes"`
		}
		res = voter.Do("GET", "/api/v1/consultations/culture/results", nil)
		res.JSON(t, &results)
		if res.Status != 200 || results.Votes != 3 || results.TrollVotes != 1 || len(results.NotEnough) != 3 {
			t.Fatalf("results: %d %s", res.Status, res.Body)
		}
		res = voter.Do("GET", "/api/v1/consultations/culture/export.csv", nil)
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(res.Body), "\ufeff"))).ReadAll()
		if err != nil || len(rows) != 4 || rows[0][0] != "proposal_id" {
			t.Fatalf("export.csv: %v %s", err, res.Body)
		}
		if res := voter.Do("GET", "/api/v1/consultations/culture/export.json", nil); res.Status != 200 {
			t.Fatalf("export.json: %d", res.Status)
		}
		// Auditors: raw votes pseudonymised, and the results follow from them.
		if res := voter.Do("GET", "/api/v1/consultations/culture/votes.jsonl", nil); res.Status != 401 {
			t.Fatalf("raw votes for a citizen: %d", res.Status)
		}
		if res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/votes.jsonl", Token: w.admin}); res.Status != 403 {
			t.Fatalf("raw votes for a tenant admin: %d", res.Status)
		}
		res = w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/votes.jsonl", Token: w.auditor})
		if res.Status != 200 || strings.Count(string(res.Body), "\n") != 4 || strings.Contains(string(res.Body), "p:") {
			t.Fatalf("raw votes: %d %s", res.Status, res.Body)
		}
		res = w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/results/verify", Token: w.auditor})
		if res.Status != 200 || !strings.Contains(string(res.Body), `"match":true`) {
			t.Fatalf("verify: %d %s", res.Status, res.Body)
		}
		// B sees nothing of A's consultation.
		if res := e.Visitor(w.B.Host).Do("GET", "/api/v1/consultations/culture/results", nil); res.Status != 404 {
			t.Fatalf("A's results on B: %d", res.Status)
		}
	})
}

func keyFor(t *testing.T, v *testsupport.Visitor, id int64) string {
	t.Helper()
	var p struct {
		Key string `json:"key"`
	}
	res := v.Do("GET", fmt.Sprintf("/api/v1/proposals/%d", id), nil)
	res.JSON(t, &p)
	if p.Key == "" {
		t.Fatalf("no key on proposal %d: %s", id, res.Body)
	}
	return p.Key
}

// seqKeyFor is the sequence key of proposal id for visitor v in consultation slug: the key
// of a vote that counts in the results (a direct link's, from keyFor, is published beside).
func seqKeyFor(t *testing.T, v *testsupport.Visitor, slug string, id int64) string {
	t.Helper()
	var seq struct {
		Proposals []struct {
			ID  int64  `json:"id"`
			Key string `json:"key"`
		} `json:"proposals"`
	}
	res := v.Do("GET", "/api/v1/consultations/"+slug+"/sequence", nil)
	res.JSON(t, &seq)
	for _, p := range seq.Proposals {
		if p.ID == id {
			return p.Key
		}
	}
	t.Fatalf("proposal %d not in the sequence: %s", id, res.Body)
	return ""
}

func countVotes(t *testing.T, e *testsupport.Env) int64 {
	n, err := e.App.DB.NewSelect().TableExpr("votes").Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int64(n)
}

func TestAccount_SignUpCarriesVotesAndErasureKeepsThemCounted(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		ids := w.propose(t, e.Visitor(w.A.Host), "Il faut ouvrir les musées gratuitement le dimanche")
		v := e.Visitor(w.A.Host)
		key := keyFor(t, v, ids[0])
		if res := v.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", ids[0]), map[string]any{"vote": "agree", "key": key}); res.Status != 200 {
			t.Fatalf("anonymous vote: %d %s", res.Status, res.Body)
		}
		if res := v.Do("PUT", "/api/v1/my/profile", map[string]string{"age_band": "ancient"}); res.Status != 400 {
			t.Fatalf("bad profile: %d", res.Status)
		}
		if res := v.Do("PUT", "/api/v1/my/profile", map[string]string{"age_band": "25-34", "area": "35"}); res.Status != 200 {
			t.Fatalf("profile: %d %s", res.Status, res.Body)
		}
		res := v.Do("POST", "/api/v1/auth/signup", map[string]string{"email": "Camille@Example.org", "name": "Camille", "password": "un mot de passe solide"})
		if res.Status != 201 {
			t.Fatalf("signup: %d %s", res.Status, res.Body)
		}
		var data struct {
			Account struct {
				Email string `json:"email"`
			} `json:"account"`
			Profile struct {
				AgeBand string `json:"age_band"`
			} `json:"profile"`
			Votes []struct {
				ProposalID int64  `json:"proposal_id"`
				Vote       string `json:"vote"`
			} `json:"votes"`
		}
		v.Do("GET", "/api/v1/my/data", nil).JSON(t, &data)
		if data.Account.Email != "camille@example.org" || data.Profile.AgeBand != "25-34" || len(data.Votes) != 1 || data.Votes[0].Vote != "agree" {
			t.Fatalf("my data after signup: %+v", data)
		}
		// Signing in from another browser brings that browser's votes too.
		other := e.Visitor(w.A.Host)
		ids2 := w.propose(t, e.Visitor(w.A.Host), "Il faut des concerts gratuits dans les parcs")
		if res := other.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", ids2[0]), map[string]any{"vote": "neutral", "key": keyFor(t, other, ids2[0])}); res.Status != 200 {
			t.Fatalf("vote: %d", res.Status)
		}
		if res := other.SignIn("camille@example.org", "un mot de passe solide"); res.Status != 200 {
			t.Fatalf("sign in: %d %s", res.Status, res.Body)
		}
		other.Do("GET", "/api/v1/my/data", nil).JSON(t, &data)
		if len(data.Votes) != 2 {
			t.Fatalf("votes after sign-in: %+v", data.Votes)
		}
		before := countVotes(t, e)
		if res := other.Do("DELETE", "/api/v1/my/account", nil); res.Status != 204 {
			t.Fatalf("erase: %d %s", res.Status, res.Body)
		}
		if countVotes(t, e) != before {
			t.Fatal("erasure removed votes; they must stay counted")
		}
		if res := e.Visitor(w.A.Host).SignIn("camille@example.org", "un mot de passe solide"); res.Status != 401 {
			t.Fatalf("erased account still signs in: %d", res.Status)
		}
		n, err := e.App.DB.NewSelect().TableExpr("votes").Where("participant LIKE 'u:%'").Count(context.Background())
		if err != nil || n != 0 {
			t.Fatalf("votes still linked to the erased account: %d %v", n, err)
		}
	})
}

// One person, one vote: a browser that keeps its cookies after erasing its participation
// (anonymous, or an account it signed up with) cannot vote again as someone new, and the
// results still follow from the raw votes.
func TestAccount_ErasedBrowserCannotVoteAgain(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		ids := w.propose(t, e.Visitor(w.A.Host), "Il faut ouvrir les musées gratuitement le dimanche", "Il faut des concerts gratuits dans les parcs")
		for i, signUp := range []bool{false, true} {
			v := e.Visitor(w.A.Host)
			if res := v.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", ids[0]), map[string]any{"vote": "agree", "key": keyFor(t, v, ids[0])}); res.Status != 200 {
				t.Fatalf("vote: %d %s", res.Status, res.Body)
			}
			if signUp {
				res := v.Do("POST", "/api/v1/auth/signup", map[string]string{"email": fmt.Sprintf("camille%d@example.org", i), "name": "Camille", "password": "un mot de passe solide"})
				if res.Status != 201 {
					t.Fatalf("signup: %d %s", res.Status, res.Body)
				}
			}
			kept := v.Clone() // the cookies as they were before the erasure asked to forget them
			if res := v.Do("DELETE", "/api/v1/my/account", nil); res.Status != 204 {
				t.Fatalf("erase (signed up %v): %d %s", signUp, res.Status, res.Body)
			}
			before := countVotes(t, e)
			for _, id := range ids {
				res := kept.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", id), map[string]any{"vote": "agree", "key": keyFor(t, kept, id)})
				if res.Status != 403 || errorBody(t, res).Error.Code != "forbidden" {
					t.Fatalf("vote again after erasure (signed up %v) on %d: %d %s, want 403", signUp, id, res.Status, res.Body)
				}
			}
			if n := countVotes(t, e); n != before {
				t.Fatalf("votes after the refused ones: %d, want %d", n, before)
			}
			// A new browser is a new participant, as always.
			fresh := e.Visitor(w.A.Host)
			if res := fresh.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", ids[1]), map[string]any{"vote": "agree", "key": keyFor(t, fresh, ids[1])}); res.Status != 200 {
				t.Fatalf("a new browser's vote: %d %s", res.Status, res.Body)
			}
		}
		res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/results/verify", Token: w.auditor})
		if res.Status != 200 || !strings.Contains(string(res.Body), `"match":true`) || !strings.Contains(string(res.Body), `"votes":4`) {
			t.Fatalf("verify: %d %s", res.Status, res.Body)
		}
	})
}

func TestResults_SegmentsAndWeightingToMargins(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		id := w.propose(t, e.Visitor(w.A.Host), "Il faut ouvrir les musées gratuitement le dimanche")[0]
		vote := func(age, v string) {
			p := e.Visitor(w.A.Host)
			if res := p.Do("PUT", "/api/v1/my/profile", map[string]string{"age_band": age}); res.Status != 200 {
				t.Fatalf("profile: %d %s", res.Status, res.Body)
			}
			if res := p.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", id), map[string]any{"vote": v, "key": seqKeyFor(t, p, "culture", id)}); res.Status != 200 {
				t.Fatalf("vote: %d %s", res.Status, res.Body)
			}
		}
		// The young answer more: 15 of them agree, 5 older participants disagree.
		for i := 0; i < 15; i++ {
			vote("18-24", "agree")
		}
		for i := 0; i < 5; i++ {
			vote("65-plus", "disagree")
		}
		// An answer the margins below do not name: weighting treats it as not given
		// instead of failing.
		vote("35-49", "neutral")
		// Closing the consultation refreshes the counters results are read from (they are
		// cached for two seconds while it is open).
		if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations/culture/close", Token: w.admin}); res.Status != 200 {
			t.Fatalf("close: %d", res.Status)
		}
		get := func(path string, v any) testsupport.Response {
			res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: path, Token: w.admin})
			if v != nil {
				res.JSON(t, v)
			}
			return res
		}
		var seg struct {
			Segments map[string][]struct {
				Agree float64 `json:"agree"`
			} `json:"segments"`
		}
		get("/api/v1/consultations/culture/segments?dimension=age_band", &seg)
		if len(seg.Segments["18-24"]) != 1 || len(seg.Segments["65-plus"]) != 1 || seg.Segments["18-24"][0].Agree < 0.8 || seg.Segments["65-plus"][0].Agree > 0.2 {
			t.Fatalf("segments: %+v", seg)
		}
		// Not an auditor: the 5 older participants are fewer than min_segment_size (10), and
		// alone with the 15 young ones they would be read off the whole, so both are merged.
		var public struct {
			Segments map[string][]struct {
				Votes float64 `json:"weighted_votes"`
			} `json:"segments"`
		}
		w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/segments?dimension=age_band", Token: w.moderator}).JSON(t, &public)
		if len(public.Segments) != 1 || len(public.Segments["_merged"]) != 1 {
			t.Fatalf("public segments: %+v, want only the merged one", public)
		}
		if res := get("/api/v1/consultations/culture/segments?dimension=shoe_size", nil); res.Status != 400 {
			t.Fatalf("unknown dimension: %d", res.Status)
		}
		if res := get("/api/v1/consultations/culture/results/weighted", nil); res.Status != 409 {
			t.Fatalf("weighted without margins: %d", res.Status)
		}
		put := func(body any) testsupport.Response {
			return w.Do(testsupport.Request{Method: "PUT", Host: w.A.Host, Path: "/api/v1/tenant/margins", Token: w.admin, Body: body})
		}
		if res := put(map[string]any{"age_band": map[string]float64{"18-24": 0.7, "65-plus": 0.7}}); res.Status != 400 {
			t.Fatalf("margins not summing to 1: %d", res.Status)
		}
		if res := put(map[string]any{"age_band": map[string]float64{"18-24": 0.5, "65-plus": 0.5}}); res.Status != 200 {
			t.Fatalf("margins: %d %s", res.Status, res.Body)
		}
		var weighted struct {
			DesignEffect float64 `json:"design_effect"`
			Cells        []struct {
				Profile struct {
					AgeBand string `json:"AgeBand"`
				} `json:"profile"`
				Weight float64 `json:"weight"`
			} `json:"cells"`
			Proposals []struct {
				Agree float64 `json:"agree"`
			} `json:"proposals"`
		}
		get("/api/v1/consultations/culture/results/weighted", &weighted)
		if weighted.DesignEffect <= 1 {
			t.Errorf("design effect %v: uneven weights must report more than 1", weighted.DesignEffect)
		}
		var plain struct {
			NotEnough []struct {
				Scores struct {
					Rates map[string]float64 `json:"rates"`
				} `json:"scores"`
			} `json:"not_enough_votes"`
			Controversy []struct {
				Scores struct {
					Rates map[string]float64 `json:"rates"`
				} `json:"scores"`
			} `json:"controversy"`
			// 15 agree of 20 leans to consensus, but 20 votes are too few for its interval
			// to clear 60 %.
			Undetermined []struct {
				Scores struct {
					Rates   map[string]float64 `json:"rates"`
					Leaning string             `json:"leaning"`
				} `json:"scores"`
			} `json:"undetermined"`
		}
		get("/api/v1/consultations/culture/results", &plain)
		if len(plain.Undetermined) != 1 || plain.Undetermined[0].Scores.Leaning != "consensus" || len(weighted.Proposals) != 1 {
			t.Fatalf("plain results %+v, weighted %+v", plain, weighted)
		}
		// 15 and 5 votes are far fewer than the 100 of everyone's that a cell's votes on a
		// proposal are pooled with (results.Config.CellPrior): raking weighs the 5 older
		// participants 3 times the young, but their few votes lean on the whole, so the
		// weighted agree stays near the unweighted one instead of falling to 50 % (which plain
		// raking gave, and a bloc claiming a rare profile exploited). Raking at scale is
		// tested in core/results.
		unweighted := plain.Undetermined[0].Scores.Rates["agree"]
		if got := weighted.Proposals[0].Agree; math.Abs(got-unweighted) > 0.05 {
			t.Fatalf("weighting to a 50/50 population moved agree from %.2f to %.2f; want the few votes pooled with the whole", unweighted, got)
		}
		if len(weighted.Cells) != 3 {
			t.Fatalf("weighted cells: %+v", weighted.Cells)
		}
		ws := map[string]float64{}
		for _, c := range weighted.Cells {
			ws[c.Profile.AgeBand] = c.Weight
		}
		if ws["65-plus"] < 2.5*ws["18-24"] {
			t.Fatalf("raking weights %v: the older participants must weigh about 3 times the young", ws)
		}
	})
}
