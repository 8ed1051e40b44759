package results

import (
	"errors"
	"slices"
	"strings"
)

// Results split by profile segment and weighted to population margins, from the votes of
// each profile cell (core/vote's Service.Segments reads them). The JSON API serves these as
// they are; SegmentCounts, Rake and WeightedCounts do the counting and the weighting.

// CellCounts is the votes on one proposal from the participants of one profile cell
// (a combination of the optional profile answers; all empty for those who gave none).
type CellCounts struct {
	ProposalID int64
	Profile    Profile
	Counts     Counts
	// Coalesced is the vote mass coalescing takes off these votes (Coalesced.ApplyToCells),
	// nil if none: sessions counted as one weigh as one here too.
	Coalesced *Adjustment
}

// tally is the cell's vote mass, coalesced sessions counted as one.
func (c CellCounts) tally() Tally {
	return c.Coalesced.Apply(c.Counts.Tally())
}

// addTally adds the vote mass of o to t.
func addTally(t *Tally, o Tally) {
	t.Raw.Merge(o.Raw)
	for k := range t.Keys {
		t.Keys[k] += o.Keys[k]
	}
	for q := range t.Quals {
		t.Quals[q] += o.Quals[q]
	}
	t.Total += o.Total
	t.EffectiveTotal += o.EffectiveTotal
}

// Unanswered is the segment of those who did not give a dimension, in SplitBy.
const Unanswered = ""

// SplitBy scores every proposal within each value of dimension, Unanswered included:
// value → proposal id → scores.
func SplitBy(cells []CellCounts, dimension string, cfg Config) map[string]map[int64]Scores {
	tallies := map[string]map[int64]*Tally{}
	for _, c := range cells {
		v := c.Profile.Value(dimension) // who did not answer are a segment of their own here
		if tallies[v] == nil {
			tallies[v] = map[int64]*Tally{}
		}
		t := tallies[v][c.ProposalID]
		if t == nil {
			t = &Tally{}
			tallies[v][c.ProposalID] = t
		}
		addTally(t, c.tally())
	}
	out := map[string]map[int64]Scores{}
	for v, per := range tallies {
		out[v] = make(map[int64]Scores, len(per))
		for id, t := range per {
			out[v][id] = ScoreTally(*t, cfg)
		}
	}
	return out
}

// WeightedCell is one profile cell of a weighting: its participants and its raking weight.
type WeightedCell struct {
	Profile      Profile `json:"profile"`
	Participants int64   `json:"participants"`
	Weight       float64 `json:"weight"`
}

// Weighting is a consultation's results with each participant's votes weighted by raking
// their profile cell to the population margins.
type Weighting struct {
	Cells     []WeightedCell // by profile
	Converged bool           // false when raking stopped short of a margin (see Rake)
	// DesignEffect is Kish's: participants per effective participant under these weights.
	DesignEffect float64
	Scores       map[int64]Scores // per proposal
	Ranking      Ranking          // the proposals in their zones, ordered as Rank orders them
}

// Weigh rakes the sample (participants per profile cell) to margins, then scores each of
// proposals with its votes per cell (cells) weighted accordingly, each cell's rates pooled
// towards the proposal's with a prior of cfg.MinVotes votes (ShrunkWeightedCounts): a cell
// counts on its own once it has as many votes on the proposal as a zone needs.
func Weigh(proposals []int64, cells []CellCounts, sample map[Profile]int64, margins Margins, cfg Config) (Weighting, error) {
	profiles := make([]Profile, 0, len(sample))
	for p := range sample {
		profiles = append(profiles, p)
	}
	slices.SortFunc(profiles, func(a, b Profile) int {
		return strings.Compare(a.AgeBand+"|"+a.Gender+"|"+a.Area, b.AgeBand+"|"+b.Gender+"|"+b.Area)
	})
	rc := make([]Cell, len(profiles))
	index := make(map[Profile]int, len(profiles))
	for i, p := range profiles {
		rc[i] = Cell{Profile: p, Count: sample[p]}
		index[p] = i
	}
	out := Weighting{Converged: true, Scores: make(map[int64]Scores, len(proposals))}
	weights, err := Rake(rc, margins, 100, 0.005)
	if errors.Is(err, ErrNotConverged) {
		out.Converged = false
	} else if err != nil {
		return Weighting{}, err
	}
	for i, p := range profiles {
		out.Cells = append(out.Cells, WeightedCell{Profile: p, Participants: sample[p], Weight: weights[i]})
	}
	out.DesignEffect = DesignEffect(rc, weights)
	perProposal := map[int64][]Tally{}
	for _, c := range cells {
		i, ok := index[c.Profile]
		if !ok {
			continue // votes of a cell with no participant in the sample: none with a sequence vote
		}
		v := perProposal[c.ProposalID]
		if v == nil {
			v = make([]Tally, len(profiles))
			perProposal[c.ProposalID] = v
		}
		addTally(&v[i], c.tally())
	}
	priors := make([]float64, len(profiles))
	for i := range priors {
		priors[i] = cfg.CellPrior
	}
	ranked := make([]Ranked, 0, len(proposals))
	for _, id := range proposals {
		v := perProposal[id]
		if v == nil {
			v = make([]Tally, len(profiles))
		}
		tally, err := shrunkWeightedTallies(v, weights, priors)
		if err != nil {
			return Weighting{}, err
		}
		sc := ScoreTally(tally, cfg)
		out.Scores[id] = sc
		ranked = append(ranked, Ranked{ProposalID: id, Scores: sc})
	}
	out.Ranking = File(ranked)
	return out, nil
}
