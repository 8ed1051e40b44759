package results

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestCoalesce_ClonesFromOneSourceCountOnce(t *testing.T) {
	s := NewSessionVotes(0)
	// 20 sessions from one source, the same 12 votes each (agree, one likeIt).
	for i := range 20 {
		for p := range int64(12) {
			s.Add(fmt.Sprintf("clone-%02d", i), "src-a", p, Agree.Index(), 1<<LikeIt.Index())
		}
	}
	// 30 other sessions elsewhere disagree on proposal 0.
	for i := range 30 {
		s.Add(fmt.Sprintf("other-%02d", i), fmt.Sprintf("src-%d", i), 0, Disagree.Index(), 0)
	}
	c := Coalesce(s, DefaultCoalesceConfig())
	if c.Groups != 1 || c.Sessions != 20 {
		t.Fatalf("groups %d of %d sessions, want 1 of 20", c.Groups, c.Sessions)
	}
	var n Counts
	n.Add(Sequence, Agree, []Qualification{LikeIt}, 20)
	n.Add(Sequence, Disagree, nil, 30)
	tally := c.Of(0).Apply(n.Tally())
	near := func(x, want float64) bool { return math.Abs(x-want) < 1e-9 }
	if !near(tally.Total, 31) || !near(tally.EffectiveTotal, 31) || !near(tally.Keys[Agree.Index()], 1) || !near(tally.Quals[LikeIt.Index()], 1) || tally.Keys[Disagree.Index()] != 30 {
		t.Fatalf("tally after coalescing: %+v, want 31 votes: 1 agree (1 likeIt) and 30 disagree", tally)
	}
	if Score(n, DefaultConfig()).Zone == Rejection || ScoreTally(tally, DefaultConfig()).Zone != Rejection {
		t.Errorf("zones: %s before, %s after coalescing; want the clones to stop carrying the proposal",
			Score(n, DefaultConfig()).Zone, ScoreTally(tally, DefaultConfig()).Zone)
	}
}

// A library, a school or an office behind one address: many people, one source, different
// opinions. The sequence shows each of them different proposals; none is merged.
func TestCoalesce_DistinctPeopleBehindOneAddressAreNotMerged(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := NewSessionVotes(0)
	for i := range 200 {
		seen := map[int64]bool{}
		for len(seen) < 24 { // two sequences each, from 300 proposals
			p := rng.Int64N(300)
			if seen[p] {
				continue
			}
			seen[p] = true
			k := Agree.Index()
			if rng.Float64() < 0.4 {
				k = Disagree.Index()
			}
			s.Add(fmt.Sprintf("pupil-%03d", i), "school", p, k, 0)
		}
	}
	// Two classmates shown the same 12 proposals who agree on 10 of them: alike, not the same.
	for p := range int64(12) {
		k := Agree.Index()
		s.Add("twin-a", "school", 1000+p, k, 0)
		if p < 2 {
			k = Disagree.Index()
		}
		s.Add("twin-b", "school", 1000+p, k, 0)
	}
	if c := Coalesce(s, DefaultCoalesceConfig()); c.Groups != 0 || c.Sessions != 0 || len(c.adjust) != 0 {
		t.Fatalf("%d groups of %d sessions merged among distinct people behind one address", c.Groups, c.Sessions)
	}
}

func TestCoalesce_Thresholds(t *testing.T) {
	const src = "sQ4-x1Hb0aE" // a source as core/vote stores it: 8 bytes of keyed hash in base64
	tests := []struct {
		name           string
		common, differ int
		sourceB        string
		want           int // sessions merged
	}{
		{"same votes on 12 proposals", 12, 0, src, 2},
		{"one vote apart of 12: Jaccard 11/13", 12, 1, src, 0},
		{"one vote apart of 20: Jaccard 19/21", 20, 1, src, 2},
		{"same votes on 4 proposals only", 4, 0, src, 0},
		{"same votes from two sources", 12, 0, "tZ9_0Kq2mWw", 0},
		{"same votes, one of them without a source", 12, 0, "", 0},
		// Erasure keeps the source's bucket only (core/vote, DetachIn).
		{"same votes, one of them erased", 12, 0, src[:SourceBucketChars], 2},
		// Two networks that share a bucket: their people are not comparable for it.
		{"same votes from two sources of one bucket", 12, 0, src[:SourceBucketChars] + "9zzzzzzzz", 0},
		{"same votes, one of them erased from another bucket", 12, 0, "tZ9", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSessionVotes(0)
			for p := range int64(tc.common) {
				s.Add("a", src, p, Agree.Index(), 0)
				k := Agree.Index()
				if int(p) < tc.differ {
					k = Neutral.Index()
				}
				s.Add("b", tc.sourceB, p, k, 0)
			}
			if c := Coalesce(s, DefaultCoalesceConfig()); c.Sessions != tc.want {
				t.Errorf("%d sessions merged, want %d", c.Sessions, tc.want)
			}
		})
	}
}

func TestCoalesce_SameVotesInAnyOrderGiveTheSameDigest(t *testing.T) {
	type v struct {
		session, source string
		p               int64
		k               int
	}
	var all []v
	for i := range 6 {
		for p := range int64(8) {
			all = append(all, v{fmt.Sprintf("s%d", i), fmt.Sprintf("%d-source", i%2), p, int(p+int64(i%2)) % 3})
		}
	}
	digest := func(order []v) string {
		s := NewSessionVotes(len(order))
		for _, x := range order {
			s.Add(x.session, x.source, x.p, x.k, 0)
		}
		return Coalesce(s, DefaultCoalesceConfig()).Digest
	}
	want := digest(all)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5 {
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		if got := digest(all); got != want {
			t.Fatalf("digest %s after shuffling, want %s", got, want)
		}
	}
	s := NewSessionVotes(0)
	for _, x := range all {
		s.Add(x.session, x.source, x.p, x.k, 0)
	}
	if c := Coalesce(s, DefaultCoalesceConfig()); c.Groups != 2 || c.Sessions != 6 {
		t.Errorf("groups %d of %d sessions, want 2 of 6 (one per source)", c.Groups, c.Sessions)
	}
}

// A source with more sessions on a proposal than MaxPerProposal: every proposal compares
// another window of them, so all the clones are still found, and the work stays bounded.
func TestCoalesce_ABusySourceIsComparedInWindows(t *testing.T) {
	s := NewSessionVotes(0)
	const clones = 1000 // five times the window
	for i := range clones {
		for p := range int64(40) {
			s.Add(fmt.Sprintf("clone-%04d", i), "carrier", 1000+p*7919, Agree.Index(), 0)
		}
	}
	cfg := DefaultCoalesceConfig()
	if cfg.MaxPerProposal >= clones {
		t.Fatalf("the window (%d) does not bind at %d sessions", cfg.MaxPerProposal, clones)
	}
	c := Coalesce(s, cfg)
	if c.Groups != 1 || c.Sessions != clones {
		t.Fatalf("groups %d of %d sessions, want 1 of %d", c.Groups, c.Sessions, clones)
	}
}
