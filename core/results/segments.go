package results

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/concorde-civic/concorde/core/errs"
)

// Profile is what a participant chose to tell about themself; "" means not given.
type Profile struct {
	AgeBand string
	Gender  string
	Area    string // region, département or postcode area, as the consultation defines it
}

// The demographic dimensions, as named in SegmentCounts and Margins.
const (
	DimensionAgeBand = "age_band"
	DimensionGender  = "gender"
	DimensionArea    = "area"
)

// Dimensions returns the names of the demographic dimensions.
func Dimensions() []string { return []string{DimensionAgeBand, DimensionGender, DimensionArea} }

// Value is p's value in dimension, "" if not given or if dimension is unknown.
func (p Profile) Value(dimension string) string {
	switch dimension {
	case DimensionAgeBand:
		return p.AgeBand
	case DimensionGender:
		return p.Gender
	case DimensionArea:
		return p.Area
	}
	return ""
}

// SegmentCounts holds a proposal's votes per demographic segment: dimension → value → counts.
// A participant's vote is counted once in each dimension where they gave a value.
type SegmentCounts map[string]map[string]Counts

// Add counts a vote (delta ±1, as Counts.Add) in every segment of p.
func (s SegmentCounts) Add(p Profile, t Trust, k Key, qs []Qualification, delta int64) {
	for _, d := range Dimensions() {
		v := p.Value(d)
		if v == "" {
			continue
		}
		if s[d] == nil {
			s[d] = map[string]Counts{}
		}
		c := s[d][v]
		c.Add(t, k, qs, delta)
		s[d][v] = c
	}
}

// Score scores every segment.
func (s SegmentCounts) Score(cfg Config) map[string]map[string]Scores {
	out := make(map[string]map[string]Scores, len(s))
	for d, values := range s {
		out[d] = make(map[string]Scores, len(values))
		for v, c := range values {
			out[d][v] = Score(c, cfg)
		}
	}
	return out
}

// Cell is one combination of profile values and how many participants have it.
type Cell struct {
	Profile Profile
	Count   int64
}

// Margins gives, per dimension, the population share of each value (from the census or the
// tenant's own reference). Each dimension's shares must sum to 1 (± MarginsTolerance).
type Margins map[string]map[string]float64

// MarginsTolerance is how far from 1 a dimension's shares may sum, for rounded published figures.
const MarginsTolerance = 0.01

// WeightCaps bound each cell's raking weight, relative to 1 for an average participant.
type WeightCaps struct {
	Min float64
	Max float64
}

// DefaultWeightCaps lets one participant count for at most 5 and at least 0.2 average participants.
func DefaultWeightCaps() WeightCaps { return WeightCaps{Min: 0.2, Max: 5} }

// ErrNotConverged is returned, wrapped, with usable weights when raking stopped before
// matching every margin within tol, most often because a cap held a weight back.
var ErrNotConverged = errors.New("raking did not match every margin")

// Rake is RakeCapped with DefaultWeightCaps.
func Rake(cells []Cell, margins Margins, maxIter int, tol float64) ([]float64, error) {
	return RakeCapped(cells, margins, maxIter, tol, DefaultWeightCaps())
}

// RakeCapped computes one weight per cell by iterative proportional fitting (raking): for
// each dimension in turn, it scales the weights of each value's cells so that the value's
// weighted share among participants who gave that dimension equals its population share;
// after each step it bounds the weights (see bound: mean 1 over participants, then caps);
// it repeats until every share is within tol of its margin, or maxIter rounds. See the
// package comment for what missing values, values outside the margins and caps do.
//
// If the margins are not met after maxIter rounds, it returns the weights reached, which
// respect the caps, and an error wrapping ErrNotConverged.
func RakeCapped(cells []Cell, margins Margins, maxIter int, tol float64, caps WeightCaps) ([]float64, error) {
	if maxIter < 1 || !(tol > 0) {
		return nil, errs.E(errs.Invalid, "raking needs at least one iteration and a positive tolerance")
	}
	if !(caps.Min >= 0 && caps.Min <= 1 && caps.Max >= 1) {
		return nil, errs.E(errs.Invalid, "weight caps must satisfy 0 <= min <= 1 <= max, got %v and %v", caps.Min, caps.Max)
	}
	dims, err := checkMargins(margins)
	if err != nil {
		return nil, err
	}
	// value[d][i] is the index of cell i's value in dimension d's values, -1 if not given or
	// if the value has no population share (an "other" answer the margins do not name):
	// both are missing, so they neither help nor hurt.
	values := make([][]string, len(dims))
	value := make([][]int, len(dims))
	for di, d := range dims {
		for v := range margins[d] {
			values[di] = append(values[di], v)
		}
		slices.Sort(values[di])
		value[di] = make([]int, len(cells))
		for i, c := range cells {
			if c.Count < 0 {
				return nil, errs.E(errs.Invalid, "cell %d has a negative count", i)
			}
			value[di][i] = slices.Index(values[di], c.Profile.Value(d))
		}
	}
	w := make([]float64, len(cells))
	for i := range w {
		w[i] = 1
	}
	// mass returns the weighted number of participants per value of dimension di, and their total.
	mass := func(di int) ([]float64, float64) {
		m := make([]float64, len(values[di]))
		total := 0.0
		for i, c := range cells {
			if vi := value[di][i]; vi >= 0 {
				x := w[i] * float64(c.Count)
				m[vi] += x
				total += x
			}
		}
		return m, total
	}
	for di, d := range dims {
		m, _ := mass(di)
		for vi, v := range values[di] {
			if m[vi] == 0 && margins[d][v] > 0 {
				return nil, errs.E(errs.Invalid, "no participant has %s %q, so its share of %v cannot be met", d, v, margins[d][v]).Say("err_raking_empty_cell")
			}
		}
	}

	gap := math.Inf(1)
	for range maxIter {
		for di, d := range dims {
			m, total := mass(di)
			for i := range cells {
				vi := value[di][i]
				if vi < 0 || m[vi] == 0 {
					continue // missing: this step leaves the weight alone
				}
				w[i] *= margins[d][values[di][vi]] * total / m[vi]
			}
			bound(cells, w, caps)
		}
		gap = 0
		for di, d := range dims {
			m, total := mass(di)
			for vi, v := range values[di] {
				gap = max(gap, math.Abs(m[vi]/total-margins[d][v]))
			}
		}
		if gap <= tol {
			return w, nil
		}
	}
	return w, fmt.Errorf("%w within %v after %d rounds (largest gap %.4f)", ErrNotConverged, tol, maxIter, gap)
}

// bound makes the participants' mean weight 1 and every weight lie within caps, in that
// order and repeatedly: capping first and rescaling after (as this package once did) lets
// the rescaling carry a capped cell past its cap. Each round rescales to mean 1 then clamps;
// clamping moves the mean, so it repeats until the mean is 1 again. Since caps.Min ≤ 1 ≤
// caps.Max a fixed point exists, and the rounds approach it geometrically.
func bound(cells []Cell, w []float64, caps WeightCaps) {
	for range 200 {
		var n, sum float64
		for i, c := range cells {
			n += float64(c.Count)
			sum += w[i] * float64(c.Count)
		}
		if n == 0 || sum == 0 {
			return
		}
		scale := n / sum
		if math.Abs(scale-1) < 1e-12 && capped(w, caps) {
			return
		}
		for i := range w {
			w[i] = clamp(w[i]*scale, caps.Min, caps.Max)
		}
	}
}

func capped(w []float64, caps WeightCaps) bool {
	for _, x := range w {
		if x < caps.Min || x > caps.Max {
			return false
		}
	}
	return true
}

// DesignEffect is Kish's design effect of raking weights over participants:
// n·Σ c·w² / (Σ c·w)², with c a cell's participants. 1 means the weights cost no precision;
// 2 means the weighted sample is worth half as many participants as it has.
func DesignEffect(cells []Cell, w []float64) float64 {
	var n, sw, sw2 float64
	for i, c := range cells {
		if i >= len(w) {
			break
		}
		x := float64(c.Count)
		n += x
		sw += x * w[i]
		sw2 += x * w[i] * w[i]
	}
	if sw == 0 {
		return 1
	}
	return n * sw2 / (sw * sw)
}

// checkMargins returns the dimensions of margins, sorted so that raking is reproducible.
func checkMargins(margins Margins) ([]string, error) {
	if len(margins) == 0 {
		return nil, errs.E(errs.Invalid, "raking needs the population shares of at least one dimension")
	}
	dims := make([]string, 0, len(margins))
	for d, shares := range margins {
		if !slices.Contains(Dimensions(), d) {
			return nil, errs.E(errs.Invalid, "dimension %q is unknown; use %s, %s or %s", d, DimensionAgeBand, DimensionGender, DimensionArea)
		}
		sum := 0.0
		for v, s := range shares {
			if v == "" || !(s >= 0 && s <= 1) {
				return nil, errs.E(errs.Invalid, "share of %s %q must be a named value between 0 and 1, got %v", d, v, s)
			}
			sum += s
		}
		if math.Abs(sum-1) > MarginsTolerance {
			return nil, errs.E(errs.Invalid, "shares of dimension %q sum to %.3f; they must sum to 1", d, sum)
		}
		dims = append(dims, d)
	}
	slices.Sort(dims)
	return dims, nil
}

// WeightedCounts combines a proposal's votes, split by cell as in Rake, with the cells'
// raking weights into a tally for ScoreTally. The weights redistribute the vote mass between
// cells; the total stays the trust-weighted number of votes (see Tally). It is
// ShrunkWeightedCounts without shrinkage: each cell's votes are taken as they are.
func WeightedCounts(votesPerCell []Counts, weights []float64) (Tally, error) {
	return ShrunkWeightedCounts(votesPerCell, weights, nil)
}

// ShrunkWeightedCounts is WeightedCounts with each cell's rates pooled towards the
// proposal's (partial pooling, as in multilevel regression and poststratification): a cell
// with m votes on the proposal and prior priors[i] counts as m votes whose rates are
//
//	(x + prior·p̄) / (m + prior)
//
// with x the cell's votes of a key or qualification and p̄ that rate over every cell
// together, unweighted. A cell with few votes on a proposal says little about it on its own,
// and weighting multiplies its noise (and any bloc that claims its profile); pooled, it
// leans on everyone's votes until it has about prior votes of its own, then on its own.
// A prior of 0 (or nil priors) is plain raking; +Inf takes the overall rates for the cell.
func ShrunkWeightedCounts(votesPerCell []Counts, weights, priors []float64) (Tally, error) {
	tallies := make([]Tally, len(votesPerCell))
	for i, c := range votesPerCell {
		tallies[i] = c.Tally()
	}
	return shrunkWeightedTallies(tallies, weights, priors)
}

// shrunkWeightedTallies is ShrunkWeightedCounts from each cell's vote mass (coalesced
// sessions counted as one: CellCounts.Coalesced).
func shrunkWeightedTallies(tallies []Tally, weights, priors []float64) (Tally, error) {
	if len(tallies) != len(weights) || (priors != nil && len(priors) != len(weights)) {
		return Tally{}, errs.E(errs.Invalid, "%d cells of votes but %d weights and %d priors", len(tallies), len(weights), len(priors))
	}
	for _, prior := range priors {
		if !(prior >= 0) {
			return Tally{}, errs.E(errs.Invalid, "a shrinkage prior is %v; it must not be negative", prior)
		}
	}
	var all Tally // every cell together, unweighted: what cells are pooled towards
	for i := range tallies {
		w := weights[i]
		if !(w >= 0) || math.IsInf(w, 1) {
			return Tally{}, errs.E(errs.Invalid, "weight %d is %v; weights must be finite and not negative", i, w)
		}
		addTally(&all, tallies[i])
	}
	t := Tally{Raw: all.Raw}
	var mass, raked, raked2 float64 // Σm, Σwm, Σw²m with m a cell's trust-weighted votes
	for i, c := range tallies {
		w, m := weights[i], c.Total
		if m == 0 {
			continue
		}
		prior := 0.0
		if priors != nil {
			prior = priors[i]
		}
		// pooled is the cell's mass for x of its m votes, pulled towards the overall rate.
		pooled := func(x, overall float64) float64 {
			switch {
			case prior == 0:
				return x
			case math.IsInf(prior, 1):
				return m * overall / all.Total
			}
			return m * (x + prior*overall/all.Total) / (m + prior)
		}
		for k := range t.Keys {
			t.Keys[k] += w * pooled(c.Keys[k], all.Keys[k])
		}
		for q := range t.Quals {
			t.Quals[q] += w * pooled(c.Quals[q], all.Quals[q])
		}
		mass += m
		raked += w * m
		raked2 += w * w * m
	}
	if raked == 0 {
		return Tally{Raw: t.Raw}, nil
	}
	scale := mass / raked
	for k := range t.Keys {
		t.Keys[k] *= scale
	}
	for q := range t.Quals {
		t.Quals[q] *= scale
	}
	t.Total = mass
	t.EffectiveTotal = raked * raked / raked2
	return t, nil
}

// DefaultMinSegmentSize is the fewest participants a segment needs to be published on its
// own (consultation setting min_segment_size).
const DefaultMinSegmentSize = 10

// MergedSegment is the value under which public results gather the segments too small to
// be published on their own.
const MergedSegment = "_merged"

// PublicSegments says under which value each segment of dimension is published, so that no
// published figure rests on fewer than k participants: a segment with k participants or
// more keeps its value; the smaller ones (the participants who did not answer, "",
// included) are gathered under MergedSegment. When they are together still fewer than k,
// the smallest segment that could stand alone joins them, because hiding them would not
// be enough: the whole minus the published segments would give them away. A value absent
// from the result is not published at all (fewer than k participants in every segment
// together). cells are the participants per profile, as for Rake.
func PublicSegments(cells []Cell, dimension string, k int) map[string]string {
	size := map[string]int64{}
	var total int64
	for _, c := range cells {
		size[c.Profile.Value(dimension)] += c.Count
		total += c.Count
	}
	out := make(map[string]string, len(size))
	if total < int64(k) {
		return out
	}
	values := make([]string, 0, len(size))
	for v := range size {
		values = append(values, v)
	}
	// Smallest first, ties by value, so the choice is reproducible.
	slices.SortFunc(values, func(a, b string) int { return cmp.Or(cmp.Compare(size[a], size[b]), cmp.Compare(a, b)) })
	var merged int64
	i := 0
	for ; i < len(values) && size[values[i]] < int64(k); i++ {
		merged += size[values[i]]
		out[values[i]] = MergedSegment
	}
	if merged > 0 && merged < int64(k) && i < len(values) {
		out[values[i]] = MergedSegment
		i++
	}
	for ; i < len(values); i++ {
		out[values[i]] = values[i]
	}
	return out
}
