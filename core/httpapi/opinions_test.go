package httpapi_test

import (
	"encoding/csv"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/testsupport"
)

// culturalIdeas are proposals of distinct words, so that no diversity rule of the sequence
// keeps two of them apart; the opinion tests' participants vote on them.
var culturalIdeas = []string{
	"Il faut ouvrir les musées gratuitement le dimanche",
	"Il faut des bibliothèques ouvertes la nuit en ville",
	"Il faut financer les festivals de musique locale",
	"Il faut enseigner le théâtre dans toutes les écoles",
	"Il faut fermer les salles de cinéma le lundi matin",
	"Il faut supprimer les subventions aux grands opéras",
	"Il faut taxer les concerts en plein air le soir",
	"Il faut privatiser toutes les médiathèques publiques",
}

// TestResults_ConsensusAcrossOpinionGroupsAndVerify: two camps vote through the sequence;
// the results say, per proposal, whether consensus holds across the opinion groups the
// server found, and the auditors' verify recomputes the same groups from the raw votes.
func TestResults_ConsensusAcrossOpinionGroupsAndVerify(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		// One author per proposal: a sequence shows one proposal of each author at most.
		texts := culturalIdeas
		var ids []int64
		for _, text := range texts {
			ids = append(ids, w.propose(t, e.Visitor(w.A.Host), text)...)
		}
		shared := map[int64]bool{ids[0]: true, ids[1]: true, ids[2]: true, ids[3]: true}
		// The sets of shared proposals (by place) each participant of a camp is neutral on.
		neutralOn := [][]int{{}, {0}, {1}, {2}, {3}, {0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}}
		for i := range 2 * len(neutralOn) {
			camp := i % 2
			v := e.Visitor(w.A.Host)
			voted := 0
			for round := 0; round < 3 && voted < len(ids); round++ {
				var seq seqResponse
				v.Do("GET", "/api/v1/consultations/culture/sequence", nil).JSON(t, &seq)
				for _, p := range seq.Proposals {
					// The camps split on the last four proposals (by their place, not their
					// ids, which are random) and agree on the first four.
					j := slices.Index(ids, p.ID)
					k := "disagree"
					switch {
					case shared[p.ID]:
						k = "agree"
					case (j%2 == 0) == (camp == 0):
						k = "agree"
					}
					// Each participant of a camp is neutral on a set of the shared proposals of
					// their own (none, one or two of the four): all from one address (the
					// tests'), identical voters would count as one participant
					// (results.Coalesce). What splits the camps stays untouched.
					if shared[p.ID] && slices.Contains(neutralOn[i/2], j) {
						k = "neutral"
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

// TestResults_ClonesFromOneSourceCountOnceAndVerify: sessions from one address that cast the
// same sequence votes (a script, or one person opening session after session) count as one
// participant in the scores; people behind that same address who vote their own way are not
// merged. The published figures, the verify endpoint and the snapshot agree, and the raw
// votes carry a keyed hash of the source, never the address.
func TestResults_ClonesFromOneSourceCountOnceAndVerify(t *testing.T) {
	testsupport.Each(t, func(t *testing.T, e *testsupport.Env) {
		w := newConsultation(t, e)
		texts := culturalIdeas[:6]
		var ids []int64
		for _, text := range texts {
			ids = append(ids, w.propose(t, e.Visitor(w.A.Host), text)...)
		}
		// Every test visitor comes from the same address (app.Test's).
		participate := func(vote func(j int) string) *testsupport.Visitor {
			t.Helper()
			v := e.Visitor(w.A.Host)
			voted := 0
			for round := 0; round < 3 && voted < len(ids); round++ {
				var seq seqResponse
				v.Do("GET", "/api/v1/consultations/culture/sequence", nil).JSON(t, &seq)
				for _, p := range seq.Proposals {
					k := vote(slices.Index(ids, p.ID))
					if res := v.Do("POST", fmt.Sprintf("/api/v1/proposals/%d/vote", p.ID), map[string]any{"vote": k, "key": p.Key}); res.Status != 200 {
						t.Fatalf("vote: %d %s", res.Status, res.Body)
					}
					voted++
				}
			}
			if voted != len(ids) {
				t.Fatalf("a participant was shown %d proposals, want %d", voted, len(ids))
			}
			return v
		}
		for i := range 8 { // the clones: agree on everything
			v := participate(func(int) string { return "agree" })
			// Half of them erase their participation: their votes stay counted, and must stay
			// coalesced with the others (a script erasing its clones would escape otherwise).
			if i%2 == 0 {
				if res := v.Do("DELETE", "/api/v1/my/account", nil); res.Status != 204 {
					t.Fatalf("erase: %d %s", res.Status, res.Body)
				}
			}
		}
		for _, mind := range []string{"adnadn", "dnadna", "nadnad", "aaddnn", "ddnnaa", "nnaadd"} { // six people of their own mind
			participate(func(j int) string { return map[byte]string{'a': "agree", 'd': "disagree", 'n': "neutral"}[mind[j]] })
		}
		if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations/culture/close", Token: w.admin}); res.Status != 200 {
			t.Fatalf("close: %d", res.Status)
		}
		type item struct {
			ID     int64 `json:"id"`
			Scores struct {
				WeightedVotes float64 `json:"weighted_votes"`
				Votes         struct {
					Sequence struct {
						Agree int64 `json:"agree"`
					} `json:"sequence"`
				} `json:"votes"`
			} `json:"scores"`
		}
		var r struct {
			OpinionGroups struct {
				Pending           bool   `json:"pending"`
				Digest            string `json:"digest"`
				CoalescedGroups   int    `json:"coalesced_groups"`
				CoalescedSessions int    `json:"coalesced_sessions"`
			} `json:"opinion_groups"`
			Consensus    []item `json:"consensus"`
			Controversy  []item `json:"controversy"`
			Rejection    []item `json:"rejection"`
			Limbo        []item `json:"limbo"`
			Undetermined []item `json:"undetermined"`
			NotEnough    []item `json:"not_enough_votes"`
		}
		// Coalescing is computed in the background with the opinion groups; the scores take it
		// in from the catalog entry built after (two seconds at most).
		deadline := time.Now().Add(20 * time.Second)
		for {
			w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/results", Token: w.admin}).JSON(t, &r)
			all := slices.Concat(r.Consensus, r.Controversy, r.Rejection, r.Limbo, r.Undetermined, r.NotEnough)
			if !r.OpinionGroups.Pending && len(all) == len(ids) && all[0].Scores.WeightedVotes == 7 {
				for _, it := range all {
					if it.Scores.WeightedVotes != 7 || it.Scores.Votes.Sequence.Agree < 8 {
						t.Fatalf("proposal %d: %v weighted of its votes, want 7 (the 8 clones as one, and 6 others); raw counts must stay whole: %+v", it.ID, it.Scores.WeightedVotes, it.Scores)
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 20 s: %+v", r)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if r.OpinionGroups.CoalescedGroups != 1 || r.OpinionGroups.CoalescedSessions != 8 {
			t.Fatalf("coalesced %d groups of %d sessions, want the 8 clones in one", r.OpinionGroups.CoalescedGroups, r.OpinionGroups.CoalescedSessions)
		}
		// Segments count them as one too (nobody gave an age band: one segment, unanswered).
		var seg struct {
			Segments map[string][]struct {
				ID    int64   `json:"id"`
				Votes float64 `json:"weighted_votes"`
			} `json:"segments"`
		}
		w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/segments?dimension=age_band", Token: w.auditor}).JSON(t, &seg)
		if len(seg.Segments[""]) != len(ids) {
			t.Fatalf("segments: %+v", seg)
		}
		for _, it := range seg.Segments[""] {
			if it.Votes != 7 {
				t.Fatalf("segment of those who gave no age, proposal %d: %v votes, want 7 (the clones as one)", it.ID, it.Votes)
			}
		}
		var v struct {
			Match    bool `json:"match"`
			Opinions struct {
				Digest string `json:"digest"`
				Match  *bool  `json:"match"`
			} `json:"opinions"`
		}
		w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/results/verify", Token: w.auditor}).JSON(t, &v)
		if !v.Match || v.Opinions.Match == nil || !*v.Opinions.Match || v.Opinions.Digest != r.OpinionGroups.Digest {
			t.Fatalf("verify: %+v, published digest %s", v, r.OpinionGroups.Digest)
		}
		// Published: the snapshot holds the coalesced scores and verify rebuilds them.
		if res := w.Do(testsupport.Request{Method: "POST", Host: w.A.Host, Path: "/api/v1/consultations/culture/publish", Token: w.admin}); res.Status != 200 {
			t.Fatalf("publish: %d %s", res.Status, res.Body)
		}
		var snap struct {
			Match    bool `json:"match"`
			Snapshot struct {
				Match bool `json:"match"`
			} `json:"snapshot"`
		}
		res := w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/results/verify", Token: w.auditor})
		res.JSON(t, &snap)
		if !snap.Match || !snap.Snapshot.Match {
			t.Fatalf("verify after publishing: %s", res.Body)
		}
		if body := string(w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/export.json", Token: w.admin}).Body); !strings.Contains(body, `"weighted_votes":7`) {
			t.Fatalf("the published snapshot does not hold the coalesced scores")
		}
		// The spreadsheet gives the votes the rates were read from beside the raw counts: the
		// clones once, so they sum to 7 on every proposal.
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/export.csv", Token: w.admin}).Body), "\ufeff"))).ReadAll()
		if err != nil || len(rows) != len(ids)+1 {
			t.Fatalf("export.csv: %d rows, %v", len(rows), err)
		}
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		for _, row := range rows[1:] {
			sum := 0.0
			for _, k := range []string{"counted_agree", "counted_disagree", "counted_neutral"} {
				f, err := strconv.ParseFloat(row[col[k]], 64)
				if _, ok := col[k]; !ok || err != nil {
					t.Fatalf("export.csv: column %s missing or not a number in %v", k, row)
				}
				sum += f
			}
			if raw, _ := strconv.Atoi(row[col["sequence_agree"]]); math.Abs(sum-7) > 0.01 || raw < 8 {
				t.Fatalf("export.csv row %v: counted votes sum to %v, want 7 (the raw sequence_* counts stay whole)", row, sum)
			}
		}
		// The raw votes name a source, a keyed hash, the same for the clones: no address.
		raw := string(w.Do(testsupport.Request{Method: "GET", Host: w.A.Host, Path: "/api/v1/consultations/culture/votes.jsonl", Token: w.auditor}).Body)
		if !strings.Contains(raw, `"source":"`) || strings.Contains(raw, `"source":""`) || strings.Contains(raw, "0.0.0.0") || strings.Contains(raw, "127.0.0.1") {
			t.Fatalf("raw votes: %.400s", raw)
		}
	})
}
