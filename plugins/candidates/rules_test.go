package main

import (
	"fmt"
	"math"
	"testing"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

func stmts(n int) []Statement {
	var out []Statement
	for i := 1; i <= n; i++ {
		out = append(out, Statement{ID: fmt.Sprintf("s%d", i), Text: fmt.Sprintf("Affirmation %d", i)})
	}
	return out
}

func pos(ps ...string) map[string]Position {
	out := map[string]Position{}
	for i, p := range ps {
		if p != "" {
			out[fmt.Sprintf("s%d", i+1)] = Position{Position: p}
		}
	}
	return out
}

// The Wahl-O-Mat formula on cases worked out by hand.
func TestScore_KnownCases(t *testing.T) {
	cases := []struct {
		name            string
		answers         map[string]string
		double          []string
		positions       map[string]Position
		points, max, pc int
	}{
		{"all the same", map[string]string{"s1": Agree, "s2": Disagree, "s3": Neutral}, nil, pos(Agree, Disagree, Neutral), 6, 6, 100},
		{"all opposite", map[string]string{"s1": Agree, "s2": Disagree}, nil, pos(Disagree, Agree), 0, 4, 0},
		{"neutral is adjacent to both", map[string]string{"s1": Neutral, "s2": Agree, "s3": Disagree}, nil, pos(Agree, Neutral, Neutral), 3, 6, 50},
		// Skipped: counts for neither side, in the points nor in the maximum.
		{"skips are ignored", map[string]string{"s1": Agree, "s2": Skip, "s3": Disagree}, nil, pos(Agree, Disagree, Agree), 2, 4, 50},
		// The method page's example: A doubled and agreed, B neutral, C skipped; the candidate
		// agrees with A and disagrees with B: 2×2 + 1 = 5 of 2×2 + 2 = 6.
		{"doubled counts twice", map[string]string{"s1": Agree, "s2": Neutral, "s3": Skip}, []string{"s1"}, pos(Agree, Disagree, Agree), 5, 6, 83},
		{"doubled and opposite", map[string]string{"s1": Agree, "s2": Agree}, []string{"s1"}, pos(Disagree, Agree), 2, 6, 33},
		{"doubled but skipped adds nothing", map[string]string{"s1": Skip, "s2": Agree}, []string{"s1"}, pos(Agree, Agree), 2, 2, 100},
		{"no position gives 0", map[string]string{"s1": Agree, "s2": Agree}, nil, pos(Agree, ""), 2, 4, 50},
		{"nothing answered", map[string]string{"s1": Skip}, nil, pos(Agree), 0, 0, 0},
		{"rounding 2/3", map[string]string{"s1": Agree, "s2": Agree, "s3": Agree}, nil, pos(Agree, Agree, ""), 4, 6, 67},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := map[string]bool{}
			for _, s := range c.double {
				d[s] = true
			}
			got := score(stmts(3), c.answers, d, c.positions)
			if got.Points != c.points || got.Max != c.max || got.Percent != c.pc {
				t.Fatalf("got %d/%d = %d %%, want %d/%d = %d %%", got.Points, got.Max, got.Percent, c.points, c.max, c.pc)
			}
		})
	}
}

func TestAgreement_IsSymmetric(t *testing.T) {
	for _, a := range []string{Agree, Disagree, Neutral} {
		for _, b := range []string{Agree, Disagree, Neutral} {
			if agreement(a, b) != agreement(b, a) {
				t.Errorf("agreement(%s, %s) = %d but agreement(%s, %s) = %d", a, b, agreement(a, b), b, a, agreement(b, a))
			}
		}
	}
}

// Each candidate comes first about equally often over visitors, and one visitor always sees
// the same order.
func TestOrder_EachCandidateFirstAboutEquallyOften(t *testing.T) {
	ids := []string{"c1", "c2", "c3", "c4", "c5"}
	const visitors = 20000
	first := map[string]int{}
	for i := range visitors {
		o := order(ids, visitorSeed("e1", fmt.Sprintf("p:%d", i)))
		if len(o) != len(ids) {
			t.Fatalf("order lost candidates: %v", o)
		}
		first[o[0]]++
	}
	// Chi-square with 4 degrees of freedom: above 18.5 happens one time in a thousand.
	exp := float64(visitors) / float64(len(ids))
	chi := 0.0
	for _, id := range ids {
		d := float64(first[id]) - exp
		chi += d * d / exp
	}
	if chi > 18.5 {
		t.Fatalf("first places %v: chi² = %.1f, not uniform", first, chi)
	}
	// Every position, not only the first: each candidate last about as often too.
	last := map[string]int{}
	for i := range visitors {
		o := order(ids, fmt.Sprintf("seed-%d", i))
		last[o[len(o)-1]]++
	}
	for _, id := range ids {
		if math.Abs(float64(last[id])-exp) > 0.06*exp {
			t.Errorf("%s last %d times, expected about %.0f", id, last[id], exp)
		}
	}
	a, b := order(ids, "same"), order([]string{"c5", "c4", "c3", "c2", "c1"}, "same")
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("one seed gave two orders: %v and %v", a, b)
	}
}

func ranked(id int64, top, low float64, zone string) *sdk.RankedProposal {
	return &sdk.RankedProposal{Id: id, Content: fmt.Sprintf("Proposition %d", id), Zone: zone, Top: top, TopLow: low, TopHigh: top + (top - low)}
}

// The rule: consensus only, by the lower bound of the top score's interval, ties by top then id.
func TestSelectStatements_ByLowerBound(t *testing.T) {
	published := []*sdk.RankedProposal{
		ranked(10, 0.90, 0.40, "consensus"), // high score, few votes: wide interval
		ranked(11, 0.80, 0.70, "consensus"),
		ranked(12, 0.75, 0.70, "consensus"), // same bound as 11, lower top
		ranked(13, 0.99, 0.95, "controversy"),
		ranked(9, 0.80, 0.70, "consensus"), // same bound and top as 11, lower id
		ranked(14, 0.60, 0.55, "consensus"),
	}
	got, err := selectStatements(published, "Il faut", 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{9, 11, 12, 14}
	for i, s := range got {
		if s.ProposalID != want[i] || s.ID != fmt.Sprintf("s%d", i+1) || s.Text != fmt.Sprintf("Il faut Proposition %d", want[i]) || s.TopLow == nil {
			t.Fatalf("statement %d: %+v, want proposal %d", i, s, want[i])
		}
	}
	if _, err := selectStatements(published, "", 6); err == nil {
		t.Fatal("6 statements from 5 consensus proposals")
	}
}
