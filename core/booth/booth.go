// Package booth is where a participant takes part: it draws the proposals a participant is
// shown next (the sequence), takes their votes under the rules of the vote path, and takes
// their proposals, for the JSON API and the site's pages alike. Callers pass plain values: the HTTP layer decodes a request,
// calls the booth, and encodes what it returns.
//
// The vote path reads in four files: the handler (core/httpapi/routes_votes.go, castVote),
// Booth.Cast here (every rule, in order), the consultation and proposal from memory
// (core/catalog/catalog.go, ByProposal) and the durable, batched write
// (core/vote/service.go, Service.Cast). Each rule is one call to the package that owns it:
// vote values and qualifications (core/results), vote keys (vote.Signer), rate limits
// (ratelimit.Limiter).
package booth

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	mathrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/proposal"
	"github.com/concorde-civic/concorde/core/ratelimit"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/sequence"
	"github.com/concorde-civic/concorde/core/vote"
)

// Booth takes votes and draws sequences. Its fields are its dependencies.
type Booth struct {
	Catalog *catalog.Catalog
	Votes   *vote.Service
	Signer  vote.Signer
	Limiter *ratelimit.Limiter
	// Limits bound votes per participant (each consultation sets its own) and per source.
	Limits ratelimit.Limits
	// Now is the clock that says whether a consultation is open.
	Now func() time.Time
	// Proposals takes proposals; ProposalsPerSourcePerHour bounds them per client address
	// and site.
	Proposals                 *proposal.Service
	ProposalsPerSourcePerHour int
	// FreshPerSourcePerHour bounds the participants without a vote in a consultation whose
	// first sequence from one source carries full-weight keys (core/vote rule 7); 0 takes
	// DefaultFreshPerSourcePerHour, a negative value turns the rule off.
	FreshPerSourcePerHour int
	// PendingFor is how long a card shown with a full-weight key counts at most as a vote on
	// its way, if its participant neither votes on it nor moves on (0: DefaultPendingFor).
	PendingFor time.Duration

	pending pendingCards     // the cards shown and not voted on yet (pending.go)
	rngs    sync.Pool        // seeded random sources for sequences, without a lock on the hot path
	buffers sequence.Buffers // the sequence's working memory, reused
}

// Request is one vote as a participant sends it. Its strings must not point into a buffer
// the caller reuses: the vote may wait for its batch after the caller has given up.
type Request struct {
	TenantID       int64
	ProposalID     int64
	Participant    string   // the account or anonymous participant voting; "" if the browser keeps no cookie
	Source         string   // the client's address, for the per-source limit ("" skips it)
	Vote           string   // agree, disagree or neutral
	Qualifications []string // qualifications of that vote
	Key            string   // the vote key the proposal was served with, or ""
}

// errNoParticipant is the refusal of a vote or a sequence without a participant.
var errNoParticipant = errs.E(errs.Unauthorized, "your browser must accept cookies to vote: reload the page and try again").Say("err_cookies_vote")

// Cast checks a vote and records it, durably, before it returns: the vote and its
// qualifications, the proposal and its consultation (from memory), that the consultation is
// open, the participant, the key's trust, the rate limits, then the write, batched with
// concurrent votes. A well-formed key that does not verify still records the vote, as a
// troll vote, and returns it with vote.ErrForgedKey.
func (b *Booth) Cast(ctx context.Context, r Request) (vote.Vote, error) {
	k, ok := results.ParseKey(r.Vote)
	if !ok {
		return vote.Vote{}, errs.Field("vote", "vote must be agree, disagree or neutral").Say("err_vote_value")
	}
	quals, err := results.ValidQualifications(k, r.Qualifications)
	if err != nil {
		return vote.Vote{}, err
	}
	e, p, err := b.Catalog.ByProposal(ctx, r.TenantID, r.ProposalID)
	if err != nil {
		return vote.Vote{}, err
	}
	if !e.Consultation.IsOpen(b.Now()) {
		return vote.Vote{}, errs.E(errs.Conflict, "this consultation is not open to votes").Say("err_consultation_not_open_votes")
	}
	if r.Participant == "" {
		return vote.Vote{}, errNoParticipant
	}
	trust, origin, keyErr := b.Signer.Trust(r.Key, r.TenantID, r.ProposalID, r.Participant)
	if keyErr != nil && !errs.Is(keyErr, errs.Forbidden) {
		return vote.Vote{}, keyErr // malformed: nothing recorded
	}
	followed := keyErr == nil && origin == vote.Sequence
	if followed && b.pending.picked(e, r.Participant, r.ProposalID) {
		// Picked among the cards served, past skipped ones: self-selected, so published
		// beside, like a vote through a link (core/vote rule 6).
		trust, origin = results.Trusted, vote.Ignored
	}
	lim := b.Limits
	lim.PerParticipant = e.Consultation.Settings.VoteLimitPerMinute
	if err := b.Limiter.AllowVote(r.TenantID, r.Participant, r.Source, lim); err != nil {
		return vote.Vote{}, err
	}
	v, err := b.Votes.Cast(ctx, vote.Ballot{TenantID: r.TenantID, ConsultationID: p.ConsultationID, ProposalID: r.ProposalID,
		Participant: r.Participant, Key: k, Qualifications: quals, Trust: trust, Origin: origin,
		Source: b.Signer.Source(r.TenantID, p.ConsultationID, r.Source)})
	if err != nil {
		return vote.Vote{}, err
	}
	if followed {
		b.pending.voted(e, r.Participant, r.ProposalID, b.now(), b.pendingFor(), b.keyTTL())
	}
	if keyErr != nil {
		return v, keyErr // forged or replayed: kept as a troll vote, left out of the results, and said so
	}
	return v, nil
}

func (b *Booth) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// keyTTL is how long the cards' keys stay valid, so how long picking is followed.
func (b *Booth) keyTTL() time.Duration {
	if b.Signer.TTL > 0 {
		return b.Signer.TTL
	}
	return vote.DefaultKeyTTL
}

func (b *Booth) pendingFor() time.Duration {
	if b.PendingFor > 0 {
		return b.PendingFor
	}
	return DefaultPendingFor
}

// Withdraw removes a participant's vote on a proposal while its consultation is open.
func (b *Booth) Withdraw(ctx context.Context, tenantID, proposalID int64, participant string) error {
	e, _, err := b.Catalog.ByProposal(ctx, tenantID, proposalID)
	if err != nil {
		return err
	}
	if !e.Consultation.IsOpen(b.Now()) {
		return errs.E(errs.Conflict, "this consultation is closed: votes can no longer change").Say("err_votes_final")
	}
	if participant == "" {
		return errNoParticipant
	}
	return b.Votes.Withdraw(ctx, tenantID, proposalID, participant)
}

// Next is the sequence of an open consultation for a participant asking from source: the
// proposals to show next, and the origin their keys must be signed with (Signer.Key):
// vote.Sequence, or vote.Ignored when the participant has not earned full weight (Origin).
// fresh says the participant was made by this very request, so has no votes to read.
func (b *Booth) Next(ctx context.Context, tenantID int64, e *catalog.Entry, participant, source string, fresh bool) ([]int64, vote.Origin, error) {
	if !e.Consultation.IsOpen(b.Now()) {
		return nil, "", errs.E(errs.Conflict, "this consultation is not open to votes").Say("err_consultation_not_open_votes")
	}
	if participant == "" {
		return nil, "", errNoParticipant
	}
	var voted map[int64]results.Key
	if !fresh {
		var err error
		if voted, err = b.Votes.Voted(ctx, tenantID, e.Consultation.ID, participant); err != nil {
			return nil, "", err
		}
	}
	origin := b.Origin(tenantID, e, participant, source, len(voted), false)
	return b.Sequence(e, participant, voted, origin, 0), origin, nil
}

// DefaultFreshPerSourcePerHour is core/vote rule 7's budget: 5 new participants an hour
// from one address get full-weight keys at once; past it (a classroom, an office, or a
// script opening session after session), that address's new participants earn full weight
// by voting first: their first sequence is published beside, the next ones count once they
// have voted on half of what they were shown. With 20, a bloc of 5 % harvesting keys from
// its own addresses still pulled half of the true top 10 out of a 300-proposal
// consultation in ops/integrity; with 5 it does not (BENCHMARKS.md).
const DefaultFreshPerSourcePerHour = 5

// fullWeightWindow is the period over which rule 6 counts the sequences a participant was given.
const fullWeightWindow = 24 * time.Hour

// Origin is the origin to sign the cards of a sequence with, for a participant of e from
// source who has votes votes in it, following core/vote rules 6 and 7: vote.Sequence if the
// participant has earned full weight, vote.Ignored otherwise. page says the sequence is a
// page of the site, which shows one card (else the API's, which shows a whole sequence).
// Each call counts one sequence given.
func (b *Booth) Origin(tenantID int64, e *catalog.Entry, participant, source string, votes int, page bool) vote.Origin {
	t, c := strconv.FormatInt(tenantID, 10), strconv.FormatInt(e.Consultation.ID, 10)
	size := max(SequenceConfig(e).Size, 1)
	limit, kind := 1+2*votes/size, "api"
	if page {
		limit, kind = 2+2*votes, "page"
	}
	if !b.Limiter.Allow("full|"+kind+"|"+t+"|"+c+"|"+participant, limit, fullWeightWindow) {
		return vote.Ignored // rule 6: asks for sequences and votes on almost none
	}
	fresh := b.FreshPerSourcePerHour
	if fresh == 0 {
		fresh = DefaultFreshPerSourcePerHour
	}
	if votes == 0 && fresh > 0 && source != "" && !b.Limiter.Allow("fresh|"+t+"|"+c+"|"+source, fresh, time.Hour) {
		return vote.Ignored // rule 7: one more fresh session from a source that opened many
	}
	return vote.Sequence
}

// Sequence draws the next proposals of e for participant, who already voted on voted, to be
// shown with keys of origin (see Origin); the caller shows the first show of them (0: all;
// a page of the site shows one). A sequence with sequence keys counts the proposals shown
// as votes on their way, until the counters catch up or the participant moves on without
// voting on them (pendingCards); one with ignored keys does not, since votes with them will
// not count: asking for sequences without voting must not hold back the exposure of new
// proposals.
func (b *Booth) Sequence(e *catalog.Entry, participant string, voted map[int64]results.Key, origin vote.Origin, show int) []int64 {
	// The shortlist spares the sequence a pass over every proposal and bounds its draws
	// (sequence rule 9): built once per catalog load, and again in the background when the
	// counters are read again (meanwhile the previous one bounds the draws only).
	short, _ := catalog.Remember(e, "sequence-shortlist", func(e *catalog.Entry) (*sequence.Shortlist, error) {
		return sequence.NewShortlist(e.Candidates, SequenceConfig(e)), nil
	})
	req := sequence.Request{Participant: participant, Voted: make(map[int64]bool, len(voted)), Pending: e.Pending,
		Shortlist: short, Buffers: &b.buffers}
	for id := range voted {
		req.Voted[id] = true
	}
	rng, _ := b.rngs.Get().(*mathrand.Rand)
	if rng == nil {
		var seed [16]byte
		_, _ = rand.Read(seed[:])
		rng = mathrand.New(mathrand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	}
	defer b.rngs.Put(rng)
	ids := sequence.Choose(e.Candidates, req, SequenceConfig(e), rng)
	shown := ids
	if show > 0 && show < len(ids) {
		shown = ids[:show]
	}
	if origin != vote.Sequence {
		shown = nil
	}
	e.MarkShown(shown)
	b.pending.shown(e, participant, shown, b.now(), b.pendingFor(), b.keyTTL()) // and lets go of the previous sequence's
	return ids
}

// SequenceConfig is the consultation's sequence settings, with proposals kept new until
// they have the votes a zone needs (min_votes_for_zone): every proposal gets them before
// the sequence concentrates on the best (sequence rule 3).
func SequenceConfig(e *catalog.Entry) sequence.Config {
	cfg := e.SequenceConfig()
	if m := e.Consultation.Settings.MinVotesForZone; m > cfg.NewMaxVotes {
		cfg.NewMaxVotes = m
		cfg.TestedMaxVotes = max(cfg.TestedMaxVotes, m+1)
	}
	return cfg
}

// Proposal is a proposal as a participant sends it.
type Proposal struct {
	TenantID     int64
	Consultation consultation.Consultation
	Author       string // the account or anonymous participant proposing; "" if none
	Verified     bool   // the author's account has a verified address
	Source       string // the client's address, for the per-source limit
	Content      string
}

// Propose submits a proposal for moderation: the author, the per-source limit, then the
// proposal's own rules (core/proposal).
func (b *Booth) Propose(ctx context.Context, r Proposal) (proposal.Proposal, error) {
	if r.Author == "" {
		return proposal.Proposal{}, errs.E(errs.Unauthorized, "your browser must accept cookies to take part: reload the page and try again").Say("err_cookies_propose")
	}
	// A consultation that asks for an account asks for a real person behind it: the account's
	// address must be verified (an unverified account may still vote, as anyone may).
	if r.Consultation.RequiresAccount && strings.HasPrefix(r.Author, "u:") && !r.Verified {
		unverified := errs.E(errs.Forbidden, "confirm your e-mail address before proposing here: open the link we sent you, or ask for a new one on your account page").Say("err_unverified_propose")
		unverified.Field = "email"
		return proposal.Proposal{}, unverified
	}
	if b.ProposalsPerSourcePerHour >= 0 && // negative: no limit
		!b.Limiter.Allow("proposal-source|"+strconv.FormatInt(r.TenantID, 10)+"|"+r.Source, b.ProposalsPerSourcePerHour, time.Hour) {
		return proposal.Proposal{}, errs.E(errs.TooMany, "too many proposals from your network in the last hour; try again later").Say("err_proposals_per_source")
	}
	return b.Proposals.Submit(ctx, r.TenantID, r.Consultation, r.Author, r.Content)
}
