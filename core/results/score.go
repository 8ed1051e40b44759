package results

import "math"

// Zone is where a proposal stands once its votes are scored.
type Zone string

// The zones, in the order Classify tries them.
const (
	NotEnoughVotes Zone = "not_enough_votes"
	Limbo          Zone = "limbo"
	Consensus      Zone = "consensus"
	Rejection      Zone = "rejection"
	Controversy    Zone = "controversy"
)

// Config holds every number the scores depend on. Start from DefaultConfig: the zero Config
// is not usable. Rates compared with thresholds are the smoothed rates.
type Config struct {
	MinVotes       float64 // weighted votes below which a proposal has NotEnoughVotes (10)
	SmoothingCount float64 // added to each weighted count before dividing (0.33)
	SmoothingTotal float64 // added to the weighted total before dividing (1)
	Z              float64 // normal quantile of the intervals: 1.96 for 95 %

	LimboNeutral float64 // neutral rate from which a proposal is in limbo (0.40)

	ConsensusAgree       float64 // agree rate that alone makes a consensus (0.60)
	ConsensusMaxDisagree float64 // a consensus also when disagree is under this, neutral under ClearMaxNeutral and agree leads (0.15)
	RejectionDisagree    float64 // disagree rate that alone makes a rejection (0.60)
	RejectionMaxAgree    float64 // a rejection also when agree is under this, neutral under ClearMaxNeutral and disagree leads (0.15)
	ClearMaxNeutral      float64 // neutral rate under which a small minority lets the other side win (0.25)
}

// DefaultConfig returns the published thresholds, those of Make.org.
func DefaultConfig() Config {
	return Config{
		MinVotes:             10,
		SmoothingCount:       0.33,
		SmoothingTotal:       1,
		Z:                    1.96,
		LimboNeutral:         0.40,
		ConsensusAgree:       0.60,
		ConsensusMaxDisagree: 0.15,
		RejectionDisagree:    0.60,
		RejectionMaxAgree:    0.15,
		ClearMaxNeutral:      0.25,
	}
}

// Interval is a range that holds the true value with the configured confidence (95 %).
type Interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Scores is everything published about one proposal's votes.
type Scores struct {
	Rates             map[string]float64  `json:"rates"`     // smoothed rate by key and qualification name
	Intervals         map[string]Interval `json:"intervals"` // interval of each rate, same names
	Top               float64             `json:"top"`
	TopInterval       Interval            `json:"top_interval"`
	Controversy       float64             `json:"controversy"`
	Rejection         float64             `json:"rejection"`
	RejectionInterval Interval            `json:"rejection_interval"`
	Engagement        float64             `json:"engagement"`
	Adhesion          float64             `json:"adhesion"`
	Zone              Zone                `json:"zone"`
	Votes             Counts              `json:"votes"`           // raw counts, troll votes included
	WeightedVotes     float64             `json:"weighted_votes"`  // n
	EffectiveVotes    float64             `json:"effective_votes"` // sample size of the intervals
}

// Score scores one proposal's votes with the rules of the package comment.
func Score(c Counts, cfg Config) Scores { return ScoreTally(c.Tally(), cfg) }

// ScoreTally scores a tally, which may carry raking weights (see WeightedCounts).
func ScoreTally(t Tally, cfg Config) Scores {
	n := t.Total
	s := Scores{
		Rates:          make(map[string]float64, NumKeys+NumQualifications),
		Intervals:      make(map[string]Interval, NumKeys+NumQualifications),
		Votes:          t.Raw,
		WeightedVotes:  n,
		EffectiveVotes: t.EffectiveTotal,
	}
	var kr, kv [NumKeys]float64
	for i, k := range keys {
		kr[i] = cfg.rate(t.Keys[i], n)
		var iv Interval
		iv, kv[i] = cfg.interval(t.Keys[i], n, t.EffectiveTotal)
		s.Rates[string(k)], s.Intervals[string(k)] = kr[i], iv
	}
	var qr, qv [NumQualifications]float64
	for i, q := range qualifications {
		qr[i] = cfg.rate(t.Quals[i], n)
		var iv Interval
		iv, qv[i] = cfg.interval(t.Quals[i], n, t.EffectiveTotal)
		s.Rates[string(q)], s.Intervals[string(q)] = qr[i], iv
	}
	a, d, neutral := kr[0], kr[1], kr[2]
	likeIt, doable, platA := qr[0], qr[1], qr[2]
	noWay, impossible, platD := qr[3], qr[4], qr[5]

	s.Top = a + likeIt + doable - noWay - impossible - platA - platD
	s.TopInterval = cfg.sumInterval(s.Top, kv[0]+qv[0]+qv[1]+qv[3]+qv[4]+qv[2]+qv[5])
	s.Rejection = d + noWay + impossible - a - likeIt - doable
	s.RejectionInterval = cfg.sumInterval(s.Rejection, kv[1]+qv[3]+qv[4]+kv[0]+qv[0]+qv[1])
	s.Controversy = min(a, d) + min(likeIt, noWay)
	s.Engagement = 1 - neutral
	s.Adhesion = (t.Keys[0] + cfg.SmoothingCount) / (t.Keys[0] + t.Keys[1] + cfg.SmoothingTotal)
	s.Zone = Classify(a, d, neutral, n, cfg)
	return s
}

// Classify places a proposal from its smoothed key rates and weighted total n.
func Classify(agree, disagree, neutral, n float64, cfg Config) Zone {
	switch {
	case n < cfg.MinVotes:
		return NotEnoughVotes
	case neutral >= cfg.LimboNeutral:
		return Limbo
	case agree >= cfg.ConsensusAgree ||
		(disagree < cfg.ConsensusMaxDisagree && neutral < cfg.ClearMaxNeutral && agree > disagree):
		return Consensus
	case disagree >= cfg.RejectionDisagree ||
		(agree < cfg.RejectionMaxAgree && neutral < cfg.ClearMaxNeutral && disagree > agree):
		return Rejection
	}
	return Controversy
}

// rate is the smoothed rate of x weighted votes out of n.
func (cfg Config) rate(x, n float64) float64 {
	return (x + cfg.SmoothingCount) / (n + cfg.SmoothingTotal)
}

// interval is the Agresti–Coull interval of x weighted votes out of n, with ne the
// effective sample size (ne = n unless raked). It also returns the variance p̃(1−p̃)/ñ that
// sumInterval adds up.
func (cfg Config) interval(x, n, ne float64) (Interval, float64) {
	p := 0.0
	if n > 0 {
		p = x / n
	}
	z2 := cfg.Z * cfg.Z
	nt := ne + z2
	pt := (p*ne + z2/2) / nt
	v := pt * (1 - pt) / nt
	h := cfg.Z * math.Sqrt(v)
	return Interval{Low: clamp(pt-h, 0, 1), High: clamp(pt+h, 0, 1)}, v
}

// sumInterval is the interval of a sum or difference of rates, treating them as independent.
func (cfg Config) sumInterval(center, variance float64) Interval {
	h := cfg.Z * math.Sqrt(variance)
	return Interval{Low: center - h, High: center + h}
}

func clamp(x, lo, hi float64) float64 { return max(lo, min(hi, x)) }
