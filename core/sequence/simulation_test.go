package sequence

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// The tests in this file check the rules on one simulated consultation: 300 proposals from 150
// authors (two each), 200 accepted at the start and 100 during the consultation, and 2,000
// participants who each ask for sequences and vote on every proposal shown. Most stop after
// three sequences; a few go on until nothing is left.

const (
	simProposals    = 300
	simInitial      = 200
	simAuthors      = 150
	simParticipants = 2000
	simSequences    = 3    // sequences most participants go through
	simFirstAdded   = 400  // the participant before whom the first late proposal is accepted
	simAddEvery     = 14   // participants between two late proposals
	simSeed         = 2024 // seed of both the simulation and the sequences
)

// simExhaustive are the participants who vote until nothing is left (participant 0 is an author).
var simExhaustive = map[int]bool{0: true, 1000: true, 1999: true}

type simCall struct {
	participant string
	known       int // candidates accepted at the time, a prefix of simulation.cands
	ids         []int64
	newShown    int // proposals shown that were new at the time
	newLeft     int // new proposals the participant could see, before the call
	testedLeft  int // tested proposals the participant could see, before the call
}

type simulation struct {
	cands     []Candidate
	calls     []simCall
	lateAdded map[int64]int // late proposal → index of the first call after it was accepted
	reachedAt map[int64]int // proposal → index of the call in which it got its tenth vote
	leftOver  map[string]int
}

var simOnce = sync.OnceValue(func() *simulation { return simulate(simSeed) })

// simulate runs the consultation; the same seed gives the same consultation.
func simulate(seed uint64) *simulation {
	rng := rand.New(rand.NewPCG(seed, 1))
	choice := rand.New(rand.NewPCG(seed, 2))
	cfg := DefaultConfig()
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

	vocabulary := rand.NewZipf(rng, 1.1, 1, 2000)
	all := make([]Candidate, simProposals)
	pAgree := make([]float64, simProposals)
	pDisagree := make([]float64, simProposals)
	for i := range all {
		c := Candidate{
			ID:         int64(1000 + i),
			AuthorID:   fmt.Sprintf("p%d", i%simAuthors),
			AcceptedAt: start.Add(time.Duration(i) * time.Minute),
		}
		for range 3 + rng.IntN(4) {
			w := fmt.Sprintf("w%d", vocabulary.Uint64())
			if !contains(c.Keywords, w) {
				c.Keywords = append(c.Keywords, w)
			}
		}
		// Some proposals are variants of one idea and share a word of their own.
		if i%10 < 3 {
			c.Keywords = append(c.Keywords, fmt.Sprintf("idea%d", i/10))
		}
		all[i] = c
		pAgree[i] = 0.1 + 0.7*rng.Float64()
		pDisagree[i] = (1 - pAgree[i]) * rng.Float64()
	}

	sim := &simulation{lateAdded: map[int64]int{}, reachedAt: map[int64]int{}, leftOver: map[string]int{}}
	known := simInitial
	for p := range simParticipants {
		if p >= simFirstAdded && known < simProposals && (p-simFirstAdded)%simAddEvery == 0 {
			all[known].AcceptedAt = start.Add(time.Duration(p) * time.Hour)
			sim.lateAdded[all[known].ID] = len(sim.calls)
			known++
		}
		name := fmt.Sprintf("p%d", p)
		voted := map[int64]bool{}
		for n := 0; simExhaustive[p] || n < simSequences; n++ {
			cands := all[:known]
			call := simCall{participant: name, known: known}
			for _, c := range cands {
				if c.AuthorID == name || voted[c.ID] {
					continue
				}
				if c.Votes < cfg.NewMaxVotes {
					call.newLeft++
				} else {
					call.testedLeft++
				}
			}
			call.ids = Choose(cands, Request{Participant: name, Voted: voted}, cfg, choice)
			sim.calls = append(sim.calls, call)
			if len(call.ids) == 0 {
				sim.leftOver[name] = call.newLeft + call.testedLeft
				break
			}
			for _, id := range call.ids {
				i := int(id - 1000)
				c := &all[i]
				if c.Votes < cfg.NewMaxVotes {
					sim.calls[len(sim.calls)-1].newShown++
				}
				voted[id] = true
				c.Votes++
				switch r := rng.Float64(); {
				case r < pAgree[i]:
					c.Agree++
					if rng.Float64() < 0.3 {
						c.LikeIt++
					}
				case r < pAgree[i]+pDisagree[i]:
					c.Disagree++
					if rng.Float64() < 0.3 {
						c.NoWay++
					}
				default:
					c.Neutral++
				}
				if c.Votes == cfg.NewMaxVotes {
					sim.reachedAt[id] = len(sim.calls) - 1
				}
			}
		}
	}
	sim.cands = all
	return sim
}

func contains(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

func TestChoose_NeverRepeatsAVotedProposal(t *testing.T) {
	sim := simOnce()
	seen := map[string]map[int64]bool{}
	for n, call := range sim.calls {
		if seen[call.participant] == nil {
			seen[call.participant] = map[int64]bool{}
		}
		for _, id := range call.ids {
			if seen[call.participant][id] {
				t.Fatalf("call %d: %s was shown proposal %d again after voting on it", n, call.participant, id)
			}
			seen[call.participant][id] = true
		}
	}
}

func TestChoose_NeverShowsOwnProposals(t *testing.T) {
	sim := simOnce()
	for n, call := range sim.calls {
		for _, id := range call.ids {
			if author := sim.cands[id-1000].AuthorID; author == call.participant {
				t.Errorf("call %d: %s was shown their own proposal %d", n, call.participant, id)
			}
		}
	}
	// The exhaustive author p0 saw every proposal but their own.
	if left := sim.leftOver["p0"]; left != 0 {
		t.Errorf("p0 stopped with %d proposals left", left)
	}
}

func TestChoose_OneProposalPerAuthor(t *testing.T) {
	sim := simOnce()
	for n, call := range sim.calls {
		authors := map[string]int64{}
		for _, id := range call.ids {
			a := sim.cands[id-1000].AuthorID
			if other, ok := authors[a]; ok {
				t.Fatalf("call %d: proposals %d and %d share author %s", n, other, id, a)
			}
			authors[a] = id
		}
	}
}

func TestChoose_NoSharedRareKeyword(t *testing.T) {
	sim := simOnce()
	maxDocs := DefaultConfig().RareKeywordMaxDocs
	docs := func(known int, w string) int {
		n := 0
		for _, c := range sim.cands[:known] {
			if contains(c.Keywords, w) {
				n++
			}
		}
		return n
	}
	sharedCommon := 0
	for n, call := range sim.calls {
		for a, x := range call.ids {
			for _, y := range call.ids[a+1:] {
				for _, w := range sim.cands[x-1000].Keywords {
					if !contains(sim.cands[y-1000].Keywords, w) {
						continue
					}
					if docs(call.known, w) <= maxDocs {
						t.Fatalf("call %d: proposals %d and %d share the rare keyword %q", n, x, y, w)
					}
					sharedCommon++
				}
			}
		}
	}
	// The rule must not turn away proposals that share only common words.
	if sharedCommon == 0 {
		t.Error("no sequence held two proposals sharing a common keyword: the rule is too strict")
	}
}

func TestChoose_NewProposalsReachTenVotesQuickly(t *testing.T) {
	sim := simOnce()
	// Ten votes need ten participants at least; allow for the author and a few diversity clashes.
	const within = 12
	need := DefaultConfig().NewMaxVotes
	worst := 0
	for id, added := range sim.lateAdded {
		reached, ok := sim.reachedAt[id]
		if !ok {
			t.Errorf("late proposal %d never reached %d votes", id, need)
			continue
		}
		asked := map[string]bool{}
		for _, call := range sim.calls[added : reached+1] {
			asked[call.participant] = true
		}
		worst = max(worst, len(asked))
		if len(asked) > within {
			t.Errorf("late proposal %d needed %d participants for its %d votes, want at most %d",
				id, len(asked), need, within)
		}
	}
	if len(sim.lateAdded) != simProposals-simInitial {
		t.Fatalf("%d late proposals, want %d", len(sim.lateAdded), simProposals-simInitial)
	}
	for _, c := range sim.cands {
		if c.Votes < need {
			t.Errorf("proposal %d ended with %d votes", c.ID, c.Votes)
		}
	}
	t.Logf("the slowest late proposal got %d votes from the next %d participants", need, worst)
}

func TestChoose_NewSlotsFollowTheBacklog(t *testing.T) {
	sim := simOnce()
	cfg := DefaultConfig()
	calls, shown, want := 0, 0, 0.0
	for _, call := range sim.calls {
		// Only where both pools can fill their share, whatever the diversity rules turn away.
		if call.newLeft < 12 || call.testedLeft < 24 {
			continue
		}
		calls++
		shown += call.newShown
		share := max(cfg.NewRatio, float64(call.newLeft)/float64(call.newLeft+call.testedLeft))
		want += min(math.Round(share*float64(cfg.Size)), float64(cfg.Size-cfg.RandomSlots))
	}
	if calls < 20 {
		t.Fatalf("only %d sequences had both pools full; the simulation does not test the share", calls)
	}
	if got := float64(shown) / want; got < 0.95 || got > 1.1 {
		t.Errorf("new proposals took %d slots over %d sequences, want about %.0f (max of 30%% and the backlog's share)", shown, calls, want)
	}
}

func TestChoose_ReturnsWhatIsLeftWhenFewInSimulation(t *testing.T) {
	sim := simOnce()
	for p := range simExhaustive {
		name := fmt.Sprintf("p%d", p)
		left, ok := sim.leftOver[name]
		if !ok {
			t.Errorf("%s never got an empty sequence", name)
		} else if left != 0 {
			t.Errorf("%s got an empty sequence with %d proposals left to vote on", name, left)
		}
	}
}
