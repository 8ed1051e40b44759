package results

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// camps builds sequence votes from participants in camps of known opinion. Each proposal
// has, per camp, the probability that a member agrees (the rest disagree, a tenth of them
// neutral); every participant votes on perParticipant proposals drawn at random.
func camps(seed uint64, sizes []int, agree [][]float64, perParticipant int) *OpinionVotes {
	rng := rand.New(rand.NewPCG(seed, 1))
	proposals := len(agree)
	total := 0
	for _, n := range sizes {
		total += n * perParticipant
	}
	m := NewOpinionVotes(total)
	seen := make([]bool, proposals)
	for c, n := range sizes {
		for i := range n {
			name := fmt.Sprintf("a:%d-%d", c, i)
			clear(seen)
			for range perParticipant {
				q := rng.IntN(proposals)
				for seen[q] {
					q = (q + 1) % proposals
				}
				seen[q] = true
				k := Disagree
				switch u := rng.Float64(); {
				case u < agree[q][c]:
					k = Agree
				case u < agree[q][c]+(1-agree[q][c])/10:
					k = Neutral
				}
				m.Add(name, int64(1000+q), k)
			}
		}
	}
	return m
}

func TestGroups_FindCampsAndConsensusAcrossThem(t *testing.T) {
	// Two camps, 700 and 300 participants, 40 proposals: 0–9 both camps like (a real
	// consensus), 10–19 only the larger camp likes (80 % agree overall: a consensus by the
	// zones' rule, but not across groups), 20–29 only the smaller camp likes, 30–39 nobody.
	agree := make([][]float64, 40)
	for q := range agree {
		switch q / 10 {
		case 0:
			agree[q] = []float64{0.85, 0.85}
		case 1:
			agree[q] = []float64{0.95, 0.1}
		case 2:
			agree[q] = []float64{0.1, 0.95}
		default:
			agree[q] = []float64{0.1, 0.1}
		}
	}
	m := camps(7, []int{700, 300}, agree, 20)
	// Participants with fewer than 7 votes are left out.
	for i := range 50 {
		for q := range 6 {
			m.Add(fmt.Sprintf("b:%d", i), int64(1000+q), Agree)
		}
	}
	o := Groups(m, DefaultGroupsConfig())
	if o.Participants != 1000 {
		t.Errorf("%d participants placed, want the 1000 with at least 7 votes", o.Participants)
	}
	if len(o.GroupSizes) != 2 || o.GroupSizes[0] < 650 || o.GroupSizes[0] > 750 {
		t.Fatalf("groups %v (silhouette %.2f), want two of about 700 and 300", o.GroupSizes, o.Silhouette)
	}
	if len(o.Proposals) != 40 {
		t.Fatalf("%d proposals", len(o.Proposals))
	}
	for _, p := range o.Proposals {
		q := int(p.ProposalID - 1000)
		wantAcross, wantBridging := AcrossFails, false
		if q < 10 {
			wantAcross, wantBridging = AcrossHolds, true
		}
		if p.Across != wantAcross || p.Bridging != wantBridging {
			t.Errorf("proposal %d (%v): across %s, bridging %v (μ+i %.2f, f %.2f), want %s, %v",
				q, agree[q], p.Across, p.Bridging, o.Mean+p.Intercept, p.Factor, wantAcross, wantBridging)
		}
	}
	a, _ := o.Of(1000)
	b, _ := o.Of(1010)
	if a.GroupAware <= b.GroupAware {
		t.Errorf("group-aware consensus: shared %.3f, one camp's %.3f; want the shared one higher", a.GroupAware, b.GroupAware)
	}
}

func TestGroups_SameVotesInAnyOrderGiveTheSameResult(t *testing.T) {
	agree := [][]float64{{0.9, 0.1, 0.5}, {0.1, 0.9, 0.5}, {0.8, 0.8, 0.2}, {0.5, 0.5, 0.9}, {0.2, 0.3, 0.1}, {0.7, 0.2, 0.6}, {0.6, 0.6, 0.6}, {0.3, 0.9, 0.1}, {0.9, 0.9, 0.9}, {0.1, 0.1, 0.9}}
	m := camps(3, []int{200, 150, 100}, agree, 8)
	shuffled := NewOpinionVotes(m.Len())
	order := rand.New(rand.NewPCG(99, 2)).Perm(m.Len())
	for _, i := range order {
		e := m.entries[i]
		k := Neutral
		if e.v > 0 {
			k = Agree
		} else if e.v < 0 {
			k = Disagree
		}
		shuffled.Add(m.names[e.p], m.ids[e.q], k)
	}
	cfg := DefaultGroupsConfig()
	a, b := Groups(m, cfg), Groups(shuffled, cfg)
	if a.Digest != b.Digest || fmt.Sprint(a.GroupSizes) != fmt.Sprint(b.GroupSizes) {
		t.Fatalf("same votes, other order: %s %v against %s %v", a.Digest, a.GroupSizes, b.Digest, b.GroupSizes)
	}
	if c := Groups(m, cfg); c.Digest != a.Digest {
		t.Fatalf("the same input twice: %s then %s", a.Digest, c.Digest)
	}
	t.Logf("groups %v, digest %s", a.GroupSizes, a.Digest)
}

func TestGroups_NoVotes(t *testing.T) {
	o := Groups(NewOpinionVotes(0), DefaultGroupsConfig())
	if o.Participants != 0 || len(o.Proposals) != 0 || o.Digest == "" {
		t.Fatalf("%+v", o)
	}
}

// benchOpinions is the size the brief sets: 1,000,000 votes, 3,000 proposals, 100,000
// participants (10 votes each), in three camps.
func benchOpinions() *OpinionVotes {
	agree := make([][]float64, 3000)
	rng := rand.New(rand.NewPCG(5, 5))
	for q := range agree {
		agree[q] = []float64{rng.Float64(), rng.Float64(), rng.Float64()}
	}
	return camps(11, []int{50000, 30000, 20000}, agree, 10)
}

func BenchmarkGroups_MillionVotes(b *testing.B) {
	m := benchOpinions()
	cfg := DefaultGroupsConfig()
	b.ResetTimer()
	for b.Loop() {
		o := Groups(m, cfg)
		b.ReportMetric(float64(len(o.GroupSizes)), "groups")
	}
}

func TestGroups_NeutralIsNotAgree(t *testing.T) {
	agree := [][]float64{{0.9, 0.1}, {0.1, 0.9}, {0.8, 0.2}, {0.2, 0.8}, {0.9, 0.9}, {0.7, 0.3}, {0.3, 0.7}}
	m := camps(4, []int{40, 40}, agree, 7)
	for c := range 2 {
		for i := range 40 {
			m.Add(fmt.Sprintf("a:%d-%d", c, i), 999, Neutral)
		}
	}
	o := Groups(m, DefaultGroupsConfig())
	p, ok := o.Of(999)
	if !ok {
		t.Fatal("the neutral proposal is missing")
	}
	for g, share := range p.GroupAgree {
		if want := 1 / float64(p.GroupVotes[g]+2); share != want {
			t.Errorf("group %d: agree share %v of %d neutral votes, want %v", g, share, p.GroupVotes[g], want)
		}
	}
}
