package httpapi

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/account"
	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/errs"
)

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// meResponse tells a client who it is and the CSRF token its cookie-authenticated writes need.
type meResponse struct {
	Authenticated bool     `json:"authenticated"`
	UserID        int64    `json:"user_id,omitempty"`
	Email         string   `json:"email,omitempty"`
	Roles         []string `json:"roles"`
	CSRFToken     string   `json:"csrf_token,omitempty"`
	Tenant        string   `json:"tenant"`
}

func (s *Server) authRoutes() {
	s.loginLimit = s.attemptLimit("login", "too many sign-in attempts; wait a minute and try again")
	s.signupLimit = s.attemptLimit("signup", "too many accounts created from your network; wait a minute and try again")
	s.handle(Route{Method: fiber.MethodPost, Path: "/api/v1/auth/login", Perm: Perm{Object: "session", Action: "create"}, Summary: "Sign in; sets the session cookie and returns the CSRF token", Request: loginRequest{}, Response: meResponse{}}, s.login, s.loginLimit)
	s.handle(Route{Method: fiber.MethodPost, Path: "/api/v1/auth/logout", Perm: Perm{Object: "session", Action: "delete"}, Summary: "Sign out"}, s.logout)
	s.handle(Route{Method: fiber.MethodGet, Path: "/api/v1/auth/me", Perm: permSite, Summary: "Who is calling, their roles here, and the CSRF token", Response: meResponse{}}, s.me)
}

func (s *Server) login(c *fiber.Ctx) error {
	var req loginRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	u, err := s.Account.SignIn(c.UserContext(), credentials(c, req))
	if err != nil {
		return err
	}
	if err := s.startSession(c, u.TenantID, u.ID, u.Email); err != nil {
		return err
	}
	return c.JSON(s.whoami(c.UserContext()))
}

// credentials are the account service's sign-in request. in must hold strings of its own
// (decoded JSON, or form values copied).
func credentials(c *fiber.Ctx, in loginRequest) account.Credentials {
	cr := account.Credentials{TenantID: caller.Tenant(c.UserContext()).ID, Email: in.Email, Password: in.Password}
	if p := caller.PrincipalOf(c.UserContext()); p.ParticipantID != "" {
		cr.Anonymous = "p:" + p.ParticipantID
	}
	return cr
}

// startSession signs a user in on this site: a server-side session and its cookie; the
// request's context then carries the new principal.
func (s *Server) startSession(c *fiber.Ctx, userTenantID, userID int64, email string) error {
	ctx := c.UserContext()
	u, err := s.Users.ByID(ctx, userTenantID, userID)
	if err != nil {
		return err
	}
	token, sess, err := s.Sessions.Create(ctx, caller.Tenant(ctx).ID, u)
	if err != nil {
		return err
	}
	s.setCookie(c, sessionCookie, token, time.Until(sess.ExpiresAt))
	old := caller.PrincipalOf(ctx)
	p := caller.Principal{Subject: userSubject(u.TenantID, u.ID), UserTenantID: u.TenantID, UserID: u.ID, Email: email, Verified: u.Verified(), Via: "session",
		SessionKey: "s:" + token, ParticipantID: old.ParticipantID}
	c.SetUserContext(caller.WithPrincipal(ctx, p))
	return nil
}

func (s *Server) logout(c *fiber.Ctx) error {
	if err := s.endSession(c); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// endSession signs the caller out on this site (the API and the pages): the server-side
// session goes, and its cookie.
func (s *Server) endSession(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if tok := c.Cookies(sessionCookie); tok != "" {
		if err := s.Sessions.Delete(ctx, caller.Tenant(ctx).ID, tok); err != nil {
			return err
		}
	}
	c.ClearCookie(sessionCookie)
	return nil
}

func (s *Server) me(c *fiber.Ctx) error { return c.JSON(s.whoami(c.UserContext())) }

func (s *Server) whoami(ctx context.Context) meResponse {
	p := caller.PrincipalOf(ctx)
	t := caller.Tenant(ctx)
	r := meResponse{Authenticated: !p.Anonymous(), UserID: p.UserID, Email: p.Email, Roles: []string{}, CSRFToken: s.csrfToken(ctx), Tenant: t.Slug}
	if !p.Anonymous() {
		for _, role := range s.Authz.RolesOf(p.Subject, caller.Domain(t.ID)) {
			r.Roles = append(r.Roles, string(role))
		}
	}
	return r
}

// attemptLimit bounds attempts of one kind (sign-in, sign-up) per client address and site to
// LoginLimit a minute, with the limiter the votes use, so that every node shares the counts.
func (s *Server) attemptLimit(kind, msg string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !s.RateLimiter.Allow(kind+"|"+strconv.FormatInt(tenantID(c), 10)+"|"+clientNetwork(c), s.LoginLimit, time.Minute) {
			return errs.E(errs.TooMany, "%s", msg)
		}
		return c.Next()
	}
}
