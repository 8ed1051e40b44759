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
	// Undetermined is a proposal with enough votes whose intervals do not clear the
	// thresholds of the zone its rates point to: publishing that zone could be chance.
	Undetermined Zone = "undetermined"
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

	// CellPrior is, in weighted results, how many votes of everyone's a profile cell's votes
	// on a proposal are pooled with (ShrunkWeightedCounts): 100, the prior of a difference of
	// about 5 points between one profile and everyone (¼ ÷ 0.05²).
	CellPrior float64
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
		CellPrior:            100,
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
	Leaning           Zone                `json:"leaning,omitempty"` // when undetermined: the zone the rates alone point to
	Votes             Counts              `json:"votes"`             // raw counts, troll votes included
	WeightedVotes     float64             `json:"weighted_votes"`    // n
	EffectiveVotes    float64             `json:"effective_votes"`   // sample size of the intervals
	// Beside is the votes cast through a shared link or a search, published beside the
	// scores: they never move a score, an interval or a zone.
	Beside Beside `json:"beside"`
}

// Beside is what the votes outside the sequence (Trusted: a direct link or a search) say
// about a proposal: their own count and smoothed key rates, with the same smoothing as
// the scores'.
type Beside struct {
	Votes int64              `json:"votes"`
	Rates map[string]float64 `json:"rates"` // agree, disagree, neutral
}

// BesideOf is the Beside of raw counts c.
func BesideOf(c Counts, cfg Config) Beside {
	b := Beside{Votes: c.Total(Trusted), Rates: make(map[string]float64, NumKeys)}
	for i, k := range keys {
		b.Rates[string(k)] = cfg.rate(float64(c.Votes[Trusted][i]), float64(b.Votes))
	}
	return b
}

// Counted returns the vote mass the rates of s were read from, per key and qualification
// (cfg's smoothing undone, rounded to hundredths): sequence votes, with the sessions that
// coalescing counts as one counted once. It is what a page shows beside a zone, so that the
// figures and the zone agree; Votes keeps the raw counts.
func (s Scores) Counted(cfg Config) (byKey [NumKeys]float64, byQual [NumQualifications]float64) {
	unsmooth := func(rate float64) float64 {
		x := rate*(s.WeightedVotes+cfg.SmoothingTotal) - cfg.SmoothingCount
		return max(0, math.Round(x*100)/100)
	}
	for i, k := range keys {
		byKey[i] = unsmooth(s.Rates[string(k)])
	}
	for i, q := range qualifications {
		byQual[i] = unsmooth(s.Rates[string(q)])
	}
	return byKey, byQual
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
		Beside:         BesideOf(t.Raw, cfg),
	}
	var kr [NumKeys]float64
	for i, k := range keys {
		kr[i] = cfg.rate(t.Keys[i], n)
		s.Rates[string(k)], s.Intervals[string(k)] = kr[i], cfg.interval(t.Keys[i], n, t.EffectiveTotal)
	}
	var qr [NumQualifications]float64
	for i, q := range qualifications {
		qr[i] = cfg.rate(t.Quals[i], n)
		s.Rates[string(q)], s.Intervals[string(q)] = qr[i], cfg.interval(t.Quals[i], n, t.EffectiveTotal)
	}
	a, d, neutral := kr[0], kr[1], kr[2]
	likeIt, doable, platA := qr[0], qr[1], qr[2]
	noWay, impossible, platD := qr[3], qr[4], qr[5]

	s.Top = a + likeIt + doable - noWay - impossible - platA - platD
	s.TopInterval = cfg.jointInterval(s.Top, kr, qr, topKey, topQual, t.EffectiveTotal)
	s.Rejection = d + noWay + impossible - a - likeIt - doable
	s.RejectionInterval = cfg.jointInterval(s.Rejection, kr, qr, rejectionKey, rejectionQual, t.EffectiveTotal)
	s.Controversy = min(a, d) + min(likeIt, noWay)
	s.Engagement = 1 - neutral
	s.Adhesion = (t.Keys[0] + cfg.SmoothingCount) / (t.Keys[0] + t.Keys[1] + cfg.SmoothingTotal)
	s.Zone = Classify(a, d, neutral, n, cfg)
	if s.Zone != NotEnoughVotes && !cfg.clears(s.Zone, s.Intervals) {
		s.Zone, s.Leaning = Undetermined, s.Zone
	}
	return s
}

// The coefficients of the top and rejection scores, per key and qualification (index order).
var (
	topKey        = [NumKeys]float64{1, 0, 0}
	topQual       = [NumQualifications]float64{1, 1, -1, -1, -1, -1, 0, 0, 0}
	rejectionKey  = [NumKeys]float64{-1, 1, 0}
	rejectionQual = [NumQualifications]float64{-1, -1, 0, 1, 1, 0, 0, 0, 0}
)

// jointInterval is the interval of a score Σ ck·key + Σ cq·qualification, centred on its
// value. The score is the mean over votes of what each vote adds (y = ck of its key + cq of
// each qualification it carries), so its variance is Var(y)/ne, with Var(y) taken from the
// distribution of a vote's key and qualifications together: key rates and qualification
// rates are not independent (every likeIt is an agree). The counters hold how often each
// qualification was given, not how often two qualifications of one key were given
// together; for that co-occurrence E[qq'] the interval takes the value, within its Fréchet
// bounds max(0, q+q'−key) … min(q, q'), that makes the variance largest, so it errs wide,
// never narrow. Rates are the smoothed ones, which keeps the variance of a few unanimous
// votes above zero.
func (cfg Config) jointInterval(center float64, kr [NumKeys]float64, qr [NumQualifications]float64,
	ck [NumKeys]float64, cq [NumQualifications]float64, ne float64) Interval {
	if !(ne > 0) {
		// No votes: the interval is every value one vote could give.
		iv := Interval{Low: math.Inf(1), High: math.Inf(-1)}
		for k := range NumKeys {
			lo, hi := ck[k], ck[k]
			for _, c := range cq[3*k : 3*k+3] {
				lo, hi = lo+min(0, c), hi+max(0, c)
			}
			iv.Low, iv.High = min(iv.Low, lo), max(iv.High, hi)
		}
		return iv
	}
	var mean, second float64
	for k := range NumKeys {
		pk := kr[k]
		qs := qr[3*k : 3*k+3]
		cs := cq[3*k : 3*k+3]
		mean += ck[k] * pk
		second += ck[k] * ck[k] * pk
		for j := range 3 {
			mean += cs[j] * qs[j]
			second += (2*ck[k]*cs[j] + cs[j]*cs[j]) * qs[j]
			for l := j + 1; l < 3; l++ {
				c := cs[j] * cs[l]
				switch {
				case c > 0:
					second += 2 * c * min(qs[j], qs[l])
				case c < 0:
					second += 2 * c * max(0, qs[j]+qs[l]-pk)
				}
			}
		}
	}
	v := max(0, second-mean*mean) / ne
	h := cfg.Z * math.Sqrt(v)
	return Interval{Low: center - h, High: center + h}
}

// clears reports whether the intervals of the key rates place a proposal in zone z for
// sure, and not only its rates: each threshold the zone's rule compares a rate with must
// be cleared by the whole interval of that rate. Controversy, what is left over, must be
// sure not to be any other zone.
func (cfg Config) clears(z Zone, iv map[string]Interval) bool {
	a, d, n := iv[string(Agree)], iv[string(Disagree)], iv[string(Neutral)]
	switch z {
	case Limbo:
		return n.Low >= cfg.LimboNeutral
	case Consensus:
		return a.Low >= cfg.ConsensusAgree ||
			(d.High < cfg.ConsensusMaxDisagree && n.High < cfg.ClearMaxNeutral && a.Low > d.High)
	case Rejection:
		return d.Low >= cfg.RejectionDisagree ||
			(a.High < cfg.RejectionMaxAgree && n.High < cfg.ClearMaxNeutral && d.Low > a.High)
	case Controversy:
		mayConsensus := a.High >= cfg.ConsensusAgree ||
			(d.Low < cfg.ConsensusMaxDisagree && n.Low < cfg.ClearMaxNeutral && a.High > d.Low)
		mayRejection := d.High >= cfg.RejectionDisagree ||
			(a.Low < cfg.RejectionMaxAgree && n.Low < cfg.ClearMaxNeutral && d.High > a.Low)
		return n.High < cfg.LimboNeutral && !mayConsensus && !mayRejection
	}
	return true
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
// effective sample size (ne = n unless raked).
func (cfg Config) interval(x, n, ne float64) Interval {
	p := 0.0
	if n > 0 {
		p = x / n
	}
	z2 := cfg.Z * cfg.Z
	nt := ne + z2
	pt := (p*ne + z2/2) / nt
	v := pt * (1 - pt) / nt
	h := cfg.Z * math.Sqrt(v)
	return Interval{Low: clamp(pt-h, 0, 1), High: clamp(pt+h, 0, 1)}
}

func clamp(x, lo, hi float64) float64 { return max(lo, min(hi, x)) }
