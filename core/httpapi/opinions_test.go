package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/testsupport"
)

// TestResults_ConsensusAcrossOpinionGroupsAndVerify: two camps vote through the sequence;
// the results say, per proposal, whether consensus holds across the opinion groups the
// server found, and the auditors' verify recomputes the same groups from the raw votes.
func TestResults_ConsensusAcrossOpinionGroupsAndVerify(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		// One author per proposal: a sequence shows one proposal of each author at most.
		texts := []string{
			"Il faut ouvrir les musées gratuitement le dimanche",
			"Il faut des bibliothèques ouvertes la nuit en ville",
			"Il faut financer les festivals de musique locale",
			"Il faut enseigner le théâtre dans toutes les écoles",
			"Il faut fermer les salles de cinéma le lundi matin",
			"Il faut supprimer les subventions aux grands opéras",
			"Il faut taxer les concerts en plein air le soir",
			"Il faut privatiser toutes les médiathèques publiques",
		}
		var ids []int64
		for _, text := range texts {
			ids = append(ids, w.propose(t, e.Visitor(w.A.Host), text)...)
		}
		shared := map[int64]bool{ids[0]: true, ids[1]: true, ids[2]: true, ids[3]: true}
		for i := range 24 {
			camp := i % 2
			v := e.Visitor(w.A.Host)
			voted := 0
			for round := 0; round < 3 && voted < len(ids); round++ {
				var seq seqResponse
				v.Do("GET", "/api/v1/consultations/culture/sequence", nil).JSON(t, &seq)
				for _, p := range seq.Proposals {
					k := "disagree"
					switch {
					case shared[p.ID]:
						k = "agree"
					case (p.ID%2 == 0) == (camp == 0):
						k = "agree"
					}
					if res := v.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", p.ID), map[string]any{"vote": k, "key": p.Key}); res.Status != 200 {
						t.Fatalf("vote: %d %s", res.Status, res.Body)
					}
					voted++
				}
			}
			if voted < 7 {
				t.Fatalf("participant %d was shown %d proposals, want at least 7", i, voted)
			}
		}
		if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations/culture/close", Token: w.admin}); res.Status != 200 {
			t.Fatalf("close: %d", res.Status)
		}
		type item struct {
			ID       int64 `json:"id"`
			Opinions *struct {
				Across   string    `json:"consensus_across_groups"`
				Bridging bool      `json:"bridging"`
				Groups   []float64 `json:"group_agree"`
			} `json:"opinions"`
		}
		var r struct {
			OpinionGroups struct {
				Pending    bool   `json:"pending"`
				GroupSizes []int  `json:"group_sizes"`
				Digest     string `json:"digest"`
			} `json:"opinion_groups"`
			Consensus, Controversy, Rejection, Limbo, Undetermined, NotEnough []item
		}
		// Groups are computed in the background: the results say so until they are ready.
		deadline := time.Now().Add(20 * time.Second)
		for {
			res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/results", Token: w.admin})
			if res.Status != 200 {
				t.Fatalf("results: %d %s", res.Status, res.Body)
			}
			res.JSON(t, &r)
			if !r.OpinionGroups.Pending {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the opinion groups were still pending after 20 s")
			}
			time.Sleep(200 * time.Millisecond)
		}
		if len(r.OpinionGroups.GroupSizes) != 2 || r.OpinionGroups.Digest == "" {
			t.Fatalf("opinion groups %+v, want the two camps", r.OpinionGroups)
		}
		seen := 0
		for _, list := range [][]item{r.Consensus, r.Controversy, r.Rejection, r.Limbo, r.Undetermined, r.NotEnough} {
			for _, it := range list {
				if it.Opinions == nil {
					t.Fatalf("proposal %d has no opinions", it.ID)
				}
				seen++
				want := "fails"
				if shared[it.ID] {
					want = "holds"
				}
				if it.Opinions.Across != want {
					t.Errorf("proposal %d: consensus across groups %q (%v), want %q", it.ID, it.Opinions.Across, it.Opinions.Groups, want)
				}
			}
		}
		if seen != len(ids) {
			t.Fatalf("%d proposals in the results, want %d", seen, len(ids))
		}

		var v struct {
			Match    bool `json:"match"`
			Opinions struct {
				Digest          string `json:"digest"`
				PublishedDigest string `json:"published_digest"`
				Match           *bool  `json:"match"`
			} `json:"opinions"`
		}
		res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/results/verify", Token: w.auditor})
		if res.Status != 200 {
			t.Fatalf("verify: %d %s", res.Status, res.Body)
		}
		res.JSON(t, &v)
		if !v.Match || v.Opinions.Match == nil || !*v.Opinions.Match || v.Opinions.Digest != r.OpinionGroups.Digest {
			t.Fatalf("verify: %s; published digest %s", res.Body, r.OpinionGroups.Digest)
		}

		// The page shows, per proposal, whether consensus holds across groups.
		page := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/c/culture/results", Token: w.admin})
		if page.Status != 200 || !strings.Contains(string(page.Body), `data-across="holds"`) || !strings.Contains(string(page.Body), `data-across="fails"`) {
			t.Fatalf("results page: %d, no consensus-across-groups badges", page.Status)
		}
	})
}
