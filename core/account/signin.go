package account

import (
	"context"

	"github.com/concorde-civic/concorde/core/authz"
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
	// One password hash per attempt, counted against the sign-in limits before it is spent.
	staff := &identity.PlatformStaff{TenantID: tenants.PlatformID, MayEnter: func(u identity.User) bool {
		return s.authz.HasAnyRoleIn(authz.UserSubject(u.TenantID, u.ID), authz.Domain(in.TenantID))
	}}
	u, err := s.users.SignIn(ctx, in.TenantID, in.Email, in.Password, staff)
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
