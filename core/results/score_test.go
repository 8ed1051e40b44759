package results

import (
	"math"
	"testing"
)

const eps = 1e-9

func near(a, b float64) bool { return math.Abs(a-b) < eps }

func TestScore_SmoothedRatesMatchMakeOrgFormula(t *testing.T) {
	// 8 sequence agree (2 likeIt), 2 sequence disagree, 1 sequence neutral; 4 trusted agree and
	// 2 trusted neutral, 3 troll disagree, which weigh nothing. n = 11; agree x = 8, likeIt x = 2.
	var c Counts
	c.Add(Sequence, Agree, []Qualification{LikeIt}, 2)
	c.Add(Sequence, Agree, nil, 6)
	c.Add(Sequence, Disagree, nil, 2)
	c.Add(Sequence, Neutral, nil, 1)
	c.Add(Trusted, Agree, nil, 4)
	c.Add(Trusted, Neutral, nil, 2)
	c.Add(Troll, Disagree, nil, 3)
	s := Score(c, DefaultConfig())

	// rate = (x + 0.33) / (n + 1) = (x + 0.33) / 12.
	// interval: ñ = 11 + 1.96² = 14.8416, p̃ = (x + 1.9208) / ñ, ± 1.96·√(p̃(1−p̃)/ñ).
	rates := []struct {
		name      string
		rate      float64
		low, high float64
	}{
		{"agree", 8.33 / 12, 0.4289340493, 0.9079568519},
		{"disagree", 2.33 / 12, 0.0398658921, 0.4884868462},
		{"neutral", 1.33 / 12, 0, 0.3990715068},
		{"likeIt", 2.33 / 12, 0.0398658921, 0.4884868462},
		{"doable", 0.33 / 12, 0, 0.3001936202},
		{"noWay", 0.33 / 12, 0, 0.3001936202},
	}
	for _, r := range rates {
		iv := s.Intervals[r.name]
		if !near(s.Rates[r.name], r.rate) || math.Abs(iv.Low-r.low) > 1e-9 || math.Abs(iv.High-r.high) > 1e-9 {
			t.Errorf("%s: rate %v [%v, %v], want %v [%v, %v]", r.name, s.Rates[r.name], iv.Low, iv.High, r.rate, r.low, r.high)
		}
	}
	scores := []struct {
		name      string
		got, want float64
	}{
		{"weighted votes", s.WeightedVotes, 11},
		{"top = agree + likeIt + doable − noWay − impossible − platitudes", s.Top, (8.33 + 2.33 + 0.33 - 4*0.33) / 12},
		{"rejection = disagree + noWay + impossible − agree − likeIt − doable", s.Rejection, (2.33 + 0.33 + 0.33 - 8.33 - 2.33 - 0.33) / 12},
		{"controversy = min(agree, disagree) + min(likeIt, noWay)", s.Controversy, (2.33 + 0.33) / 12},
		{"engagement = 1 − neutral", s.Engagement, 1 - 1.33/12},
		{"adhesion = (agree + 0.33) / (agree + disagree + 1)", s.Adhesion, 8.33 / 11},
		// Published beside: 6 trusted votes, (4 + 0.33) / 7 agree, (2 + 0.33) / 7 neutral.
		{"beside votes", float64(s.Beside.Votes), 6},
		{"beside agree", s.Beside.Rates["agree"], 4.33 / 7},
		{"beside neutral", s.Beside.Rates["neutral"], 2.33 / 7},
	}
	for _, x := range scores {
		if !near(x.got, x.want) {
			t.Errorf("%s: %v, want %v", x.name, x.got, x.want)
		}
	}
	if s.TopInterval.Low >= s.Top || s.TopInterval.High <= s.Top {
		t.Errorf("top interval %+v does not surround %v", s.TopInterval, s.Top)
	}
	// 8.33/12 agree clears 60 %, but its interval [0.43, 0.91] does not: too few votes to say.
	if s.Zone != Undetermined || s.Leaning != Consensus {
		t.Errorf("zone %s leaning %s, want undetermined leaning consensus", s.Zone, s.Leaning)
	}
}

func TestScore_IntervalNarrowsWithMoreVotes(t *testing.T) {
	prev := math.Inf(1)
	prevTop := math.Inf(1)
	for _, n := range []int64{10, 100, 1000, 10000} {
		s := Score(votes(Sequence, n*7/10, n*2/10, n/10), DefaultConfig())
		iv := s.Intervals["agree"]
		width := iv.High - iv.Low
		if width >= prev {
			t.Errorf("n=%d: agree interval width %v, not narrower than %v", n, width, prev)
		}
		if iv.Low > s.Rates["agree"] || iv.High < s.Rates["agree"] {
			t.Errorf("n=%d: interval %+v does not hold the rate %v", n, iv, s.Rates["agree"])
		}
		topWidth := s.TopInterval.High - s.TopInterval.Low
		if topWidth >= prevTop {
			t.Errorf("n=%d: top interval width %v, not narrower than %v", n, topWidth, prevTop)
		}
		prev, prevTop = width, topWidth
	}
}

func TestScore_TrollVotesAreLeftOut(t *testing.T) {
	clean := votes(Sequence, 20, 70, 10)
	trolled := clean
	trolled.Add(Troll, Agree, []Qualification{LikeIt}, 5000)
	a, b := Score(clean, DefaultConfig()), Score(trolled, DefaultConfig())
	for name, r := range a.Rates {
		if b.Rates[name] != r || b.Intervals[name] != a.Intervals[name] {
			t.Errorf("%s: %v with troll votes, %v without", name, b.Rates[name], r)
		}
	}
	if b.Zone != Rejection || a.Top != b.Top || a.WeightedVotes != b.WeightedVotes {
		t.Errorf("troll votes changed the result: zone %s top %v n %v", b.Zone, b.Top, b.WeightedVotes)
	}
	if b.Votes.Total(Troll) != 5000 {
		t.Errorf("troll votes not published in the raw counts: %d", b.Votes.Total(Troll))
	}
}

func TestScore_VotesOutsideTheSequenceNeverMoveAScore(t *testing.T) {
	// A bloc pushing through shared links: however many votes they bring, the scores, the
	// intervals and the zone stay those of the sequence votes; they are published beside.
	tests := []struct {
		name     string
		sequence Counts
		trusted  Counts
	}{
		{"agree on a rejected proposal", votes(Sequence, 10, 70, 5), votes(Trusted, 5000, 0, 0)},
		{"disagree on a consensus", votes(Sequence, 80, 5, 5), votes(Trusted, 0, 5000, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			both := tt.sequence
			both.Merge(tt.trusted)
			a, b := Score(tt.sequence, DefaultConfig()), Score(both, DefaultConfig())
			if a.WeightedVotes != b.WeightedVotes || a.Zone != b.Zone || a.Top != b.Top || a.TopInterval != b.TopInterval {
				t.Fatalf("link votes moved the score: n %v→%v zone %s→%s top %v→%v", a.WeightedVotes, b.WeightedVotes, a.Zone, b.Zone, a.Top, b.Top)
			}
			for name, r := range a.Rates {
				if b.Rates[name] != r || b.Intervals[name] != a.Intervals[name] {
					t.Errorf("%s: %v (sequence) vs %v (with link votes)", name, r, b.Rates[name])
				}
			}
			if b.Beside.Votes != tt.trusted.Total(Trusted) || a.Beside.Votes != 0 {
				t.Errorf("beside votes %d, want %d", b.Beside.Votes, tt.trusted.Total(Trusted))
			}
		})
	}
}

func TestScore_NoVotesGiveFiniteIntervals(t *testing.T) {
	s := Score(Counts{}, DefaultConfig())
	for name, iv := range map[string]Interval{"top": s.TopInterval, "rejection": s.RejectionInterval} {
		if math.IsInf(iv.Low, 0) || math.IsInf(iv.High, 0) || iv.Low < -3 || iv.High > 3 || iv.Low >= iv.High {
			t.Errorf("%s interval %+v: want finite bounds within what votes can give", name, iv)
		}
	}
}

func TestZone_Table(t *testing.T) {
	cfg := DefaultConfig()
	tests := []struct {
		name                     string
		agree, disagree, neutral float64
		n                        float64
		want                     Zone
	}{
		{"under 10 weighted votes", 0.9, 0.05, 0.05, 9.5, NotEnoughVotes},
		{"exactly 10 weighted votes", 0.9, 0.05, 0.05, 10, Consensus},
		{"neutral at 40% is limbo", 0.30, 0.30, 0.40, 100, Limbo},
		{"limbo wins over 60% agree", 0.60, 0.00, 0.40, 100, Limbo},
		{"neutral just under 40%", 0.31, 0.30, 0.39, 100, Controversy},
		{"agree at 60% is consensus", 0.60, 0.30, 0.10, 100, Consensus},
		{"agree just under 60%", 0.59, 0.31, 0.10, 100, Controversy},
		{"little disagree and little neutral is consensus", 0.58, 0.14, 0.24, 100, Consensus},
		{"disagree at 15% is not little", 0.58, 0.15, 0.24, 100, Controversy},
		{"neutral at 25% is not little", 0.58, 0.14, 0.25, 100, Controversy},
		{"disagree at 60% is rejection", 0.30, 0.60, 0.10, 100, Rejection},
		{"disagree just under 60%", 0.31, 0.59, 0.10, 100, Controversy},
		{"little agree and little neutral is rejection", 0.14, 0.58, 0.24, 100, Rejection},
		{"agree at 15% is not little", 0.15, 0.58, 0.24, 100, Controversy},
		{"even split", 0.45, 0.45, 0.10, 100, Controversy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.agree, tt.disagree, tt.neutral, tt.n, cfg); got != tt.want {
				t.Errorf("Classify = %s, want %s", got, tt.want)
			}
		})
	}

	// Through Score, the thresholds apply to smoothed rates: 60 agree out of 100 is (60.33)/101 < 60%.
	var mixed Counts
	mixed.Add(Sequence, Agree, nil, 9)
	mixed.Add(Trusted, Agree, nil, 1)
	// A zone is published only when the intervals clear its thresholds; otherwise the
	// proposal is undetermined, leaning to the zone its rates alone point to.
	scored := []struct {
		name          string
		counts        Counts
		want, leaning Zone
	}{
		{"9.5 weighted votes", mixed, NotEnoughVotes, ""},
		{"10 unanimous sequence votes", votes(Sequence, 10, 0, 0), Consensus, ""},
		{"800 agree of 1000", votes(Sequence, 800, 150, 50), Consensus, ""},
		{"61 agree of 100 is not sure", votes(Sequence, 61, 39, 0), Undetermined, Consensus},
		{"60 agree of 100 falls short once smoothed", votes(Sequence, 60, 40, 0), Undetermined, Controversy},
		{"40 neutral of 100 falls short once smoothed", votes(Sequence, 30, 30, 40), Undetermined, Controversy},
		{"41 neutral of 100 is not sure", votes(Sequence, 30, 29, 41), Undetermined, Limbo},
		{"500 neutral of 1000", votes(Sequence, 250, 250, 500), Limbo, ""},
		{"61 disagree of 100 is not sure", votes(Sequence, 39, 61, 0), Undetermined, Rejection},
		{"900 disagree of 1000", votes(Sequence, 50, 900, 50), Rejection, ""},
		{"450 agree, 450 disagree of 1000", votes(Sequence, 450, 450, 100), Controversy, ""},
		{"580 agree, 420 disagree of 1000 may still be a consensus", votes(Sequence, 580, 420, 0), Undetermined, Controversy},
		{"no votes", Counts{}, NotEnoughVotes, ""},
	}
	for _, tt := range scored {
		t.Run(tt.name, func(t *testing.T) {
			if s := Score(tt.counts, cfg); s.Zone != tt.want || s.Leaning != tt.leaning {
				t.Errorf("zone %s leaning %q, want %s leaning %q (agree %+v)", s.Zone, s.Leaning, tt.want, tt.leaning, s.Intervals["agree"])
			}
		})
	}
}

func TestConfig_ThresholdsComeFromConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinVotes = 1000
	if z := Score(votes(Sequence, 100, 0, 0), cfg).Zone; z != NotEnoughVotes {
		t.Errorf("MinVotes 1000: zone %s", z)
	}
	cfg = DefaultConfig()
	cfg.ConsensusAgree = 0.5
	if z := Score(votes(Sequence, 550, 450, 0), cfg).Zone; z != Consensus {
		t.Errorf("ConsensusAgree 0.5: zone %s", z)
	}
}

func BenchmarkScore(b *testing.B) {
	var c Counts
	c.Add(Sequence, Agree, []Qualification{LikeIt, Doable}, 812)
	c.Add(Sequence, Disagree, []Qualification{NoWay}, 301)
	c.Add(Sequence, Neutral, []Qualification{NoOpinion}, 120)
	c.Add(Trusted, Agree, nil, 90)
	c.Add(Troll, Disagree, nil, 14)
	cfg := DefaultConfig()
	b.ReportAllocs()
	for b.Loop() {
		_ = Score(c, cfg)
	}
}
