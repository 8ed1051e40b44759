// Package staff manages a tenant's accounts, their roles and their API tokens, and audits
// every change. The HTTP API and the admin CLI both go through it.
package staff

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/tenants"
)

// Service is the staff service.
type Service struct {
	db     *bun.DB
	users  *identity.Users
	tokens *identity.Tokens
	authz  *authz.Authorizer
	log    *audit.Log
}

// New wires the staff service.
func New(db *bun.DB, users *identity.Users, tokens *identity.Tokens, az *authz.Authorizer, log *audit.Log) *Service {
	return &Service{db: db, users: users, tokens: tokens, authz: az, log: log}
}

// NewUser is what creating an account takes.
type NewUser struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
	Role     string `json:"role"`
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

// Create makes an account in the tenant and grants it a role.
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
