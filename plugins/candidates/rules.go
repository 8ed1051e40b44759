package main

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// The three rules of the plugin that decide what citizens read, all public (the method page
// and the README state them) and pure, so that anyone can check them: which consensus
// proposals become statements, how a citizen's answers score against each candidate, and in
// which order candidates are shown.

// Positions a candidate takes, and the answers a citizen gives (the same, plus skip).
const (
	Agree    = "agree"
	Disagree = "disagree"
	Neutral  = "neutral"
	Skip     = "skip"
)

// StatementRule is the published rule that turns a consultation's results into statements.
const StatementRule = "the N proposals of the consensus zone of the published results with the highest lower bound " +
	"of the 95 % interval of their top score; ties by the higher top score, then by the lower proposal id"

// selectStatements applies StatementRule to published results: statements s1…sN in that order.
// It fails when the consensus zone holds fewer than n proposals.
// prefix is the consultation's proposal prefix ("Il faut"), put before each proposal's content.
func selectStatements(consensus []*sdk.RankedProposal, prefix string, n int) ([]Statement, error) {
	var ps []*sdk.RankedProposal
	for _, p := range consensus {
		if p.GetZone() == "consensus" {
			ps = append(ps, p)
		}
	}
	if len(ps) < n {
		return nil, bad("statements_count", "the consultation's published results hold %d proposals in consensus, fewer than the %d asked", len(ps), n)
	}
	slices.SortStableFunc(ps, func(a, b *sdk.RankedProposal) int {
		if c := cmp.Compare(b.GetTopLow(), a.GetTopLow()); c != 0 {
			return c
		}
		if c := cmp.Compare(b.GetTop(), a.GetTop()); c != 0 {
			return c
		}
		return cmp.Compare(a.GetId(), b.GetId())
	})
	out := make([]Statement, 0, n)
	for i, p := range ps[:n] {
		top, low, high := p.GetTop(), p.GetTopLow(), p.GetTopHigh()
		text := p.GetContent()
		if prefix != "" {
			text = prefix + " " + text
		}
		out = append(out, Statement{ID: fmt.Sprintf("s%d", i+1), Text: text, ProposalID: p.GetId(),
			Top: &top, TopLow: &low, TopHigh: &high, PublishedRank: int(p.GetRank())})
	}
	return out, nil
}

// agreement is what one statement gives a candidate, Wahl-O-Mat's way: 2 points when the
// candidate's position is the citizen's answer, 1 when one of them is neutral and the other
// is not (adjacent), 0 when they are opposite (agree and disagree) or the candidate took no
// position.
func agreement(answer, position string) int {
	switch {
	case position == "":
		return 0
	case answer == position:
		return 2
	case answer == Neutral || position == Neutral:
		return 1
	}
	return 0
}

// Score is how close one candidate stands to a citizen's answers.
type Score struct {
	Points  int `json:"points"`
	Max     int `json:"max_points"`
	Percent int `json:"score_percent"`
}

// score compares answers (statement id → agree, disagree, neutral or skip) with a candidate's
// positions. A skipped statement counts for neither side; a doubled one (marked important)
// counts twice, in the points and in the maximum. The percentage is of the maximum reachable
// with these answers, rounded to the nearest whole number; it is 0 when nothing was answered.
func score(statements []Statement, answers map[string]string, double map[string]bool, positions map[string]Position) Score {
	var s Score
	for _, st := range statements {
		a := answers[st.ID]
		if a == "" || a == Skip {
			continue
		}
		w := 1
		if double[st.ID] {
			w = 2
		}
		s.Max += 2 * w
		s.Points += w * agreement(a, positions[st.ID].Position)
	}
	if s.Max > 0 {
		s.Percent = int(math.Round(100 * float64(s.Points) / float64(s.Max)))
	}
	return s
}

// order is the candidates' ids in the order one visitor sees them: sorted, then shuffled by
// Fisher–Yates with a PCG generator seeded from the SHA-256 of seed. Every order is equally
// likely across seeds, and one seed always gives the same order, so a visitor's pages agree
// with each other and an auditor can replay any order from its seed.
func order(ids []string, seed string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	h := sha256.Sum256([]byte(seed))
	r := rand.New(rand.NewPCG(binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:16])))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// visitorSeed is the seed of a visitor's order in an election: one-way from who they are (their
// account or participant session), so it names nobody, and the same on each of their pages.
func visitorSeed(electionID, who string) string {
	h := sha256.Sum256([]byte("candidates-order\x00" + electionID + "\x00" + who))
	return fmt.Sprintf("%x", h[:8])
}
