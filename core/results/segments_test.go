package results

import (
	"errors"
	"math"
	"testing"

	"github.com/concorde-civic/concorde/core/errs"
)

// shares returns each value's weighted share of dimension d among participants who gave it.
func shares(cells []Cell, w []float64, d string) map[string]float64 {
	out := map[string]float64{}
	total := 0.0
	for i, c := range cells {
		if v := c.Profile.Value(d); v != "" {
			out[v] += w[i] * float64(c.Count)
			total += w[i] * float64(c.Count)
		}
	}
	for v := range out {
		out[v] /= total
	}
	return out
}

func TestRake_MatchesMargins(t *testing.T) {
	halfHalf := Margins{
		DimensionGender:  {"f": 0.5, "m": 0.5},
		DimensionAgeBand: {"18-34": 0.5, "35+": 0.5},
	}
	tests := []struct {
		name    string
		cells   []Cell
		margins Margins
	}{
		{
			name: "two dimensions biased 70/30, population 50/50",
			cells: []Cell{
				{Profile{Gender: "f", AgeBand: "18-34"}, 490},
				{Profile{Gender: "f", AgeBand: "35+"}, 210},
				{Profile{Gender: "m", AgeBand: "18-34"}, 210},
				{Profile{Gender: "m", AgeBand: "35+"}, 90},
			},
			margins: halfHalf,
		},
		{
			name: "correlated dimensions and some values not given",
			cells: []Cell{
				{Profile{Gender: "f", AgeBand: "18-34"}, 400},
				{Profile{Gender: "f", AgeBand: "35+"}, 100},
				{Profile{Gender: "m", AgeBand: "18-34"}, 150},
				{Profile{Gender: "m", AgeBand: "35+"}, 150},
				{Profile{Gender: "f"}, 80},
				{Profile{AgeBand: "35+"}, 50},
				{Profile{}, 300},
			},
			margins: halfHalf,
		},
		{
			name: "three dimensions, uneven margins",
			cells: []Cell{
				{Profile{"18-34", "f", "north"}, 300},
				{Profile{"18-34", "m", "south"}, 250},
				{Profile{"35-64", "f", "south"}, 200},
				{Profile{"35-64", "m", "north"}, 150},
				{Profile{"65+", "f", "north"}, 60},
				{Profile{"65+", "m", "south"}, 40},
			},
			margins: Margins{
				DimensionAgeBand: {"18-34": 0.3, "35-64": 0.45, "65+": 0.25},
				DimensionGender:  {"f": 0.52, "m": 0.48},
				DimensionArea:    {"north": 0.4, "south": 0.6},
			},
		},
	}
	const tol = 1e-6
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Rake(tt.cells, tt.margins, 200, tol)
			if err != nil {
				t.Fatal(err)
			}
			for d, want := range tt.margins {
				got := shares(tt.cells, w, d)
				for v, share := range want {
					if math.Abs(got[v]-share) > tol {
						t.Errorf("%s %s: weighted share %v, want %v", d, v, got[v], share)
					}
				}
			}
		})
	}
}

func TestRake_MissingValueKeepsWeight(t *testing.T) {
	cells := []Cell{
		{Profile{Gender: "f"}, 70},
		{Profile{Gender: "m"}, 30},
		{Profile{}, 500}, // did not say: neither counted in the shares nor reweighted
	}
	w, err := Rake(cells, Margins{DimensionGender: {"f": 0.5, "m": 0.5}}, 50, 1e-9)
	if err != nil {
		t.Fatal(err)
	}
	if w[2] != 1 || math.Abs(w[0]-0.5/0.7) > 1e-9 || math.Abs(w[1]-0.5/0.3) > 1e-9 {
		t.Fatalf("weights %v, want [%v %v 1]", w, 0.5/0.7, 0.5/0.3)
	}
}

func TestRake_ValueOutsideMarginsIsMissing(t *testing.T) {
	// One participant answered "other", which the population margins do not name: the
	// weighting must not fail, and that participant is weighted as one who did not answer.
	cells := []Cell{
		{Profile{Gender: "f"}, 70},
		{Profile{Gender: "m"}, 30},
		{Profile{Gender: "other"}, 1},
		{Profile{}, 99},
	}
	w, err := Rake(cells, Margins{DimensionGender: {"f": 0.5, "m": 0.5}}, 50, 1e-9)
	if err != nil {
		t.Fatalf("an answer outside the margins made raking fail: %v", err)
	}
	if w[2] != w[3] {
		t.Errorf("\"other\" weighs %v, one who did not answer %v: want the same", w[2], w[3])
	}
	if got := shares(cells[:2], w[:2], DimensionGender); math.Abs(got["f"]-0.5) > 1e-6 {
		t.Errorf("shares %v, want f 0.5", got)
	}
}

func TestRake_CapHoldsAfterRescaling(t *testing.T) {
	// 3 % of participants (30 of 1,000) claim a profile a quarter of the population has, and
	// a tenth of the population is over-represented 6 times. Capping before rescaling let the
	// rare cell end at 5 times a mean weight pushed well under 1, so it carried about 30 % of
	// the weighted participants. The cap is relative to the mean: it must carry at most
	// 3 % × 5 = 15 %.
	cells := []Cell{
		{Profile{AgeBand: "18-34", Area: "city"}, 600},
		{Profile{AgeBand: "35-64", Area: "city"}, 300},
		{Profile{AgeBand: "35-64", Area: "rural"}, 70},
		{Profile{AgeBand: "65+", Area: "rural"}, 30},
	}
	margins := Margins{
		DimensionAgeBand: {"18-34": 0.10, "35-64": 0.65, "65+": 0.25},
		DimensionArea:    {"city": 0.5, "rural": 0.5},
	}
	caps := DefaultWeightCaps()
	w, err := Rake(cells, margins, 100, 1e-6)
	if err != nil && !errors.Is(err, ErrNotConverged) {
		t.Fatal(err)
	}
	var n, sum float64
	for i, c := range cells {
		n += float64(c.Count)
		sum += w[i] * float64(c.Count)
		if w[i] < caps.Min-1e-9 || w[i] > caps.Max+1e-9 {
			t.Errorf("cell %d weighs %v, outside the caps", i, w[i])
		}
	}
	if math.Abs(sum/n-1) > 1e-6 {
		t.Errorf("mean weight %v, want 1", sum/n)
	}
	share := w[3] * 30 / sum
	if share > 0.03*caps.Max+1e-6 {
		t.Errorf("a 3 %% cell carries %.1f %% of the weight, over the documented %.0f %%", 100*share, 100*0.03*caps.Max)
	}
	t.Logf("the 3 %% cell carries %.1f %% of the weight; design effect %.2f", 100*share, DesignEffect(cells, w))
}

func TestDesignEffect_IsKish(t *testing.T) {
	cells := []Cell{{Profile{Gender: "f"}, 50}, {Profile{Gender: "m"}, 50}}
	tests := []struct {
		name string
		w    []float64
		want float64
	}{
		{"equal weights cost nothing", []float64{1, 1}, 1},
		{"half at 0.5, half at 1.5", []float64{0.5, 1.5}, 100 * (50*0.25 + 50*2.25) / (100 * 100)},
		{"all the weight on half", []float64{0, 2}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DesignEffect(cells, tt.w); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("design effect %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRake_RejectsMarginsNotSummingToOne(t *testing.T) {
	cells := []Cell{{Profile{Gender: "f", AgeBand: "18-34"}, 10}, {Profile{Gender: "m", AgeBand: "35+"}, 10}}
	age := map[string]float64{"18-34": 0.5, "35+": 0.5}
	tests := []struct {
		name    string
		margins Margins
		ok      bool
	}{
		{"sums to 0.98", Margins{DimensionGender: {"f": 0.49, "m": 0.49}, DimensionAgeBand: age}, false},
		{"sums to 1.02", Margins{DimensionGender: {"f": 0.52, "m": 0.50}, DimensionAgeBand: age}, false},
		{"negative share", Margins{DimensionGender: {"f": 1.1, "m": -0.1}}, false},
		{"unknown dimension", Margins{"income": {"low": 0.5, "high": 0.5}}, false},
		{"no margins", Margins{}, false},
		{"a value of the sample is missing from the margins (treated as not given)", Margins{DimensionGender: {"f": 1}}, true},
		{"a value of the margins is missing from the sample", Margins{DimensionGender: {"f": 0.4, "m": 0.4, "x": 0.2}}, false},
		{"rounded to 0.995 is fine", Margins{DimensionGender: {"f": 0.497, "m": 0.498}, DimensionAgeBand: age}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Rake(cells, tt.margins, 50, 0.01)
			if tt.ok {
				if err != nil || len(w) != len(cells) {
					t.Fatalf("Rake = %v, %v", w, err)
				}
				return
			}
			if err == nil || !errs.Is(err, errs.Invalid) {
				t.Fatalf("Rake err = %v, want an invalid error", err)
			}
		})
	}
}

func TestRake_CapsWeights(t *testing.T) {
	// 1 % of men in the sample against 50 % in the population: uncapped, a man would count for 50.
	cells := []Cell{{Profile{Gender: "f"}, 990}, {Profile{Gender: "m"}, 10}}
	margins := Margins{DimensionGender: {"f": 0.5, "m": 0.5}}
	tests := []struct {
		name      string
		caps      WeightCaps
		wantMan   float64
		converged bool
	}{
		{"default caps", DefaultWeightCaps(), 5, false},
		{"tighter caps", WeightCaps{Min: 0.5, Max: 2}, 2, false},
		{"no effective cap", WeightCaps{Min: 0, Max: 1000}, 50, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := RakeCapped(cells, margins, 100, 1e-6, tt.caps)
			if tt.converged != (err == nil) || (err != nil && !errors.Is(err, ErrNotConverged)) {
				t.Fatalf("err = %v, converged want %v", err, tt.converged)
			}
			if math.Abs(w[1]-tt.wantMan) > 1e-6 {
				t.Errorf("a man weighs %v, want %v", w[1], tt.wantMan)
			}
			for i, x := range w {
				if x < tt.caps.Min || x > tt.caps.Max {
					t.Errorf("weight %d = %v, outside [%v, %v]", i, x, tt.caps.Min, tt.caps.Max)
				}
			}
		})
	}
	if _, err := RakeCapped(cells, margins, 10, 1e-6, WeightCaps{Min: 2, Max: 5}); !errs.Is(err, errs.Invalid) {
		t.Errorf("a minimum cap above 1 was accepted: %v", err)
	}
}

func TestRake_OrganisedFewPercentCannotTurnRejectionIntoConsensus(t *testing.T) {
	// 1,000 participants. 30 of them (3 %) are organised: they all claim the profile that
	// raking boosts most (65+ men, rare online, a quarter of the population is 65+) and all
	// vote agree on one proposal. The 970 others see it through the sequence at a rate of
	// 3 in 10 and reject it: 10 % agree, 80 % disagree, 10 % neutral.
	honest := []Cell{
		{Profile{AgeBand: "18-34", Gender: "f"}, 180},
		{Profile{AgeBand: "18-34", Gender: "m"}, 220},
		{Profile{AgeBand: "35-64", Gender: "f"}, 290},
		{Profile{AgeBand: "35-64", Gender: "m"}, 270},
		{Profile{AgeBand: "65+", Gender: "f"}, 4},
		{Profile{AgeBand: "65+", Gender: "m"}, 6},
	}
	const organised, groupCell = 30, 5
	margins := Margins{
		DimensionAgeBand: {"18-34": 0.30, "35-64": 0.45, "65+": 0.25},
		DimensionGender:  {"f": 0.5, "m": 0.5},
	}
	cells := append([]Cell(nil), honest...)
	cells[groupCell].Count += organised

	honestVotes := make([]Counts, len(cells))
	for i, c := range honest {
		voters := c.Count * 3 / 10
		agree, neutral := voters/10, voters/10
		honestVotes[i] = votes(Sequence, agree, voters-agree-neutral, neutral)
	}
	cfg := DefaultConfig()
	before, err := WeightedCounts(honestVotes, make1(len(cells)))
	if err != nil {
		t.Fatal(err)
	}
	if z := ScoreTally(before, cfg).Zone; z != Rejection {
		t.Fatalf("without the group the proposal is %s, want rejection", z)
	}

	w, err := Rake(cells, margins, 100, 1e-4)
	if err != nil && !errors.Is(err, ErrNotConverged) {
		t.Fatal(err)
	}
	if w[groupCell] > DefaultWeightCaps().Max {
		t.Fatalf("the group's cell weighs %v, over the cap", w[groupCell])
	}
	// Raking gives the group's cell the largest weight it may (the cap), and the votes that
	// the group's shared link brings weigh half. The proposal may slide into controversy,
	// which is what a visible, vocal minority is, but it must not become a consensus.
	for _, trust := range []Trust{Trusted, Sequence} {
		t.Run(trust.String()+" votes", func(t *testing.T) {
			withGroup := append([]Counts(nil), honestVotes...)
			withGroup[groupCell].Add(trust, Agree, []Qualification{LikeIt}, organised)
			tally, err := WeightedCounts(withGroup, w)
			if err != nil {
				t.Fatal(err)
			}
			s := ScoreTally(tally, cfg)
			if s.Zone == Consensus || s.Rates["agree"] >= cfg.ConsensusAgree {
				t.Fatalf("with the group: zone %s (agree %.2f, disagree %.2f)", s.Zone, s.Rates["agree"], s.Rates["disagree"])
			}
			t.Logf("with the group: zone %s (agree %.2f, disagree %.2f)", s.Zone, s.Rates["agree"], s.Rates["disagree"])
		})
	}
}

func make1(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	return w
}

func TestWeightedCounts_UnitWeightsGiveTheSameScores(t *testing.T) {
	a := votes(Sequence, 30, 10, 5)
	a.Add(Trusted, Agree, []Qualification{LikeIt}, 4)
	b := votes(Sequence, 3, 20, 2)
	b.Add(Troll, Agree, nil, 9)
	tally, err := WeightedCounts([]Counts{a, b}, []float64{1, 1})
	if err != nil {
		t.Fatal(err)
	}
	all := a
	all.Merge(b)
	if tally != all.Tally() {
		t.Fatalf("tally %+v, want %+v", tally, all.Tally())
	}
}

func TestWeightedCounts_UnevenWeightsKeepTotalButWidenIntervals(t *testing.T) {
	cells := []Counts{votes(Sequence, 40, 10, 0), votes(Sequence, 10, 40, 0)}
	even, _ := WeightedCounts(cells, []float64{1, 1})
	uneven, err := WeightedCounts(cells, []float64{0.5, 2})
	if err != nil {
		t.Fatal(err)
	}
	if uneven.Total != even.Total {
		t.Errorf("total %v after raking, want %v", uneven.Total, even.Total)
	}
	if uneven.EffectiveTotal >= even.EffectiveTotal {
		t.Errorf("effective total %v, want less than %v", uneven.EffectiveTotal, even.EffectiveTotal)
	}
	// Second cell weighs 4 times the first: agree = (40·0.5 + 10·2) / (50·0.5 + 50·2) of 100 votes.
	if want := 100 * 40.0 / 125; math.Abs(uneven.Keys[Agree.Index()]-want) > 1e-9 {
		t.Errorf("raked agree %v, want %v", uneven.Keys[Agree.Index()], want)
	}
	s, e := ScoreTally(uneven, DefaultConfig()), ScoreTally(even, DefaultConfig())
	if w, we := s.Intervals["agree"].High-s.Intervals["agree"].Low, e.Intervals["agree"].High-e.Intervals["agree"].Low; w <= we {
		t.Errorf("raked interval width %v, want wider than %v", w, we)
	}
	if _, err := WeightedCounts(cells, []float64{1}); err == nil {
		t.Error("mismatched lengths accepted")
	}
	if _, err := WeightedCounts(cells, []float64{1, math.NaN()}); err == nil {
		t.Error("NaN weight accepted")
	}
}

func TestSegmentCounts_CountsAVoteInEachGivenDimension(t *testing.T) {
	s := SegmentCounts{}
	p := Profile{AgeBand: "18-34", Area: "north"}
	s.Add(p, Sequence, Agree, []Qualification{LikeIt}, 1)
	s.Add(Profile{AgeBand: "18-34"}, Sequence, Disagree, nil, 1)
	if got := s[DimensionAgeBand]["18-34"].Total(Sequence); got != 2 {
		t.Errorf("18-34: %d votes, want 2", got)
	}
	if got := s[DimensionArea]["north"].WeightedQual(LikeIt); got != 1 {
		t.Errorf("north likeIt: %v, want 1", got)
	}
	if _, ok := s[DimensionGender]; ok {
		t.Errorf("gender segment created though nobody gave one")
	}
	s.Add(p, Sequence, Agree, []Qualification{LikeIt}, -1)
	if !s[DimensionArea]["north"].Equal(Counts{}) {
		t.Errorf("north after withdrawal: %+v", s[DimensionArea]["north"])
	}
	if z := s.Score(DefaultConfig())[DimensionAgeBand]["18-34"].Zone; z != NotEnoughVotes {
		t.Errorf("zone %s, want not enough votes", z)
	}
}

func TestPublicSegments_NoFigureRestsOnFewerThanK(t *testing.T) {
	cells := func(sizes map[string]int64) []Cell {
		var out []Cell
		for v, n := range sizes {
			out = append(out, Cell{Profile{AgeBand: v}, n})
		}
		return out
	}
	tests := []struct {
		name  string
		sizes map[string]int64
		want  map[string]string
	}{
		{"every segment large enough", map[string]int64{"18-24": 30, "65-plus": 10},
			map[string]string{"18-24": "18-24", "65-plus": "65-plus"}},
		{"small segments merged when together large enough", map[string]int64{"18-24": 30, "65-plus": 6, "": 5},
			map[string]string{"18-24": "18-24", "65-plus": MergedSegment, "": MergedSegment}},
		{"one participant alone takes the smallest large segment with them", map[string]int64{"18-24": 30, "35-49": 12, "65-plus": 1},
			map[string]string{"18-24": "18-24", "35-49": MergedSegment, "65-plus": MergedSegment}},
		{"fewer than k in all: nothing published", map[string]int64{"18-24": 4, "65-plus": 1}, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PublicSegments(cells(tt.sizes), DimensionAgeBand, 10)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for v, w := range tt.want {
				if got[v] != w {
					t.Errorf("%q published as %q, want %q (all: %v)", v, got[v], w, got)
				}
			}
			// Whatever is published rests on at least k participants.
			pub := map[string]int64{}
			for v, p := range got {
				pub[p] += tt.sizes[v]
			}
			for p, n := range pub {
				if n < 10 {
					t.Errorf("%q published with %d participants", p, n)
				}
			}
		})
	}
}
