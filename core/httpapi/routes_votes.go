package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/booth"
	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/proposal"
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

// entryFor is the consultation of the :slug parameter, from memory, if the caller may see
// it (the one lookup of a consultation by the API and the pages).
func (s *Server) entryFor(c *fiber.Ctx) (*catalog.Entry, error) {
	e, err := s.Catalog.BySlug(c.UserContext(), tenantID(c), c.Params("slug"))
	if err != nil {
		return nil, err
	}
	if err := e.Consultation.CheckVisible(s.viewer(c)); err != nil {
		return nil, err
	}
	return e, nil
}

func (s *Server) voteRoutes() {
	s.handle(Route{Method: get, Path: "/api/v1/consultations/:slug/sequence", Perm: tenant("proposals", "read"), Summary: "The next proposals to vote on, chosen for the caller, each with its signed vote key; voted through in order (a vote past cards left unvoted, or on an earlier sequence's card, is published beside)", Response: sequenceResponse{}}, func(c *fiber.Ctx) error {
		e, err := s.entryFor(c)
		if err != nil {
			return err
		}
		p := caller.PrincipalOf(c.UserContext())
		me := p.Participant()
		if me != "" { // sequences carry vote keys: asking again and again is how keys are harvested
			if err := s.RateLimiter.AllowSequence(tenantID(c), me, clientNetwork(c), s.SequenceLimits); err != nil {
				return err
			}
		}
		ids, origin, err := s.booth.Next(c.UserContext(), tenantID(c), e, me, clientNetwork(c), p.NewParticipant)
		if err != nil {
			return err
		}
		out := sequenceResponse{Consultation: e.Consultation.Slug, Prefix: e.Consultation.Prefix, Proposals: make([]card, len(ids)), CSRFToken: s.csrfToken(c.UserContext())}
		for i, id := range ids {
			x := e.Proposals[id]
			out.Proposals[i] = card{ID: id, Content: x.Content, Themes: x.Themes, Key: s.Signer.Key(tenantID(c), id, me, origin)}
		}
		return c.JSON(out)
	})

	s.handle(Route{Method: post, Path: "/api/v1/proposals/:id/vote", Perm: tenant("votes", "create"), Summary: "Vote (agree, disagree, neutral) with qualifications of that vote and the key the proposal came with; voting again changes the vote and keeps the trust of the first unless the new key is stronger", Request: voteRequest{}, Response: voteResponse{}}, s.castVote)

	s.handle(Route{Method: del, Path: "/api/v1/proposals/:id/vote", Perm: tenant("votes", "delete"), Summary: "Withdraw the caller's vote"}, func(c *fiber.Ctx) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		if err := s.booth.Withdraw(c.UserContext(), tenantID(c), id, caller.PrincipalOf(c.UserContext()).Participant()); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}

// castVote is the vote path of the JSON API (core/booth says where it goes next).
func (s *Server) castVote(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var in voteRequest // decoded into strings of its own
	if err := decode(c, &in); err != nil {
		return err
	}
	v, err := s.booth.Cast(c.UserContext(), s.ballot(c, id, in))
	if err != nil {
		return err
	}
	return c.JSON(voteResponse{ProposalID: id, Vote: string(v.Key()), Qualifications: v.Qualifications.Strings(), Trust: v.Trust.String()})
}

// ballot is the booth's request for a vote on proposal id. in must hold strings of its own
// (decoded JSON, or form values copied): the vote may outlive the request in the vote queue.
func (s *Server) ballot(c *fiber.Ctx, id int64, in voteRequest) booth.Request {
	return booth.Request{TenantID: tenantID(c), ProposalID: id, Participant: caller.PrincipalOf(c.UserContext()).Participant(),
		Source: clientNetwork(c), Vote: in.Vote, Qualifications: in.Qualifications, Key: in.Key}
}
