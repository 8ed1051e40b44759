package results

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// OpinionVotes is the participant × proposal matrix of sequence votes that opinion groups
// and bridging are computed from, filled vote by vote (Add) in any order. Each vote is kept
// as three small numbers, so a million votes take about 12 MB.
type OpinionVotes struct {
	participants map[string]int32
	names        []string
	proposals    map[int64]int32
	ids          []int64
	entries      []opinionEntry
}

type opinionEntry struct {
	p, q int32 // participant, proposal (indexes)
	v    int8  // +1 agree, −1 disagree, 0 neutral
}

// NewOpinionVotes returns an empty matrix sized for about votes votes.
func NewOpinionVotes(votes int) *OpinionVotes {
	return &OpinionVotes{participants: map[string]int32{}, proposals: map[int64]int32{},
		entries: make([]opinionEntry, 0, votes)}
}

// Add records participant's vote with key k on a proposal; an unknown key is ignored. A
// participant votes once per proposal: the caller gives each (participant, proposal) once.
func (m *OpinionVotes) Add(participant string, proposalID int64, k Key) {
	var v int8
	switch k {
	case Agree:
		v = 1
	case Disagree:
		v = -1
	case Neutral:
	default:
		return
	}
	p, ok := m.participants[participant]
	if !ok {
		p = int32(len(m.names))
		m.participants[participant] = p
		m.names = append(m.names, participant)
	}
	q, ok := m.proposals[proposalID]
	if !ok {
		q = int32(len(m.ids))
		m.proposals[proposalID] = q
		m.ids = append(m.ids, proposalID)
	}
	m.entries = append(m.entries, opinionEntry{p, q, v})
}

// Len is the number of votes added.
func (m *OpinionVotes) Len() int { return len(m.entries) }

// GroupsConfig holds every number opinion groups and bridging depend on. Start from
// DefaultGroupsConfig, the published values.
type GroupsConfig struct {
	MinParticipantVotes int     // votes a participant needs to be placed in a group (Pol.is: 7)
	MaxGroups           int     // most opinion groups (Pol.is: 5)
	BaseClusters        int     // participants are first gathered into this many base clusters (Pol.is: 100)
	MinGroupVotes       int     // votes each group needs on a proposal to say whether consensus holds (5)
	GroupAgree          float64 // smoothed agree share each group must reach for consensus across groups (0.60)
	FactorLambda        float64 // Community Notes' l2_lambda on factors (0.03)
	InterceptLambda     float64 // on intercepts: 5 times FactorLambda, as Community Notes
	BridgingAgree       float64 // μ + intercept from which a proposal bridges (0.60)
	BridgingMaxFactor   float64 // largest |factor| of a bridging proposal (Community Notes: 0.5)
	MinBridgingVotes    int     // votes a proposal needs for a bridging verdict (Community Notes: 5)
	Rounds              int     // alternating least squares rounds (40)
	Seed                uint64  // seed of every random start: fixed, so anyone recomputes the same groups
}

// DefaultGroupsConfig returns the published values.
func DefaultGroupsConfig() GroupsConfig {
	return GroupsConfig{
		MinParticipantVotes: 7,
		MaxGroups:           5,
		BaseClusters:        100,
		MinGroupVotes:       5,
		GroupAgree:          0.60,
		FactorLambda:        0.03,
		InterceptLambda:     0.15,
		BridgingAgree:       0.60,
		BridgingMaxFactor:   0.5,
		MinBridgingVotes:    5,
		Rounds:              40,
		Seed:                20261129,
	}
}

// Across says whether a proposal's consensus holds in every opinion group.
type Across string

// The verdicts of consensus across groups.
const (
	AcrossHolds   Across = "holds"   // every group agrees
	AcrossFails   Across = "fails"   // at least one group, with enough votes, does not
	AcrossUnknown Across = "unknown" // no verdict: a group has too few votes on it, or there are no groups
)

// ProposalOpinions is what opinion groups and bridging say about one proposal.
type ProposalOpinions struct {
	ProposalID int64 `json:"proposal_id"`
	// GroupAware is Pol.is's group-aware consensus: the product over groups of each
	// group's smoothed agree share (agree + 1) / (votes + 2). High only when every group agrees.
	GroupAware  float64   `json:"group_aware_consensus"`
	GroupAgree  []float64 `json:"group_agree"` // (agree + 1) / (votes + 2) per group, in Groups order
	GroupVotes  []int     `json:"group_votes"` // votes per group
	Across      Across    `json:"consensus_across_groups"`
	Intercept   float64   `json:"bridging_intercept"` // Community Notes' note intercept
	Factor      float64   `json:"bridging_factor"`    // its position on the axis that divides participants
	Bridging    bool      `json:"bridging"`           // μ + intercept ≥ BridgingAgree and |factor| ≤ BridgingMaxFactor
	SampleVotes int       `json:"sample_votes"`       // votes of placed participants on it
}

// Opinions is the result of Groups for one consultation.
type Opinions struct {
	Votes        int                `json:"votes"`        // sequence votes read
	Participants int                `json:"participants"` // participants with enough votes to be placed
	GroupSizes   []int              `json:"group_sizes"`  // participants per group, largest first
	Silhouette   float64            `json:"silhouette"`   // of the chosen number of groups
	Mean         float64            `json:"bridging_mean"`
	Proposals    []ProposalOpinions `json:"proposals"` // by proposal id
	// Coalesced is the sessions counted as one participant (see Coalesce), computed from the
	// same reading of the votes; nil if not computed.
	Coalesced *Coalesced `json:"coalesced,omitempty"`
	// Digest is the SHA-256 of every published figure, rounded to 6 decimals, so that an
	// auditor compares one line (see Opinions.digest).
	Digest string `json:"digest"`
}

// Groups finds opinion groups as Pol.is does and bridging proposals as Community Notes
// does, from the sequence votes in m (see the package comment). It is deterministic: the
// same votes, in any order, give the same result.
func Groups(m *OpinionVotes, cfg GroupsConfig) Opinions {
	g := newGrouping(m, cfg)
	out := Opinions{Votes: len(m.entries), Participants: g.n}
	labels, sizes, sil := g.cluster()
	out.GroupSizes, out.Silhouette = sizes, sil
	mu, icpt, fac := g.factorize()
	out.Mean = mu

	k := len(sizes)
	agree := make([]int, k*g.m)
	seen := make([]int, k*g.m)
	for i := range g.n {
		gi := labels[i]
		for e := g.rowPtr[i]; e < g.rowPtr[i+1]; e++ {
			q := int(g.cols[e])
			seen[q*k+gi]++
			if g.vals[e] > 0 {
				agree[q*k+gi]++
			}
		}
	}
	out.Proposals = make([]ProposalOpinions, g.m)
	for q := range g.m {
		po := ProposalOpinions{ProposalID: g.ids[q], GroupAware: 1, GroupAgree: make([]float64, k), GroupVotes: make([]int, k),
			Across: AcrossHolds, Intercept: icpt[q], Factor: fac[q], SampleVotes: int(g.colPtr[q+1] - g.colPtr[q])}
		if k < 2 {
			po.Across = AcrossUnknown
		}
		fails := false
		for gi := range k {
			a, s := agree[q*k+gi], seen[q*k+gi]
			r := float64(a+1) / float64(s+2)
			po.GroupAgree[gi], po.GroupVotes[gi] = r, s
			po.GroupAware *= r
			switch {
			case s >= cfg.MinGroupVotes && r < cfg.GroupAgree:
				fails = true
			case s < cfg.MinGroupVotes && po.Across == AcrossHolds:
				po.Across = AcrossUnknown
			}
		}
		if fails && k >= 2 {
			po.Across = AcrossFails
		}
		po.Bridging = po.SampleVotes >= cfg.MinBridgingVotes && mu+icpt[q] >= cfg.BridgingAgree && math.Abs(fac[q]) <= cfg.BridgingMaxFactor
		out.Proposals[q] = po
	}
	out.Digest = out.digest()
	return out
}

// digest hashes every figure of o, rounded to 6 decimals so that the last bits of floating
// point, which may differ between processors, do not change it.
func (o Opinions) digest() string {
	h := sha256.New()
	r := func(x float64) string { return strconv.FormatFloat(math.Round(x*1e6)/1e6+0, 'f', 6, 64) }
	fmt.Fprintf(h, "%d %d %v %s %s\n", o.Votes, o.Participants, o.GroupSizes, r(o.Silhouette), r(o.Mean))
	for _, p := range o.Proposals {
		fmt.Fprintf(h, "%d %s %v %s %s %s %t %d", p.ProposalID, r(p.GroupAware), p.GroupVotes, p.Across, r(p.Intercept), r(p.Factor), p.Bridging, p.SampleVotes)
		for _, a := range p.GroupAgree {
			fmt.Fprintf(h, " %s", r(a))
		}
		h.Write([]byte{'\n'})
	}
	if o.Coalesced != nil {
		fmt.Fprintf(h, "coalesced %s\n", o.Coalesced.Digest)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// WithCoalesced is o with the coalescing c, its digest covering c too.
func (o Opinions) WithCoalesced(c *Coalesced) Opinions {
	o.Coalesced = c
	o.Digest = o.digest()
	return o
}

// Of returns the opinions on one proposal, and whether it had any sequence vote.
func (o *Opinions) Of(proposalID int64) (ProposalOpinions, bool) {
	i, ok := slices.BinarySearchFunc(o.Proposals, proposalID, func(p ProposalOpinions, id int64) int { return cmp.Compare(p.ProposalID, id) })
	if !ok {
		return ProposalOpinions{}, false
	}
	return o.Proposals[i], true
}

// grouping is the sparse matrix of placed participants' votes, in canonical order
// (participants by identifier, proposals by id), by row (rowPtr, cols, vals) and by
// column (colPtr, rows, cvals), with the buffers the computations reuse.
type grouping struct {
	cfg    GroupsConfig
	n, m   int // placed participants, proposals
	ids    []int64
	rowPtr []int32
	cols   []int32
	vals   []float64
	colPtr []int32
	rows   []int32
	cvals  []float64
	mean   []float64 // each proposal's mean vote: the matrix is centred on the fly, the votes stay exact
	rng    *rand.Rand
}

func newGrouping(om *OpinionVotes, cfg GroupsConfig) *grouping {
	g := &grouping{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))}
	// Canonical order, whatever the order of Add: participants by identifier, proposals by id.
	pOrder := make([]int32, len(om.names))
	for i := range pOrder {
		pOrder[i] = int32(i)
	}
	slices.SortFunc(pOrder, func(a, b int32) int { return cmp.Compare(om.names[a], om.names[b]) })
	pRank := make([]int32, len(om.names))
	for r, p := range pOrder {
		pRank[p] = int32(r)
	}
	qOrder := make([]int32, len(om.ids))
	for i := range qOrder {
		qOrder[i] = int32(i)
	}
	slices.SortFunc(qOrder, func(a, b int32) int { return cmp.Compare(om.ids[a], om.ids[b]) })
	qRank := make([]int32, len(om.ids))
	g.m = len(om.ids)
	g.ids = make([]int64, g.m)
	for r, q := range qOrder {
		qRank[q] = int32(r)
		g.ids[r] = om.ids[q]
	}
	// Votes per participant, and which participants are placed (enough votes).
	perP := make([]int32, len(om.names))
	for _, e := range om.entries {
		perP[e.p]++
	}
	placed := make([]int32, len(om.names)) // canonical rank → placed index, or −1
	for r, p := range pOrder {
		if int(perP[p]) >= cfg.MinParticipantVotes {
			placed[r] = int32(g.n)
			g.n++
		} else {
			placed[r] = -1
		}
	}
	// Rows by counting sort (placed index), each row's columns sorted after.
	g.rowPtr = make([]int32, g.n+1)
	for _, e := range om.entries {
		if i := placed[pRank[e.p]]; i >= 0 {
			g.rowPtr[i+1]++
		}
	}
	for i := range g.n {
		g.rowPtr[i+1] += g.rowPtr[i]
	}
	nnz := int(g.rowPtr[g.n])
	g.cols = make([]int32, nnz)
	vals := make([]int8, nnz)
	next := slices.Clone(g.rowPtr[:g.n])
	for _, e := range om.entries {
		if i := placed[pRank[e.p]]; i >= 0 {
			g.cols[next[i]], vals[next[i]] = qRank[e.q], e.v
			next[i]++
		}
	}
	g.vals = make([]float64, nnz)
	for i := range g.n {
		lo, hi := g.rowPtr[i], g.rowPtr[i+1]
		sortRow(g.cols[lo:hi], vals[lo:hi])
		for e := lo; e < hi; e++ {
			g.vals[e] = float64(vals[e])
		}
	}
	// Columns: the same votes by proposal, participants in order.
	g.colPtr = make([]int32, g.m+1)
	for _, q := range g.cols {
		g.colPtr[q+1]++
	}
	for q := range g.m {
		g.colPtr[q+1] += g.colPtr[q]
	}
	g.rows = make([]int32, nnz)
	g.cvals = make([]float64, nnz)
	cnext := slices.Clone(g.colPtr[:g.m])
	for i := range g.n {
		for e := g.rowPtr[i]; e < g.rowPtr[i+1]; e++ {
			q := g.cols[e]
			g.rows[cnext[q]], g.cvals[cnext[q]] = int32(i), g.vals[e]
			cnext[q]++
		}
	}
	return g
}

// sortRow sorts one participant's votes by proposal (insertion sort: rows are short).
func sortRow(cols []int32, vals []int8) {
	for i := 1; i < len(cols); i++ {
		for j := i; j > 0 && cols[j] < cols[j-1]; j-- {
			cols[j], cols[j-1] = cols[j-1], cols[j]
			vals[j], vals[j-1] = vals[j-1], vals[j]
		}
	}
}

// cluster places participants as Pol.is does and returns each placed participant's group
// (groups numbered largest first), the groups' sizes and the silhouette of the choice.
func (g *grouping) cluster() ([]int, []int, float64) {
	if g.n == 0 {
		return nil, nil, 0
	}
	x, y := g.project()
	// Base clusters: k-means on every participant, then groups: k-means on the base
	// clusters' centres weighted by their members, k from 2 to MaxGroups, the best
	// silhouette winning (Pol.is, math/src/polismath/math/clusters.clj).
	base := kmeans(x, y, nil, min(g.cfg.BaseClusters, g.n), g.rng, 20)
	bx, by, bw := base.centres()
	bestK, bestSil := 1, math.Inf(-1)
	var best []int
	for k := 2; k <= g.cfg.MaxGroups && k <= len(bx); k++ {
		c := kmeans(bx, by, bw, k, g.rng, 50)
		if s := silhouette(bx, by, bw, c.label, k); s > bestSil+1e-12 {
			bestK, bestSil, best = k, s, c.label
		}
	}
	if best == nil {
		best, bestSil = make([]int, len(bx)), 0
	}
	// Number groups largest first (then by the centre's first coordinate), so that the
	// same votes always give the same numbering.
	size := make([]int, bestK)
	sx := make([]float64, bestK)
	for b, l := range best {
		size[l] += int(bw[b])
		sx[l] += bx[b] * bw[b]
	}
	order := make([]int, bestK)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(size[b], size[a]); c != 0 {
			return c
		}
		return cmp.Compare(sx[a], sx[b])
	})
	rename := make([]int, bestK)
	sizes := make([]int, bestK)
	for r, l := range order {
		rename[l], sizes[r] = r, size[l]
	}
	labels := make([]int, g.n)
	for i, b := range base.label {
		labels[i] = rename[best[base.remap[b]]]
	}
	return labels, sizes, bestSil
}

// project returns each placed participant's place on the first two principal components
// of the vote matrix, as Pol.is: a proposal a participant did not see counts as the
// proposal's mean vote (so, centred, as 0, which keeps the matrix sparse), components by
// power iteration, and each place scaled by √(proposals / the participant's votes) so that
// who voted on few proposals is not pulled to the centre.
func (g *grouping) project() ([]float64, []float64) {
	mean := make([]float64, g.m)
	for q := range g.m {
		lo, hi := g.colPtr[q], g.colPtr[q+1]
		if hi > lo {
			s := 0.0
			for e := lo; e < hi; e++ {
				s += g.cvals[e]
			}
			mean[q] = s / float64(hi-lo)
		}
	}
	g.mean = mean
	pc1 := g.component(nil)
	pc2 := g.component(pc1)
	x, y := make([]float64, g.n), make([]float64, g.n)
	active := 0
	for q := range g.m {
		if g.colPtr[q+1] > g.colPtr[q] {
			active++
		}
	}
	for i := range g.n {
		var a, b float64
		lo, hi := g.rowPtr[i], g.rowPtr[i+1]
		for e := lo; e < hi; e++ {
			q := g.cols[e]
			c := g.vals[e] - mean[q]
			a += c * pc1[q]
			b += c * pc2[q]
		}
		scale := math.Sqrt(float64(active) / float64(hi-lo))
		x[i], y[i] = a*scale, b*scale
	}
	return x, y
}

// component is the leading eigenvector of CᵀC (C the votes centred on g.mean), orthogonal to prev if
// given, by power iteration from a seeded start; its sign makes its largest entry positive.
func (g *grouping) component(prev []float64) []float64 {
	v := make([]float64, g.m)
	for q := range v {
		v[q] = g.rng.NormFloat64()
	}
	cv := make([]float64, g.n)
	w := make([]float64, g.m)
	orth := func(v []float64) {
		if prev == nil {
			return
		}
		d := dot(v, prev)
		for q := range v {
			v[q] -= d * prev[q]
		}
	}
	orth(v)
	normalize(v)
	// 100 rounds to 1e-7 place participants far more precisely than k-means needs; the
	// fixed bounds keep the result deterministic.
	for range 100 {
		for i := range g.n {
			s := 0.0
			for e := g.rowPtr[i]; e < g.rowPtr[i+1]; e++ {
				q := g.cols[e]
				s += (g.vals[e] - g.mean[q]) * v[q]
			}
			cv[i] = s
		}
		clear(w)
		for i := range g.n {
			for e := g.rowPtr[i]; e < g.rowPtr[i+1]; e++ {
				q := g.cols[e]
				w[q] += (g.vals[e] - g.mean[q]) * cv[i]
			}
		}
		orth(w)
		if normalize(w) == 0 {
			break
		}
		change := 0.0
		for q := range w {
			change = max(change, math.Abs(w[q]-v[q]))
		}
		v, w = w, v
		if change < 1e-7 {
			break
		}
	}
	top := 0
	for q := range v {
		if math.Abs(v[q]) > math.Abs(v[top]) {
			top = q
		}
	}
	if v[top] < 0 {
		for q := range v {
			v[q] = -v[q]
		}
	}
	return v
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func normalize(v []float64) float64 {
	n := math.Sqrt(dot(v, v))
	if n == 0 {
		return 0
	}
	for i := range v {
		v[i] /= n
	}
	return n
}

// clustering is a k-means result: each point's cluster, and the clusters' centres.
type clustering struct {
	label  []int
	cx, cy []float64
	w      []float64 // weight of each cluster
	remap  []int     // cluster → index among non-empty clusters (centres)
}

// kmeans clusters weighted points (w nil: weight 1) into k clusters: k-means++ start from
// rng, then Lloyd's rounds until no point moves or rounds run out.
func kmeans(x, y, w []float64, k int, rng *rand.Rand, rounds int) clustering {
	n := len(x)
	weight := func(i int) float64 {
		if w == nil {
			return 1
		}
		return w[i]
	}
	c := clustering{label: make([]int, n), cx: make([]float64, 0, k), cy: make([]float64, 0, k)}
	d2 := make([]float64, n)
	first := rng.IntN(n)
	c.cx, c.cy = append(c.cx, x[first]), append(c.cy, y[first])
	for i := range n {
		d2[i] = sq(x[i]-x[first]) + sq(y[i]-y[first])
	}
	for len(c.cx) < k {
		total := 0.0
		for i := range n {
			total += d2[i] * weight(i)
		}
		if total == 0 {
			break // fewer distinct points than clusters
		}
		u := rng.Float64() * total
		pick := n - 1
		for i := range n {
			u -= d2[i] * weight(i)
			if u < 0 {
				pick = i
				break
			}
		}
		c.cx, c.cy = append(c.cx, x[pick]), append(c.cy, y[pick])
		for i := range n {
			d2[i] = min(d2[i], sq(x[i]-x[pick])+sq(y[i]-y[pick]))
		}
	}
	k = len(c.cx)
	sx, sy, sw := make([]float64, k), make([]float64, k), make([]float64, k)
	for round := range rounds {
		moved := false
		for i := range n {
			best, bd := 0, math.Inf(1)
			for j := range k {
				if d := sq(x[i]-c.cx[j]) + sq(y[i]-c.cy[j]); d < bd {
					best, bd = j, d
				}
			}
			if round == 0 || c.label[i] != best {
				moved = true
				c.label[i] = best
			}
		}
		if !moved {
			break
		}
		clear(sx)
		clear(sy)
		clear(sw)
		for i := range n {
			l, wi := c.label[i], weight(i)
			sx[l] += x[i] * wi
			sy[l] += y[i] * wi
			sw[l] += wi
		}
		for j := range k {
			if sw[j] > 0 {
				c.cx[j], c.cy[j] = sx[j]/sw[j], sy[j]/sw[j]
			}
		}
	}
	c.w = make([]float64, k)
	for i := range n {
		c.w[c.label[i]] += weight(i)
	}
	c.remap = make([]int, k)
	next := 0
	for j := range k {
		c.remap[j] = -1
		if c.w[j] > 0 {
			c.remap[j] = next
			next++
		}
	}
	return c
}

// centres returns the non-empty clusters' centres and weights, in cluster order.
func (c clustering) centres() ([]float64, []float64, []float64) {
	var x, y, w []float64
	for j := range c.cx {
		if c.w[j] > 0 {
			x, y, w = append(x, c.cx[j]), append(y, c.cy[j]), append(w, c.w[j])
		}
	}
	return x, y, w
}

// silhouette is the weighted mean silhouette of a clustering of weighted points: for each
// point, (b − a) / max(a, b) with a its mean distance to its own cluster and b to the
// nearest other cluster.
func silhouette(x, y, w []float64, label []int, k int) float64 {
	n := len(x)
	sum := make([]float64, k)
	weightOf := make([]float64, k)
	var total, wsum float64
	for i := range n {
		clear(sum)
		clear(weightOf)
		for j := range n {
			if j == i {
				continue
			}
			sum[label[j]] += math.Sqrt(sq(x[i]-x[j])+sq(y[i]-y[j])) * w[j]
			weightOf[label[j]] += w[j]
		}
		// Another member of i's base cluster is at distance 0: w[i]−1 of them.
		weightOf[label[i]] += w[i] - 1
		if weightOf[label[i]] <= 0 {
			continue // alone in its cluster: silhouette 0 (Rousseeuw)
		}
		own := sum[label[i]] / weightOf[label[i]]
		other := math.Inf(1)
		for l := range k {
			if l != label[i] && weightOf[l] > 0 {
				other = min(other, sum[l]/weightOf[l])
			}
		}
		if math.IsInf(other, 1) {
			continue
		}
		if d := max(own, other); d > 0 {
			total += w[i] * (other - own) / d
		}
		wsum += w[i]
	}
	if wsum == 0 {
		return 0
	}
	return total / wsum
}

func sq(x float64) float64 { return x * x }

// factorize fits Community Notes' model, rating ≈ μ + i_participant + i_proposal +
// f_participant·f_proposal, with agree = 1, neutral = ½, disagree = 0, by alternating least
// squares (each participant's and each proposal's pair solved exactly in turn, which is
// deterministic where gradient descent depends on its schedule). Regularisation is
// Community Notes': λ on factors and 5λ on intercepts, per parameter and averaged over
// ratings as in its loss, so a parameter with r ratings is shrunk as if by λ·N/count
// ratings of 0. It returns μ and each proposal's intercept and factor.
func (g *grouping) factorize() (float64, []float64, []float64) {
	nnz := len(g.vals)
	ui, uf := make([]float64, g.n), make([]float64, g.n)
	pi, pf := make([]float64, g.m), make([]float64, g.m)
	if nnz == 0 {
		return 0, pi, pf
	}
	for i := range uf {
		uf[i] = 0.1 * g.rng.NormFloat64()
	}
	for q := range pf {
		pf[q] = 0.1 * g.rng.NormFloat64()
	}
	rating := func(v float64) float64 { return (v + 1) / 2 }
	// Community Notes' loss is mean squared error + λ·mean(params²): in sums, each
	// participant parameter gets λ·nnz/n and each proposal parameter λ·nnz/m.
	luI, luF := g.cfg.InterceptLambda*float64(nnz)/float64(max(g.n, 1)), g.cfg.FactorLambda*float64(nnz)/float64(max(g.n, 1))
	lpI, lpF := g.cfg.InterceptLambda*float64(nnz)/float64(max(g.m, 1)), g.cfg.FactorLambda*float64(nnz)/float64(max(g.m, 1))
	mu := 0.0
	for _, v := range g.vals {
		mu += rating(v)
	}
	mu /= float64(nnz)
	// solve returns the ridge solution (a, b) of Σ (e − a − b·f)² + la·a² + lb·b².
	solve := func(s1, sf, sff, se, sef, la, lb float64) (float64, float64) {
		a11, a12, a22 := s1+la, sf, sff+lb
		det := a11*a22 - a12*a12
		if det <= 0 {
			return 0, 0
		}
		return (a22*se - a12*sef) / det, (a11*sef - a12*se) / det
	}
	for range g.cfg.Rounds {
		for i := range g.n {
			var s1, sf, sff, se, sef float64
			for e := g.rowPtr[i]; e < g.rowPtr[i+1]; e++ {
				q := g.cols[e]
				r := rating(g.vals[e]) - mu - pi[q]
				f := pf[q]
				s1++
				sf += f
				sff += f * f
				se += r
				sef += r * f
			}
			ui[i], uf[i] = solve(s1, sf, sff, se, sef, luI, luF)
		}
		for q := range g.m {
			var s1, sf, sff, se, sef float64
			for e := g.colPtr[q]; e < g.colPtr[q+1]; e++ {
				i := g.rows[e]
				r := rating(g.cvals[e]) - mu - ui[i]
				f := uf[i]
				s1++
				sf += f
				sff += f * f
				se += r
				sef += r * f
			}
			pi[q], pf[q] = solve(s1, sf, sff, se, sef, lpI, lpF)
		}
		// The global intercept, left unregularised: it is the mean the others are read from.
		s := 0.0
		for i := range g.n {
			for e := g.rowPtr[i]; e < g.rowPtr[i+1]; e++ {
				q := g.cols[e]
				s += rating(g.vals[e]) - ui[i] - pi[q] - uf[i]*pf[q]
			}
		}
		mu = s / float64(nnz)
	}
	// The factor's sign is arbitrary: fix it by making the largest proposal factor positive.
	top := 0
	for q := range pf {
		if math.Abs(pf[q]) > math.Abs(pf[top]) {
			top = q
		}
	}
	if len(pf) > 0 && pf[top] < 0 {
		for q := range pf {
			pf[q] = -pf[q]
		}
	}
	return mu, pi, pf
}
