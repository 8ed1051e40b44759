package httpapi

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/account"
	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/staff"
)

type signupRequest struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

func (s *Server) accountRoutes() {
	s.handle(Route{Method: post, Path: "/api/v1/auth/signup", Perm: Perm{Object: "session", Action: "create"}, Summary: "Create a citizen account and sign in; the visitor's anonymous votes and proposals follow", Request: signupRequest{}, Response: staff.Member{}}, func(c *fiber.Ctx) error {
		var in signupRequest
		if err := decode(c, &in); err != nil {
			return err
		}
		ctx := c.UserContext()
		p := caller.PrincipalOf(ctx)
		anon := ""
		if p.ParticipantID != "" {
			anon = "p:" + p.ParticipantID
		}
		m, err := s.Account.SignUp(ctx, tenantID(c), in.Email, in.Name, in.Password, anon)
		if err != nil {
			return err
		}
		if err := s.startSession(c, m.User.TenantID, m.User.ID, m.Email); err != nil {
			return err
		}
		if err := s.Notify.Verification(ctx, caller.Tenant(ctx), host(c), m.User); err != nil {
			s.Log.Warn("queue the verification e-mail", "error", err.Error())
		}
		return c.Status(fiber.StatusCreated).JSON(m)
	}, s.signupLimit)

	s.handle(Route{Method: get, Path: "/api/v1/my/profile", Perm: tenant("account", "read"), Summary: "The caller's answers to the optional profile questions", Response: account.Profile{}}, func(c *fiber.Ctx) error {
		pr, err := s.Account.Profile(c.UserContext(), tenantID(c), caller.PrincipalOf(c.UserContext()).Participant())
		if err != nil {
			return err
		}
		return c.JSON(pr)
	})

	s.handle(Route{Method: fiber.MethodPut, Path: "/api/v1/my/profile", Perm: tenant("account", "update"), Summary: "Answer the optional profile questions (age band, gender, postcode area); giving them is consent to use them in segmented results", Request: account.Profile{}, Response: account.Profile{}}, func(c *fiber.Ctx) error {
		var in account.Profile
		if err := decode(c, &in); err != nil {
			return err
		}
		if err := s.Account.SetProfile(c.UserContext(), tenantID(c), caller.PrincipalOf(c.UserContext()).Participant(), in); err != nil {
			return err
		}
		return c.JSON(in)
	})

	s.handle(Route{Method: get, Path: "/api/v1/my/data", Perm: tenant("account", "read"), Summary: "Download everything this site holds about the caller (GDPR)", Response: account.Data{}}, func(c *fiber.Ctx) error {
		me, uid := self(c)
		d, err := s.Account.Export(c.UserContext(), tenantID(c), me, uid)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="my-data-%s.json"`, time.Now().UTC().Format("2006-01-02")))
		return c.JSON(d)
	})

	s.handle(Route{Method: del, Path: "/api/v1/my/account", Perm: tenant("account", "delete"), Summary: "Erase the caller's account and personal data; votes stay counted, detached from the person"}, func(c *fiber.Ctx) error {
		if err := s.eraseSelf(c); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}

// self is the caller as a participant, and their account on this site (0 if none: anonymous,
// or platform staff, whose accounts are not this site's to export or erase).
func self(c *fiber.Ctx) (participant string, userID int64) {
	p := caller.PrincipalOf(c.UserContext())
	if !p.Anonymous() && p.UserTenantID == tenantID(c) {
		userID = p.UserID
	}
	return p.Participant(), userID
}

// eraseSelf erases the caller's account and personal data, and forgets their cookies.
func (s *Server) eraseSelf(c *fiber.Ctx) error {
	me, uid := self(c)
	// The browser's anonymous id too: signing up merged it into the account, and a browser
	// that kept it must not vote again as someone new.
	browser := ""
	if id := caller.PrincipalOf(c.UserContext()).ParticipantID; id != "" {
		browser = "p:" + id
	}
	if err := s.Account.Erase(c.UserContext(), tenantID(c), uid, me, browser); err != nil {
		return err
	}
	c.ClearCookie(sessionCookie, participantCookie, profileCookie)
	return nil
}
