package results

// The votes outside the sequence, split by where they were cast (core/vote's origins). They
// are published beside the scores, each place with its own count and rates, and never move a
// score or a zone (see Trust.Weight).

// The places a vote outside the sequence comes from, as core/vote names them.
const (
	OriginDirect  = "direct"  // a shared link, or the proposal's own page
	OriginSearch  = "search"  // found by keyword or theme
	OriginResults = "results" // voted from the results page
	OriginIgnored = "ignored" // a sequence card of a participant who had not earned full weight
)

// BesideOrigins lists the origins of votes published beside, in the order they are published.
func BesideOrigins() []string {
	return []string{OriginDirect, OriginSearch, OriginResults, OriginIgnored}
}

// OriginVotes is one proposal's votes outside the sequence per origin: origin → votes per
// key, by Key.Index.
type OriginVotes map[string][NumKeys]int64

// Add counts n votes with key index k from origin o.
func (v OriginVotes) Add(o string, k int, n int64) {
	if k < 0 || k >= NumKeys {
		return
	}
	x := v[o]
	x[k] += n
	v[o] = x
}

// BesideByOrigin publishes v: for every origin of BesideOrigins (so that exports keep one
// shape), its count and smoothed key rates, with the scores' smoothing. Origins v holds that
// are not in BesideOrigins are left out.
func BesideByOrigin(v OriginVotes, cfg Config) map[string]Beside {
	out := make(map[string]Beside, 4)
	for _, o := range BesideOrigins() {
		x := v[o]
		b := Beside{Votes: x[0] + x[1] + x[2], Rates: make(map[string]float64, NumKeys)}
		for i, k := range keys {
			b.Rates[string(k)] = cfg.rate(float64(x[i]), float64(b.Votes))
		}
		out[o] = b
	}
	return out
}
