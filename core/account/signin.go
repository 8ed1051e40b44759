package account

import (
	"context"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/tenants"
)

// Credentials are what a visitor types to sign in on a site.
type Credentials struct {
	TenantID int64 // the site signed in on
	Email    string
	Password string
	// Anonymous is the visitor's anonymous participant ("p:…", or ""): its votes, proposals
	// and profile follow them into their account.
	Anonymous string
}

// SignIn checks credentials on a site, for the JSON API and the pages alike: the site's own
// users, or platform staff (admins, auditors) holding a role there. A site user's anonymous
// participation moves to their account. The caller then opens the session.
func (s *Service) SignIn(ctx context.Context, in Credentials) (identity.User, error) {
	u, err := s.users.Authenticate(ctx, in.TenantID, in.Email, in.Password)
	if errs.Is(err, errs.Unauthorized) && in.TenantID != tenants.PlatformID {
		if pu, perr := s.users.Authenticate(ctx, tenants.PlatformID, in.Email, in.Password); perr == nil &&
			s.authz.HasAnyRoleIn(authz.UserSubject(pu.TenantID, pu.ID), authz.Domain(in.TenantID)) {
			u, err = pu, nil
		}
	}
	if err != nil {
		return identity.User{}, err
	}
	if in.Anonymous != "" && u.TenantID == in.TenantID {
		if err := s.Adopt(ctx, in.TenantID, in.Anonymous, authz.UserSubject(u.TenantID, u.ID)); err != nil {
			return identity.User{}, err
		}
	}
	return u, nil
}
