package httpapi

import (
	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/staff"
	"github.com/concorde-civic/concorde/tenants"
)

type hostRequest struct {
	Host string `json:"host"`
}

type roleRequest struct {
	Role string `json:"role"`
}

type tokenRequest struct {
	Name   string `json:"name"`
	UserID int64  `json:"user_id"`
}

type tokenCreated struct {
	Token string         `json:"token"`
	Info  identity.Token `json:"info"`
	Note  string         `json:"note"`
}

// foundationDocs describes the foundation's routes in the OpenAPI document.
func (s *Server) foundationDocs() {
	s.doc(post, "/api/v1/auth/login", "Sign in; sets the session cookie and returns the CSRF token", loginRequest{}, meResponse{})
	s.doc(post, "/api/v1/auth/logout", "Sign out", nil, nil)
	s.doc(get, "/api/v1/auth/me", "Who is calling, their roles here, and the CSRF token", nil, meResponse{})
	s.doc(get, "/api/v1/tenants", "List tenants (platform admins)", nil, struct {
		Tenants []tenants.Tenant `json:"tenants"`
	}{})
	s.doc(post, "/api/v1/tenants", "Create a tenant (platform admins)", tenants.NewTenant{}, tenants.Tenant{})
	s.doc(get, "/api/v1/tenants/:slug", "One tenant (platform admins)", nil, tenants.Tenant{})
	s.doc(post, "/api/v1/tenants/:slug/suspend", "Suspend a tenant's site (503)", nil, tenants.Tenant{})
	s.doc(post, "/api/v1/tenants/:slug/resume", "Serve a suspended tenant's site again", nil, tenants.Tenant{})
	s.doc(post, "/api/v1/tenants/:slug/hosts", "Serve a tenant on one more host name", hostRequest{}, tenants.Tenant{})
	s.doc(get, "/api/v1/tenant", "This site's tenant", nil, tenants.Tenant{})
	s.doc(patch, "/api/v1/tenant", "Change this site's name and branding", tenants.Patch{}, tenants.Tenant{})
	s.doc(get, "/api/v1/users", "Accounts of this site with their roles (limit, offset)", nil, struct {
		Users []staff.Member `json:"users"`
	}{})
	s.doc(post, "/api/v1/users", "Create an account with a role", staff.NewUser{}, staff.Member{})
	s.doc(get, "/api/v1/users/:id", "One account", nil, staff.Member{})
	s.doc(post, "/api/v1/users/:id/roles", "Grant a role", roleRequest{}, staff.Member{})
	s.doc(del, "/api/v1/users/:id/roles/:role", "Revoke a role", nil, staff.Member{})
	s.doc(get, "/api/v1/tokens", "API tokens of this site (never their secret)", nil, struct {
		Tokens []identity.Token `json:"tokens"`
	}{})
	s.doc(post, "/api/v1/tokens", "Create an API token; its secret is shown once", tokenRequest{}, tokenCreated{})
	s.doc(del, "/api/v1/tokens/:id", "Revoke an API token", nil, nil)
	s.doc(get, "/api/v1/audit", "The audit log, newest first (actor, action, object, since, until, before, limit)", nil, audit.Page{})
	s.doc(get, "/api/v1/audit/verify", "Recompute this site's audit hash chain", nil, audit.Report{})
	s.doc(get, "/api/v1/audit/head", "The signed head of this site's audit chain: save it elsewhere, then `concorde audit verify --head FILE` detects a cut-off or rewritten tail", nil, audit.Head{})
	s.doc(get, "/api/v1/openapi.json", "This document", nil, nil)
}
