package httpapi

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/staff"
	"github.com/concorde-civic/concorde/tenants"
)

func platform(obj, act string) Perm { return Perm{Object: obj, Action: act, Scope: PlatformScope} }
func tenant(obj, act string) Perm   { return Perm{Object: obj, Action: act} }

const (
	get, post, patch, del = fiber.MethodGet, fiber.MethodPost, fiber.MethodPatch, fiber.MethodDelete
)

func (s *Server) tenantRoutes() {
	s.metricsRoutes()
	s.handle(Route{Method: get, Path: "/api/v1/tenants", Perm: platform("tenants", "read"), Summary: "List tenants (platform admins)", Response: struct {
		Tenants []tenants.Tenant `json:"tenants"`
	}{}}, func(c *fiber.Ctx) error {
		ts, err := s.Tenants.List(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"tenants": ts})
	})
	s.handle(Route{Method: post, Path: "/api/v1/tenants", Perm: platform("tenants", "create"), Summary: "Create a tenant (platform admins)", Request: tenants.NewTenant{}, Response: tenants.Tenant{}}, func(c *fiber.Ctx) error {
		var in tenants.NewTenant
		if err := decode(c, &in); err != nil {
			return err
		}
		t, err := s.Tenants.Create(c.UserContext(), actor(c), in)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(t)
	})
	s.handle(Route{Method: get, Path: "/api/v1/tenants/:slug", Perm: platform("tenants", "read"), Summary: "One tenant (platform admins)", Response: tenants.Tenant{}}, func(c *fiber.Ctx) error {
		t, err := s.Tenants.BySlug(c.UserContext(), c.Params("slug"))
		if err != nil {
			return err
		}
		return c.JSON(t)
	})
	for _, st := range []struct {
		path, summary string
		status        tenants.Status
	}{{"suspend", "Suspend a tenant's site (503)", tenants.Suspended}, {"resume", "Serve a suspended tenant's site again", tenants.Active}} {
		s.handle(Route{Method: post, Path: "/api/v1/tenants/:slug/" + st.path, Perm: platform("tenants", "update"), Summary: st.summary, Response: tenants.Tenant{}}, func(c *fiber.Ctx) error {
			t, err := s.Tenants.SetStatus(c.UserContext(), actor(c), c.Params("slug"), st.status)
			if err != nil {
				return err
			}
			return c.JSON(t)
		})
	}
	s.handle(Route{Method: post, Path: "/api/v1/tenants/:slug/hosts", Perm: platform("tenants", "update"), Summary: "Serve a tenant on one more host name", Request: hostRequest{}, Response: tenants.Tenant{}}, func(c *fiber.Ctx) error {
		var in hostRequest
		if err := decode(c, &in); err != nil {
			return err
		}
		t, err := s.Tenants.AddHost(c.UserContext(), actor(c), c.Params("slug"), in.Host)
		if err != nil {
			return err
		}
		return c.JSON(t)
	})

	// The request's own tenant, for its admins.
	s.handle(Route{Method: get, Path: "/api/v1/tenant", Perm: tenant("tenant", "read"), Summary: "This site's tenant", Response: tenants.Tenant{}}, func(c *fiber.Ctx) error {
		t, err := s.Tenants.BySlug(c.UserContext(), caller.Tenant(c.UserContext()).Slug)
		if err != nil {
			return err
		}
		return c.JSON(t)
	})
	s.handle(Route{Method: patch, Path: "/api/v1/tenant", Perm: tenant("tenant", "update"), Summary: "Change this site's name and branding", Request: tenants.Patch{}, Response: tenants.Tenant{}}, func(c *fiber.Ctx) error {
		var p tenants.Patch
		if err := decode(c, &p); err != nil {
			return err
		}
		t, err := s.Tenants.Update(c.UserContext(), actor(c), caller.Tenant(c.UserContext()).Slug, p)
		if err != nil {
			return err
		}
		return c.JSON(t)
	})
}

// inviteRequest is an invitation; a password is refused with a clear message.
type inviteRequest struct {
	staff.Invitee
	Password *string `json:"password,omitempty"`
}

func (s *Server) userRoutes() {
	s.handle(Route{Method: get, Path: "/api/v1/users", Perm: tenant("users", "read"), Summary: "Accounts of this site with their roles (limit, offset)", Response: struct {
		Users []staff.Member `json:"users"`
	}{}}, func(c *fiber.Ctx) error {
		limit, offset, err := paging(c)
		if err != nil {
			return err
		}
		ms, err := s.Staff.Find(c.UserContext(), tenantID(c), c.Query("q"), limit, offset)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"users": ms})
	})
	s.handle(Route{Method: post, Path: "/api/v1/users", Perm: tenant("users", "create"), Summary: "Invite someone by e-mail with a role: they choose their password through the link they receive", Request: inviteRequest{}, Response: invitationResponse{}}, func(c *fiber.Ctx) error {
		var in inviteRequest
		if err := decode(c, &in); err != nil {
			return err
		}
		if in.Password != nil {
			return errs.Field("password", "admins do not choose passwords for others: the person you invite chooses theirs through the link e-mailed to them")
		}
		inv, err := s.invite(c, in.Invitee)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(invitationResponse{Member: inv.Member, InvitationExpiresAt: inv.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")})
	})
	s.invitationRoutes()
	s.handle(Route{Method: get, Path: "/api/v1/users/:id", Perm: tenant("users", "read"), Summary: "One account", Response: staff.Member{}}, func(c *fiber.Ctx) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		m, err := s.Staff.Get(c.UserContext(), tenantID(c), id)
		if err != nil {
			return err
		}
		return c.JSON(m)
	})
	s.handle(Route{Method: post, Path: "/api/v1/users/:id/roles", Perm: tenant("roles", "create"), Summary: "Grant a role", Request: roleRequest{}, Response: staff.Member{}}, func(c *fiber.Ctx) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		var in roleRequest
		if err := decode(c, &in); err != nil {
			return err
		}
		m, err := s.Staff.Grant(c.UserContext(), actor(c), tenantID(c), id, in.Role)
		if err != nil {
			return err
		}
		return c.JSON(m)
	})
	s.handle(Route{Method: del, Path: "/api/v1/users/:id/roles/:role", Perm: tenant("roles", "delete"), Summary: "Revoke a role", Response: staff.Member{}}, func(c *fiber.Ctx) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		m, err := s.Staff.Revoke(c.UserContext(), actor(c), tenantID(c), id, c.Params("role"))
		if err != nil {
			return err
		}
		return c.JSON(m)
	})
}

func (s *Server) tokenRoutes() {
	s.handle(Route{Method: get, Path: "/api/v1/tokens", Perm: tenant("tokens", "read"), Summary: "API tokens of this site (never their secret)", Response: struct {
		Tokens []identity.Token `json:"tokens"`
	}{}}, func(c *fiber.Ctx) error {
		ts, err := s.Staff.Tokens(c.UserContext(), tenantID(c), 0)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"tokens": ts})
	})
	s.handle(Route{Method: post, Path: "/api/v1/tokens", Perm: tenant("tokens", "create"), Summary: "Create an API token; its secret is shown once", Request: tokenRequest{}, Response: tokenCreated{}}, func(c *fiber.Ctx) error {
		var in tokenRequest
		if err := decode(c, &in); err != nil {
			return err
		}
		p := caller.PrincipalOf(c.UserContext())
		if in.UserID == 0 {
			if p.UserTenantID != tenantID(c) {
				return errs.Field("user_id", "give the user_id of an account of this site")
			}
			in.UserID = p.UserID
		}
		plain, tok, err := s.Staff.CreateToken(c.UserContext(), actor(c), tenantID(c), in.UserID, in.Name)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(tokenCreated{Token: plain, Info: tok, Note: "this is the only time the token is shown; store it now"})
	})
	s.handle(Route{Method: del, Path: "/api/v1/tokens/:id", Perm: tenant("tokens", "delete"), Summary: "Revoke an API token"}, func(c *fiber.Ctx) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		if err := s.Staff.RevokeToken(c.UserContext(), actor(c), tenantID(c), id); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}

func (s *Server) auditRoutes() {
	s.handle(Route{Method: get, Path: "/api/v1/audit", Perm: tenant("audit", "read"), Summary: "The audit log, newest first (actor, action, object, since, until, before, limit)", Response: audit.Page{}}, func(c *fiber.Ctx) error {
		f := audit.Filter{Actor: c.Query("actor"), Action: c.Query("action"), Object: c.Query("object")}
		var err error
		if f.Since, err = timeQuery(c, "since"); err != nil {
			return err
		}
		if f.Until, err = timeQuery(c, "until"); err != nil {
			return err
		}
		if v := c.Query("before"); v != "" {
			if f.BeforeSeq, err = strconv.ParseInt(v, 10, 64); err != nil || f.BeforeSeq < 0 {
				return errs.Field("before", "before must be a positive entry number")
			}
		}
		if f.Limit, _, err = paging(c); err != nil {
			return err
		}
		page, err := s.Audit.List(c.UserContext(), tenantID(c), f)
		if err != nil {
			return err
		}
		return c.JSON(page)
	})
	s.handle(Route{Method: get, Path: "/api/v1/audit/verify", Perm: tenant("audit", "read"), Summary: "Recompute this site's audit hash chain", Response: audit.Report{}}, func(c *fiber.Ctx) error {
		r, err := s.Audit.Verify(c.UserContext(), tenantID(c))
		if err != nil {
			return err
		}
		return c.JSON(r)
	})
	s.handle(Route{Method: get, Path: "/api/v1/audit/head", Perm: tenant("audit", "read"), Summary: "The signed head of this site's audit chain: save it elsewhere, then `concorde audit verify --head FILE` detects a cut-off or rewritten tail", Response: audit.Head{}}, func(c *fiber.Ctx) error {
		t := caller.Tenant(c.UserContext())
		h, err := s.Audit.Head(c.UserContext(), t.ID, t.Slug)
		if err != nil {
			return err
		}
		return c.JSON(h)
	})
}

func actor(c *fiber.Ctx) string   { return caller.PrincipalOf(c.UserContext()).Actor() }
func tenantID(c *fiber.Ctx) int64 { return caller.Tenant(c.UserContext()).ID }

// idParam reads a numeric id from the path; a malformed id is simply not found.
func idParam(c *fiber.Ctx, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.E(errs.NotFound, "no such %s", name)
	}
	return id, nil
}

func paging(c *fiber.Ctx) (limit, offset int, err error) {
	limit, offset = 50, 0
	if v := c.Query("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 500 {
			return 0, 0, errs.Field("limit", "limit must be a number from 1 to 500")
		}
	}
	if v := c.Query("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, errs.Field("offset", "offset must be a number of at least 0")
		}
	}
	return limit, offset, nil
}

func timeQuery(c *fiber.Ctx, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, errs.Field(name, "%s must be a time such as 2026-01-31T12:00:00Z", name)
	}
	return t, nil
}
