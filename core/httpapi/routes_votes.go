package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	mathrand "math/rand/v2"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/proposal"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/sequence"
	"github.com/concorde-civic/concorde/core/vote"
)

// card is a proposal shown to a participant, with the key their vote on it must carry.
type card struct {
	ID      int64    `json:"id"`
	Content string   `json:"content"`
	Themes  []string `json:"themes"`
	Key     string   `json:"key"`
}

type sequenceResponse struct {
	Consultation string `json:"consultation"`
	Prefix       string `json:"prefix"`
	Proposals    []card `json:"proposals"`
	CSRFToken    string `json:"csrf_token,omitempty"`
}

type keyedProposal struct {
	proposal.Proposal
	Key string `json:"key,omitempty"`
}

type proposalPage struct {
	Proposals []keyedProposal `json:"proposals"`
	Total     int             `json:"total"`
	Page      int             `json:"page"`
	PerPage   int             `json:"per_page"`
}

type voteRequest struct {
	Vote           string   `json:"vote"`
	Qualifications []string `json:"qualifications"`
	Key            string   `json:"key"`
}

type voteResponse struct {
	ProposalID     int64    `json:"proposal_id"`
	Vote           string   `json:"vote"`
	Qualifications []string `json:"qualifications"`
	Trust          string   `json:"trust"`
}

// rngs hands out seeded random sources for sequences without a lock on the hot path.
var rngs = sync.Pool{New: func() any {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return mathrand.New(mathrand.NewPCG(binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])))
}}

// participantOf is who votes: the account, or the anonymous participant session.
func participantOf(c *fiber.Ctx) (string, error) {
	me := caller.PrincipalOf(c.UserContext()).Participant()
	if me == "" {
		return "", errs.E(errs.Unauthorized, "your browser must accept cookies to vote: reload the page and try again")
	}
	return me, nil
}

// key signs a proposal for the caller, shown from origin.
func (s *Server) key(c *fiber.Ctx, proposalID int64, origin vote.Origin) string {
	me := caller.PrincipalOf(c.UserContext()).Participant()
	if me == "" {
		return ""
	}
	return s.Signer.Key(tenantID(c), proposalID, me, origin)
}

func (s *Server) keyed(c *fiber.Ctx, p proposal.Proposal, origin vote.Origin) keyedProposal {
	k := keyedProposal{Proposal: p}
	if p.Status == proposal.Accepted {
		k.Key = s.key(c, p.ID, origin)
	}
	return k
}

func (s *Server) withKeys(c *fiber.Ctx, page proposal.Page, origin vote.Origin) proposalPage {
	out := proposalPage{Proposals: make([]keyedProposal, len(page.Proposals)), Total: page.Total, Page: page.Page, PerPage: page.PerPage}
	for i, p := range page.Proposals {
		out.Proposals[i] = s.keyed(c, p, origin)
	}
	return out
}

// consultationChanged drops the cached entry of a consultation this node just changed.
func (s *Server) consultationChanged(tenantID, consultationID int64) {
	s.Catalog.Invalidate(tenantID, consultationID)
}

// entryFor is the cached consultation of the :slug parameter, hiding drafts from citizens.
func (s *Server) entryFor(c *fiber.Ctx) (*catalog.Entry, error) {
	e, err := s.Catalog.BySlug(c.UserContext(), tenantID(c), c.Params("slug"))
	if err != nil {
		return nil, err
	}
	if e.Consultation.Status == "draft" && !s.may(c, "consultations", "update") {
		return nil, errs.E(errs.NotFound, "no consultation %q", c.Params("slug"))
	}
	return e, nil
}

// Sequence chooses the next proposals for the caller.
func (s *Server) Sequence(ctx context.Context, e *catalog.Entry, participant string, voted map[int64]results.Key) []int64 {
	req := sequence.Request{Participant: participant, Voted: make(map[int64]bool, len(voted)), Pending: e.Pending}
	for id := range voted {
		req.Voted[id] = true
	}
	rng := rngs.Get().(*mathrand.Rand)
	defer rngs.Put(rng)
	ids := sequence.Choose(e.Candidates, req, e.SequenceConfig(), rng)
	e.MarkShown(ids)
	return ids
}

func (s *Server) voteRoutes() {
	s.handle(Route{Method: get, Path: "/api/v1/consultations/:slug/sequence", Perm: tenant("proposals", "read"), Summary: "The next proposals to vote on, chosen for the caller, each with its signed vote key", Response: sequenceResponse{}}, func(c *fiber.Ctx) error {
		e, err := s.entryFor(c)
		if err != nil {
			return err
		}
		if !e.Consultation.IsOpen(s.now()) {
			return errs.E(errs.Conflict, "this consultation is not open to votes")
		}
		me, err := participantOf(c)
		if err != nil {
			return err
		}
		if err := s.Limits.AllowSequence(tenantID(c), me, c.IP(), s.SequenceLimits); err != nil {
			return err
		}
		var voted map[int64]results.Key
		if !caller.PrincipalOf(c.UserContext()).NewParticipant { // a participant made by this request has no votes
			if voted, err = s.Votes.Voted(c.UserContext(), tenantID(c), e.Consultation.ID, me); err != nil {
				return err
			}
		}
		ids := s.Sequence(c.UserContext(), e, me, voted)
		out := sequenceResponse{Consultation: e.Consultation.Slug, Prefix: e.Consultation.Prefix, Proposals: make([]card, len(ids)), CSRFToken: s.csrfToken(c.UserContext())}
		for i, id := range ids {
			p := e.Proposals[id]
			out.Proposals[i] = card{ID: id, Content: p.Content, Themes: p.Themes, Key: s.Signer.Key(tenantID(c), id, me, vote.Sequence)}
		}
		return c.JSON(out)
	})

	s.handle(Route{Method: post, Path: "/api/v1/proposals/:id/vote", Perm: tenant("votes", "create"), Summary: "Vote (agree, disagree, neutral) with qualifications of that vote and the key the proposal came with; voting again changes the vote and keeps the trust of the first unless the new key is stronger", Request: voteRequest{}, Response: voteResponse{}}, s.castVote)

	s.handle(Route{Method: del, Path: "/api/v1/proposals/:id/vote", Perm: tenant("votes", "delete"), Summary: "Withdraw the caller's vote"}, func(c *fiber.Ctx) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		e, _, err := s.Catalog.ByProposal(c.UserContext(), tenantID(c), id)
		if err != nil {
			return err
		}
		if !e.Consultation.IsOpen(s.now()) {
			return errs.E(errs.Conflict, "this consultation is closed: votes can no longer change")
		}
		me, err := participantOf(c)
		if err != nil {
			return err
		}
		if err := s.Votes.Withdraw(c.UserContext(), tenantID(c), id, me); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}

// castVote is the vote path of the JSON API.
func (s *Server) castVote(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in voteRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	out, err := s.vote(c, id, in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// vote is the vote path, shared by the API and the pages: the proposal and its consultation
// from memory, the rules, the key's trust, the rate limits, then a durable write batched
// with concurrent votes.
func (s *Server) vote(c *fiber.Ctx, id int64, in voteRequest) (voteResponse, error) {
	k, ok := results.ParseKey(in.Vote)
	if !ok {
		return voteResponse{}, errs.Field("vote", "vote must be agree, disagree or neutral")
	}
	quals, err := results.ValidQualifications(k, in.Qualifications)
	if err != nil {
		return voteResponse{}, err
	}
	e, p, err := s.Catalog.ByProposal(c.UserContext(), tenantID(c), id)
	if err != nil {
		return voteResponse{}, err
	}
	if !e.Consultation.IsOpen(s.now()) {
		return voteResponse{}, errs.E(errs.Conflict, "this consultation is not open to votes")
	}
	me, err := participantOf(c)
	if err != nil {
		return voteResponse{}, err
	}
	trust, origin, keyErr := s.Signer.Trust(in.Key, tenantID(c), id, me)
	if keyErr != nil && !errs.Is(keyErr, errs.Forbidden) {
		return voteResponse{}, keyErr // malformed: nothing recorded
	}
	lim := s.VoteLimits
	lim.PerParticipant = e.Consultation.Settings.VoteLimitPerMinute
	if err := s.Limits.AllowVote(tenantID(c), me, clientAddr(c), lim); err != nil {
		return voteResponse{}, err
	}
	v, err := s.Votes.Cast(c.UserContext(), vote.Ballot{TenantID: tenantID(c), ConsultationID: p.ConsultationID, ProposalID: id,
		Participant: me, Key: k, Qualifications: quals, Trust: trust, Origin: origin})
	if err != nil {
		return voteResponse{}, err
	}
	if keyErr != nil {
		return voteResponse{}, keyErr // forged or replayed: kept as a troll vote, left out of the results, and said so
	}
	return voteResponse{ProposalID: id, Vote: string(v.Key()), Qualifications: v.Qualifications.Strings(), Trust: v.Trust.String()}, nil
}
