package results

import (
	"cmp"
	"slices"
)

// Item is one proposal to rank.
type Item struct {
	ProposalID int64
	Themes     []string
	Counts     Counts
	// Coalesced is what coalescing takes off the proposal's sequence votes (nil: nothing):
	// sessions of one source that vote alike count once (Coalesce).
	Coalesced *Adjustment
}

// Ranked is one proposal's place in a Ranking.
type Ranked struct {
	ProposalID int64  `json:"proposal_id"`
	Scores     Scores `json:"scores"`
}

// Ranking sorts a consultation's proposals into their zones.
type Ranking struct {
	Consensus   []Ranked `json:"consensus"`   // by top score, highest first
	Controversy []Ranked `json:"controversy"` // by controversy score, highest first
	Rejection   []Ranked `json:"rejection"`   // by rejection score, highest first
	Limbo       []Ranked `json:"limbo"`       // by proposal id
	// Undetermined holds proposals with enough votes whose intervals clear no zone's
	// thresholds, by proposal id: an order by score would read as a ranking it cannot be.
	Undetermined []Ranked `json:"undetermined"`
	NotEnough    []Ranked `json:"not_enough"` // by proposal id
}

// Rank scores every item and files it under its zone. Ties go to the smaller proposal id,
// so that the same votes always give the same order.
func Rank(items []Item, cfg Config) Ranking {
	var r Ranking
	for _, it := range items {
		r.file(Ranked{ProposalID: it.ProposalID, Scores: ScoreTally(it.Coalesced.Apply(it.Counts.Tally()), cfg)})
	}
	r.sort()
	return r
}

// File files proposals already scored under their zones, ordered as Rank orders them.
func File(scored []Ranked) Ranking {
	var r Ranking
	for _, x := range scored {
		r.file(x)
	}
	r.sort()
	return r
}

func (r *Ranking) file(x Ranked) {
	switch x.Scores.Zone {
	case Consensus:
		r.Consensus = append(r.Consensus, x)
	case Controversy:
		r.Controversy = append(r.Controversy, x)
	case Rejection:
		r.Rejection = append(r.Rejection, x)
	case Limbo:
		r.Limbo = append(r.Limbo, x)
	case Undetermined:
		r.Undetermined = append(r.Undetermined, x)
	default:
		r.NotEnough = append(r.NotEnough, x)
	}
}

func (r *Ranking) sort() {
	sortBy(r.Consensus, byTop)
	sortBy(r.Controversy, byControversy)
	sortBy(r.Rejection, byRejection)
	sortBy(r.Limbo, byID)
	sortBy(r.Undetermined, byID)
	sortBy(r.NotEnough, byID)
}

// order is the score a list is sorted by. It is a plain value rather than a func so that the
// compiler sees that comparisons keep no pointer, and Ranked values stay off the heap.
type order int

const (
	byID order = iota
	byTop
	byControversy
	byRejection
)

func (o order) score(s *Scores) float64 {
	switch o {
	case byTop:
		return s.Top
	case byControversy:
		return s.Controversy
	case byRejection:
		return s.Rejection
	}
	return 0
}

// sortBy sorts by score, highest first, then by proposal id.
func sortBy(xs []Ranked, o order) {
	slices.SortFunc(xs, func(a, b Ranked) int {
		if c := cmp.Compare(o.score(&b.Scores), o.score(&a.Scores)); c != 0 {
			return c
		}
		return cmp.Compare(a.ProposalID, b.ProposalID)
	})
}

// ByTheme returns the items tagged with theme, in their order.
func ByTheme(items []Item, theme string) []Item {
	var out []Item
	for _, it := range items {
		if slices.Contains(it.Themes, theme) {
			out = append(out, it)
		}
	}
	return out
}
