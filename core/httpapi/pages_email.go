package httpapi

import (
	"net"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/staff"
)

// invitationPage is the page where an invited person chooses their password.
type invitationPage struct {
	Token string
	Email string
	Error string
}

// verifyPage confirms an address: the link's GET only shows a button, so a mail scanner
// that follows links does not use the token up.
type verifyPage struct {
	Token string
}

// linkError is a clear 400 page for a bad, expired, used or revoked link.
func (s *Server) linkError(c *fiber.Ctx, err error) error {
	if errs.KindOf(err) != errs.Invalid {
		return err
	}
	return s.render(c, fiber.StatusBadRequest, "link_invalid", s.tr(c, "link_invalid_title"), nil)
}

// host is the request's host name without its port: the site's own, which links in e-mails
// lead back to (their scheme and port come from the configuration, as for every e-mail). It is
// the Host the tenant was resolved from, never X-Forwarded-Host, which any client can send
// (c.Hostname reads it): a link to another domain would hand the token to its owner.
func host(c *fiber.Ctx) string {
	h := string(c.Request().Host())
	if name, _, err := net.SplitHostPort(h); err == nil {
		h = name
	}
	return strings.Clone(h)
}

// invite invites an account by e-mail and queues the message.
func (s *Server) invite(c *fiber.Ctx, in staff.Invitee) (staff.Invitation, error) {
	ctx := c.UserContext()
	inv, err := s.Staff.Invite(ctx, actor(c), tenantID(c), in)
	if err != nil {
		return inv, err
	}
	return inv, s.sendInvitation(c, inv)
}

func (s *Server) sendInvitation(c *fiber.Ctx, inv staff.Invitation) error {
	ctx := c.UserContext()
	p := caller.PrincipalOf(ctx)
	inviter := p.Email
	if inviter == "" {
		inviter = caller.Tenant(ctx).Name
	}
	return s.Notify.Invitation(ctx, caller.Tenant(ctx), host(c), inv.Member.User, inv.Role, inviter, inv.Token, inv.ExpiresAt)
}

func (s *Server) emailPageRoutes() {
	s.handle(Route{Method: get, Path: "/account/invitation", Perm: Perm{Object: "session", Action: "create"}, Summary: "The page where an invited person chooses their password (token in the query)"}, func(c *fiber.Ctx) error {
		token := strings.Clone(c.Query("token"))
		u, err := s.Staff.InvitationFor(c.UserContext(), tenantID(c), token)
		if err != nil {
			return s.linkError(c, err)
		}
		return s.render(c, fiber.StatusOK, "invitation", s.tr(c, "invitation_title"), invitationPage{Token: token, Email: u.Email})
	})
	s.postPage(Route{Path: "/account/invitation", Perm: Perm{Object: "session", Action: "create"}, Summary: "Accept an invitation: choose a password and sign in (form)"}, func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		token, password := strings.Clone(c.FormValue("token")), strings.Clone(c.FormValue("password"))
		pending, err := s.Staff.InvitationFor(ctx, tenantID(c), token)
		if err != nil {
			return s.linkError(c, err)
		}
		if password != c.FormValue("password_again") {
			return s.render(c, fiber.StatusBadRequest, "invitation", s.tr(c, "invitation_title"),
				invitationPage{Token: token, Email: pending.Email, Error: s.tr(c, "invitation_mismatch")})
		}
		u, err := s.Staff.AcceptInvitation(ctx, tenantID(c), token, password)
		if err != nil {
			if _, field := errs.MessageOf(err); errs.KindOf(err) == errs.Invalid && field == "password" {
				return s.render(c, fiber.StatusBadRequest, "invitation", s.tr(c, "invitation_title"),
					invitationPage{Token: token, Email: pending.Email, Error: s.tr(c, "invitation_password_policy")})
			}
			return s.linkError(c, err)
		}
		if err := s.startSession(c, u.TenantID, u.ID, u.Email); err != nil {
			return err
		}
		if s.may(c, "moderation", "update") || s.may(c, "consultations", "update") {
			return seeOther(c, "/admin")
		}
		if s.may(c, "audit", "read") {
			return seeOther(c, "/audit")
		}
		return seeOther(c, "/account")
	})

	s.handle(Route{Method: get, Path: "/account/verify", Perm: tenant("account", "read"), Summary: "Confirm an e-mail address: the page the verification link opens (token in the query)"}, func(c *fiber.Ctx) error {
		token := strings.Clone(c.Query("token"))
		if _, _, err := s.Links.Check(c.UserContext(), tenantID(c), identity.VerifyLink, token); err != nil {
			return s.linkError(c, err)
		}
		return s.render(c, fiber.StatusOK, "verify", s.tr(c, "verify_title"), verifyPage{Token: token})
	})
	s.postPage(Route{Path: "/account/verify", Perm: tenant("account", "update"), Summary: "Confirm an e-mail address with its link's token (form)"}, func(c *fiber.Ctx) error {
		if _, err := s.Links.Redeem(c.UserContext(), tenantID(c), identity.VerifyLink, strings.Clone(c.FormValue("token")), nil); err != nil {
			return s.linkError(c, err)
		}
		return seeOther(c, "/account?verified=1")
	})
	s.postPage(Route{Path: "/account/verify/resend", Perm: tenant("account", "update"), Summary: "Send the verification e-mail again (limited to one a minute, five a day)"}, func(c *fiber.Ctx) error {
		u, err := s.signedInUser(c)
		if err != nil {
			return err
		}
		if err := s.Notify.ResendVerification(c.UserContext(), caller.Tenant(c.UserContext()), host(c), u); err != nil {
			key := map[errs.Kind]string{errs.TooMany: "account_email_resend_limit", errs.Conflict: "account_email_already_verified"}[errs.KindOf(err)]
			if key == "" {
				return err
			}
			return s.accountPage(c, statusOf[errs.KindOf(err)], accountPage{Error: s.tr(c, key), Form: "verify"})
		}
		return seeOther(c, "/account?sent=1")
	})
	s.postPage(Route{Path: "/account/notifications", Perm: tenant("account", "update"), Summary: "Choose which e-mails to receive (form)"}, func(c *fiber.Ctx) error {
		u, err := s.signedInUser(c)
		if err != nil {
			return err
		}
		n := identity.Notifications{Results: c.FormValue("notify_results") == "on", Proposals: c.FormValue("notify_proposals") == "on"}
		if err := s.Users.SetNotifications(c.UserContext(), u.TenantID, u.ID, n); err != nil {
			return err
		}
		return seeOther(c, "/account?saved=1#notifications")
	})

	s.postPage(Route{Path: "/admin/users/:id/invitation", Perm: tenant("users", "create"), Summary: "Send a pending account a new invitation (the older link stops working) (form)"}, func(c *fiber.Ctx) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		inv, err := s.Staff.Reinvite(c.UserContext(), actor(c), tenantID(c), id)
		if err == nil {
			err = s.sendInvitation(c, inv)
		}
		if err != nil {
			return err
		}
		return seeOther(c, "/admin/users?invited=1")
	})
}

// signedInUser is the caller's account on this site, or errs.Unauthorized for a visitor who
// is not signed in. Platform staff signed in here manage their address on the platform's
// site (their account, its links and its e-mails belong to the platform tenant).
func (s *Server) signedInUser(c *fiber.Ctx) (identity.User, error) {
	p := caller.PrincipalOf(c.UserContext())
	if p.Anonymous() {
		return identity.User{}, errs.E(errs.Unauthorized, "sign in to do this")
	}
	if p.UserTenantID != tenantID(c) {
		return identity.User{}, errs.E(errs.Forbidden, "your account belongs to the platform: manage it on the platform's site")
	}
	return s.Users.ByID(c.UserContext(), p.UserTenantID, p.UserID)
}

// invitationResponse is what inviting by the API answers: the account, and until when its
// link is valid (the link itself goes only to the invitee's address).
type invitationResponse struct {
	staff.Member
	InvitationExpiresAt string `json:"invitation_expires_at"`
}

func (s *Server) invitationRoutes() {
	s.handle(Route{Method: post, Path: "/api/v1/users/:id/invitation", Perm: tenant("users", "create"), Summary: "Send a pending account a new invitation e-mail (the older link stops working)", Response: invitationResponse{}}, func(c *fiber.Ctx) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		inv, err := s.Staff.Reinvite(c.UserContext(), actor(c), tenantID(c), id)
		if err != nil {
			return err
		}
		if err := s.sendInvitation(c, inv); err != nil {
			return err
		}
		return c.JSON(invitationResponse{Member: inv.Member, InvitationExpiresAt: inv.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")})
	})
}
