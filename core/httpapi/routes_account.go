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
	s.handle(post, "/api/v1/auth/signup", Perm{Object: "session", Action: "create"}, true, func(c *fiber.Ctx) error {
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
		return c.Status(fiber.StatusCreated).JSON(m)
	}, s.signupLimit)
	s.doc(post, "/api/v1/auth/signup", "Create a citizen account and sign in; the visitor's anonymous votes and proposals follow", signupRequest{}, staff.Member{})

	s.handle(get, "/api/v1/my/profile", tenant("account", "read"), false, func(c *fiber.Ctx) error {
		pr, err := s.Account.Profile(c.UserContext(), tenantID(c), caller.PrincipalOf(c.UserContext()).Participant())
		if err != nil {
			return err
		}
		return c.JSON(pr)
	})
	s.doc(get, "/api/v1/my/profile", "The caller's answers to the optional profile questions", nil, account.Profile{})

	s.handle(fiber.MethodPut, "/api/v1/my/profile", tenant("account", "update"), true, func(c *fiber.Ctx) error {
		var in account.Profile
		if err := decode(c, &in); err != nil {
			return err
		}
		if err := s.Account.SetProfile(c.UserContext(), tenantID(c), caller.PrincipalOf(c.UserContext()).Participant(), in); err != nil {
			return err
		}
		return c.JSON(in)
	})
	s.doc(fiber.MethodPut, "/api/v1/my/profile", "Answer the optional profile questions (age band, gender, postcode area); giving them is consent to use them in segmented results", account.Profile{}, account.Profile{})

	s.handle(get, "/api/v1/my/data", tenant("account", "read"), false, func(c *fiber.Ctx) error {
		me, uid := self(c)
		d, err := s.Account.Export(c.UserContext(), tenantID(c), me, uid)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="my-data-%s.json"`, time.Now().UTC().Format("2006-01-02")))
		return c.JSON(d)
	})
	s.doc(get, "/api/v1/my/data", "Download everything this site holds about the caller (GDPR)", nil, account.Data{})

	s.handle(del, "/api/v1/my/account", tenant("account", "delete"), false, func(c *fiber.Ctx) error {
		if err := s.eraseSelf(c); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
	s.doc(del, "/api/v1/my/account", "Erase the caller's account and personal data; votes stay counted, detached from the person", nil, nil)
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
	if err := s.Account.Erase(c.UserContext(), tenantID(c), me, uid); err != nil {
		return err
	}
	c.ClearCookie(sessionCookie, participantCookie, profileCookie)
	return nil
}
