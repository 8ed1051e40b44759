package results

import (
	"math"
	"math/rand/v2"
	"testing"
)

// voteKind is one way to vote: a key and the qualifications given with it.
type voteKind struct {
	key   Key
	quals []Qualification
	p     float64 // probability in the population
}

// truth is the population value of a score with coefficients ck, cq: the mean over votes of
// what each vote adds.
func truth(kinds []voteKind, ck [NumKeys]float64, cq [NumQualifications]float64) float64 {
	m := 0.0
	for _, k := range kinds {
		y := ck[k.key.Index()]
		for _, q := range k.quals {
			y += cq[q.Index()]
		}
		m += k.p * y
	}
	return m
}

// oldSumInterval is the interval the package used before: every term's Agresti–Coull
// variance added as if key and qualification rates were independent.
func oldSumInterval(c Counts, cfg Config, ck [NumKeys]float64, cq [NumQualifications]float64, center float64) Interval {
	t := c.Tally()
	variance := func(x float64) float64 {
		z2 := cfg.Z * cfg.Z
		nt := t.Total + z2
		pt := (x + z2/2) / nt
		return pt * (1 - pt) / nt
	}
	v := 0.0
	for k := range NumKeys {
		if ck[k] != 0 {
			v += variance(t.Keys[k])
		}
	}
	for q := range NumQualifications {
		if cq[q] != 0 {
			v += variance(t.Quals[q])
		}
	}
	h := cfg.Z * math.Sqrt(v)
	return Interval{center - h, center + h}
}

// TestScore_TopAndRejectionIntervalsCoverAtNominalRate draws, with a fixed seed, many
// samples of votes from populations where qualifications go together (who likes a
// proposal also finds it doable) and checks how often the published 95 % intervals of
// the top and rejection scores hold the population's value. The intervals the package
// used before, which added the variances of correlated rates as if independent, held it
// about 80 % of the time; this test checks that they would fail it.
func TestScore_TopAndRejectionIntervalsCoverAtNominalRate(t *testing.T) {
	populations := []struct {
		name  string
		kinds []voteKind
	}{
		{"liked consensus, qualifications together", []voteKind{
			{Agree, []Qualification{LikeIt, Doable}, 0.35},
			{Agree, []Qualification{LikeIt}, 0.10},
			{Agree, nil, 0.20},
			{Disagree, []Qualification{NoWay, Impossible}, 0.15},
			{Disagree, nil, 0.10},
			{Neutral, nil, 0.10},
		}},
		{"divisive, strong feelings", []voteKind{
			{Agree, []Qualification{LikeIt, Doable}, 0.30},
			{Agree, nil, 0.12},
			{Disagree, []Qualification{NoWay, Impossible}, 0.30},
			{Disagree, []Qualification{NoWay}, 0.10},
			{Neutral, []Qualification{NoOpinion}, 0.18},
		}},
		{"platitude", []voteKind{
			{Agree, []Qualification{PlatitudeAgree}, 0.45},
			{Agree, []Qualification{LikeIt, Doable}, 0.15},
			{Disagree, []Qualification{PlatitudeDisagree}, 0.15},
			{Neutral, []Qualification{DoNotCare}, 0.25},
		}},
		{"rejected", []voteKind{
			{Agree, []Qualification{LikeIt, Doable}, 0.10},
			{Disagree, []Qualification{NoWay, Impossible}, 0.45},
			{Disagree, []Qualification{NoWay}, 0.20},
			{Disagree, nil, 0.15},
			{Neutral, nil, 0.10},
		}},
	}
	scores := []struct {
		name     string
		ck       [NumKeys]float64
		cq       [NumQualifications]float64
		interval func(Scores) (float64, Interval)
	}{
		{"top", topKey, topQual, func(s Scores) (float64, Interval) { return s.Top, s.TopInterval }},
		{"rejection", rejectionKey, rejectionQual, func(s Scores) (float64, Interval) { return s.Rejection, s.RejectionInterval }},
	}
	const draws = 1000
	cfg := DefaultConfig()
	rng := rand.New(rand.NewPCG(8, 95))
	var held, oldHeld, total int
	for _, pop := range populations {
		for _, n := range []int{30, 100, 400} {
			for _, sc := range scores {
				want := truth(pop.kinds, sc.ck, sc.cq)
				var h, oh int
				for range draws {
					var c Counts
					for range n {
						u := rng.Float64()
						k := pop.kinds[len(pop.kinds)-1]
						for _, x := range pop.kinds {
							if u < x.p {
								k = x
								break
							}
							u -= x.p
						}
						c.Add(Sequence, k.key, k.quals, 1)
					}
					center, iv := sc.interval(Score(c, cfg))
					if iv.Low <= want && want <= iv.High {
						h++
					}
					if old := oldSumInterval(c, cfg, sc.ck, sc.cq, center); old.Low <= want && want <= old.High {
						oh++
					}
				}
				if rate := float64(h) / draws; rate < 0.90 {
					t.Errorf("%s, n=%d, %s: the interval holds the true value %.1f %% of the time", pop.name, n, sc.name, 100*rate)
				}
				t.Logf("%s, n=%d, %s: coverage %.1f %% (independent terms: %.1f %%)", pop.name, n, sc.name, 100*float64(h)/draws, 100*float64(oh)/draws)
				held, oldHeld, total = held+h, oldHeld+oh, total+draws
			}
		}
	}
	rate, oldRate := float64(held)/float64(total), float64(oldHeld)/float64(total)
	if rate < 0.93 {
		t.Errorf("the 95 %% intervals hold the true value %.1f %% of the time, want at least 93 %%", 100*rate)
	}
	if oldRate >= 0.93 {
		t.Errorf("the old, independent-terms intervals hold it %.1f %% of the time: this test would not catch them", 100*oldRate)
	}
	t.Logf("coverage %.1f %% (independent terms: %.1f %%) over %d samples", 100*rate, 100*oldRate, total)
}
