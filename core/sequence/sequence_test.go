package sequence

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/errs"
)

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// pool builds n candidates with IDs from first, one author each, accepted a minute apart,
// each with the given votes split evenly between agree and disagree.
func testPool(first int64, n, votes int) []Candidate {
	cands := make([]Candidate, n)
	for k := range cands {
		id := first + int64(k)
		cands[k] = Candidate{
			ID:         id,
			AuthorID:   fmt.Sprintf("author%d", id),
			AcceptedAt: epoch.Add(time.Duration(id) * time.Minute),
			Votes:      votes,
			Agree:      float64(votes / 2),
			Disagree:   float64(votes - votes/2),
		}
	}
	return cands
}

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

func sortedIDs(ids []int64) []int64 {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

func TestChoose_DeterministicWithSeed(t *testing.T) {
	cands := simOnce().cands
	req := Request{Participant: "p7", Voted: map[int64]bool{1000: true, 1001: true, 1100: true}}
	distinct := map[string]bool{}
	for seed := range uint64(20) {
		a := Choose(cands, req, DefaultConfig(), seeded(seed))
		b := Choose(cands, req, DefaultConfig(), seeded(seed))
		if !slices.Equal(a, b) {
			t.Fatalf("seed %d gave %v then %v", seed, a, b)
		}
		distinct[fmt.Sprint(a)] = true
	}
	if len(distinct) < 10 {
		t.Errorf("20 seeds gave only %d different sequences: the draws are not random", len(distinct))
	}
}

func TestChoose_LeavesCandidatesUnchanged(t *testing.T) {
	cands := simOnce().cands
	before := make([]Candidate, len(cands))
	for i, c := range cands {
		before[i] = c
		before[i].Keywords = slices.Clone(c.Keywords)
	}
	for seed := range uint64(5) {
		Choose(cands, Request{Participant: "p3", Include: []int64{1200}}, DefaultConfig(), seeded(seed))
	}
	if !reflect.DeepEqual(before, cands) {
		t.Error("Choose changed the candidates")
	}
}

func TestChoose_ReturnsWhatIsLeftWhenFew(t *testing.T) {
	five := testPool(1, 5, 40)
	tried := testPool(1, 3, 2000)
	sameAuthor := testPool(1, 2, 40)
	sameAuthor[1].AuthorID = sameAuthor[0].AuthorID
	tests := []struct {
		name  string
		cands []Candidate
		req   Request
		want  []int64
	}{
		{"five left", five, Request{Participant: "x"}, []int64{1, 2, 3, 4, 5}},
		{"some voted or excluded", five, Request{Participant: "x", Voted: map[int64]bool{2: true}, Excluded: map[int64]bool{4: true}}, []int64{1, 3, 5}},
		{"all voted", five, Request{Participant: "x", Voted: map[int64]bool{1: true, 2: true, 3: true, 4: true, 5: true}}, nil},
		{"only own and voted", five, Request{Participant: "author5", Voted: map[int64]bool{1: true, 2: true, 3: true, 4: true}}, nil},
		{"only proposals past the tested limit", tried, Request{Participant: "x"}, []int64{1, 2, 3}},
		{"two by one author, one at a time", sameAuthor, Request{Participant: "x", Voted: map[int64]bool{1: true}}, []int64{2}},
		{"nothing at all", nil, Request{Participant: "x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sortedIDs(Choose(tt.cands, tt.req, DefaultConfig(), seeded(1)))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestChoose_ExhaustedProposalsComeLast(t *testing.T) {
	tried := testPool(100, 20, 1500)
	tests := []struct {
		name       string
		tested     int
		wantTested int
	}{
		{"enough tested", 20, 12},
		{"few tested", 6, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cands := append(testPool(1, tt.tested, 100), tried...)
			got := Choose(cands, Request{}, DefaultConfig(), seeded(3))
			n := 0
			for _, id := range got {
				if id < 100 {
					n++
				}
			}
			if n != tt.wantTested || len(got) != 12 {
				t.Errorf("got %d proposals of which %d tested, want 12 of which %d", len(got), n, tt.wantTested)
			}
		})
	}
}

func TestChoose_IncludedProposalComesFirst(t *testing.T) {
	cands := append(testPool(1, 30, 100), testPool(100, 10, 0)...)
	tests := []struct {
		name  string
		req   Request
		first int64 // 0: the included proposal must not be shown
	}{
		{"tested", Request{Participant: "x", Include: []int64{17}}, 17},
		{"new", Request{Participant: "x", Include: []int64{105}}, 105},
		{"already voted", Request{Participant: "x", Include: []int64{17}, Voted: map[int64]bool{17: true}}, 0},
		{"own", Request{Participant: "author17", Include: []int64{17}}, 0},
		{"unknown", Request{Participant: "x", Include: []int64{999}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(10) {
				got := Choose(cands, tt.req, DefaultConfig(), seeded(seed))
				if len(got) != 12 {
					t.Fatalf("got %d proposals, want 12", len(got))
				}
				if tt.first != 0 && got[0] != tt.first {
					t.Fatalf("seed %d: got %v, want %d first", seed, got, tt.first)
				}
				if tt.first == 0 && slices.Contains(got, tt.req.Include[0]) {
					t.Fatalf("seed %d: got %v, which holds %d", seed, got, tt.req.Include[0])
				}
			}
		})
	}
}

func TestChoose_NewSlotsGoToOldestNewProposals(t *testing.T) {
	cands := append(testPool(100, 50, 200), testPool(1, 20, 3)...)
	// Reverse so that position in the slice says nothing about age.
	slices.Reverse(cands)
	for seed := range uint64(10) {
		got := sortedIDs(Choose(cands, Request{Participant: "x"}, DefaultConfig(), seeded(seed)))
		if !slices.Equal(got[:4], []int64{1, 2, 3, 4}) || got[4] < 100 {
			t.Fatalf("seed %d: got %v, want the 4 oldest new proposals 1 to 4 and 8 tested ones", seed, got)
		}
	}
}

func TestChoose_TakesFewestVotesAmongTopCandidates(t *testing.T) {
	cfg := DefaultConfig()
	cfg.NewRatio, cfg.ControversyRatio = 0, 0
	cfg.TopCandidates = 1000 // every tested proposal is a top candidate
	cfg.RandomSlots = 0
	var cands []Candidate
	for k := range 40 {
		cands = append(cands, testPool(int64(k+1), 1, 500-10*k)...)
	}
	got := sortedIDs(Choose(cands, Request{}, cfg, seeded(5)))
	want := []int64{29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want the 12 least voted %v", got, want)
	}
}

func TestChoose_DrawsFavourTopAndControversialProposals(t *testing.T) {
	// 1 to 12 are consensual, 101 to 112 split, 201 to 212 rejected; all with 1,000 votes.
	var cands []Candidate
	for _, kind := range []struct {
		first           int64
		agree, disagree float64
	}{{1, 950, 50}, {101, 500, 500}, {201, 50, 950}} {
		for _, c := range testPool(kind.first, 12, 1000) {
			c.Agree, c.Disagree = kind.agree, kind.disagree
			cands = append(cands, c)
		}
	}
	tests := []struct {
		name        string
		controversy float64
		wantFirst   int64 // the group every proposal must come from
	}{
		{"top score", 0, 1},
		{"controversy", 1, 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.NewRatio, cfg.ControversyRatio, cfg.TopCandidates, cfg.RandomSlots = 0, tt.controversy, 1, 0
			for seed := range uint64(10) {
				for _, id := range Choose(cands, Request{}, cfg, seeded(seed)) {
					if id < tt.wantFirst || id >= tt.wantFirst+12 {
						t.Fatalf("seed %d: drew %d, want only proposals %d to %d", seed, id, tt.wantFirst, tt.wantFirst+11)
					}
				}
			}
		})
	}
}

func TestChoose_SharedCommonKeywordIsAllowed(t *testing.T) {
	cands := testPool(1, 14, 100)
	cands[0].Keywords = []string{"tramway", "ligne"}
	cands[1].Keywords = []string{"tramway", "quartier"}
	for k := 2; k < 14; k++ {
		cands[k].Keywords = []string{"transport", fmt.Sprintf("mot%d", k)}
	}
	for seed := range uint64(30) {
		got := Choose(cands, Request{}, DefaultConfig(), seeded(seed))
		if slices.Contains(got, 1) && slices.Contains(got, 2) {
			t.Fatalf("seed %d: proposals 1 and 2 share the rare keyword tramway: %v", seed, got)
		}
		if n := len(got); n != 12 {
			t.Fatalf("seed %d: got %d proposals, want 12 (transport is common, not rare)", seed, n)
		}
	}
}

func TestConfig_ValidateRejectsBadValues(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	tests := []struct {
		field  string
		change func(*Config)
	}{
		{"Size", func(c *Config) { c.Size = 0 }},
		{"Size", func(c *Config) { c.Size = 51 }},
		{"NewRatio", func(c *Config) { c.NewRatio = -0.1 }},
		{"NewRatio", func(c *Config) { c.NewRatio = 1.5 }},
		{"NewRatio", func(c *Config) { c.NewRatio = math.NaN() }},
		{"NewMaxVotes", func(c *Config) { c.NewMaxVotes = 0 }},
		{"TestedMaxVotes", func(c *Config) { c.TestedMaxVotes = 10 }},
		{"ControversyRatio", func(c *Config) { c.ControversyRatio = 2 }},
		{"TopCandidates", func(c *Config) { c.TopCandidates = 0 }},
		{"RareKeywordMaxDocs", func(c *Config) { c.RareKeywordMaxDocs = -1 }},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		tt.change(&cfg)
		err := cfg.Validate()
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.Invalid || e.Field != tt.field {
			t.Errorf("%+v: got %v, want an invalid %s", cfg, err, tt.field)
		}
		// Choose still works on the bad value.
		if got := Choose(testPool(1, 60, 100), Request{}, cfg, seeded(1)); len(got) == 0 || len(got) > MaxSize {
			t.Errorf("%+v: Choose returned %d proposals", cfg, len(got))
		}
	}
}

func TestBeta_MeanMatches(t *testing.T) {
	rng := seeded(11)
	for _, tt := range []struct{ a, b float64 }{{1, 1}, {2, 5}, {0.5, 0.5}, {0.2, 3}, {30, 3}, {1001, 1501}} {
		const n = 20000
		sum, sumSq := 0.0, 0.0
		for range n {
			x := beta(rng, tt.a, tt.b)
			if !(x >= 0 && x <= 1) {
				t.Fatalf("Beta(%v, %v) drew %v", tt.a, tt.b, x)
			}
			sum += x
			sumSq += x * x
		}
		mean := tt.a / (tt.a + tt.b)
		variance := tt.a * tt.b / ((tt.a + tt.b) * (tt.a + tt.b) * (tt.a + tt.b + 1))
		if got := sum / n; math.Abs(got-mean) > 5*math.Sqrt(variance/n) {
			t.Errorf("Beta(%v, %v): mean %v, want %v", tt.a, tt.b, got, mean)
		}
		if got := sumSq/n - (sum/n)*(sum/n); math.Abs(got-variance) > 0.1*variance {
			t.Errorf("Beta(%v, %v): variance %v, want %v", tt.a, tt.b, got, variance)
		}
	}
}

func TestKeywords(t *testing.T) {
	tests := []struct {
		content string
		want    []string
	}{
		{"Il faut développer les pistes cyclables dans toutes les villes", []string{"développer", "pistes", "cyclables", "villes"}},
		{"We must build more bike lanes, bike LANES!", []string{"build", "bike", "lanes"}},
		{"Il faut que l'École publique ouvre le samedi", []string{"école", "publique", "ouvre", "samedi"}},
		{"Il faut des vélo-cargos en 2030", []string{"vélo", "cargos"}},
		{"Il faut une e\u0301cole", []string{"e\u0301cole"}}, // decomposed accent, five letters
		{"Il faut que ça aille", []string{"aille"}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := Keywords(tt.content); !slices.Equal(got, tt.want) {
			t.Errorf("Keywords(%q) = %q, want %q", tt.content, got, tt.want)
		}
	}
}

// benchCandidates is n proposals as in a large consultation: a tenth new, a twentieth past
// the tested limit, the rest tested, keywords from a vocabulary where some words are common
// and most rare, and a request of a participant who voted on 60.
func benchCandidates(n int) ([]Candidate, Request) {
	rng := seeded(99)
	words := rand.NewZipf(rng, 1.2, 1, uint64(8*n/3))
	cands := make([]Candidate, n)
	for i := range cands {
		votes := 10 + rng.IntN(1490)
		switch {
		case i%10 == 0:
			votes = rng.IntN(10)
		case i%20 == 1:
			votes = 1500 + rng.IntN(3000)
		}
		agree := rng.Float64()
		c := Candidate{
			ID:         int64(i + 1),
			AuthorID:   fmt.Sprintf("author%d", rng.IntN(n/2)),
			AcceptedAt: epoch.Add(time.Duration(i) * time.Minute),
			Votes:      votes,
			Agree:      math.Round(agree * float64(votes) * 0.8),
			Disagree:   math.Round((1 - agree) * float64(votes) * 0.8),
			Neutral:    math.Round(float64(votes) * 0.2),
		}
		c.LikeIt, c.NoWay = math.Round(c.Agree*0.3), math.Round(c.Disagree*0.3)
		for range 4 + rng.IntN(5) {
			if w := fmt.Sprintf("mot%d", words.Uint64()); !slices.Contains(c.Keywords, w) {
				c.Keywords = append(c.Keywords, w)
			}
		}
		cands[i] = c
	}
	voted := map[int64]bool{}
	for len(voted) < 60 {
		voted[int64(1+rng.IntN(n))] = true
	}
	return cands, Request{Participant: "author7", Voted: voted, Excluded: map[int64]bool{5: true, 6: true}}
}

func benchChoose(b *testing.B, n int, short bool) { benchChooseWith(b, n, short, false) }

func benchChooseWith(b *testing.B, n int, short, pending bool) {
	cands, req := benchCandidates(n)
	if short {
		req.Shortlist, req.Buffers = NewShortlist(cands, DefaultConfig()), &Buffers{}
	}
	if pending {
		votes := pendingFor(cands, DefaultConfig())
		req.Pending = func(i int) int { return votes[i] }
	}
	rng := seeded(99)
	cfg := DefaultConfig()
	b.ReportAllocs()
	for b.Loop() {
		if got := Choose(cands, req, cfg, rng); len(got) != 12 {
			b.Fatalf("got %d proposals", len(got))
		}
	}
}

// BenchmarkChoose3000 chooses 12 of 3,000 proposals, as on every sequence request of a large
// consultation; the Shortlist variants bound the draws (rule 9), as Concorde does, and the
// Pending one counts votes on their way, as between two reads of the counters.
func BenchmarkChoose300(b *testing.B)            { benchChoose(b, 300, false) }
func BenchmarkChoose300Shortlist(b *testing.B)   { benchChoose(b, 300, true) }
func BenchmarkChoose3000(b *testing.B)           { benchChoose(b, 3000, false) }
func BenchmarkChoose3000Shortlist(b *testing.B)  { benchChoose(b, 3000, true) }
func BenchmarkChoose30000(b *testing.B)          { benchChoose(b, 30000, false) }
func BenchmarkChoose30000Shortlist(b *testing.B) { benchChoose(b, 30000, true) }
func BenchmarkChoose30000ShortlistPending(b *testing.B) {
	benchChooseWith(b, 30000, true, true)
}

// Rule 9: with a shortlist, the draws still go to the best proposals, and a proposal outside
// the leaders is still shown now and then.
func TestChoose_ShortlistKeepsTheDrawsOnTheBest(t *testing.T) {
	cands, req := benchCandidates(5000)
	req.Shortlist, req.Buffers = NewShortlist(cands, DefaultConfig()), &Buffers{}
	cfg := DefaultConfig()
	cfg.NewRatio, cfg.ControversyRatio, cfg.RandomSlots = 0, 0, 0
	leaders := map[int64]bool{}
	for _, l := range req.Shortlist.top {
		leaders[l.id] = true
	}
	rng := seeded(4)
	shown, outside := 0, 0
	var agreeWith, agreeWithout float64
	for range 200 {
		for _, id := range Choose(cands, req, cfg, rng) {
			c := cands[id-1]
			shown++
			if !leaders[id] {
				outside++
			}
			agreeWith += c.Agree / (c.Agree + c.Disagree + c.Neutral + 1)
		}
	}
	req.Shortlist = nil
	for range 200 {
		for _, id := range Choose(cands, req, cfg, rng) {
			c := cands[id-1]
			agreeWithout += c.Agree / (c.Agree + c.Disagree + c.Neutral + 1)
		}
	}
	if math.Abs(agreeWith-agreeWithout)/agreeWithout > 0.05 {
		t.Errorf("mean agreement of the proposals shown: %.3f with the shortlist, %.3f without", agreeWith/float64(shown), agreeWithout/float64(shown))
	}
	if outside == 0 {
		t.Errorf("no proposal outside the %d leaders was shown in 200 sequences", ShortlistLeaders)
	}
	// Under the size where it bounds the draws, a shortlist changes nothing.
	// So does a rare-keyword threshold other than the one the shortlist was built for (rule 7
	// then counts keywords rather than reading the shortlist's rare ones), the rule turned off
	// included.
	// Likewise with a shortlist built for that threshold (rule 7 reads its numbered rare
	// keywords), and with a keyword written twice in a proposal.
	small, sreq := benchCandidates(ShortlistFrom - 1)
	for i := range small {
		if i%7 == 0 {
			small[i].Keywords = append(small[i].Keywords, small[i].Keywords[0])
		}
	}
	built := NewShortlist(small, DefaultConfig())
	for _, rare := range []int{DefaultConfig().RareKeywordMaxDocs, 1, 40} {
		rcfg := DefaultConfig()
		rcfg.RareKeywordMaxDocs = rare
		for _, sl := range []*Shortlist{built, NewShortlist(small, rcfg)} {
			for seed := range uint64(5) {
				sreq.Shortlist, sreq.Buffers = nil, nil
				plain := Choose(small, sreq, rcfg, seeded(seed))
				sreq.Shortlist, sreq.Buffers = sl, &Buffers{}
				if got := Choose(small, sreq, rcfg, seeded(seed)); !slices.Equal(got, plain) {
					t.Errorf("%d proposals, rare under %d (shortlist built for %d), seed %d: %v with a shortlist, %v without",
						len(small), rare, sl.rareMax, seed, got, plain)
				}
			}
		}
	}
	// A shortlist built for other candidates is ignored.
	if got := Choose(cands[:4000], Request{Shortlist: NewShortlist(cands, DefaultConfig())}, cfg, rng); len(got) != 12 {
		t.Fatalf("with a shortlist of other candidates: %v", got)
	}
}

// Counters lag behind the votes; the proposals already shown count as votes on their way,
// so that participants asking within one lag do not all get the same oldest new proposals.
func TestChoose_PendingVotesSpreadNewProposalsWithinALag(t *testing.T) {
	cands := make([]Candidate, 60)
	for i := range cands {
		cands[i] = Candidate{ID: int64(i + 1), AuthorID: fmt.Sprintf("a%d", i), AcceptedAt: time.Unix(int64(i), 0)}
	}
	spread := func(pending bool) int {
		shown := make([]int, len(cands))
		seen := map[int64]bool{}
		rng := rand.New(rand.NewPCG(1, 2))
		for p := 0; p < 40; p++ {
			req := Request{Participant: fmt.Sprintf("p%d", p)}
			if pending {
				req.Pending = func(i int) int { return shown[i] }
			}
			for _, id := range Choose(cands, req, DefaultConfig(), rng) {
				seen[id] = true
				shown[id-1]++
			}
		}
		return len(seen)
	}
	if without, with := spread(false), spread(true); with < 2*without {
		t.Fatalf("40 sequences within one lag showed %d of 60 proposals with pending votes, %d without", with, without)
	}
}
