package sequence

import (
	"cmp"
	"slices"
	"sync"
)

// Shortlist bounds the Thompson draws of rule 9 (see the package comment): built once per
// set of candidates (Concorde builds it when it loads a consultation's counters), it holds
// the candidates with the highest posterior mean top score and controversy score. Choose
// then draws only for those leaders and a few others picked uniformly at random per request,
// instead of for every tested proposal, so a request costs about the same for 300 proposals
// as for 30,000.
type Shortlist struct {
	n                int             // the number of candidates it was built for
	top, controversy []int32         // candidate indexes, highest posterior mean first
	index            map[int64]int32 // candidate id → index
}

// ShortlistLeaders is how many leaders a Shortlist keeps per score, and ShortlistSample how
// many other candidates each request draws for, uniformly at random.
const (
	ShortlistLeaders = 256
	ShortlistSample  = 256
)

// shortlistFrom is the pool size from which the shortlist is used: below it, drawing for
// every candidate costs little more than drawing for the shortlist.
const shortlistFrom = 2 * (ShortlistLeaders + ShortlistSample)

// NewShortlist ranks cands by the means of their two Beta distributions (rule 4) and keeps
// the leaders of each. It reads cands without changing them.
func NewShortlist(cands []Candidate) *Shortlist {
	sl := &Shortlist{n: len(cands), index: make(map[int64]int32, len(cands))}
	for i := range cands {
		sl.index[cands[i].ID] = int32(i)
	}
	if len(cands) < shortlistFrom {
		return sl // Choose draws for every candidate
	}
	type scored struct {
		i    int32
		mean float64
	}
	xs := make([]scored, len(cands))
	leaders := func(mean func(c *Candidate) float64) []int32 {
		for i := range cands {
			xs[i] = scored{int32(i), mean(&cands[i])}
		}
		slices.SortFunc(xs, func(a, b scored) int {
			if c := cmp.Compare(b.mean, a.mean); c != 0 {
				return c
			}
			return cmp.Compare(cands[a.i].ID, cands[b.i].ID)
		})
		out := make([]int32, ShortlistLeaders)
		for k := range out {
			out[k] = xs[k].i
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

// indexOf is the index of candidate ids, if the shortlist fits cands.
func (sl *Shortlist) indexOf(cands []Candidate) map[int64]int32 {
	if sl == nil || sl.n != len(cands) {
		return nil
	}
	return sl.index
}

// leaders is the shortlist of order o, if the shortlist fits cands.
func (sl *Shortlist) leaders(cands []Candidate, o order) []int32 {
	if sl == nil || sl.n != len(cands) {
		return nil
	}
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
	s.cands, s.rng, s.pending, s.short = nil, nil, nil, nil
	b.pool.Put(s)
}
