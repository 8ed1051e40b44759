package sequence

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"unsafe"
)

// pendingFor gives a fifth of the candidates 1 to 4 votes on their way, and the 20 least
// voted new ones enough to pass NewMaxVotes, so that some move from one pool to the next.
func pendingFor(cands []Candidate, cfg Config) []int {
	rng := seeded(31)
	pending := make([]int, len(cands))
	for i := range pending {
		if rng.IntN(5) == 0 {
			pending[i] = 1 + rng.IntN(4)
		}
	}
	fresh := NewShortlist(cands, cfg).fresh
	for _, i := range fresh[:min(20, len(fresh))] {
		pending[i] = cfg.NewMaxVotes
	}
	return pending
}

// With a Shortlist, rule 3 ranks new proposals by their votes with those on their way, as
// without one, though it reads only the front of its ranking: with every slot given to new
// proposals, both give the same sequence.
func TestChoose_ShortlistRanksNewProposalsAsWithout(t *testing.T) {
	for _, n := range []int{ShortlistFrom - 1, 30000} {
		cands, req := benchCandidates(n)
		cfg := DefaultConfig()
		cfg.NewRatio, cfg.RandomSlots = 1, 0
		pending := pendingFor(cands, cfg)
		req.Pending = func(i int) int { return pending[i] }
		sl := NewShortlist(cands, cfg)
		for seed := range uint64(20) {
			req.Participant = fmt.Sprintf("author%d", seed)
			req.Shortlist, req.Buffers = nil, nil
			want := Choose(cands, req, cfg, seeded(seed))
			req.Shortlist, req.Buffers = sl, &Buffers{}
			got := Choose(cands, req, cfg, seeded(seed))
			if !slices.Equal(got, want) {
				t.Fatalf("%d proposals, seed %d: %v with a shortlist, %v without", n, seed, got, want)
			}
			for _, id := range got {
				if i := id - 1; cands[i].Votes+pending[i] >= cfg.NewMaxVotes {
					t.Fatalf("%d proposals: proposal %d, with %d votes and %d on their way, was taken as new", n, id, cands[i].Votes, pending[i])
				}
			}
		}
	}
	// Below the size where the leaders bound the draws, with votes on their way that move no
	// proposal to another pool, a shortlist changes nothing under the default settings.
	cands, req := benchCandidates(ShortlistFrom - 1)
	pending := make([]int, len(cands))
	for i := range pending {
		if cands[i].Votes < 5 || (cands[i].Votes >= 10 && cands[i].Votes < 1000) {
			pending[i] = i % 4
		}
	}
	req.Pending = func(i int) int { return pending[i] }
	for seed := range uint64(20) {
		req.Shortlist, req.Buffers = nil, nil
		want := Choose(cands, req, DefaultConfig(), seeded(seed))
		req.Shortlist, req.Buffers = NewShortlist(cands, DefaultConfig()), &Buffers{}
		if got := Choose(cands, req, DefaultConfig(), seeded(seed)); !slices.Equal(got, want) {
			t.Fatalf("%d proposals, seed %d: %v with a shortlist, %v without", len(cands), seed, got, want)
		}
	}
}

// With a Shortlist and votes on their way, in a consultation of 30,000 proposals, every
// sequence keeps rules 1 and 7, and holds about as many new proposals as without one.
func TestChoose_ShortlistKeepsTheRules(t *testing.T) {
	cands, _ := benchCandidates(30000)
	cfg := DefaultConfig()
	pending := pendingFor(cands, cfg)
	// The new proposals rule 3 takes first come in threes that share a rare keyword.
	for j, i := range NewShortlist(cands, cfg).fresh {
		cands[i].Keywords = append(cands[i].Keywords, fmt.Sprintf("famille%d", j/3))
	}
	docs := map[string]int{}
	for _, c := range cands {
		for _, w := range c.Keywords {
			docs[w]++
		}
	}
	sl := NewShortlist(cands, cfg)
	newShown := map[bool]int{}
	for _, short := range []bool{false, true} {
		rng := seeded(5)
		for p := range 100 {
			// The participant wrote one of the next new proposals rule 3 would take.
			req := Request{Participant: cands[sl.fresh[100+p]].AuthorID, Voted: map[int64]bool{}, Excluded: map[int64]bool{},
				Pending: func(i int) int { return pending[i] }}
			for range 300 {
				req.Voted[int64(1+rng.IntN(len(cands)))] = true
			}
			for i := range 100 { // the least voted new proposals, which rule 3 would take first
				req.Excluded[cands[sl.fresh[i]].ID] = true
			}
			if short {
				req.Shortlist, req.Buffers = sl, &Buffers{}
			}
			ids := Choose(cands, req, cfg, rng)
			if len(ids) != cfg.Size {
				t.Fatalf("shortlist %v: %d proposals, want %d", short, len(ids), cfg.Size)
			}
			for k, id := range ids {
				c := &cands[id-1]
				if req.Voted[id] || req.Excluded[id] || c.AuthorID == req.Participant {
					t.Fatalf("shortlist %v: proposal %d shown to %s, who voted on it, excluded it or wrote it", short, id, req.Participant)
				}
				if c.Votes+pending[id-1] < cfg.NewMaxVotes {
					newShown[short]++
				}
				for _, other := range ids[:k] {
					o := &cands[other-1]
					if o.AuthorID == c.AuthorID {
						t.Fatalf("shortlist %v: proposals %d and %d of one author", short, id, other)
					}
					for _, w := range c.Keywords {
						if docs[w] <= cfg.RareKeywordMaxDocs && slices.Contains(o.Keywords, w) {
							t.Fatalf("shortlist %v: proposals %d and %d share the rare keyword %q", short, id, other, w)
						}
					}
				}
			}
		}
	}
	if math.Abs(float64(newShown[true]-newShown[false])) > 0.05*float64(newShown[false]) {
		t.Errorf("new proposals shown in 100 sequences: %d with a shortlist, %d without", newShown[true], newShown[false])
	}
}

// A shortlist built for an earlier state of the candidates (another slice, other counts) is
// not used for the pools: the sequence is the one it would be without it.
func TestChoose_StaleShortlistIsNotUsedForThePools(t *testing.T) {
	cands, req := benchCandidates(ShortlistFrom - 1)
	sl := NewShortlist(cands, DefaultConfig())
	now := slices.Clone(cands)
	for i := range now {
		now[i].Votes = (now[i].Votes + 7*i) % 20 // other proposals are new now
	}
	for seed := range uint64(10) {
		req.Shortlist, req.Buffers = nil, nil
		want := Choose(now, req, DefaultConfig(), seeded(seed))
		req.Shortlist, req.Buffers = sl, &Buffers{}
		if got := Choose(now, req, DefaultConfig(), seeded(seed)); !slices.Equal(got, want) {
			t.Fatalf("seed %d: %v with the stale shortlist, %v without", seed, got, want)
		}
	}
}

// Above the size where the leaders bound the draws, a stale shortlist's leaders and copies of
// the counts bound only the draws: the pools are the current counts'. With two thirds of the
// proposals past the tested limit now, no sequence shows one of them.
func TestChoose_StaleShortlistLeadsOnlyTheDraws(t *testing.T) {
	cands, req := benchCandidates(3000)
	sl := NewShortlist(cands, DefaultConfig())
	now := slices.Clone(cands)
	for i := range now {
		if i%3 != 0 {
			now[i].Votes = 2000
		}
	}
	req.Shortlist, req.Buffers = sl, &Buffers{}
	rng := seeded(3)
	for range 100 {
		for _, id := range Choose(now, req, DefaultConfig(), rng) {
			if v := now[id-1].Votes; v >= DefaultConfig().TestedMaxVotes {
				t.Fatalf("proposal %d, with %d votes now, shown while proposals under %d were left", id, v, DefaultConfig().TestedMaxVotes)
			}
		}
	}
}

// BenchmarkNewShortlist30000 builds the shortlist of 30,000 proposals, as Concorde does each
// time it reads a large consultation's counters.
func BenchmarkNewShortlist30000(b *testing.B) {
	cands, _ := benchCandidates(30000)
	b.ReportAllocs()
	for b.Loop() {
		NewShortlist(cands, DefaultConfig())
	}
}

// A drawable fills one cache line, so that a draw for a candidate picked at random reads one
// line (large allocations start on a page, so every element stays within its line).
func TestDrawable_OneCacheLine(t *testing.T) {
	if n := unsafe.Sizeof(drawable{}); n != 64 {
		t.Fatalf("a drawable takes %d bytes, not 64", n)
	}
}
