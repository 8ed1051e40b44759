// Package staff manages a tenant's accounts, their roles and their API tokens, and audits
// every change. The HTTP API and the admin CLI both go through it.
package staff

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/tenants"
)

// Service is the staff service.
type Service struct {
	db     *bun.DB
	users  *identity.Users
	tokens *identity.Tokens
	links  *identity.AccountLinks
	authz  *authz.Authorizer
	log    *audit.Log
}

// New wires the staff service.
func New(db *bun.DB, users *identity.Users, tokens *identity.Tokens, links *identity.AccountLinks, az *authz.Authorizer, log *audit.Log) *Service {
	return &Service{db: db, users: users, tokens: tokens, links: links, authz: az, log: log}
}

// NewUser is what creating an account with a password takes: the operator's bootstrap
// (concorde user create) and the demo. Staff invite each other instead (Invite).
type NewUser struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
	Role     string `json:"role"`
}

// Invitee is whom an admin invites, and with which role. There is no password: the invitee
// chooses it.
type Invitee struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  string `json:"role"`
}

// Invitation is an invitation just issued: the account, and the link's token and expiry,
// which go into the e-mail and nowhere else.
type Invitation struct {
	Member    Member
	Role      string
	Token     string
	ExpiresAt time.Time
}

// Invite creates an account without a password in the tenant, grants it a role and issues
// the single-use link with which its owner chooses a password (identity.InviteTTL). Inviting
// an address whose invitation is still pending issues a new link and revokes the older one
// (and grants the role if it is new); an address whose account is in use is errs.Conflict:
// grant it the role in the list instead.
func (s *Service) Invite(ctx context.Context, actor string, tenantID int64, in Invitee) (Invitation, error) {
	role, err := authz.ParseRole(in.Role)
	if err != nil {
		return Invitation{}, err
	}
	if err := s.checkGrantable(tenantID, role); err != nil {
		return Invitation{}, err
	}
	action := "user.invite"
	u, err := s.users.ByEmail(ctx, tenantID, in.Email)
	switch {
	case err == nil && !u.InvitationPending:
		return Invitation{}, &errs.Error{Kind: errs.Conflict, Field: "email",
			Message: "an account with this address already exists here: give it the role in the list of accounts"}
	case err == nil:
		action = "user.reinvite"
	case errs.Is(err, errs.NotFound):
		if u, err = s.users.CreateInvited(ctx, tenantID, in.Email, in.Name); err != nil {
			return Invitation{}, err
		}
	default:
		return Invitation{}, err
	}
	sub := authz.UserSubject(tenantID, u.ID)
	if err := s.authz.Grant(ctx, sub, role, GrantDomain(tenantID)); err != nil {
		return Invitation{}, err
	}
	token, link, err := s.links.Issue(ctx, tenantID, u.ID, identity.InviteLink, identity.InviteTTL, actor)
	if err != nil {
		return Invitation{}, err
	}
	if _, err := s.log.Append(ctx, s.db, tenantID, audit.Record{Actor: actor, Action: action, Object: "user:" + u.Email,
		Detail: map[string]any{"user_id": u.ID, "role": string(role), "expires_at": link.ExpiresAt}}); err != nil {
		return Invitation{}, err
	}
	return Invitation{Member: s.member(u), Role: string(role), Token: token, ExpiresAt: link.ExpiresAt}, nil
}

// Reinvite issues a new invitation link to a pending account of the tenant (the older link
// stops working); an account in use is errs.Conflict.
func (s *Service) Reinvite(ctx context.Context, actor string, tenantID, userID int64) (Invitation, error) {
	u, err := s.users.ByID(ctx, tenantID, userID)
	if err != nil {
		return Invitation{}, err
	}
	if !u.InvitationPending {
		return Invitation{}, errs.E(errs.Conflict, "this account has already chosen its password: there is nothing to invite it to")
	}
	roles := s.member(u).Roles
	role := string(authz.Citizen)
	if len(roles) > 0 {
		role = roles[len(roles)-1]
	}
	return s.Invite(ctx, actor, tenantID, Invitee{Email: u.Email, Role: role})
}

// InvitationFor returns the pending account an invitation token belongs to, without using it.
func (s *Service) InvitationFor(ctx context.Context, tenantID int64, token string) (identity.User, error) {
	u, _, err := s.links.Check(ctx, tenantID, identity.InviteLink, token)
	if err != nil {
		return identity.User{}, err
	}
	if !u.InvitationPending {
		return identity.User{}, errs.Field("token", "this invitation was already accepted: sign in with your password")
	}
	return u, nil
}

// AcceptInvitation lets the invitee choose their password with the invitation's token: in
// one transaction the link is used up, the address is marked verified and the password set,
// and the acceptance is audited. A bad, expired, used or revoked token is errs.Invalid and
// changes nothing.
func (s *Service) AcceptInvitation(ctx context.Context, tenantID int64, token, password string) (identity.User, error) {
	if _, err := s.InvitationFor(ctx, tenantID, token); err != nil {
		return identity.User{}, err
	}
	hash, err := s.users.HashPassword(password) // before the transaction: hashing takes a while
	if err != nil {
		return identity.User{}, err
	}
	return s.links.Redeem(ctx, tenantID, identity.InviteLink, token, func(ctx context.Context, tx store.Scope, u identity.User) error {
		if !u.InvitationPending {
			return errs.Field("token", "this invitation was already accepted: sign in with your password")
		}
		if err := s.users.SetPasswordHashIn(ctx, tx, u.ID, hash); err != nil {
			return err
		}
		_, err := s.log.AppendIn(ctx, tx, audit.Record{Actor: authz.UserSubject(tenantID, u.ID), Action: "user.invitation_accepted",
			Object: "user:" + u.Email, Detail: map[string]any{"user_id": u.ID}})
		return err
	})
}

// Member is an account with its roles on the tenant.
type Member struct {
	identity.User
	Roles []string `json:"roles"`
}

// GrantDomain is where a tenant's accounts receive their roles: the tenant itself, or every
// tenant ("*") for accounts of the platform tenant (platform admins, platform-wide auditors).
func GrantDomain(tenantID int64) string {
	if tenantID == tenants.PlatformID {
		return "*"
	}
	return authz.Domain(tenantID)
}

// Create makes an account with a password in the tenant and grants it a role: the command
// line's bootstrap (concorde user create) and the demo data. The back office and the API
// invite instead (Invite): admins do not choose passwords for others.
func (s *Service) Create(ctx context.Context, actor string, tenantID int64, in NewUser) (Member, error) {
	role, err := authz.ParseRole(in.Role)
	if err != nil {
		return Member{}, err
	}
	if err := s.checkGrantable(tenantID, role); err != nil {
		return Member{}, err
	}
	u, err := s.users.Create(ctx, tenantID, in.Email, in.Name, in.Password)
	if err != nil {
		return Member{}, err
	}
	// The operator who typed the address vouches for it (this path is the command line's
	// bootstrap and the demo's, never the back office's).
	if err := s.users.MarkVerified(ctx, tenantID, u.ID); err != nil {
		return Member{}, err
	}
	if u, err = s.users.ByID(ctx, tenantID, u.ID); err != nil {
		return Member{}, err
	}
	sub := authz.UserSubject(tenantID, u.ID)
	if err := s.authz.Grant(ctx, sub, role, GrantDomain(tenantID)); err != nil {
		return Member{}, err
	}
	if _, err := s.log.Append(ctx, s.db, tenantID, audit.Record{Actor: actor, Action: "user.create", Object: "user:" + u.Email,
		Detail: map[string]any{"user_id": u.ID, "role": string(role)}}); err != nil {
		return Member{}, err
	}
	return s.member(u), nil
}

// List returns the tenant's accounts with their roles.
func (s *Service) List(ctx context.Context, tenantID int64, limit, offset int) ([]Member, error) {
	return s.Find(ctx, tenantID, "", limit, offset)
}

// Find is List restricted to the accounts whose address or name contains q.
func (s *Service) Find(ctx context.Context, tenantID int64, q string, limit, offset int) ([]Member, error) {
	us, err := s.users.Find(ctx, tenantID, q, limit, offset)
	if err != nil {
		return nil, err
	}
	out := make([]Member, len(us))
	for i, u := range us {
		out[i] = s.member(u)
	}
	return out, nil
}

// Get returns one account of the tenant.
func (s *Service) Get(ctx context.Context, tenantID, userID int64) (Member, error) {
	u, err := s.users.ByID(ctx, tenantID, userID)
	if err != nil {
		return Member{}, err
	}
	return s.member(u), nil
}

// ByEmail returns one account of the tenant by email.
func (s *Service) ByEmail(ctx context.Context, tenantID int64, email string) (Member, error) {
	u, err := s.users.ByEmail(ctx, tenantID, email)
	if err != nil {
		return Member{}, err
	}
	return s.member(u), nil
}

// Grant gives an account of the tenant one more role.
func (s *Service) Grant(ctx context.Context, actor string, tenantID, userID int64, roleName string) (Member, error) {
	return s.changeRole(ctx, actor, tenantID, userID, roleName, true)
}

// Revoke takes a role from an account of the tenant.
func (s *Service) Revoke(ctx context.Context, actor string, tenantID, userID int64, roleName string) (Member, error) {
	return s.changeRole(ctx, actor, tenantID, userID, roleName, false)
}

func (s *Service) changeRole(ctx context.Context, actor string, tenantID, userID int64, roleName string, grant bool) (Member, error) {
	role, err := authz.ParseRole(roleName)
	if err != nil {
		return Member{}, err
	}
	if err := s.checkGrantable(tenantID, role); err != nil {
		return Member{}, err
	}
	u, err := s.users.ByID(ctx, tenantID, userID)
	if err != nil {
		return Member{}, err
	}
	sub, dom := authz.UserSubject(tenantID, u.ID), GrantDomain(tenantID)
	if !grant && role == authz.TenantAdmin {
		if admins := s.authz.SubjectsWithRole(authz.TenantAdmin, dom); len(admins) == 1 && admins[0] == sub {
			// Nobody could then manage the site's accounts, branding or plugins but the
			// platform's staff: give the role to someone else first.
			return Member{}, &errs.Error{Kind: errs.Conflict, Field: "role",
				Message: "this is the site's last tenant admin: give the role to another account before taking it from this one", Key: "err_last_tenant_admin"}
		}
	}
	action := "role.grant"
	if grant {
		err = s.authz.Grant(ctx, sub, role, dom)
	} else {
		action = "role.revoke"
		err = s.authz.Revoke(ctx, sub, role, dom)
	}
	if err != nil {
		return Member{}, err
	}
	if _, err := s.log.Append(ctx, s.db, tenantID, audit.Record{Actor: actor, Action: action, Object: "user:" + u.Email,
		Detail: map[string]any{"user_id": u.ID, "role": string(role)}}); err != nil {
		return Member{}, err
	}
	return s.member(u), nil
}

// checkGrantable refuses platform roles outside the platform tenant.
func (s *Service) checkGrantable(tenantID int64, role authz.Role) error {
	if tenantID != tenants.PlatformID && (role == authz.PlatformAdmin || role == authz.Ops) {
		return errs.Field("role", "role %s can only be held by platform staff", role).Say("err_role_platform_only")
	}
	return nil
}

func (s *Service) member(u identity.User) Member {
	m := Member{User: u, Roles: []string{}}
	for _, r := range s.authz.RolesOf(authz.UserSubject(u.TenantID, u.ID), GrantDomain(u.TenantID)) {
		m.Roles = append(m.Roles, string(r))
	}
	return m
}

// CreateToken issues an API token for an account of the tenant; the plaintext is shown once.
// A token acts as its account, so it is issued only to the caller (the principal in ctx)
// for themselves, or to a staff account (one holding a role other than citizen or partner):
// a tenant admin must not be able to act as a citizen, vote or propose in their name.
func (s *Service) CreateToken(ctx context.Context, actor string, tenantID, userID int64, name string) (string, identity.Token, error) {
	u, err := s.users.ByID(ctx, tenantID, userID)
	if err != nil {
		return "", identity.Token{}, err
	}
	p := caller.PrincipalOf(ctx)
	if self := !p.Anonymous() && p.UserTenantID == tenantID && p.UserID == userID; !self && !s.isStaff(u) {
		return "", identity.Token{}, &errs.Error{Kind: errs.Forbidden, Field: "user_id",
			Message: "API tokens are issued only to staff accounts (not citizens or partners), or by an account for itself", Key: "err_token_staff_only"}
	}
	plain, tok, err := s.tokens.Create(ctx, tenantID, userID, strings.TrimSpace(name))
	if err != nil {
		return "", tok, err
	}
	_, err = s.log.Append(ctx, s.db, tenantID, audit.Record{Actor: actor, Action: "token.create", Object: fmt.Sprintf("token:%d", tok.ID),
		Detail: map[string]any{"user_id": userID, "name": tok.Name, "prefix": tok.Prefix}})
	return plain, tok, err
}

// isStaff reports whether u holds a role other than citizen and partner where its tenant grants roles.
func (s *Service) isStaff(u identity.User) bool {
	for _, r := range s.authz.RolesOf(authz.UserSubject(u.TenantID, u.ID), GrantDomain(u.TenantID)) {
		if r != authz.Citizen && r != authz.Partner {
			return true
		}
	}
	return false
}

// TokenUse is one request authenticated by an API token, as RecordTokenUse audits it.
type TokenUse struct {
	Token  identity.Token
	Actor  string // the token's account, as the audit log names it
	Method string
	Path   string
	Write  bool // the request may change something (not GET, HEAD or OPTIONS)
}

// RecordTokenUse keeps track of every use of an API token on site tenantID: the token's
// last-used time (at most once a minute, so reads cost no write), and one audit entry per
// write, before the write runs (so refused and failed attempts are on record too). Reads are
// not audited one by one: that would flood the log with what last_used_at already says.
func (s *Service) RecordTokenUse(ctx context.Context, tenantID int64, u TokenUse) error {
	if err := s.tokens.Touch(ctx, u.Token); err != nil {
		return err
	}
	if !u.Write {
		return nil
	}
	path := u.Path
	if len(path) > 512 {
		path = path[:512]
	}
	_, err := s.log.Append(ctx, s.db, tenantID, audit.Record{Actor: u.Actor, Action: "token.use", Object: fmt.Sprintf("token:%d", u.Token.ID),
		Detail: map[string]any{"method": u.Method, "path": strings.ToValidUTF8(path, "?"), "token_tenant_id": u.Token.TenantID, "prefix": u.Token.Prefix}})
	return err
}

// RevokeToken revokes an API token of the tenant.
func (s *Service) RevokeToken(ctx context.Context, actor string, tenantID, tokenID int64) error {
	if err := s.tokens.Revoke(ctx, tenantID, tokenID); err != nil {
		return err
	}
	_, err := s.log.Append(ctx, s.db, tenantID, audit.Record{Actor: actor, Action: "token.revoke", Object: fmt.Sprintf("token:%d", tokenID)})
	return err
}

// Tokens lists the tenant's API tokens (userID 0: all of them).
func (s *Service) Tokens(ctx context.Context, tenantID, userID int64) ([]identity.Token, error) {
	return s.tokens.List(ctx, tenantID, userID)
}
