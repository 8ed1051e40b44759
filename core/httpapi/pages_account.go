package httpapi

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/account"
	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/proposal"
)

type accountPage struct {
	SignedIn  bool
	Email     string
	Proposals []proposal.Proposal
	Error     string
	Form      string // which form the error belongs to: "signin" or "signup"
	EmailIn   string
	NameIn    string
	Next      string // where to go back after signing in or up: a path on this site
	Prefixes  map[int64]string
	Slugs     map[int64]string
	// User is the signed-in account (its address, whether verified, its e-mail choices).
	User *identity.User
	// Notice is the catalogue key of what just happened (address verified, e-mail sent, saved).
	Notice string
}

func profileFrom(c *fiber.Ctx) account.Profile {
	return account.Profile{AgeBand: c.FormValue("age_band"), Gender: c.FormValue("gender"), Area: c.FormValue("area")}
}

func (s *Server) accountPage(c *fiber.Ctx, status int, ap accountPage) error {
	ctx := c.UserContext()
	p := caller.PrincipalOf(ctx)
	ap.SignedIn, ap.Email = !p.Anonymous(), p.Email
	if ap.SignedIn && p.UserTenantID == tenantID(c) { // platform staff manage their address on the platform's site
		u, err := s.Users.ByID(ctx, p.UserTenantID, p.UserID)
		if err != nil {
			return err
		}
		ap.User = &u
		if ap.Error == "" {
			switch {
			case c.Query("verified") == "1":
				ap.Notice = "account_email_verified_now"
			case c.Query("sent") == "1":
				ap.Notice = "account_email_sent"
			case c.Query("saved") == "1":
				ap.Notice = "account_notifications_saved"
			}
		}
	}
	if me := p.Participant(); me != "" {
		ps, err := s.Proposals.ByAuthor(ctx, tenantID(c), me)
		if err != nil {
			return err
		}
		ap.Proposals = ps
		ap.Prefixes, ap.Slugs = map[int64]string{}, map[int64]string{}
		for _, x := range ps {
			if _, ok := ap.Slugs[x.ConsultationID]; ok {
				continue
			}
			if cs, err := s.Consultations.GetByID(ctx, tenantID(c), x.ConsultationID); err == nil {
				ap.Prefixes[x.ConsultationID], ap.Slugs[x.ConsultationID] = cs.Prefix, cs.Slug
			}
		}
	}
	return s.render(c, status, "account", s.tr(c, "account_title"), ap)
}

func (s *Server) accountPageRoutes() {
	s.handle(Route{Method: get, Path: "/account", Perm: tenant("account", "read"), Summary: "The caller's account: sign in or up, profile, their data"}, func(c *fiber.Ctx) error {
		return s.accountPage(c, fiber.StatusOK, accountPage{})
	})
	// The sign-in page a feature sends a signed-out visitor to (a plugin's "I'm interested",
	// say): the forms carry next, and signing in or up leads back there.
	s.handle(Route{Method: get, Path: "/account/signin", Perm: tenant("account", "read"), Summary: "The sign-in page, leading back to next (a path on this site) once signed in"}, func(c *fiber.Ctx) error {
		next := localPath(strings.Clone(c.Query("next")), "")
		if !caller.PrincipalOf(c.UserContext()).Anonymous() {
			return seeOther(c, localPath(next, "/account"))
		}
		return s.accountPage(c, fiber.StatusOK, accountPage{Next: next})
	})

	s.postPage(Route{Path: "/account/signin", Perm: Perm{Object: "session", Action: "create"}, Summary: "Sign in (form)"}, func(c *fiber.Ctx) error {
		email := strings.Clone(c.FormValue("email"))
		u, err := s.Account.SignIn(c.UserContext(), credentials(c, loginRequest{Email: email, Password: strings.Clone(c.FormValue("password"))}))
		if err != nil {
			if k := errs.KindOf(err); k != errs.Unauthorized && k != errs.Invalid && k != errs.TooMany {
				return err
			}
			msg, _ := s.errorMessage(c, err)
			return s.accountPage(c, statusOf[errs.KindOf(err)], accountPage{Error: msg, Form: "signin", EmailIn: email})
		}
		if err := s.startSession(c, u.TenantID, u.ID, u.Email); err != nil {
			return err
		}
		return seeOther(c, localPath(c.FormValue("next"), "/account"))
	}, s.loginLimit)

	s.postPage(Route{Path: "/account/signup", Perm: Perm{Object: "session", Action: "create"}, Summary: "Create a citizen account and sign in (form)"}, func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		p := caller.PrincipalOf(ctx)
		anon := ""
		if p.ParticipantID != "" {
			anon = "p:" + p.ParticipantID
		}
		email, name := c.FormValue("email"), c.FormValue("name")
		m, err := s.Account.SignUp(ctx, tenantID(c), email, name, c.FormValue("password"), anon)
		if err != nil {
			if k := errs.KindOf(err); k != errs.Invalid && k != errs.Conflict {
				return err
			}
			msg, _ := s.errorMessage(c, err)
			return s.accountPage(c, statusOf[errs.KindOf(err)], accountPage{Error: msg, Form: "signup", EmailIn: email, NameIn: name})
		}
		if err := s.startSession(c, m.User.TenantID, m.User.ID, m.Email); err != nil {
			return err
		}
		// The account exists whatever happens to the e-mail: it can ask for the link again.
		if err := s.Notify.Verification(ctx, caller.Tenant(ctx), host(c), m.User); err != nil {
			s.Log.Warn("queue the verification e-mail", "error", err.Error())
		}
		return seeOther(c, localPath(c.FormValue("next"), "/account"))
	}, s.signupLimit)

	s.postPage(Route{Path: "/account/signout", Perm: Perm{Object: "session", Action: "delete"}, Summary: "Sign out (form)"}, func(c *fiber.Ctx) error {
		if err := s.endSession(c); err != nil {
			return err
		}
		return seeOther(c, "/")
	})

	s.handle(Route{Method: get, Path: "/account/delete", Perm: tenant("account", "read"), Summary: "Confirm erasing the caller's account"}, func(c *fiber.Ctx) error {
		return s.render(c, fiber.StatusOK, "delete", s.tr(c, "delete_title"), nil)
	})

	s.postPage(Route{Path: "/account/delete", Perm: tenant("account", "delete"), Summary: "Erase the caller's account and personal data (form)"}, func(c *fiber.Ctx) error {
		if c.FormValue("confirm") != "yes" {
			return errs.Field("confirm", "tick the box to confirm that you want your account and data erased").Say("err_erase_confirm")
		}
		if err := s.eraseSelf(c); err != nil {
			return err
		}
		return seeOther(c, "/?erased=1")
	})
}
