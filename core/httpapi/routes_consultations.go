package httpapi

import (
	"bytes"
	"encoding/json"
	"html/template"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/booth"
	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/proposal"
)

// consultationView is a consultation as the API shows it, with its context rendered.
type consultationView struct {
	consultation.Consultation
	ContextHTML template.HTML `json:"context_html"`
}

// consultationPatch is consultation.Patch whose settings may be given in part.
type consultationPatch struct {
	consultation.Patch
	Settings json.RawMessage `json:"settings"`
}

type proposalRequest struct {
	Content string `json:"content"`
}

type acceptRequest struct {
	Themes []string `json:"themes"`
}

type refuseRequest struct {
	Reason  string `json:"reason"`
	Comment string `json:"comment"`
}

type nextRequest struct {
	Consultation string `json:"consultation"`
}

func view(c consultation.Consultation) consultationView {
	return consultationView{Consultation: c, ContextHTML: c.ContextHTML()}
}

// may reports whether the caller holds a permission here, for what routes show, not guard.
func (s *Server) may(c *fiber.Ctx, obj, act string) bool {
	ok, _ := s.Authz.Allowed(caller.PrincipalOf(c.UserContext()).Subject, caller.Domain(tenantID(c)), obj, act)
	return ok
}

// viewer is the caller as the visibility rules of consultations and proposals see them
// (core/consultation's and core/proposal's Viewer); each question is a permission check,
// made only when a rule asks it.
type viewer struct {
	s *Server
	c *fiber.Ctx
}

func (s *Server) viewer(c *fiber.Ctx) viewer { return viewer{s, c} }

func (v viewer) SeesDrafts() bool { return v.s.may(v.c, "consultations", "update") }
func (v viewer) SeesUnpublishedResults() bool {
	return v.s.may(v.c, "audit", "read") || v.s.may(v.c, "moderation", "read")
}
func (v viewer) Participant() string   { return caller.PrincipalOf(v.c.UserContext()).Participant() }
func (v viewer) SeesUnmoderated() bool { return v.s.may(v.c, "moderation", "read") }

func (s *Server) consultationRoutes() {
	s.handle(Route{Method: get, Path: "/api/v1/consultations", Perm: tenant("consultations", "read"), Summary: "Consultations of this site (drafts only for staff)", Response: struct {
		Consultations []consultation.Consultation `json:"consultations"`
	}{}}, func(c *fiber.Ctx) error {
		cs, err := s.Consultations.List(c.UserContext(), tenantID(c), s.viewer(c).SeesDrafts())
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"consultations": cs})
	})

	s.handle(Route{Method: post, Path: "/api/v1/consultations", Perm: tenant("consultations", "create"), Summary: "Create a consultation (a draft)", Request: consultation.Input{}, Response: consultationView{}}, func(c *fiber.Ctx) error {
		var in consultation.Input
		if err := decode(c, &in); err != nil {
			return err
		}
		cs, err := s.Consultations.Create(c.UserContext(), tenantID(c), actor(c), in)
		if err != nil {
			return err
		}
		s.consultationChanged(tenantID(c), cs.ID)
		return c.Status(fiber.StatusCreated).JSON(view(cs))
	})

	s.handle(Route{Method: get, Path: "/api/v1/consultations/:slug", Perm: tenant("consultations", "read"), Summary: "One consultation, with its context rendered as HTML", Response: consultationView{}}, func(c *fiber.Ctx) error {
		e, err := s.entryFor(c)
		if err != nil {
			return err
		}
		cs := e.Consultation
		return c.JSON(view(cs))
	})

	s.handle(Route{Method: patch, Path: "/api/v1/consultations/:slug", Perm: tenant("consultations", "update"), Summary: "Change a consultation; settings may be given in part", Request: consultationPatch{}, Response: consultationView{}}, func(c *fiber.Ctx) error {
		var in consultationPatch
		if err := decode(c, &in); err != nil {
			return err
		}
		if len(in.Settings) > 0 {
			cur, err := s.Consultations.Get(c.UserContext(), tenantID(c), c.Params("slug"))
			if err != nil {
				return err
			}
			settings := cur.Settings
			dec := json.NewDecoder(bytes.NewReader(in.Settings))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&settings); err != nil {
				return errs.Field("settings", "settings: %s", jsonError(err).Error())
			}
			in.Patch.Settings = &settings
		}
		cs, err := s.Consultations.Update(c.UserContext(), tenantID(c), actor(c), c.Params("slug"), in.Patch)
		if err != nil {
			return err
		}
		s.consultationChanged(tenantID(c), cs.ID)
		return c.JSON(view(cs))
	})

	for _, st := range []struct {
		path, summary string
		to            consultation.Status
	}{
		{"open", "Open a consultation to proposals and votes", consultation.Open},
		{"close", "Close a consultation", consultation.Closed},
		{"publish", "Publish a closed consultation's results", consultation.Published},
	} {
		path := "/api/v1/consultations/:slug/" + st.path
		s.handle(Route{Method: post, Path: path, Perm: tenant("consultations", "update"), Summary: st.summary, Response: consultationView{}}, func(c *fiber.Ctx) error {
			cs, err := s.Consultations.SetStatus(c.UserContext(), tenantID(c), actor(c), c.Params("slug"), st.to)
			if err != nil {
				return err
			}
			s.consultationChanged(tenantID(c), cs.ID)
			return c.JSON(view(cs))
		})
	}
}

func (s *Server) proposalRoutes() {
	s.handle(Route{Method: post, Path: "/api/v1/consultations/:slug/proposals", Perm: tenant("proposals", "create"), Summary: "Propose (\"Il faut …\"); the proposal waits for moderation", Request: proposalRequest{}, Response: proposal.Proposal{}}, func(c *fiber.Ctx) error {
		var in proposalRequest
		if err := decode(c, &in); err != nil {
			return err
		}
		e, err := s.entryFor(c)
		if err != nil {
			return err
		}
		p, err := s.booth.Propose(c.UserContext(), s.proposal(c, e, in.Content))
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(p)
	})

	s.handle(Route{Method: get, Path: "/api/v1/consultations/:slug/proposals", Perm: tenant("proposals", "read"), Summary: "Search accepted proposals (q, theme, page, per_page); each carries a vote key", Response: proposalPage{}}, func(c *fiber.Ctx) error {
		e, err := s.entryFor(c)
		if err != nil {
			return err
		}
		cs := e.Consultation
		q := proposal.Query{Text: c.Query("q"), Theme: c.Query("theme")}
		if q.Page, err = intQuery(c, "page", 1); err != nil {
			return err
		}
		if q.PerPage, err = intQuery(c, "per_page", proposal.DefaultPerPage); err != nil {
			return err
		}
		page, err := s.Proposals.Search(c.UserContext(), tenantID(c), cs.ID, q)
		if err != nil {
			return err
		}
		return c.JSON(s.withKeys(c, page, "search"))
	})

	s.handle(Route{Method: get, Path: "/api/v1/consultations/:slug/similar", Perm: tenant("proposals", "read"), Summary: "Accepted proposals similar to a draft (q), to avoid duplicates", Response: struct {
		Proposals []proposal.Proposal `json:"proposals"`
	}{}}, func(c *fiber.Ctx) error {
		e, err := s.entryFor(c)
		if err != nil {
			return err
		}
		cs := e.Consultation
		ps, err := s.Proposals.Similar(c.UserContext(), tenantID(c), cs.ID, c.Query("q"), 5)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"proposals": ps})
	})

	s.handle(Route{Method: get, Path: "/api/v1/proposals/:id", Perm: tenant("proposals", "read"), Summary: "One proposal (a shared link: votes through it count as direct-link votes)", Response: keyedProposal{}}, func(c *fiber.Ctx) error {
		p, err := s.visibleProposal(c)
		if err != nil {
			return err
		}
		return c.JSON(s.keyed(c, p, "direct"))
	})

	s.handle(Route{Method: get, Path: "/api/v1/my/proposals", Perm: tenant("proposals", "read"), Summary: "The caller's own proposals, with their moderation status and reason", Response: struct {
		Proposals []proposal.Proposal `json:"proposals"`
	}{}}, func(c *fiber.Ctx) error {
		me := caller.PrincipalOf(c.UserContext()).Participant()
		if me == "" {
			return c.JSON(fiber.Map{"proposals": []proposal.Proposal{}})
		}
		ps, err := s.Proposals.ByAuthor(c.UserContext(), tenantID(c), me)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"proposals": ps})
	})
}

func (s *Server) moderationRoutes() {
	s.handle(Route{Method: get, Path: "/api/v1/moderation/queue", Perm: tenant("moderation", "read"), Summary: "Proposals waiting for moderation (consultation, limit, offset), with how many wait in all", Response: struct {
		Proposals []proposal.StaffView `json:"proposals"`
		Waiting   int                  `json:"waiting"`
	}{}}, func(c *fiber.Ctx) error {
		var cid int64
		if slug := c.Query("consultation"); slug != "" {
			cs, err := s.Consultations.Get(c.UserContext(), tenantID(c), slug)
			if err != nil {
				return err
			}
			cid = cs.ID
		}
		limit, err := intQuery(c, "limit", 50)
		if err != nil {
			return err
		}
		offset := 0
		if v := c.Query("offset"); v != "" {
			if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
				return errs.Field("offset", "offset must be a whole number of at least 0")
			}
		}
		q, err := s.Proposals.QueuePage(c.UserContext(), tenantID(c), cid, limit, offset)
		if err != nil {
			return err
		}
		n, err := s.Proposals.QueueLength(c.UserContext(), tenantID(c), cid)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"proposals": q, "waiting": n})
	})

	s.handle(Route{Method: post, Path: "/api/v1/moderation/next", Perm: tenant("moderation", "update"), Summary: "Take the next proposal to moderate; it is locked to you for a while", Request: nextRequest{}, Response: proposal.StaffView{}}, func(c *fiber.Ctx) error {
		var in nextRequest
		if err := decode(c, &in); err != nil {
			return err
		}
		var cid int64
		if in.Consultation != "" {
			cs, err := s.Consultations.Get(c.UserContext(), tenantID(c), in.Consultation)
			if err != nil {
				return err
			}
			cid = cs.ID
		}
		p, err := s.Proposals.Next(c.UserContext(), tenantID(c), cid, actor(c), 0)
		if err != nil {
			return err
		}
		return c.JSON(p.Staff())
	})

	decide := func(path, summary string, body any, fn func(c *fiber.Ctx, id int64) (proposal.Proposal, error)) {
		full := "/api/v1/moderation/proposals/:id/" + path
		s.handle(Route{Method: post, Path: full, Perm: tenant("moderation", "update"), Summary: summary, Request: body, Response: proposal.StaffView{}}, func(c *fiber.Ctx) error {
			id, err := idParam(c, "id")
			if err != nil {
				return err
			}
			p, err := fn(c, id)
			if err != nil {
				return err
			}
			return c.JSON(p.Staff())
		})
	}
	decide("accept", "Accept a proposal, with its themes", acceptRequest{}, func(c *fiber.Ctx, id int64) (proposal.Proposal, error) {
		var in acceptRequest
		if err := decode(c, &in); err != nil {
			return proposal.Proposal{}, err
		}
		return s.acceptProposal(c, id, in.Themes)
	})
	decide("refuse", "Refuse a proposal with a reason the author sees", refuseRequest{}, func(c *fiber.Ctx, id int64) (proposal.Proposal, error) {
		var in refuseRequest
		if err := decode(c, &in); err != nil {
			return proposal.Proposal{}, err
		}
		return s.Proposals.Refuse(c.UserContext(), tenantID(c), id, actor(c), in.Reason, in.Comment)
	})
	decide("postpone", "Postpone a proposal (back to the end of the queue)", nil, func(c *fiber.Ctx, id int64) (proposal.Proposal, error) {
		return s.Proposals.Postpone(c.UserContext(), tenantID(c), id, actor(c))
	})
	decide("archive", "Archive an accepted proposal (no more votes)", nil, func(c *fiber.Ctx, id int64) (proposal.Proposal, error) {
		return s.Proposals.Archive(c.UserContext(), tenantID(c), id, actor(c))
	})
}

func intQuery(c *fiber.Ctx, name string, def int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, errs.Field(name, "%s must be a whole number of at least 1", name)
	}
	return n, nil
}

// visibleProposal is the proposal of the :id parameter if the caller may see it: accepted
// ones for everyone, others for their author and for moderators.
func (s *Server) visibleProposal(c *fiber.Ctx) (proposal.Proposal, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return proposal.Proposal{}, err
	}
	p, err := s.Proposals.Get(c.UserContext(), tenantID(c), id)
	if err != nil {
		return p, err
	}
	if !p.VisibleTo(s.viewer(c)) {
		return proposal.Proposal{}, errs.E(errs.NotFound, "no such proposal")
	}
	return p, nil
}

// proposal is the booth's request for a proposal of content in e's consultation. content
// must be a string of its own (decoded JSON, or a form value copied).
func (s *Server) proposal(c *fiber.Ctx, e *catalog.Entry, content string) booth.Proposal {
	p := caller.PrincipalOf(c.UserContext())
	return booth.Proposal{TenantID: tenantID(c), Consultation: e.Consultation, Author: p.Participant(), Verified: p.Verified,
		Source: clientNetwork(c), Content: content}
}

// acceptProposal accepts a proposal with themes, which must be its consultation's.
func (s *Server) acceptProposal(c *fiber.Ctx, id int64, themes []string) (proposal.Proposal, error) {
	p, err := s.Proposals.Get(c.UserContext(), tenantID(c), id)
	if err != nil {
		return p, err
	}
	cs, err := s.Consultations.GetByID(c.UserContext(), tenantID(c), p.ConsultationID)
	if err != nil {
		return p, err
	}
	return s.Proposals.Accept(c.UserContext(), tenantID(c), id, actor(c), themes, cs.ThemeSlugs())
}
