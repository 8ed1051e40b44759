package results

import (
	"math"
	"math/rand/v2"
	"testing"
)

func agreeOf(t Tally) float64 { return t.Keys[Agree.Index()] / t.Total }

func TestShrunkWeightedCounts_ASmallHeavyCellLeansOnTheWhole(t *testing.T) {
	// 60 votes from well-represented cells (weight 0.8), 76 % agree, and 4 from a rare
	// profile weighted 5 times, all against: what a bloc claiming that profile does.
	cells := []Counts{votes(Sequence, 46, 12, 2), votes(Sequence, 0, 4, 0)}
	w := []float64{0.8, 5}
	plain, err := WeightedCounts(cells, w)
	if err != nil {
		t.Fatal(err)
	}
	shrunk, err := ShrunkWeightedCounts(cells, w, []float64{100, 100})
	if err != nil {
		t.Fatal(err)
	}
	unweighted := agreeOf(mustTally(t, cells, []float64{1, 1}))
	if agreeOf(plain) > 0.55 {
		t.Fatalf("plain raking gives agree %.2f: the test no longer shows the attack", agreeOf(plain))
	}
	if got := agreeOf(shrunk); math.Abs(got-unweighted) > 0.08 || got < 0.65 {
		t.Errorf("shrunk agree %.3f, want close to the unweighted %.3f (plain raking: %.3f)", got, unweighted, agreeOf(plain))
	}
	if shrunk.Total != plain.Total || shrunk.EffectiveTotal != plain.EffectiveTotal {
		t.Errorf("shrinkage changed n (%v, %v) or the effective n (%v, %v)", shrunk.Total, plain.Total, shrunk.EffectiveTotal, plain.EffectiveTotal)
	}
}

func TestShrunkWeightedCounts_LargeCellsKeepTheirRaking(t *testing.T) {
	// Cells with thousands of votes each: raking corrects for who took part, and pooling
	// towards the whole must not undo it.
	cells := []Counts{votes(Sequence, 3000, 1000, 0), votes(Sequence, 500, 1500, 0)}
	w := []float64{0.5, 2}
	plain := mustTally(t, cells, w)
	shrunk, err := ShrunkWeightedCounts(cells, w, []float64{100, 100})
	if err != nil {
		t.Fatal(err)
	}
	// With 2,000 votes or more per cell and a prior of 100, pooling gives back at most a
	// tenth of what raking corrected.
	u := agreeOf(mustTally(t, cells, []float64{1, 1}))
	if back := (agreeOf(shrunk) - agreeOf(plain)) / (u - agreeOf(plain)); back < 0 || back > 0.1 {
		t.Errorf("shrunk agree %.4f, plain %.4f, unweighted %.4f: pooling gave back %.0f %% of the correction", agreeOf(shrunk), agreeOf(plain), u, back*100)
	}
}

func TestShrunkWeightedCounts_PriorZeroIsPlainRakingAndEqualRatesStay(t *testing.T) {
	a := votes(Sequence, 30, 10, 5)
	a.Add(Sequence, Agree, []Qualification{LikeIt}, 4)
	b := votes(Sequence, 3, 20, 2)
	w := []float64{0.7, 1.9}
	plain := mustTally(t, []Counts{a, b}, w)
	zero, err := ShrunkWeightedCounts([]Counts{a, b}, w, []float64{0, 0})
	if err != nil {
		t.Fatal(err)
	}
	if zero != plain {
		t.Errorf("prior 0: %+v, want %+v", zero, plain)
	}
	// Two cells with the same rates: pooling moves nothing, whatever the weights.
	same := []Counts{votes(Sequence, 6, 3, 1), votes(Sequence, 60, 30, 10)}
	s, err := ShrunkWeightedCounts(same, []float64{4, 0.5}, []float64{100, 100})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(agreeOf(s)-0.6) > 1e-12 {
		t.Errorf("agree %v, want 0.6", agreeOf(s))
	}
	if _, err := ShrunkWeightedCounts(same, []float64{1, 1}, []float64{-1, 0}); err == nil {
		t.Error("negative prior accepted")
	}
	if _, err := ShrunkWeightedCounts(same, []float64{1, 1}, []float64{math.NaN(), 0}); err == nil {
		t.Error("NaN prior accepted")
	}
}

// TestWeigh_RareProfileBlocMovesTheWeightedViewLittle rakes a consultation where a bloc of
// 5 % all claim the rarest age band (2 % of the others, 20 % of the population) and vote
// against the best proposal when the sequence shows it to them (as ops/integrity's profile
// attack): the weighted agreement on it stays near the unweighted one, where plain raking
// lets the bloc pull it down.
func TestWeigh_RareProfileBlocMovesTheWeightedViewLittle(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	bands := []string{"a", "a", "a", "a", "b", "b", "b", "c", "c", "d"}
	margins := Margins{DimensionAgeBand: {"a": 0.2, "b": 0.2, "c": 0.2, "d": 0.2, "e": 0.2}}
	sample := map[Profile]int64{}
	var cells []CellCounts
	add := func(band string, k Key) {
		cells = append(cells, CellCounts{ProposalID: 1, Profile: Profile{AgeBand: band}, Counts: votes(Sequence, b2i(k == Agree), b2i(k == Disagree), b2i(k == Neutral))})
	}
	for i := range 1500 {
		band, bloc := bands[rng.IntN(len(bands))], i >= 1425
		if rng.Float64() < 0.02 || bloc {
			band = "e"
		}
		sample[Profile{AgeBand: band}]++
		if rng.Float64() > 60.0/1500 { // about 60 votes on the proposal
			continue
		}
		switch {
		case bloc:
			add(band, Disagree)
		case rng.Float64() < 0.76:
			add(band, Agree)
		default:
			add(band, Disagree)
		}
	}
	cfg := DefaultConfig()
	w, err := Weigh([]int64{1}, cells, sample, margins, cfg) // CellPrior 100
	if err != nil {
		t.Fatal(err)
	}
	var all Counts
	for _, c := range cells {
		all.Merge(c.Counts)
	}
	unweighted := Score(all, cfg).Rates["agree"]
	weighted := w.Scores[1].Rates["agree"]
	if unweighted-weighted > 0.05 {
		t.Errorf("weighted agree %.3f, unweighted %.3f: the bloc's raking weight moved it by more than 5 points", weighted, unweighted)
	}
	// Plain raking, for contrast: the same weights without pooling.
	plain := Weighting{}
	{
		var per []Counts
		var ws []float64
		for _, c := range w.Cells {
			var n Counts
			for _, x := range cells {
				if x.Profile == c.Profile {
					n.Merge(x.Counts)
				}
			}
			per, ws = append(per, n), append(ws, c.Weight)
		}
		plain.Scores = map[int64]Scores{1: ScoreTally(mustTally(t, per, ws), cfg)}
	}
	if p := plain.Scores[1].Rates["agree"]; unweighted-p < 0.05 {
		t.Errorf("plain raking moves agree from %.3f to %.3f only: the test no longer shows the attack", unweighted, p)
	}
	t.Logf("agree: unweighted %.3f, weighted %.3f, plain raking %.3f", unweighted, weighted, plain.Scores[1].Rates["agree"])
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func mustTally(t *testing.T, cells []Counts, w []float64) Tally {
	t.Helper()
	tally, err := WeightedCounts(cells, w)
	if err != nil {
		t.Fatal(err)
	}
	return tally
}
