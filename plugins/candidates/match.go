package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// MatchInput is the body of POST /api/elections/{id}/match.
type MatchInput struct {
	Answers map[string]string `json:"answers"`
	Double  []string          `json:"double"`
	// UseMyVotes fills the statements left unanswered with the caller's own votes on the
	// proposals they come from (agree, disagree, neutral), read from the host.
	UseMyVotes bool `json:"use_my_votes"`
	// Seed orders candidates with equal scores; empty: the caller's own order.
	Seed string `json:"seed"`
	// Save keeps the answers for the signed-in caller, to come back to them (GET and DELETE
	// /api/elections/{id}/my-answers). Without it nothing of the answers is stored.
	Save bool `json:"save"`
}

// SavedAnswers are the answers a signed-in citizen asked to keep.
type SavedAnswers struct {
	Answers map[string]string `json:"answers"`
	Double  []string          `json:"double"`
	SavedAt string            `json:"saved_at"`
}

// savedKey is where a person's answers to an election are kept: the subject is hashed, so that
// the storage's keys name nobody.
func savedKey(electionID, subject string) string {
	sum := sha256.Sum256([]byte(subject))
	return "answers/" + electionID + "/" + hex.EncodeToString(sum[:16])
}

// saveAnswers keeps a signed-in caller's answers, on their request.
func saveAnswers(ctx context.Context, e *Election, answers map[string]string, double []string, now time.Time) error {
	p := sdk.CallOf(ctx).Principal
	if p.Anonymous || p.Subject == "" {
		return sdk.E(sdk.Unauthorized, "sign in to keep your answers")
	}
	_, err := sdk.Host(ctx).Storage().PutJSON(ctx, savedKey(e.ID, p.Subject),
		SavedAnswers{Answers: answers, Double: double, SavedAt: now.UTC().Format(time.RFC3339)})
	return err
}

// loadAnswers reads the answers the caller kept, if any.
func loadAnswers(ctx context.Context, e *Election) (SavedAnswers, bool, error) {
	var s SavedAnswers
	p := sdk.CallOf(ctx).Principal
	if p.Anonymous || p.Subject == "" {
		return s, false, sdk.E(sdk.Unauthorized, "sign in to find your answers")
	}
	_, ok, err := sdk.Host(ctx).Storage().GetJSON(ctx, savedKey(e.ID, p.Subject), &s)
	return s, ok, err
}

// forgetAnswers deletes the answers the caller kept.
func forgetAnswers(ctx context.Context, e *Election) error {
	p := sdk.CallOf(ctx).Principal
	if p.Anonymous || p.Subject == "" {
		return sdk.E(sdk.Unauthorized, "sign in to delete your answers")
	}
	_, err := sdk.Host(ctx).Storage().Delete(ctx, savedKey(e.ID, p.Subject))
	return err
}

// MatchResult is one candidate's score.
type MatchResult struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	List string `json:"list"`
	Score
}

// MatchOutput is the answer of the matching: nothing of it is stored.
type MatchOutput struct {
	Candidates []MatchResult     `json:"candidates"`
	Answered   int               `json:"answered"`
	FromVotes  int               `json:"from_my_votes"`
	Answers    map[string]string `json:"answers"`
	Double     []string          `json:"double"`
	OrderSeed  string            `json:"order_seed"`
	Method     string            `json:"method"`
	Ordered    []Candidate       `json:"-"` // the candidates in the visitor's order, for the page
}

// myVotes returns the caller's votes as answers to e's statements that come from proposals.
func myVotes(ctx context.Context, e *Election) (map[string]string, error) {
	if e.Source == nil {
		return map[string]string{}, nil
	}
	var ids []int64
	for _, s := range e.Statements {
		if s.ProposalID != 0 {
			ids = append(ids, s.ProposalID)
		}
	}
	votes, err := sdk.Host(ctx).Results().MyVotes(ctx, e.Source.ConsultationID, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, s := range e.Statements {
		switch k := votes[s.ProposalID]; k {
		case Agree, Disagree, Neutral:
			out[s.ID] = k
		}
	}
	return out, nil
}

// validateAnswers checks answers and double against e's statements.
func validateAnswers(e *Election, answers map[string]string, double []string) (map[string]bool, error) {
	if len(answers) > len(e.Statements) || len(double) > len(e.Statements) {
		return nil, bad("answers", "more answers than statements")
	}
	for sid, a := range answers {
		if _, ok := e.statement(sid); !ok {
			return nil, bad("answers", "unknown statement %q", sid)
		}
		switch a {
		case Agree, Disagree, Neutral, Skip:
		default:
			return nil, bad("answers", "answer %q to %s: each answer is agree, disagree, neutral or skip", a, sid)
		}
	}
	d := map[string]bool{}
	for _, sid := range double {
		if _, ok := e.statement(sid); !ok {
			return nil, bad("double", "unknown statement %q", sid)
		}
		d[sid] = true
	}
	return d, nil
}

// match scores every candidate who accepted their invitation against the answers; the
// best first, equal scores in the visitor's order.
func match(ctx context.Context, e *Election, in MatchInput) (*MatchOutput, error) {
	answers := map[string]string{}
	for k, v := range in.Answers {
		answers[k] = v
	}
	double, err := validateAnswers(e, answers, in.Double)
	if err != nil {
		return nil, err
	}
	out := &MatchOutput{Method: methodSummary}
	if in.UseMyVotes {
		mv, err := myVotes(ctx, e)
		if err != nil {
			return nil, err
		}
		for sid, a := range mv {
			if _, given := answers[sid]; !given {
				answers[sid] = a
				out.FromVotes++
			}
		}
	}
	for _, a := range answers {
		if a != Skip {
			out.Answered++
		}
	}
	if out.Answered == 0 {
		return nil, bad("answers", "answer at least one statement (agree, disagree or neutral)")
	}
	cs, err := candidates(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	seed := in.Seed
	if seed == "" {
		seed = callerSeed(ctx, e.ID)
	} else if len(seed) > 64 {
		return nil, bad("seed", "a seed holds at most 64 characters")
	}
	out.OrderSeed = seed
	var accepted []Candidate
	for _, c := range cs {
		if c.AcceptedAt != nil {
			accepted = append(accepted, c)
		}
	}
	out.Ordered = inOrder(accepted, seed)
	for _, c := range out.Ordered {
		out.Candidates = append(out.Candidates, MatchResult{ID: c.ID, Name: c.Name, List: c.List, Score: score(e.Statements, answers, double, c.Positions)})
	}
	// Stable: equal scores keep the visitor's order, which favours nobody.
	slices.SortStableFunc(out.Candidates, func(a, b MatchResult) int { return b.Percent - a.Percent })
	if out.Candidates == nil {
		out.Candidates = []MatchResult{}
	}
	out.Answers = answers
	for _, s := range e.Statements {
		if double[s.ID] {
			out.Double = append(out.Double, s.ID)
		}
	}
	if out.Double == nil {
		out.Double = []string{}
	}
	return out, nil
}

// callerSeed is the seed of the caller's order in election eid: their account or
// participant session, else (a client with neither) a new one each time.
func callerSeed(ctx context.Context, eid string) string {
	p := sdk.CallOf(ctx).Principal
	who := p.Participant
	if !p.Anonymous && p.Subject != "" {
		who = p.Subject
	}
	if who == "" {
		who = newID()
	}
	return visitorSeed(eid, who)
}

const methodSummary = "Wahl-O-Mat scoring: for each statement answered (skipped ones count for neither side), 2 points when the candidate's position is the answer, " +
	"1 when one of the two is neutral and the other is not, 0 when they are opposite or the candidate took no position; a statement marked important counts twice, " +
	"in the points and in the maximum; score_percent = round(100 × points / maximum)."
