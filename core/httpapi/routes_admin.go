package httpapi

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/errs"
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
	s.handle(get, "/api/v1/tenants", platform("tenants", "read"), false, func(c *fiber.Ctx) error {
		ts, err := s.Tenants.List(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"tenants": ts})
	})
	s.handle(post, "/api/v1/tenants", platform("tenants", "create"), true, func(c *fiber.Ctx) error {
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
	s.handle(get, "/api/v1/tenants/:slug", platform("tenants", "read"), false, func(c *fiber.Ctx) error {
		t, err := s.Tenants.BySlug(c.UserContext(), c.Params("slug"))
		if err != nil {
			return err
		}
		return c.JSON(t)
	})
	for _, st := range []struct {
		path   string
		status tenants.Status
	}{{"suspend", tenants.Suspended}, {"resume", tenants.Active}} {
		s.handle(post, "/api/v1/tenants/:slug/"+st.path, platform("tenants", "update"), false, func(c *fiber.Ctx) error {
			t, err := s.Tenants.SetStatus(c.UserContext(), actor(c), c.Params("slug"), st.status)
			if err != nil {
				return err
			}
			return c.JSON(t)
		})
	}
	s.handle(post, "/api/v1/tenants/:slug/hosts", platform("tenants", "update"), true, func(c *fiber.Ctx) error {
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
	s.handle(get, "/api/v1/tenant", tenant("tenant", "read"), false, func(c *fiber.Ctx) error {
		t, err := s.Tenants.BySlug(c.UserContext(), caller.Tenant(c.UserContext()).Slug)
		if err != nil {
			return err
		}
		return c.JSON(t)
	})
	s.handle(patch, "/api/v1/tenant", tenant("tenant", "update"), true, func(c *fiber.Ctx) error {
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

func (s *Server) userRoutes() {
	s.handle(get, "/api/v1/users", tenant("users", "read"), false, func(c *fiber.Ctx) error {
		limit, offset, err := paging(c)
		if err != nil {
			return err
		}
		ms, err := s.Staff.List(c.UserContext(), tenantID(c), limit, offset)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"users": ms})
	})
	s.handle(post, "/api/v1/users", tenant("users", "create"), true, func(c *fiber.Ctx) error {
		var in staff.NewUser
		if err := decode(c, &in); err != nil {
			return err
		}
		m, err := s.Staff.Create(c.UserContext(), actor(c), tenantID(c), in)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(m)
	})
	s.handle(get, "/api/v1/users/:id", tenant("users", "read"), false, func(c *fiber.Ctx) error {
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
	s.handle(post, "/api/v1/users/:id/roles", tenant("roles", "create"), true, func(c *fiber.Ctx) error {
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
	s.handle(del, "/api/v1/users/:id/roles/:role", tenant("roles", "delete"), false, func(c *fiber.Ctx) error {
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
	s.handle(get, "/api/v1/tokens", tenant("tokens", "read"), false, func(c *fiber.Ctx) error {
		ts, err := s.Staff.Tokens(c.UserContext(), tenantID(c), 0)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"tokens": ts})
	})
	s.handle(post, "/api/v1/tokens", tenant("tokens", "create"), true, func(c *fiber.Ctx) error {
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
	s.handle(del, "/api/v1/tokens/:id", tenant("tokens", "delete"), false, func(c *fiber.Ctx) error {
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
	s.handle(get, "/api/v1/audit", tenant("audit", "read"), false, func(c *fiber.Ctx) error {
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
	s.handle(get, "/api/v1/audit/verify", tenant("audit", "read"), false, func(c *fiber.Ctx) error {
		r, err := s.Audit.Verify(c.UserContext(), tenantID(c))
		if err != nil {
			return err
		}
		return c.JSON(r)
	})
	s.handle(get, "/api/v1/audit/head", tenant("audit", "read"), false, func(c *fiber.Ctx) error {
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
