package sequence

import (
	"cmp"
	"math"
	"slices"
	"sync"
)

// Shortlist is what Choose can work out once per set of candidates rather than on every
// request (Concorde builds it when it loads a consultation's counters), so that a request
// costs about the same for 300 proposals as for 30,000 (rule 9 of the package comment):
//   - the candidates with the highest posterior mean top score and controversy score, the
//     leaders for which the Thompson draws are made;
//   - each candidate's index by id, and each author's candidates, so that the proposals a
//     participant voted on, excluded or wrote are looked up rather than searched for;
//   - how many candidates contain each keyword, for the diversity rule;
//   - the pools by counted votes, with the new proposals ranked least voted first, so that
//     rule 3 reads them from the front instead of ranking every candidate.
//
// Choose uses all of it only for the very slice of candidates it was built from, with the
// same vote thresholds (Config.NewMaxVotes, Config.TestedMaxVotes). For another slice of as
// many candidates (the same proposals with newer counters, while the caller builds their
// shortlist) it uses only the leaders and shapes, to bound the draws.
type Shortlist struct {
	first             *Candidate // the first of the candidates it was built from
	n                 int        // the number of candidates it was built for
	newMax, testedMax int        // the thresholds of the Config it was built for, clamped
	top, controversy  []drawable // the leaders, highest posterior mean first
	index             map[int64]int32
	byAuthor          map[string][]int32
	docs              map[string]int32 // keyword → candidates that contain it
	rareMax           int              // the Config.RareKeywordMaxDocs rareWords were picked for
	rareFrom          []int32          // candidate i's rare keywords are rareWords[rareFrom[i]:rareFrom[i+1]]; nil when the rule is off
	rareWords         []int32          // the rare keywords of each candidate, numbered, so that rule 7 compares numbers
	size              [4]int           // candidates per pool, by counted votes
	votes             []int32          // each candidate's counted votes, together so that looking one up stays in cache
	draws             []drawable       // each candidate's Beta distributions, likewise; nil under ShortlistFrom candidates
	fresh             []int32          // candidates with fewer than newMax counted votes, least voted, oldest, lowest id first
	untried           []int32          // candidates with fewer than testedMax counted votes, by index
}

// drawable is what a draw of rule 4 needs to know about a candidate, kept together in one
// cache line so that drawing reads no more memory than it must (the draws of rule 9 look at
// candidates scattered over the whole set); float32 holds vote counts and the normal
// approximation's parameters to a relative 6e-8, far below a draw's spread for any
// realistic vote count.
type drawable struct {
	id               int64
	i                int32 // index in the candidates
	votes            int32 // its counted votes, as Shortlist.votes
	top, controversy dist  // the two Beta distributions
	_                [24]byte
}

// ShortlistLeaders is how many leaders a Shortlist keeps per score, and ShortlistSample how
// many other candidates each request draws for, uniformly at random. Together they are
// about the 300 candidates of a small consultation, for which a request draws for every
// one: at 256 each, a sequence cost about a third more at 30,000 proposals than at 300 on a
// busy server, for the same quality of the proposals shown (BenchmarkChooseScaleCold300 and
// BenchmarkChooseScaleCold30000; TestChoose_ShortlistKeepsTheDrawsOnTheBest).
const (
	ShortlistLeaders = 128
	ShortlistSample  = 128
)

// ShortlistFrom is the pool size from which the leaders are used: below it, drawing for
// every candidate costs little more than drawing for the shortlist.
const ShortlistFrom = 2 * (ShortlistLeaders + ShortlistSample)

// NewShortlist prepares cands for Choose with cfg (see Shortlist). It reads cands without
// changing them.
func NewShortlist(cands []Candidate, cfg Config) *Shortlist {
	cfg = cfg.clamped()
	sl := &Shortlist{n: len(cands), newMax: cfg.NewMaxVotes, testedMax: cfg.TestedMaxVotes,
		index: make(map[int64]int32, len(cands)), byAuthor: map[string][]int32{}, docs: map[string]int32{},
		votes: make([]int32, len(cands))}
	if len(cands) > 0 {
		sl.first = &cands[0]
	}
	for i := range cands {
		c := &cands[i]
		sl.index[c.ID] = int32(i)
		if c.AuthorID != "" {
			sl.byAuthor[c.AuthorID] = append(sl.byAuthor[c.AuthorID], int32(i))
		}
		for k, w := range c.Keywords {
			if !slices.Contains(c.Keywords[:k], w) {
				sl.docs[w]++
			}
		}
		sl.votes[i] = int32(min(c.Votes, math.MaxInt32))
		p := countedPool(c.Votes, cfg.NewMaxVotes, cfg.TestedMaxVotes)
		sl.size[p]++
		if p == poolNew {
			sl.fresh = append(sl.fresh, int32(i))
		}
		if p != poolTried {
			sl.untried = append(sl.untried, int32(i))
		}
	}
	sl.rareMax = cfg.RareKeywordMaxDocs
	if sl.rareMax >= 2 {
		number := map[string]int32{}
		sl.rareFrom = make([]int32, len(cands)+1)
		for i := range cands {
			sl.rareFrom[i] = int32(len(sl.rareWords))
			kw := cands[i].Keywords
			for k, w := range kw {
				if int(sl.docs[w]) > sl.rareMax || slices.Contains(kw[:k], w) {
					continue
				}
				n, ok := number[w]
				if !ok {
					n = int32(len(number))
					number[w] = n
				}
				sl.rareWords = append(sl.rareWords, n)
			}
		}
		sl.rareFrom[len(cands)] = int32(len(sl.rareWords))
	}
	slices.SortFunc(sl.fresh, func(i, j int32) int {
		a, b := &cands[i], &cands[j]
		if c := cmp.Compare(a.Votes, b.Votes); c != 0 {
			return c
		}
		if c := cmp.Compare(a.AcceptedAt.UnixMicro(), b.AcceptedAt.UnixMicro()); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(cands) < ShortlistFrom {
		return sl // Choose draws for every candidate
	}
	sl.draws = make([]drawable, len(cands))
	for i := range cands {
		c := &cands[i]
		sl.draws[i] = drawable{id: c.ID, i: int32(i), votes: sl.votes[i], top: newDist(topShape(c)), controversy: newDist(controversyShape(c))}
	}
	h := make([]ranked, 0, ShortlistLeaders)
	leaders := func(mean func(c *Candidate) float64) []drawable {
		// The best ShortlistLeaders by mean (ties by lower ID), kept in a heap rather than
		// sorting every candidate.
		h = h[:0]
		for i := range cands {
			h = push(h, ShortlistLeaders, ranked{key: mean(&cands[i]), id: cands[i].ID, i: int32(i)})
		}
		out := make([]drawable, len(h))
		for k, e := range sortRanked(h) {
			out[k] = sl.draws[e.i]
		}
		return out
	}
	sl.top = leaders(func(c *Candidate) float64 {
		a, b := topShape(c)
		return a / (a + b)
	})
	sl.controversy = leaders(func(c *Candidate) float64 {
		a, b := controversyShape(c)
		return a / (a + b)
	})
	return sl
}

// rareOf is candidate i's rare keywords, numbered.
func (sl *Shortlist) rareOf(i int32) []int32 {
	if sl.rareFrom == nil {
		return nil
	}
	return sl.rareWords[sl.rareFrom[i]:sl.rareFrom[i+1]]
}

// countedPool is the pool of a candidate with the given votes.
func countedPool(votes, newMax, testedMax int) pool {
	switch {
	case votes < newMax:
		return poolNew
	case votes < testedMax:
		return poolTested
	}
	return poolTried
}

// fitting says how far sl fits cands and cfg (clamped). All of it fits (full) when it was
// built from this very slice and these thresholds. Only its leaders and shapes fit (lead),
// for a slice of as many candidates, when it was built for an earlier state of them: Concorde
// serves the previous counters' shortlist while it builds the new one, and a draw on counts
// a refresh old, or even for another candidate, breaks no rule.
func (sl *Shortlist) fitting(cands []Candidate, cfg Config) (full, lead *Shortlist) {
	if sl == nil || sl.n != len(cands) {
		return nil, nil
	}
	if sl.draws != nil {
		lead = sl
	}
	if len(cands) > 0 && sl.first == &cands[0] && sl.newMax == cfg.NewMaxVotes && sl.testedMax == cfg.TestedMaxVotes {
		full = sl
	}
	return full, lead
}

// leaders is the shortlist of order o.
func (sl *Shortlist) leaders(o order) []drawable {
	switch o {
	case byTopScore:
		return sl.top
	case byControversy:
		return sl.controversy
	}
	return nil
}

// topShape and controversyShape are the parameters of rule 4's Beta distributions.
func topShape(c *Candidate) (a, b float64) {
	return 1 + count(c.Agree) + count(c.LikeIt), 1 + count(c.Disagree) + count(c.NoWay) + count(c.Neutral)
}

func controversyShape(c *Candidate) (a, b float64) {
	ag, d := count(c.Agree), count(c.Disagree)
	m := min(ag, d)
	return 1 + m, 1 + ag + d + count(c.Neutral) - m
}

// Buffers lets many calls to Choose reuse their working memory (one per call at a time;
// a Buffers may be shared by goroutines). The zero value is ready to use.
type Buffers struct{ pool sync.Pool }

func (b *Buffers) get() *chooser {
	if b == nil {
		return &chooser{}
	}
	if s, ok := b.pool.Get().(*chooser); ok {
		return s
	}
	return &chooser{}
}

func (b *Buffers) put(s *chooser) {
	if b == nil {
		return
	}
	s.cands, s.rng, s.pending, s.short, s.lead, s.author = nil, nil, nil, nil, nil, ""
	b.pool.Put(s)
}
