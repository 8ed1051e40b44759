package results

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
)

// Coalescing: sessions from one source that vote alike count as one participant.
//
// Community Notes drops, from raters who select the same notes far more often than chance
// (post-selection similarity, scoring/src/scoring/post_selection_similarity.py), every
// rating on a note but one per clique of such raters: a person with many accounts, or a
// script, then counts once. Here the sequence chooses what each session sees, so sessions
// cannot select their proposals; what gives away one person or one script behind many
// sessions is that they come from the same network source and cast the same votes. Two
// sessions are linked when
//
//   - their sequence votes came mostly from the same source (a keyed hash of the network
//     address, per consultation: core/vote stores no address), or one of them was erased
//     and its source's first SourceBucketChars characters, which is all that erasure keeps,
//     are those of the other's, and
//   - they voted on at least CoalesceConfig.MinCommon proposals in common, and
//   - the Jaccard similarity of their (proposal, vote) pairs is at least
//     CoalesceConfig.MinJaccard: |A∩B| / |A∪B|, so a pair that voted the same way on the
//     proposals they share but on many others apart is not linked.
//
// Linked sessions are gathered transitively (union–find, as Community Notes' cliques), and
// on each proposal the j sessions of a group that voted on it weigh 1/j each: the group
// counts as one vote there, the average of theirs, where Community Notes keeps the first
// rating (an order of arrival would make the result depend on timing; an average does not).
// Sessions behind one address who think differently (a library, a school, an office behind
// one NAT) vote on different proposals, since the sequence draws them at random, and
// differently where they overlap: they are not linked.

// CoalesceConfig holds the thresholds of coalescing.
type CoalesceConfig struct {
	MinCommon  int     // proposals two sessions must both have voted on (5)
	MinJaccard float64 // Jaccard similarity of their (proposal, vote) pairs (0.9)
	// MaxPerProposal bounds the sessions of one source compared through one proposal (200),
	// so that the work stays bounded whatever one source sends (at most 200 × 199 / 2 pairs
	// per proposal): beyond it, each proposal compares another window of that source's
	// sessions (chosen by the proposal's id), so that the others are compared through their
	// other proposals.
	MaxPerProposal int
}

// SourceBucketChars is how much of a source erasure keeps: the first 3 characters of its
// base64 keyed hash (18 bits), so about one network in 260,000 shares a bucket. Erasing a
// participant keeps only that much of their votes' source (core/vote, DetachIn): it no
// longer points to one network, but an erased session is still compared with the sessions
// whose source falls in its bucket, so sessions of one network that vote alike, some erased
// and some not, are still coalesced. Sessions with a whole source are linked only to those
// of the same source (or erased ones of its bucket): two networks that share a bucket do not
// make their people comparable.
const SourceBucketChars = 3

// SourceBucket returns the part of source coalescing compares (see SourceBucketChars).
func SourceBucket(source string) string {
	if len(source) > SourceBucketChars {
		return source[:SourceBucketChars]
	}
	return source
}

// DefaultCoalesceConfig returns the published thresholds.
func DefaultCoalesceConfig() CoalesceConfig {
	return CoalesceConfig{MinCommon: 5, MinJaccard: 0.9, MaxPerProposal: 200}
}

// SessionVotes collects sequence votes with their session and source, for Coalesce.
type SessionVotes struct {
	sessions map[string]int32
	names    []string
	sources  map[string]int32 // source → its number; sources are compared by number
	buckets  map[string]int32 // SourceBucket → its number
	bucketOf []int32          // by source number: its bucket's number
	erased   []bool           // by source number: only a bucket is left (DetachIn)
	votes    []sessionVote
}

type sessionVote struct {
	session  int32
	source   int32 // -1: unknown
	proposal int64
	key      int8
	quals    int16 // bit q: qualification index q
}

// NewSessionVotes makes room for about n votes.
func NewSessionVotes(n int) *SessionVotes {
	return &SessionVotes{sessions: map[string]int32{}, sources: map[string]int32{}, buckets: map[string]int32{}, votes: make([]sessionVote, 0, n)}
}

// Add records session's vote on a proposal (key by Key.Index, qualifications as a bit set
// by Qualification.Index), cast from source ("" if unknown: such a vote links nothing).
func (s *SessionVotes) Add(session, source string, proposalID int64, key int, quals int64) {
	if key < 0 || key >= NumKeys {
		return
	}
	i, ok := s.sessions[session]
	if !ok {
		i = int32(len(s.names))
		s.sessions[session] = i
		s.names = append(s.names, session)
	}
	src := int32(-1)
	if source != "" {
		var ok bool
		if src, ok = s.sources[source]; !ok {
			src = int32(len(s.sources))
			s.sources[source] = src
			b, ok := s.buckets[SourceBucket(source)]
			if !ok {
				b = int32(len(s.buckets))
				s.buckets[SourceBucket(source)] = b
			}
			s.bucketOf = append(s.bucketOf, b)
			s.erased = append(s.erased, len(source) <= SourceBucketChars)
		}
	}
	s.votes = append(s.votes, sessionVote{session: i, source: src, proposal: proposalID, key: int8(key), quals: int16(quals & (1<<NumQualifications - 1))})
}

// Coalesced is what coalescing found, and the correction it makes to each proposal's tally.
type Coalesced struct {
	Groups   int `json:"groups"`   // groups of sessions counted as one participant
	Sessions int `json:"sessions"` // sessions in those groups
	// Digest is the SHA-256 of the groups and corrections, for auditors (see Opinions.Digest).
	Digest string                `json:"digest"`
	adjust map[int64]*Adjustment // by proposal
	// lost is, for each vote of a coalesced session that weighs less than 1, the session and
	// the mass it loses: what ApplyToCells splits by profile cell.
	lost []lostVote
	// group names each coalesced session's group by its first session.
	group map[string]string
}

type lostVote struct {
	session  string
	proposal int64
	key      int8
	quals    int16
	lost     float64
}

// add takes a vote's lost mass into adjustment a.
func (a *Adjustment) add(key int8, quals int16, lost float64) {
	a.Keys[key] += lost
	for q := 3 * int(key); q < 3*int(key)+3; q++ {
		if quals&(1<<q) != 0 {
			a.Quals[q] += lost
		}
	}
	a.Total += lost
}

// SessionNames returns the sessions coalescing counts with others, by identifier.
func (c *Coalesced) SessionNames() []string {
	if c == nil {
		return nil
	}
	out := make([]string, 0, len(c.group))
	for s := range c.group {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// ApplyToCells makes weighted results and segments count coalesced sessions as one, as the
// published scores do: each cell of votes (one proposal, one profile) gets the adjustment of
// the coalesced votes it holds (CellCounts.Coalesced), the profile of each coalesced session
// given by profiles (missing: no profile), and the sample counts each group of sessions as
// one participant, in the cell where most of its sessions are (ties: the least profile in
// profileLess order, so the result does not depend on the order of the sessions). cells and
// sample are not changed; the sample returned is a copy.
func (c *Coalesced) ApplyToCells(cells []CellCounts, sample map[Profile]int64, profiles map[string]Profile) ([]CellCounts, map[Profile]int64) {
	if c == nil || len(c.group) == 0 {
		return cells, sample
	}
	type cellKey struct {
		proposal int64
		profile  Profile
	}
	adjust := map[cellKey]*Adjustment{}
	for _, v := range c.lost {
		k := cellKey{v.proposal, profiles[v.session]}
		a := adjust[k]
		if a == nil {
			a = &Adjustment{}
			adjust[k] = a
		}
		a.add(v.key, v.quals, v.lost)
	}
	out := slices.Clone(cells)
	for i := range out {
		if a := adjust[cellKey{out[i].ProposalID, out[i].Profile}]; a != nil {
			merged := *a
			if prev := out[i].Coalesced; prev != nil {
				merged.Keys, merged.Quals, merged.Total = prev.Keys, prev.Quals, prev.Total
				for k := range merged.Keys {
					merged.Keys[k] += a.Keys[k]
				}
				for q := range merged.Quals {
					merged.Quals[q] += a.Quals[q]
				}
				merged.Total += a.Total
			}
			out[i].Coalesced = &merged
			// A cell of one proposal and profile appears once (core/vote's Segments): its
			// adjustment is taken.
			delete(adjust, cellKey{out[i].ProposalID, out[i].Profile})
		}
	}
	// The sample: each group once, in the cell holding most of its sessions.
	perGroup := map[string]map[Profile]int{}
	for _, s := range c.SessionNames() {
		g := c.group[s]
		if perGroup[g] == nil {
			perGroup[g] = map[Profile]int{}
		}
		perGroup[g][profiles[s]]++
	}
	smp := make(map[Profile]int64, len(sample))
	for p, n := range sample {
		smp[p] = n
	}
	for g, cellsOf := range perGroup {
		home, homeN := profiles[g], cellsOf[profiles[g]]
		for p, n := range cellsOf {
			if n > homeN || (n == homeN && profileLess(p, home)) {
				home, homeN = p, n
			}
		}
		for p, n := range cellsOf {
			keep := 0
			if p == home {
				keep = 1
			}
			smp[p] = max(0, smp[p]-int64(n-keep))
		}
	}
	return out, smp
}

func profileLess(a, b Profile) bool {
	return a.AgeBand+"|"+a.Gender+"|"+a.Area < b.AgeBand+"|"+b.Gender+"|"+b.Area
}

// Adjustment is the vote mass coalescing takes off one proposal's sequence votes.
type Adjustment struct {
	Keys  [NumKeys]float64
	Quals [NumQualifications]float64
	Total float64 // Σ(1 − w) over the proposal's votes
}

// Of returns the adjustment of one proposal (nil if none).
func (c *Coalesced) Of(proposalID int64) *Adjustment {
	if c == nil {
		return nil
	}
	return c.adjust[proposalID]
}

// Apply takes adjustment a off tally t (counts as Counts.Tally gives them): the weighted
// masses shrink, and n and the effective n lose the same. A group's votes on a proposal are
// one observation, their average, not j independent ones at weight 1/j (Kish's formula would
// count them so).
func (a *Adjustment) Apply(t Tally) Tally {
	if a == nil || a.Total == 0 {
		return t
	}
	for k := range t.Keys {
		t.Keys[k] = max(0, t.Keys[k]-a.Keys[k])
	}
	for q := range t.Quals {
		t.Quals[q] = max(0, t.Quals[q]-a.Quals[q])
	}
	t.Total = max(0, t.Total-a.Total)
	t.EffectiveTotal = max(0, t.EffectiveTotal-a.Total)
	return t
}

// Coalesce links sessions that come from one source and vote alike, and computes the
// correction that makes each group count once per proposal (see above). Deterministic:
// sessions are taken in order of their identifier, and each group is named by its first.
func Coalesce(s *SessionVotes, cfg CoalesceConfig) *Coalesced {
	out := &Coalesced{adjust: map[int64]*Adjustment{}}
	n := len(s.names)
	// Canonical order: sessions by identifier, each session's votes by proposal.
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(s.names[a], s.names[b]) })
	rank := make([]int32, n)
	for r, i := range order {
		rank[i] = int32(r)
	}
	votes := slices.Clone(s.votes)
	slices.SortFunc(votes, func(a, b sessionVote) int {
		return cmp.Or(cmp.Compare(rank[a.session], rank[b.session]), cmp.Compare(a.proposal, b.proposal))
	})
	start := make([]int, n+1) // votes of the session of rank r: votes[start[r]:start[r+1]]
	for _, v := range votes {
		start[rank[v.session]+1]++
	}
	for r := range n {
		start[r+1] += start[r]
	}
	// Each session's source: the one most of its votes came from (ties: the one met first in
	// the session's votes, by proposal id); none if most came from no known source.
	source := make([]int32, n)
	var count map[int32]int
	for r := range n {
		clear(count)
		if count == nil {
			count = map[int32]int{}
		}
		best, bestN := int32(-1), 0
		for _, v := range votes[start[r]:start[r+1]] {
			count[v.source]++
			if c := count[v.source]; c > bestN {
				best, bestN = v.source, c
			}
		}
		source[r] = best
	}
	// Sessions that share a source's bucket and a proposal, found by sorting (bucket, proposal,
	// session) triples rather than through a map of lists: a million votes make a million
	// (source, proposal) keys, most with one session.
	type triple struct {
		source   int32
		session  int32
		proposal int64
	}
	var triples []triple
	for r := range n {
		if source[r] < 0 || start[r+1]-start[r] < cfg.MinCommon {
			continue
		}
		for _, v := range votes[start[r]:start[r+1]] {
			triples = append(triples, triple{s.bucketOf[source[r]], int32(r), v.proposal})
		}
	}
	slices.SortFunc(triples, func(x, y triple) int {
		return cmp.Or(cmp.Compare(x.source, y.source), cmp.Compare(x.proposal, y.proposal), cmp.Compare(x.session, y.session))
	})
	type pair struct{ a, b int32 }
	common := map[pair]int{}
	var window []triple
	for i := 0; i < len(triples); {
		j := i + 1
		for j < len(triples) && triples[j].source == triples[i].source && triples[j].proposal == triples[i].proposal {
			j++
		}
		run := triples[i:j]
		if len(run) > cfg.MaxPerProposal {
			off := int(uint64(run[0].proposal) % uint64(len(run)))
			window = append(append(window[:0], run[off:]...), run[:off]...)
			run = window[:cfg.MaxPerProposal]
		}
		for x := range run {
			for y := x + 1; y < len(run); y++ {
				a, b := run[x].session, run[y].session
				if a > b {
					a, b = b, a
				}
				common[pair{a, b}]++
			}
		}
		i = j
	}
	pairs := make([]pair, 0, len(common))
	for p, c := range common {
		// Compared by bucket; linked only from one source, or when erasure left one of the
		// two nothing but its bucket.
		if sa, sb := source[p.a], source[p.b]; c >= cfg.MinCommon && (sa == sb || s.erased[sa] || s.erased[sb]) {
			pairs = append(pairs, p)
		}
	}
	slices.SortFunc(pairs, func(x, y pair) int { return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b)) })
	parent := make([]int32, n)
	for i := range parent {
		parent[i] = int32(i)
	}
	var find func(int32) int32
	find = func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, p := range pairs {
		if jaccard(votes[start[p.a]:start[p.a+1]], votes[start[p.b]:start[p.b+1]]) < cfg.MinJaccard {
			continue
		}
		ra, rb := find(p.a), find(p.b)
		if ra != rb {
			parent[max(ra, rb)] = min(ra, rb) // the group is named by its first session
		}
	}
	// Per group and proposal, the j sessions that voted weigh 1/j each.
	size := map[int32]int{}
	for r := range n {
		size[find(int32(r))]++
	}
	type gp struct {
		group    int32
		proposal int64
	}
	voters := map[gp]int{}
	for r := range n {
		g := find(int32(r))
		if size[g] < 2 {
			continue
		}
		for _, v := range votes[start[r]:start[r+1]] {
			voters[gp{g, v.proposal}]++
		}
	}
	for _, c := range size {
		if c >= 2 {
			out.Groups++
			out.Sessions += c
		}
	}
	for r := range n {
		g := find(int32(r))
		if size[g] < 2 {
			continue
		}
		for _, v := range votes[start[r]:start[r+1]] {
			j := float64(voters[gp{g, v.proposal}])
			if j < 2 {
				continue
			}
			a := out.adjust[v.proposal]
			if a == nil {
				a = &Adjustment{}
				out.adjust[v.proposal] = a
			}
			lost := 1 - 1/j
			a.add(v.key, v.quals, lost)
			out.lost = append(out.lost, lostVote{session: s.names[v.session], proposal: v.proposal, key: v.key, quals: v.quals, lost: lost})
		}
	}
	out.group = map[string]string{}
	for r := range n {
		if g := find(int32(r)); size[g] >= 2 {
			out.group[s.names[order[r]]] = s.names[order[g]]
		}
	}
	out.Digest = out.digest()
	return out
}

// jaccard is |A∩B| / |A∪B| of two sessions' (proposal, key) pairs, each sorted by proposal.
func jaccard(a, b []sessionVote) float64 {
	same, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].proposal < b[j].proposal:
			i++
		case a[i].proposal > b[j].proposal:
			j++
		default:
			if a[i].key == b[j].key {
				same++
			}
			i++
			j++
		}
	}
	union := len(a) + len(b) - same
	if union == 0 {
		return 0
	}
	return float64(same) / float64(union)
}

func (c *Coalesced) digest() string {
	h := sha256.New()
	fmt.Fprintf(h, "coalesced %d %d\n", c.Groups, c.Sessions)
	ids := make([]int64, 0, len(c.adjust))
	for id := range c.adjust {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	r := func(x float64) string { return fmt.Sprintf("%.6f", math.Round(x*1e6)/1e6+0) }
	for _, id := range ids {
		a := c.adjust[id]
		fmt.Fprintf(h, "%d %s", id, r(a.Total))
		for _, x := range a.Keys {
			fmt.Fprintf(h, " %s", r(x))
		}
		for _, x := range a.Quals {
			fmt.Fprintf(h, " %s", r(x))
		}
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}
