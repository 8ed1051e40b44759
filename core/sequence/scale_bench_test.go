package sequence

import (
	"fmt"
	"testing"
	"time"
)

// scaleCandidates is n proposals as the scale suite seeds them (core/e2e SeedVotes): votes
// spread evenly, each key as likely, one vote in three qualified, and the same words in
// every proposal.
func scaleCandidates(n, votes int) []Candidate {
	rng := seeded(7)
	words := Keywords("Il faut ouvrir les lieux culturels le soir, proposition numéro 1")
	cands := make([]Candidate, n)
	for i := range cands {
		c := Candidate{ID: int64(i + 1), AuthorID: fmt.Sprintf("p:seed-author-%08d", i), AcceptedAt: epoch.Add(time.Duration(i) * time.Second), Keywords: words}
		per := votes / n
		for range per {
			k := rng.IntN(3)
			q := rng.IntN(9) // a third qualified, one of three qualifications
			switch k {
			case 0:
				c.Agree++
				if q == 0 {
					c.LikeIt++
				}
			case 1:
				c.Disagree++
				if q == 0 {
					c.NoWay++
				}
			default:
				c.Neutral++
			}
		}
		c.Votes = per
		cands[i] = c
	}
	return cands
}

// benchScale chooses from n candidates holding votes votes. Cold, it first walks through
// 32 MB of other memory, as a server does between two sequence requests (its other requests,
// the HTTP layer), so that the candidates are no longer in the processor's cache: what grows
// with the consultation is then the memory a request reads, not its arithmetic.
func benchScale(b *testing.B, n, votes int, cold bool) {
	cands := scaleCandidates(n, votes)
	cfg := DefaultConfig()
	req := Request{Participant: "p:bench", Shortlist: NewShortlist(cands, cfg), Buffers: &Buffers{}}
	rng := seeded(99)
	var other []byte
	if cold {
		other = make([]byte, 32<<20)
	}
	b.ReportAllocs()
	for b.Loop() {
		if cold {
			b.StopTimer()
			for i := 0; i < len(other); i += 64 {
				other[i]++
			}
			b.StartTimer()
		}
		if got := Choose(cands, req, cfg, rng); len(got) != 12 {
			b.Fatalf("got %d proposals", len(got))
		}
	}
}

// BenchmarkChooseScale300 and BenchmarkChooseScale30000 are the sequence of the scale suite's
// smallest and largest consultations (10,000 votes on 300 proposals, 10,000,000 on 30,000);
// the Cold ones are as on a busy server. The ratio of the two sizes is the one the suite
// measures on the server, less the server's own costs.
func BenchmarkChooseScale300(b *testing.B)       { benchScale(b, 300, 10_000, false) }
func BenchmarkChooseScale30000(b *testing.B)     { benchScale(b, 30_000, 10_000_000, false) }
func BenchmarkChooseScaleCold300(b *testing.B)   { benchScale(b, 300, 10_000, true) }
func BenchmarkChooseScaleCold30000(b *testing.B) { benchScale(b, 30_000, 10_000_000, true) }
