package results

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkCoalesce_MillionVotes: 1,000,000 sequence votes of 100,000 sessions (three to a
// source, as households) on 3,000 proposals, the size the opinion groups are measured at.
func BenchmarkCoalesce_MillionVotes(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	s := NewSessionVotes(1_000_000)
	for i := range 100_000 {
		session, source := fmt.Sprintf("p%06d", i), fmt.Sprintf("src%05d", i/3)
		seen := map[int64]bool{}
		for len(seen) < 10 {
			p := rng.Int64N(3000)
			if !seen[p] {
				seen[p] = true
				s.Add(session, source, p, rng.IntN(3), 0)
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if c := Coalesce(s, DefaultCoalesceConfig()); c.Sessions != 0 {
			b.Fatalf("%d sessions merged among households", c.Sessions)
		}
	}
}
