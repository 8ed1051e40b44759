// Package sequence chooses which proposals a participant sees next.
//
// Participants mostly vote on proposals shown a few at a time, in a "sequence". The rules that
// decide what a sequence holds are public, and are these:
//
//  1. Never shown: a proposal the participant has already voted on, a proposal the caller
//     excludes (for example one already shown in this session), and the participant's own
//     proposals.
//  2. Proposals the caller asks for (Request.Include, for example one reached through a shared
//     link) come first, in the order given, as long as rule 1 and the diversity rules (7) allow.
//  0. A proposal's votes are those counted, plus, when the caller gives Request.Pending, the
//     votes on their way that the counters do not hold yet (Concorde counts the sequences
//     that showed a proposal since its counters were last read, every two seconds or so; a
//     negative number counts as none), so that participants arriving together do not all get
//     the same oldest new proposals.
//     Concorde stops counting a card shown once its participant moves on without voting on
//     it (core/booth, pendingCards: they ask for another sequence, vote past cards they
//     skipped, or leave it ten minutes), so that visitors who look and leave, or a script
//     hunting chosen proposals, do not hold the cards they were shown back for good.
//  3. New proposals, with fewer than Config.NewMaxVotes votes (10; Concorde sets it to at
//     least the consultation's min_votes_for_zone), take a share of the Config.Size (12)
//     slots that grows with the backlog: the larger of Config.NewRatio (30%) and the share
//     of new proposals among those the participant may still see, times Size, rounded, less
//     any included proposal that is itself new. So when 600 proposals are accepted at once,
//     sequences hold almost only new ones until the backlog clears, and every proposal
//     reaches the minimum number of votes for a zone before the sequence concentrates on
//     the best (TestChoose_EveryProposalReachesTheMinimumWhenManyArriveAtOnce). Among new
//     proposals the least voted go first, then the oldest accepted (ties by lower ID), so
//     that every new proposal quickly gets enough votes to be judged.
//  4. Tested proposals, with at least NewMaxVotes and fewer than Config.TestedMaxVotes (1,500)
//     votes, fill the remaining slots. First Config.RandomSlots (1) of them, when new
//     proposals leave room, go to tested proposals drawn uniformly at random: without them,
//     a proposal whose first votes were unlucky would rarely be shown again and its
//     estimate would stay biased low (adaptive sampling). The others are filled by Thompson
//     sampling. For each tested proposal the sequence draws a plausible score from a Beta
//     distribution of its votes, which favours proposals that are probably good but also
//     gives uncertain ones a chance:
//     - top score: Beta(1 + agree + likeIt, 1 + disagree + noWay + neutral); neutral votes
//     count against, since a proposal that leaves people indifferent is not a top one;
//     - controversy: Beta(1 + m, 1 + agree + disagree + neutral − m), m = min(agree, disagree),
//     the share of the minority side, which nears one half only when votes split evenly.
//     When both shapes of a Beta distribution are 30 or more (about 30 votes on each side),
//     the draw is one normal draw with the distribution's mean, standard deviation and
//     skewness (z + skewness·(z²−1)/6, the first Cornish-Fisher term), kept inside (0, 1):
//     200,000 such draws cannot be told from exact ones (TestBeta_NormalApproximation), and
//     each costs a third as much.
//     About Config.ControversyRatio (10%) of the Thompson slots, round(ControversyRatio ×
//     those slots), are filled by the controversy draw, before the others. For each slot, among the
//     Config.TopCandidates (10) proposals with the highest draws still available, the one
//     with the fewest votes is taken (ties by higher draw): exposure goes where it sharpens
//     the ranking most.
//  5. When one pool runs short, the other fills in: missing new proposals leave their slots to
//     tested ones, and missing tested proposals leave theirs to more new ones (least voted
//     first).
//  6. Proposals with TestedMaxVotes votes or more come last, chosen like tested ones by the top
//     score draw, only when new and tested proposals cannot fill the sequence. So a sequence
//     is empty only when nothing is left to vote on.
//  7. Diversity: no two proposals of one author in one sequence, and no two that share a rare
//     keyword. A keyword is rare when at most Config.RareKeywordMaxDocs (5) of the candidates
//     given to Choose contain it (counting all of them, voted or not): a word that few
//     proposals use names something specific, and two proposals sharing it are likely
//     variants of one idea; common words (transport, école) say little. Keywords are the
//     significant words of a proposal (see Keywords). A proposal without an author ID is not
//     held to the author rule.
//  8. Apart from included proposals, which stay first, the chosen proposals are shown in a
//     random order, so that neither new nor tested ones always come first.
//  9. When the caller gives a Shortlist built from the same candidates (the same slice) and
//     the same NewMaxVotes and TestedMaxVotes (Concorde builds one each time it reads the
//     counters), the sequence reads what it needs from it instead of going through every
//     candidate, so that its cost no longer grows with the number of proposals (given one
//     built for as many candidates but another slice, as Concorde serves the previous
//     counters' shortlist while it builds the next, only the leaders below are used):
//     - rule 1 finds the proposals voted on, excluded or written by the participant through
//     the shortlist's indexes, and rule 7 takes its keyword counts;
//     - rule 3 reads the new proposals in the order the shortlist ranked them by their
//     counted votes, and stops as soon as the next one, even with no votes on their way,
//     could not be among those it needs; the order it takes them in is rule 3's, votes on
//     their way included. But the share of new proposals that sets rule 3's slots counts
//     the pools by counted votes only: until the next read, a proposal that votes on their
//     way took past NewMaxVotes still counts as new there, though it is ranked and taken as
//     tested (rule 0);
//     - when a pool (by counted votes) holds 512 or more proposals, the draws of rule 4 and
//     6 are made only for the ShortlistLeaders (128) proposals with the highest mean of each
//     Beta distribution, computed when the shortlist is built, and for ShortlistSample (128)
//     other proposals picked uniformly at random among all candidates, once per request for
//     both draws (those outside the pool are skipped). A proposal outside the leaders keeps a
//     chance at every request. So a request draws for about as many proposals at 30,000 as
//     at 300, and the proposals shown are about as good as with a draw for every proposal
//     (TestChoose_ShortlistKeepsTheDrawsOnTheBest). The shortlist keeps the shapes of the
//     Beta distributions, or for the normal approximation their mean, standard deviation and
//     skewness, in single precision (a relative 6e-8, far below a draw's spread for any
//     realistic vote count).
//     Whether or not there is a shortlist, the random slot of rule 4 draws among all tested
//     proposals: in a pool of 512 or more, by picking proposals at random until it finds
//     enough of the pool.
//
// Votes here are sequence votes only: Concorde gives Choose the counts of votes cast with a
// sequence key (see core/results, Trust.Weight), so that votes brought through shared links
// neither draw a proposal into sequences nor keep it out.
//
// All randomness comes from the *rand.Rand the caller passes: the same candidates, request,
// configuration and seed give the same sequence.
package sequence

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/concorde-civic/concorde/core/errs"
)

// Candidate is a proposal that may be shown, with what the sequence needs to know about it.
type Candidate struct {
	ID         int64
	AuthorID   string    // the identity (participant or user) of the author
	AcceptedAt time.Time // when moderation accepted it
	Votes      int       // non-troll votes so far, weighted or raw
	// Vote counts for the Beta draws; they may be weighted.
	Agree, Disagree, Neutral float64
	LikeIt, NoWay            float64
	Keywords                 []string // lower-case significant words of the content, see Keywords
}

// Config tunes the sequence. DefaultConfig gives the values the rules in the package comment cite.
type Config struct {
	Size               int     // proposals per sequence, 1 to 50
	NewRatio           float64 // share of the slots for new proposals, 0 to 1
	NewMaxVotes        int     // a proposal is new while it has fewer votes than this
	TestedMaxVotes     int     // a proposal is tested while it has fewer votes than this
	ControversyRatio   float64 // share of the tested slots drawn by controversy, 0 to 1
	TopCandidates      int     // among this many best draws, the least voted is taken
	RandomSlots        int     // slots for tested proposals drawn uniformly at random, 0 to Size
	RareKeywordMaxDocs int     // a keyword in at most this many candidates is rare; below 2 turns the rule off
}

// DefaultConfig returns the settings of the published rules.
func DefaultConfig() Config {
	return Config{
		Size:               12,
		NewRatio:           0.3,
		NewMaxVotes:        10,
		TestedMaxVotes:     1500,
		ControversyRatio:   0.1,
		TopCandidates:      10,
		RandomSlots:        1,
		RareKeywordMaxDocs: 5,
	}
}

// MaxSize is the largest sequence a Config may ask for.
const MaxSize = 50

// Validate reports the first setting out of its range, as an errs.Invalid error.
func (c Config) Validate() error {
	switch {
	case c.Size < 1 || c.Size > MaxSize:
		return errs.Field("Size", "the sequence size must be between 1 and %d, not %d", MaxSize, c.Size)
	case !(c.NewRatio >= 0 && c.NewRatio <= 1):
		return errs.Field("NewRatio", "the share of new proposals must be between 0 and 1, not %v", c.NewRatio)
	case c.NewMaxVotes < 1:
		return errs.Field("NewMaxVotes", "the vote count under which a proposal is new must be at least 1, not %d", c.NewMaxVotes)
	case c.TestedMaxVotes <= c.NewMaxVotes:
		return errs.Field("TestedMaxVotes", "the vote count under which a proposal is tested (%d) must be above the one for new proposals (%d)", c.TestedMaxVotes, c.NewMaxVotes)
	case !(c.ControversyRatio >= 0 && c.ControversyRatio <= 1):
		return errs.Field("ControversyRatio", "the share of controversy slots must be between 0 and 1, not %v", c.ControversyRatio)
	case c.TopCandidates < 1:
		return errs.Field("TopCandidates", "the number of top candidates must be at least 1, not %d", c.TopCandidates)
	case c.RandomSlots < 0 || c.RandomSlots > c.Size:
		return errs.Field("RandomSlots", "the number of random slots must be between 0 and the sequence size (%d), not %d", c.Size, c.RandomSlots)
	case c.RareKeywordMaxDocs < 0:
		return errs.Field("RareKeywordMaxDocs", "the number of proposals under which a keyword is rare must not be negative, not %d", c.RareKeywordMaxDocs)
	}
	return nil
}

// clamped brings every setting into its range, so that Choose never fails on a bad Config.
func (c Config) clamped() Config {
	c.Size = min(max(c.Size, 1), MaxSize)
	c.NewRatio = clampUnit(c.NewRatio)
	c.ControversyRatio = clampUnit(c.ControversyRatio)
	c.NewMaxVotes = max(c.NewMaxVotes, 1)
	c.TestedMaxVotes = max(c.TestedMaxVotes, c.NewMaxVotes+1)
	c.TopCandidates = max(c.TopCandidates, 1)
	c.RandomSlots = min(max(c.RandomSlots, 0), c.Size)
	return c
}

func clampUnit(x float64) float64 {
	if !(x > 0) { // also NaN
		return 0
	}
	return min(x, 1)
}

// Request says who asks for a sequence and what they must not, or should first, see.
type Request struct {
	Participant string         // the identity compared with Candidate.AuthorID
	Voted       map[int64]bool // proposals the participant already voted on
	Excluded    map[int64]bool // proposals not to show, for example already shown in this session
	Include     []int64        // proposals to put first if the rules allow, for example a shared one
	// Shortlist, when set and built for the same candidates and thresholds, spares going
	// through every candidate and bounds the draws (rule 9).
	Shortlist *Shortlist
	// Buffers, when set, is reused working memory (see Buffers).
	Buffers *Buffers
	// Pending, when set, gives for the candidate at index i the votes on their way that
	// Candidate.Votes does not count yet (the caller's counters lag behind; a proposal it has
	// just shown will most likely be voted on). Without it, everyone asking within one lag
	// would be shown the same oldest new proposals.
	Pending func(i int) int
}

// Choose returns the IDs of the proposals to show next, at most cfg.Size of them, following
// the rules of the package comment. It reads cands without changing them, so many goroutines
// may share one slice; rng must not be shared. cfg should have passed Validate; Choose brings
// settings out of range to the nearest valid value rather than fail.
func Choose(cands []Candidate, req Request, cfg Config, rng *rand.Rand) []int64 {
	cfg = cfg.clamped()
	s := req.Buffers.get()
	defer req.Buffers.put(s)
	s.cands, s.cfg, s.rng, s.pending = cands, cfg, rng, req.Pending
	s.short, s.lead = req.Shortlist.fitting(cands, cfg)
	s.begin(len(cands))
	s.seq = s.seq[:0]
	s.rare = s.rare[:0]
	s.picks = s.picks[:0]
	if s.short != nil {
		s.classifyShort(req)
	} else {
		s.classify(req)
	}

	included, includedNew := s.include(req.Include)
	s.fill(poolNew, byFewest, 1, min(s.newSlots()-includedNew, s.free()))

	s.fill(poolTested, byChance, 1, min(cfg.RandomSlots, s.free()))
	drawSlots := s.free()
	controversySlots := int(math.Round(cfg.ControversyRatio * float64(drawSlots)))
	taken := s.fill(poolTested, byControversy, cfg.TopCandidates, controversySlots)
	s.fill(poolTested, byTopScore, cfg.TopCandidates, drawSlots-taken)

	s.fill(poolNew, byFewest, 1, s.free())
	s.fill(poolTried, byTopScore, cfg.TopCandidates, s.free())

	rest := s.seq[included:]
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	ids := make([]int64, len(s.seq))
	for k, i := range s.seq {
		ids[k] = cands[i].ID
	}
	return ids
}

// pool says where a candidate stands for this request.
type pool uint8

const (
	poolGone   pool = iota // never shown, already taken, or kept out by a diversity rule
	poolNew                // fewer than NewMaxVotes votes
	poolTested             // fewer than TestedMaxVotes votes
	poolTried              // TestedMaxVotes votes or more
)

// order says how a pool is ranked before picking.
type order uint8

const (
	byFewest      order = iota // least voted first, then oldest accepted
	byTopScore                 // highest top-score draw first
	byControversy              // highest controversy draw first
	byChance                   // uniformly random
)

// chooser holds the state of one Choose call.
type chooser struct {
	cands   []Candidate
	cfg     Config
	rng     *rand.Rand
	state   []candState // per candidate, together so that looking at one reads one cache line
	gen     uint32      // this call's stamp
	drawGen uint32      // this ranking's stamp
	size    [4]int      // candidates per pool (with a Shortlist, by counted votes)
	seq     []int32     // indices of the chosen candidates, in choice order
	rank    []ranked
	picks   []int32         // the candidates picked at random for the draws of rule 9, this call
	rare    []rarity        // keywords whose rarity has been counted
	pending func(i int) int // Request.Pending, or nil
	short   *Shortlist      // Request.Shortlist if built for these very candidates, or nil
	lead    *Shortlist      // Request.Shortlist if its leaders may bound the draws, or nil
	author  string          // Request.Participant
}

// candState is what one Choose call knows of a candidate. At 30,000 candidates the draws of
// rule 9 look at candidates scattered over the whole set, each likely out of the processor's
// cache: reading one line per candidate rather than one per field (with drawable) halved a
// request's first-level cache misses there (cachegrind on BenchmarkChooseScaleCold30000:
// 3,754 to 1,862).
type candState struct {
	stamp uint32 // gen when its class was set for this call
	drawn uint32 // drawGen when rankedShort has drawn for it in this ranking
	class pool   // valid where stamp is gen
}

// ranked is a candidate in a ranked pool.
type ranked struct {
	key     float64 // higher is better
	then    float64 // then higher is better
	id      int64   // ties go to the lower ID
	i       int32   // index in cands
	checked int32   // seq[:checked] has been checked for diversity
}

type rarity struct {
	word string
	rare bool
}

func (s *chooser) free() int { return s.cfg.Size - len(s.seq) }

// newSlots is rule 3's share of the slots: the larger of NewRatio and the backlog of new
// proposals among those left to see, leaving RandomSlots to tested proposals when there are any.
func (s *chooser) newSlots() int {
	share := s.cfg.NewRatio
	if left := s.size[poolNew] + s.size[poolTested] + s.size[poolTried]; left > 0 {
		share = max(share, float64(s.size[poolNew])/float64(left))
	}
	n := int(math.Round(share * float64(s.cfg.Size)))
	if s.size[poolTested] > 0 {
		n = min(n, s.cfg.Size-s.cfg.RandomSlots)
	}
	return n
}

// votesOf is a candidate's votes, counting those on their way when the request says.
func (s *chooser) votesOf(i int) int {
	if s.pending != nil {
		return s.cands[i].Votes + max(s.pending(i), 0)
	}
	return s.cands[i].Votes
}

// begin readies the per-candidate state for n candidates: a new stamp makes every class
// unknown without clearing anything.
func (s *chooser) begin(n int) {
	if cap(s.state) < n {
		s.state = make([]candState, n)
	}
	s.state = s.state[:n]
	if s.gen++; s.gen == 0 { // wrapped around: old stamps could match again
		for i := range s.state {
			s.state[i].stamp = 0
		}
		s.gen = 1
	}
}

// classOf is the pool of candidate i for this call. With a Shortlist, it is worked out when
// first asked for; without, classify set them all.
func (s *chooser) classOf(i int32) pool {
	if st := &s.state[i]; st.stamp != s.gen {
		// The shortlist's copy of the votes is read rather than the candidate, which is
		// likely out of cache.
		s.classify1(st, i, s.short.votes[i])
	}
	return s.state[i].class
}

// classOfCounted is classOf for a candidate whose counted votes the caller read already.
func (s *chooser) classOfCounted(i int32, counted int32) pool {
	st := &s.state[i]
	if st.stamp != s.gen {
		s.classify1(st, i, counted)
	}
	return st.class
}

// classify1 sets the class of candidate i from its counted votes and those on their way.
// The participant's own proposals were set apart by classifyShort.
func (s *chooser) classify1(st *candState, i int32, counted int32) {
	votes := int(counted)
	if s.pending != nil {
		votes += max(s.pending(int(i)), 0)
	}
	st.stamp, st.class = s.gen, countedPool(votes, s.cfg.NewMaxVotes, s.cfg.TestedMaxVotes)
}

func (s *chooser) setClass(i int32, p pool) {
	s.state[i].stamp, s.state[i].class = s.gen, p
}

// classify puts every candidate in its pool.
func (s *chooser) classify(req Request) {
	s.size, s.author = [4]int{}, req.Participant
	for i := range s.cands {
		c := &s.cands[i]
		var p pool
		switch {
		case req.Participant != "" && c.AuthorID == req.Participant:
		case len(req.Voted) > 0 && req.Voted[c.ID]:
		case len(req.Excluded) > 0 && req.Excluded[c.ID]:
		default:
			p = countedPool(s.votesOf(i), s.cfg.NewMaxVotes, s.cfg.TestedMaxVotes)
		}
		s.setClass(int32(i), p)
		s.size[p]++
	}
}

// classifyShort takes the pool sizes from the shortlist, by counted votes, less the
// candidates the participant voted on, excluded or wrote, found through its indexes. The
// other candidates get their pool when first looked at (classOf).
func (s *chooser) classifyShort(req Request) {
	sl := s.short
	s.size, s.author = sl.size, req.Participant
	drop := func(i int32) {
		if s.state[i].stamp == s.gen {
			return // dropped already
		}
		s.size[countedPool(s.cands[i].Votes, sl.newMax, sl.testedMax)]--
		s.setClass(i, poolGone)
	}
	if req.Participant != "" {
		for _, i := range sl.byAuthor[req.Participant] {
			drop(i)
		}
	}
	for _, m := range []map[int64]bool{req.Voted, req.Excluded} {
		for id, yes := range m {
			if i, ok := sl.index[id]; ok && yes {
				drop(i)
			}
		}
	}
}

// bound is at least the size of pool p. With a Shortlist, sizes count the counted votes
// only, and votes on their way can move a candidate from a pool to the next, never back.
func (s *chooser) bound(p pool) int {
	if s.short == nil || p == poolGone {
		return s.size[p]
	}
	n := 0
	for q := poolNew; q <= p; q++ {
		n += s.size[q]
	}
	return n
}

// include takes the requested proposals that the rules allow, and says how many it took and
// how many of those were new.
func (s *chooser) include(ids []int64) (taken, newTaken int) {
	for k, id := range ids {
		if s.free() == 0 {
			break
		}
		if slices.Contains(ids[:k], id) {
			continue
		}
		i := s.find(id)
		if i < 0 || s.classOf(i) == poolGone {
			continue
		}
		if s.fits(i, 0) {
			if s.classOf(i) == poolNew {
				newTaken++
			}
			s.take(i)
			taken++
		}
	}
	return taken, newTaken
}

// find is the index of the candidate with the given id, or -1.
func (s *chooser) find(id int64) int32 {
	if s.short != nil {
		if i, ok := s.short.index[id]; ok {
			return i
		}
		return -1
	}
	for i := range s.cands {
		if s.cands[i].ID == id {
			return int32(i)
		}
	}
	return -1
}

func (s *chooser) take(i int32) {
	s.seq = append(s.seq, i)
	s.setClass(i, poolGone)
}

// fill takes up to n candidates from pool p ranked by o: for each slot, among the best window
// candidates that the diversity rules allow, the one with the fewest votes. It returns how
// many it took.
func (s *chooser) fill(p pool, o order, window, n int) int {
	if n <= 0 || s.bound(p) == 0 {
		return 0
	}
	// Ranking only the best few is enough unless diversity rules turn many of them away; then
	// the pool is ranked again, wider.
	k := n + window + 8
	list, partial := s.ranked(p, o, k)
	taken := 0
	for taken < n && s.free() > 0 {
		best, valid := -1, 0
		for j := range list {
			e := &list[j]
			if s.classOf(e.i) != p {
				continue
			}
			if !s.fits(e.i, e.checked) {
				s.setClass(e.i, poolGone) // the rules only tighten as the sequence grows
				continue
			}
			e.checked = int32(len(s.seq))
			if best < 0 || s.votesOf(int(e.i)) < s.votesOf(int(list[best].i)) {
				best = j
			}
			if valid++; valid == window {
				break
			}
		}
		if valid < window && partial {
			k *= 4
			list, partial = s.ranked(p, o, k)
			continue
		}
		if best < 0 {
			break
		}
		s.take(list[best].i)
		taken++
	}
	return taken
}

// ranked returns the best k candidates of pool p by o, best first, and whether the pool holds more.
func (s *chooser) ranked(p pool, o order, k int) (list []ranked, partial bool) {
	k = min(k, s.bound(p))
	if cap(s.rank) < k {
		s.rank = make([]ranked, 0, k)
	}
	h := s.rank[:0]
	if s.lead != nil && p != poolNew && s.size[p] >= ShortlistFrom {
		if leaders := s.lead.leaders(o); leaders != nil {
			return s.rankedShort(p, o, k, leaders, h), false
		}
	}
	if o == byChance && s.size[p] >= ShortlistFrom {
		// Uniform among the pool: candidates picked at random, those outside it skipped.
		return s.rankedShort(p, o, k, nil, h), false
	}
	if s.short != nil && o == byFewest {
		return s.fewest(p, k, h)
	}
	n := 0
	consider := func(i int32) {
		if s.classOf(i) != p {
			return
		}
		n++
		c := &s.cands[i]
		e := ranked{id: c.ID, i: i}
		switch o {
		case byFewest:
			e.key, e.then = -float64(s.votesOf(int(i))), -float64(c.AcceptedAt.UnixMicro())
		case byChance:
			e.key = s.rng.Float64()
		case byTopScore, byControversy:
			e.key = s.draw(c, o)
		}
		h = push(h, k, e)
	}
	if s.short != nil && p != poolTried {
		// With votes on their way, a candidate of pool p has at most p's counted votes.
		for _, i := range s.short.untried {
			consider(i)
		}
	} else {
		for i := range s.cands {
			consider(int32(i))
		}
	}
	s.rank = sortRanked(h)
	return s.rank, n > len(h)
}

// fewest is ranked by fewest votes with a Shortlist: it reads the candidates with few
// counted votes least voted first, and stops once the next one, even with no votes on their
// way (they only add), would not be among the k best so far.
func (s *chooser) fewest(p pool, k int, h []ranked) (list []ranked, partial bool) {
	n := 0
	for _, i := range s.short.fresh {
		c := &s.cands[i]
		// Its counted votes are the least it may have: once that cannot beat the k-th best,
		// neither can the rest, which the shortlist ranks after it.
		least := ranked{id: c.ID, i: i, key: -float64(c.Votes), then: -float64(c.AcceptedAt.UnixMicro())}
		if len(h) == k && !better(least, h[0]) {
			partial = true
			break
		}
		if s.classOf(i) != p {
			continue
		}
		n++
		least.key = -float64(s.votesOf(int(i)))
		h = push(h, k, least)
	}
	s.rank = sortRanked(h)
	return s.rank, partial || n > len(h)
}

// rankedShort is ranked for the draws of rule 9: the leaders of o in pool p, then
// ShortlistSample candidates of the whole set picked at random (those not in p are skipped),
// the same for every draw of one request. By chance (no leaders), it picks at random until
// it has k candidates of p.
func (s *chooser) rankedShort(p pool, o order, k int, leaders []drawable, h []ranked) []ranked {
	if s.drawGen++; s.drawGen == 0 { // wrapped around: old stamps could match again
		for i := range s.state {
			s.state[i].drawn = 0
		}
		s.drawGen = 1
	}
	add := func(i int32, d *drawable) {
		if d == nil && s.lead != nil {
			// The shortlist's compact copy of the candidate is read rather than the
			// candidate, which is likely out of cache.
			d = &s.lead.draws[i]
		}
		// With a full shortlist, lead is that shortlist, so d's votes are the counted ones;
		// without, classify has set every class already.
		if d != nil && s.short != nil {
			if s.classOfCounted(i, d.votes) != p {
				return
			}
		} else if s.classOf(i) != p {
			return
		}
		st := &s.state[i]
		if st.drawn == s.drawGen { // a random pick may repeat a leader or another pick
			return
		}
		st.drawn = s.drawGen
		if o == byChance {
			h = push(h, k, ranked{id: s.cands[i].ID, i: i, key: s.rng.Float64()})
			return
		}
		dist := &d.top
		if o == byControversy {
			dist = &d.controversy
		}
		h = push(h, k, ranked{id: d.id, i: i, key: dist.draw(s.rng)})
	}
	if leaders == nil {
		for range ShortlistSample {
			if len(h) == k {
				break
			}
			add(int32(s.rng.IntN(len(s.cands))), nil)
		}
		s.rank = sortRanked(h)
		return s.rank
	}
	for j := range leaders {
		add(leaders[j].i, &leaders[j])
	}
	if len(s.picks) == 0 {
		// Picked once per request: the second draw finds them in the processor's cache.
		for range ShortlistSample {
			s.picks = append(s.picks, int32(s.rng.IntN(len(s.cands))))
		}
	}
	for _, i := range s.picks {
		add(i, nil)
	}
	s.rank = sortRanked(h)
	return s.rank
}

// draw is rule 4's Thompson draw of c by o (or, by chance, a uniform key).
func (s *chooser) draw(c *Candidate, o order) float64 {
	if o == byChance {
		return s.rng.Float64()
	}
	a, b := topShape(c)
	if o == byControversy {
		a, b = controversyShape(c)
	}
	return beta(s.rng, a, b)
}

// push keeps in h the best k entries seen, as a heap whose root is the worst of them.
func push(h []ranked, k int, e ranked) []ranked {
	if len(h) < k {
		h = append(h, e)
		siftUp(h, len(h)-1)
	} else if better(e, h[0]) {
		h[0] = e
		siftDown(h, 0)
	}
	return h
}

func sortRanked(h []ranked) []ranked {
	slices.SortFunc(h, func(a, b ranked) int {
		if better(a, b) {
			return -1
		}
		return 1
	})
	return h
}

func count(x float64) float64 {
	if !(x > 0) { // negative or NaN counts as none
		return 0
	}
	return x
}

func better(a, b ranked) bool {
	if a.key != b.key {
		return a.key > b.key
	}
	if a.then != b.then {
		return a.then > b.then
	}
	return a.id < b.id
}

// siftUp and siftDown keep h a heap whose root is the worst of the best k.
func siftUp(h []ranked, j int) {
	for j > 0 {
		parent := (j - 1) / 2
		if !better(h[parent], h[j]) {
			break
		}
		h[parent], h[j] = h[j], h[parent]
		j = parent
	}
}

func siftDown(h []ranked, j int) {
	for {
		worst := j
		if l := 2*j + 1; l < len(h) && better(h[worst], h[l]) {
			worst = l
		}
		if r := 2*j + 2; r < len(h) && better(h[worst], h[r]) {
			worst = r
		}
		if worst == j {
			return
		}
		h[j], h[worst] = h[worst], h[j]
		j = worst
	}
}

// fits says whether candidate i may join the sequence, given that seq[:from] was checked already.
func (s *chooser) fits(i int32, from int32) bool {
	c := &s.cands[i]
	if sl := s.short; sl != nil && sl.rareMax == s.cfg.RareKeywordMaxDocs {
		// The shortlist has each candidate's rare keywords numbered: no keyword is compared
		// as a string, nor looked up.
		mine := sl.rareOf(i)
		for _, j := range s.seq[from:] {
			if c.AuthorID != "" && c.AuthorID == s.cands[j].AuthorID {
				return false
			}
			if len(mine) > 0 {
				for _, w := range sl.rareOf(j) {
					if slices.Contains(mine, w) {
						return false
					}
				}
			}
		}
		return true
	}
	for _, j := range s.seq[from:] {
		o := &s.cands[j]
		if c.AuthorID != "" && c.AuthorID == o.AuthorID {
			return false
		}
		if s.cfg.RareKeywordMaxDocs < 2 {
			continue
		}
		for _, w := range c.Keywords {
			if slices.Contains(o.Keywords, w) && s.isRare(w) {
				return false
			}
		}
	}
	return true
}

// isRare counts, once per call, the candidates that contain w, stopping as soon as it is
// common; a Shortlist has them counted already (and fits reads its rare keywords instead
// when it picked them for this Config).
func (s *chooser) isRare(w string) bool {
	if s.short != nil {
		return int(s.short.docs[w]) <= s.cfg.RareKeywordMaxDocs
	}
	for _, r := range s.rare {
		if r.word == w {
			return r.rare
		}
	}
	n := 0
	for i := range s.cands {
		if slices.Contains(s.cands[i].Keywords, w) {
			if n++; n > s.cfg.RareKeywordMaxDocs {
				break
			}
		}
	}
	rare := n <= s.cfg.RareKeywordMaxDocs
	s.rare = append(s.rare, rarity{w, rare})
	return rare
}
