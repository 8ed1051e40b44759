package results

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Counts holds a proposal's votes per trust level, key and qualification. It is a plain
// value (no maps, no pointers) so that it can be updated on every vote without allocating
// and compared with ==.
type Counts struct {
	Votes [NumTrusts][NumKeys]int64           // [Trust][Key.Index()]
	Quals [NumTrusts][NumQualifications]int64 // [Trust][Qualification.Index()]
}

// Add counts one vote (delta +1) or takes it back (delta -1). A changed vote is its old
// version with -1, then its new version with +1. An unknown trust or key is ignored, and so
// is a qualification that does not belong to k: callers validate with ValidQualifications.
func (c *Counts) Add(t Trust, k Key, qs []Qualification, delta int64) {
	ki := k.Index()
	if ki < 0 || t >= NumTrusts {
		return
	}
	c.Votes[t][ki] += delta
	for _, q := range qs {
		if qi := q.Index(); qi >= 0 && qi/3 == ki {
			c.Quals[t][qi] += delta
		}
	}
}

// Merge adds every count of o to c.
func (c *Counts) Merge(o Counts) {
	for t := range NumTrusts {
		for k := range NumKeys {
			c.Votes[t][k] += o.Votes[t][k]
		}
		for q := range NumQualifications {
			c.Quals[t][q] += o.Quals[t][q]
		}
	}
}

// Total is the number of votes of trust t.
func (c Counts) Total(t Trust) int64 {
	if t >= NumTrusts {
		return 0
	}
	v := c.Votes[t]
	return v[0] + v[1] + v[2]
}

// WeightedKey is the trust-weighted number of votes with key k.
func (c Counts) WeightedKey(k Key) float64 {
	i := k.Index()
	if i < 0 {
		return 0
	}
	return c.weightedKey(i)
}

func (c Counts) weightedKey(i int) float64 {
	return Trusted.Weight()*float64(c.Votes[Trusted][i]) + Sequence.Weight()*float64(c.Votes[Sequence][i])
}

// WeightedQual is the trust-weighted number of votes carrying qualification q.
func (c Counts) WeightedQual(q Qualification) float64 {
	i := q.Index()
	if i < 0 {
		return 0
	}
	return c.weightedQual(i)
}

func (c Counts) weightedQual(i int) float64 {
	return Trusted.Weight()*float64(c.Quals[Trusted][i]) + Sequence.Weight()*float64(c.Quals[Sequence][i])
}

// WeightedTotal is the trust-weighted number of votes, the n of every rate.
func (c Counts) WeightedTotal() float64 {
	return Trusted.Weight()*float64(c.Total(Trusted)) + Sequence.Weight()*float64(c.Total(Sequence))
}

// Equal reports whether c and o hold the same counts.
func (c Counts) Equal(o Counts) bool { return c == o }

// Tally is c's trust-weighted vote mass, ready for ScoreTally.
func (c Counts) Tally() Tally {
	t := Tally{Raw: c}
	for k := range NumKeys {
		t.Keys[k] = c.weightedKey(k)
		t.Total += t.Keys[k]
	}
	for q := range NumQualifications {
		t.Quals[q] = c.weightedQual(q)
	}
	t.EffectiveTotal = t.Total
	return t
}

// Tally is the vote mass that scores are computed from: trust weights applied, and raking
// weights too when it comes from WeightedCounts.
type Tally struct {
	Raw   Counts                     // the raw votes behind the tally
	Keys  [NumKeys]float64           // weighted votes per key, by Key.Index()
	Quals [NumQualifications]float64 // weighted votes per qualification, by Qualification.Index()
	// Total is n, the trust-weighted number of votes. Raking moves mass between votes but
	// keeps Total, so raking cannot lift a proposal over Config.MinVotes.
	Total float64
	// EffectiveTotal is the sample size behind the intervals: Total, or less when raking
	// weights are uneven (Kish's effective sample size), since uneven weights cost precision.
	EffectiveTotal float64
}

// JSON: {"sequence":{"agree":1,"disagree":0,"neutral":0,"qualifications":{"likeIt":1,...}},"trusted":{...},"troll":{...}}.
// Every field is always present so that exports have a fixed shape.

type countsJSON struct {
	Sequence trustCountsJSON `json:"sequence"`
	Trusted  trustCountsJSON `json:"trusted"`
	Troll    trustCountsJSON `json:"troll"`
}

type trustCountsJSON struct {
	Agree          int64     `json:"agree"`
	Disagree       int64     `json:"disagree"`
	Neutral        int64     `json:"neutral"`
	Qualifications qualsJSON `json:"qualifications"`
}

type qualsJSON struct {
	LikeIt            int64 `json:"likeIt"`
	Doable            int64 `json:"doable"`
	PlatitudeAgree    int64 `json:"platitudeAgree"`
	NoWay             int64 `json:"noWay"`
	Impossible        int64 `json:"impossible"`
	PlatitudeDisagree int64 `json:"platitudeDisagree"`
	DoNotUnderstand   int64 `json:"doNotUnderstand"`
	NoOpinion         int64 `json:"noOpinion"`
	DoNotCare         int64 `json:"doNotCare"`
}

func (c Counts) trustJSON(t Trust) trustCountsJSON {
	v, q := c.Votes[t], c.Quals[t]
	return trustCountsJSON{
		Agree: v[0], Disagree: v[1], Neutral: v[2],
		Qualifications: qualsJSON{q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8]},
	}
}

func (c *Counts) setTrust(t Trust, j trustCountsJSON) {
	c.Votes[t] = [NumKeys]int64{j.Agree, j.Disagree, j.Neutral}
	q := j.Qualifications
	c.Quals[t] = [NumQualifications]int64{q.LikeIt, q.Doable, q.PlatitudeAgree, q.NoWay, q.Impossible,
		q.PlatitudeDisagree, q.DoNotUnderstand, q.NoOpinion, q.DoNotCare}
}

// MarshalJSON writes c as a readable object keyed by trust level, key and qualification.
func (c Counts) MarshalJSON() ([]byte, error) {
	return json.Marshal(countsJSON{
		Sequence: c.trustJSON(Sequence),
		Trusted:  c.trustJSON(Trusted),
		Troll:    c.trustJSON(Troll),
	})
}

// UnmarshalJSON reads what MarshalJSON writes, so that published results can be
// recomputed from an export. Unknown names and negative counts are refused.
func (c *Counts) UnmarshalJSON(b []byte) error {
	var j countsJSON
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&j); err != nil {
		return fmt.Errorf("vote counts: %w", err)
	}
	var out Counts
	out.setTrust(Sequence, j.Sequence)
	out.setTrust(Trusted, j.Trusted)
	out.setTrust(Troll, j.Troll)
	for t := range NumTrusts {
		for _, n := range out.Votes[t] {
			if n < 0 {
				return fmt.Errorf("vote counts: negative count for %s votes", Trust(t))
			}
		}
		for _, n := range out.Quals[t] {
			if n < 0 {
				return fmt.Errorf("vote counts: negative qualification count for %s votes", Trust(t))
			}
		}
	}
	*c = out
	return nil
}
