// Package caller carries, through a context, the tenant a request is for (from its host,
// never from its body) and the principal making it.
package caller

import (
	"context"
	"strconv"

	"github.com/concorde-civic/concorde/tenants"
)

// Principal is who is calling: a signed-in user, or an anonymous visitor (maybe with a
// participant cookie).
type Principal struct {
	Subject      string // Casbin subject: "u:<tenant>:<user>" or "anonymous"
	UserTenantID int64  // the tenant the account belongs to (the platform tenant for platform staff)
	UserID       int64  // 0 for anonymous visitors
	Email        string
	// Verified is true when the account's address is proven (a link sent to it was followed).
	Verified      bool
	ParticipantID string // the anonymous participant cookie's id, if any
	Via           string // "session", "token" or "" for anonymous
	SessionKey    string // what CSRF tokens are bound to: the session token or the participant id
	// NewParticipant is true on the request that created the anonymous participant: it has
	// no votes yet, so the vote path need not look them up.
	NewParticipant bool
}

// Anonymous reports whether nobody is signed in.
func (p Principal) Anonymous() bool { return p.UserID == 0 }

// Participant is the key votes and proposals are recorded under: the account when signed in,
// else the anonymous participant session; empty when the caller has neither.
func (p Principal) Participant() string {
	switch {
	case !p.Anonymous():
		return p.Subject
	case p.ParticipantID != "":
		return "p:" + p.ParticipantID
	}
	return ""
}

// Actor names the principal in the audit log.
func (p Principal) Actor() string {
	if p.Anonymous() {
		return "anonymous"
	}
	return p.Email + " (" + p.Subject + ")"
}

// Domain is the Casbin domain of a tenant.
func Domain(tenantID int64) string { return strconv.FormatInt(tenantID, 10) }

type tenantKey struct{}
type principalKey struct{}

// WithTenant returns ctx carrying the request's tenant.
func WithTenant(ctx context.Context, t *tenants.Tenant) context.Context {
	return context.WithValue(ctx, tenantKey{}, t)
}

// Tenant returns the request's tenant, or nil outside a tenant's site (health checks).
func Tenant(ctx context.Context) *tenants.Tenant {
	t, _ := ctx.Value(tenantKey{}).(*tenants.Tenant)
	return t
}

// WithPrincipal returns ctx carrying the caller.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalOf returns the caller; anonymous when none was set.
func PrincipalOf(ctx context.Context) Principal {
	if p, ok := ctx.Value(principalKey{}).(Principal); ok {
		return p
	}
	return Principal{Subject: "anonymous"}
}

type clientAddrKey struct{}

// WithClientAddr returns ctx carrying the client's address (see core/forwarded: the socket
// peer, or what a trusted proxy forwarded).
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddr returns the client's address the request came from; "" outside a request.
// Per-address limits key on it.
func ClientAddr(ctx context.Context) string {
	a, _ := ctx.Value(clientAddrKey{}).(string)
	return a
}
