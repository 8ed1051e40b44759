package sequence

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// exposure simulates a consultation where n proposals (two per author, true agreement
// spread from 10 % to 90 %) are accepted at once, and participants each ask for three
// sequences and vote on everything shown, until perProposal votes per proposal have been cast
// overall. The counters lag: they are refreshed every lag sequences, and in between the
// proposals shown count as votes on their way (Request.Pending), as in Concorde. With short,
// a Shortlist is built at every refresh, as Concorde does. It returns the fewest votes any
// proposal has at the end.
func exposure(t *testing.T, n, perProposal, lag int, seed uint64, short bool) (fewest int, votes []int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	choice := rand.New(rand.NewPCG(seed, 2))
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	truth := make([]Candidate, n) // the counters as they are
	agree := make([]float64, n)
	for i := range truth {
		truth[i] = Candidate{ID: int64(i + 1), AuthorID: fmt.Sprintf("author%d", i/2), AcceptedAt: at}
		agree[i] = 0.1 + 0.8*rng.Float64()
	}
	read := make([]Candidate, n) // the counters as the sequence reads them
	shown := make([]int, n)
	cfg := DefaultConfig()
	var sl *Shortlist
	refresh := func() {
		copy(read, truth)
		clear(shown)
		if short {
			sl = NewShortlist(read, cfg)
		}
	}
	refresh()
	cast, sequences := 0, 0
	for p := 0; cast < n*perProposal; p++ {
		voted := map[int64]bool{}
		for range 3 {
			ids := Choose(read, Request{Participant: fmt.Sprintf("p%d", p), Voted: voted, Pending: func(i int) int { return shown[i] }, Shortlist: sl}, cfg, choice)
			for _, id := range ids {
				i := int(id - 1)
				shown[i]++
				voted[id] = true
				c := &truth[i]
				c.Votes++
				switch r := rng.Float64(); {
				case r < agree[i]:
					c.Agree++
				case r < agree[i]+(1-agree[i])*0.7:
					c.Disagree++
				default:
					c.Neutral++
				}
				cast++
			}
			if sequences++; sequences%lag == 0 {
				refresh()
			}
		}
	}
	fewest = truth[0].Votes
	votes = make([]int, n)
	for i, c := range truth {
		fewest = min(fewest, c.Votes)
		votes[i] = c.Votes
	}
	return fewest, votes
}

func TestChoose_EveryProposalReachesTheMinimumWhenManyArriveAtOnce(t *testing.T) {
	// 600 proposals accepted at once; when 12 votes per proposal have been cast overall,
	// every proposal has the 10 a zone needs. (Before rule 3's backlog share and rule 4's
	// random slot, 55 % of them still had none: the Thompson draws took two thirds of the
	// slots as soon as a few proposals were tested.)
	// The same holds with a Shortlist, whose pool sizes count the counted votes only.
	for _, short := range []bool{false, true} {
		for _, lag := range []int{1, 20} {
			fewest, _ := exposure(t, 600, 12, lag, 11, short)
			if fewest < DefaultConfig().NewMaxVotes {
				t.Errorf("counters refreshed every %d sequences, shortlist %v: the least voted proposal has %d votes at 12 per proposal, want at least %d",
					lag, short, fewest, DefaultConfig().NewMaxVotes)
			}
			t.Logf("counters refreshed every %d sequences, shortlist %v: fewest votes %d at 12 per proposal", lag, short, fewest)
		}
	}
}

func TestChoose_RandomSlotKeepsUnluckyProposalsInView(t *testing.T) {
	// 30 tested proposals; 1 has had unlucky first votes (all disagree) and the Thompson draws
	// would almost never pick it again. The random slot shows it in about 1 sequence in 30.
	cands := testPool(1, 30, 20)
	for i := range cands {
		cands[i].Agree, cands[i].Disagree = 18, 2
	}
	cands[0].Agree, cands[0].Disagree = 0, 20
	cfg := DefaultConfig()
	cfg.Size = 4
	count := func(cfg Config) int {
		rng := seeded(3)
		n := 0
		for range 3000 {
			for _, id := range Choose(cands, Request{}, cfg, rng) {
				if id == 1 {
					n++
				}
			}
		}
		return n
	}
	with := count(cfg)
	cfg.RandomSlots = 0
	without := count(cfg)
	if with < 70 || with > 130 || without > with/4 {
		t.Errorf("the unlucky proposal was shown %d times in 3,000 sequences with a random slot, %d without; want about 100 with", with, without)
	}
}
