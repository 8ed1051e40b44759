package main

import (
	"math/big"
	"sort"
)

// Match-funding rules. A fund matches pledges to the projects attached to it:
//
//   - factor (Goteo's "Duplicate"): each pledge is matched by factor × its amount, at most
//     cap_per_pledge_cents for one pledge and cap_per_project_cents for one project, with
//     one_per_person only one matched pledge per person and fund, until the fund is empty.
//   - criteria: the factor rule, once the project meets the criteria, counting the pledge
//     being made: at least min_backers backers and target_percent of its minimum reached.
//   - quadratic: the CLR formula of Buterin, Hitzig and Weyl ("Liberal Radicalism", 2018):
//     a project whose backers gave c_1 … c_n (each person's pledges summed) gets
//     (√c_1 + … + √c_n)² − (c_1 + … + c_n); when the fund cannot pay every project its
//     amount, each gets its share of the budget in proportion. It is computed when the project
//     closes, counted towards its minimum, capped by cap_per_project_cents and what is left.
//
// Every amount is capped by what the fund has left and by what the project can still take
// (its optimum): a fund never commits more than its budget.

// Rule kinds.
const (
	ruleFactor    = "factor"
	ruleCriteria  = "criteria"
	ruleQuadratic = "quadratic"
)

// Rule is how a fund matches.
type Rule struct {
	Kind               string `json:"kind"`
	Factor             int64  `json:"factor,omitempty"`
	CapPerPledgeCents  int64  `json:"cap_per_pledge_cents,omitempty"`
	CapPerProjectCents int64  `json:"cap_per_project_cents,omitempty"`
	OnePerPerson       bool   `json:"one_per_person,omitempty"`
	MinBackers         int64  `json:"min_backers,omitempty"`
	TargetPercent      int64  `json:"target_percent,omitempty"`
}

// pledgeState is what a rule needs to know of a pledge being made.
type pledgeState struct {
	Amount int64
	// Project, counting this pledge: its backers, pledged and matched so far (by every fund,
	// this one's earlier matches included), and its minimum and optimum.
	Backers, Pledged, Matched, Minimum, Optimum int64
	// FundRemaining is what the fund has left; FundForProject what it gave this project.
	FundRemaining, FundForProject int64
	// PersonMatched is whether this person already has a pledge this fund matched.
	PersonMatched bool
}

// matchPledge is what a fund with rule r gives a pledge made now: 0 for quadratic funds
// (they match at the close) and when the rule does not apply.
func matchPledge(r Rule, s pledgeState) int64 {
	switch r.Kind {
	case ruleFactor:
	case ruleCriteria:
		if s.Backers < r.MinBackers || percent(s.Pledged+s.Matched, s.Minimum) < r.TargetPercent {
			return 0
		}
	default:
		return 0
	}
	if r.OnePerPerson && s.PersonMatched {
		return 0
	}
	m := s.Amount * r.Factor // both bounded by maxCents and 10: no overflow
	if r.CapPerPledgeCents > 0 {
		m = min(m, r.CapPerPledgeCents)
	}
	if r.CapPerProjectCents > 0 {
		m = min(m, r.CapPerProjectCents-s.FundForProject)
	}
	m = min(m, s.FundRemaining, s.Optimum-s.Pledged-s.Matched)
	return max(m, 0)
}

// clr is the quadratic match of one project from its backers' contributions in cents:
// (Σ √c)² − Σ c, computed with 256-bit precision and rounded down to the cent.
func clr(contributions []int64) int64 {
	if len(contributions) < 2 {
		return 0 // one backer: (√c)² − c = 0
	}
	cs := append([]int64(nil), contributions...)
	sort.Slice(cs, func(i, j int) bool { return cs[i] < cs[j] }) // the same sum whatever the order
	sum := new(big.Float).SetPrec(256)
	var total int64
	for _, c := range cs {
		if c <= 0 {
			continue
		}
		total += c
		sum.Add(sum, new(big.Float).SetPrec(256).Sqrt(new(big.Float).SetPrec(256).SetInt64(c)))
	}
	sq := new(big.Float).SetPrec(256).Mul(sum, sum)
	sq.Sub(sq, new(big.Float).SetPrec(256).SetInt64(total))
	// Perfect squares give exact integers; otherwise the value is within 2^-200 of the true
	// one, and a hair added before truncating keeps a whole result from rounding down to the
	// cent below.
	sq.Add(sq, new(big.Float).SetPrec(256).SetFloat64(1e-30))
	n, _ := sq.Int(nil)
	if !n.IsInt64() {
		return maxCents
	}
	return max(n.Int64(), 0)
}

// quadraticShares divides a fund's budget between projects by their CLR amounts: each
// gets its amount when the budget covers them all, else budget × amount / total, rounded
// down, so the shares never add up to more than the budget.
func quadraticShares(budget int64, amounts map[string]int64) map[string]int64 {
	var total int64
	for _, a := range amounts {
		total += a
	}
	out := make(map[string]int64, len(amounts))
	for id, a := range amounts {
		if total <= budget {
			out[id] = a
			continue
		}
		share := new(big.Int).Mul(big.NewInt(budget), big.NewInt(a))
		share.Quo(share, big.NewInt(total))
		out[id] = share.Int64()
	}
	return out
}
