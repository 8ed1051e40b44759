// Package authz decides who may do what: Casbin RBAC with domains, policies stored in the database.
//
// Permissions go to roles and roles go to subjects, each grant in one domain: a tenant ID in
// decimal, or "*" for every tenant. In the stored rules a role appears as "role:<name>", so
// that no subject string can be mistaken for a role.
package authz

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/util"
	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
)

// Role is a named set of permissions.
type Role string

const (
	PlatformAdmin Role = "platform-admin" // everything, in every tenant
	TenantAdmin   Role = "tenant-admin"   // runs one tenant
	Moderator     Role = "moderator"      // moderates proposals
	Auditor       Role = "auditor"        // reads everything, changes nothing
	Ops           Role = "ops"            // reads metrics and health
	Citizen       Role = "citizen"        // takes part in consultations
	Partner       Role = "partner"        // an organisation working with the tenant (cultural venues, associations): takes part, and gets what plugins grant partners
	Anonymous     Role = "anonymous"      // what anyone may do, signed in or not; never granted
)

// Roles lists the roles that can be granted, in order of decreasing power.
func Roles() []Role {
	return []Role{PlatformAdmin, TenantAdmin, Moderator, Auditor, Ops, Citizen, Partner}
}

// ParseRole returns the grantable role named s.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if slices.Contains(Roles(), r) {
		return r, nil
	}
	names := make([]string, 0, len(Roles()))
	for _, r := range Roles() {
		names = append(names, string(r))
	}
	return "", errs.Field("role", "unknown role %q: use one of %s", s, strings.Join(names, ", "))
}

// Actions a route may require.
const (
	Read   = "read"
	Create = "create"
	Update = "update"
	Delete = "delete"
)

const (
	// AnonymousSubject is the subject of a visitor who has not signed in.
	AnonymousSubject = "anonymous"
	// AllDomains is the domain of platform-wide grants: they hold in every tenant.
	AllDomains = "*"
	// Any stands for every object or every action in a policy.
	Any = "*"

	rolePrefix = "role:"
)

// UserSubject is the subject of a user of a tenant.
func UserSubject(tenantID, userID int64) string {
	return "u:" + strconv.FormatInt(tenantID, 10) + ":" + strconv.FormatInt(userID, 10)
}

// Domain is the domain of a tenant.
func Domain(tenantID int64) string { return strconv.FormatInt(tenantID, 10) }

func roleSubject(r Role) string { return rolePrefix + string(r) }

//go:embed model.conf
var modelText string

// Permission lets a role do an action on an object ("*" for any).
type Permission struct {
	Role   Role
	Object string
	Action string
}

// DefaultPermissions are the permissions every role has, in every domain.
func DefaultPermissions() []Permission {
	var ps []Permission
	add := func(r Role, obj, act string) { ps = append(ps, Permission{r, obj, act}) }

	add(PlatformAdmin, Any, Any)

	for _, obj := range []string{"tenant", "users", "roles", "tokens", "site", "session",
		"settings", "plugins", "consultations", "proposals", "moderation", "results", "exports"} {
		add(TenantAdmin, obj, Any)
	}
	add(TenantAdmin, "audit", Read)

	add(Moderator, "site", Read)
	add(Moderator, "session", Any)
	add(Moderator, "moderation", Any)
	add(Moderator, "proposals", Read)
	add(Moderator, "consultations", Read)
	add(Moderator, "results", Read)

	add(Auditor, Any, Read)

	add(Ops, "metrics", Read)
	add(Ops, "health", Read)
	add(Ops, "site", Read)
	add(Ops, "session", Any)

	add(Citizen, "site", Read)
	add(Citizen, "session", Any)
	add(Citizen, "proposals", Create)
	add(Citizen, "proposals", Read)
	add(Citizen, "votes", Any)
	add(Citizen, "consultations", Read)
	add(Citizen, "account", Any)
	add(Citizen, "results", Read)
	add(Citizen, "exports", Read)
	// Partners take part as citizens do; plugins give them more (e.g. submitting events).
	for _, p := range ps {
		if p.Role == Citizen {
			add(Partner, p.Object, p.Action)
		}
	}

	add(Anonymous, "site", Read)
	add(Anonymous, "health", Read)
	add(Anonymous, "session", Create)
	add(Anonymous, "consultations", Read)
	add(Anonymous, "proposals", Read)
	add(Anonymous, "votes", Any)
	// Consultations may let anonymous participants propose; each consultation's
	// requires_account setting is enforced by the proposal service.
	add(Anonymous, "proposals", Create)
	add(Anonymous, "results", Read)
	add(Anonymous, "exports", Read)
	// Anonymous participants download and erase their own data too (GDPR).
	add(Anonymous, "account", Read)
	add(Anonymous, "account", Update)
	add(Anonymous, "account", Delete)
	return ps
}

// Grant says a subject holds a role in a domain.
type Grant struct {
	Role   Role
	Domain string
}

// Authorizer answers whether a subject may do an action on an object in a domain, and keeps
// who holds which role. It is safe for concurrent use. The database is the source of truth;
// the enforcer's in-memory policy follows it, and Reload picks up changes made by other nodes.
type Authorizer struct {
	adapter  *Adapter
	enforcer *casbin.SyncedEnforcer
	// writeMu orders writes so the database and the in-memory policy change in the same order.
	writeMu sync.Mutex
	// decisions remembers Allowed's answers (every request asks, mostly the same questions);
	// any change of policy replaces it with an empty one.
	decisions atomic.Pointer[decisionCache]
}

// decisionCache is one generation of remembered decisions.
type decisionCache struct {
	m sync.Map // "sub\x00dom\x00obj\x00act" → bool
	n atomic.Int64
}

// maxDecisions bounds the memory of one generation (a key is well under 100 bytes).
const maxDecisions = 200_000

// forget drops every remembered decision; callers hold writeMu after changing the policy.
func (a *Authorizer) forget() { a.decisions.Store(&decisionCache{}) }

// New loads the stored policies and makes sure the default permissions of every role exist.
func New(ctx context.Context, db *bun.DB) (*Authorizer, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("authorization model: %w", err)
	}
	adapter := NewAdapter(db)
	e, err := casbin.NewSyncedEnforcer(m, adapter)
	if err != nil {
		return nil, fmt.Errorf("load authorization policies: %w", err)
	}
	// A grant stored in domain "*" holds in every domain.
	e.AddNamedDomainMatchingFunc("g", "KeyMatch", util.KeyMatch)
	// Writes go to the database first, through a, with the caller's context; only then to memory.
	e.EnableAutoSave(false)

	a := &Authorizer{adapter: adapter, enforcer: e}
	a.forget()
	if err := a.ensureDefaults(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Authorizer) ensureDefaults(ctx context.Context) error {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	var missing [][]string
	for _, p := range DefaultPermissions() {
		rule := []string{roleSubject(p.Role), AllDomains, p.Object, p.Action}
		ok, err := a.enforcer.HasPolicy(rule)
		if err != nil {
			return fmt.Errorf("default permissions: %w", err)
		}
		if !ok {
			missing = append(missing, rule)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := a.adapter.AddPoliciesCtx(ctx, "p", "p", missing); err != nil {
		return fmt.Errorf("store default permissions: %w", err)
	}
	if _, err := a.enforcer.AddPoliciesEx(missing); err != nil {
		return fmt.Errorf("default permissions: %w", err)
	}
	a.forget()
	return nil
}

// Reload reads the policies from the database again, to see changes made by other nodes.
func (a *Authorizer) Reload(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	if err := a.enforcer.LoadPolicy(); err != nil {
		return fmt.Errorf("reload authorization policies: %w", err)
	}
	a.forget()
	return nil
}

// Allowed reports whether sub may do act on obj in dom. What an anonymous visitor may read,
// every subject may read too; writes need a role that grants them, so that an auditor, who
// reads everything, can change nothing even where anonymous visitors may (votes, proposals).
func (a *Authorizer) Allowed(sub, dom, obj, act string) (bool, error) {
	if strings.HasPrefix(sub, rolePrefix) {
		return false, errs.E(errs.Invalid, "subject %q is a role, not a subject", sub)
	}
	// The generation is read before deciding, so a decision made on a policy that changes
	// meanwhile lands in the generation that change replaced.
	cache := a.decisions.Load()
	key := sub + "\x00" + dom + "\x00" + obj + "\x00" + act
	if v, ok := cache.m.Load(key); ok {
		return v.(bool), nil
	}
	ok, err := a.decide(sub, dom, obj, act)
	if err == nil && cache.n.Load() < maxDecisions {
		if _, loaded := cache.m.LoadOrStore(key, ok); !loaded {
			cache.n.Add(1)
		}
	}
	return ok, err
}

func (a *Authorizer) decide(sub, dom, obj, act string) (bool, error) {
	if sub != AnonymousSubject {
		ok, err := a.enforcer.Enforce(sub, dom, obj, act)
		if err != nil || ok || act != Read {
			return ok, err
		}
	}
	return a.enforcer.Enforce(roleSubject(Anonymous), dom, obj, act)
}

// Grant gives sub the role in dom (a tenant's Domain, or AllDomains). Granting a role held
// already changes nothing.
func (a *Authorizer) Grant(ctx context.Context, sub string, role Role, dom string) error {
	rule, err := grantRule(sub, role, dom)
	if err != nil {
		return err
	}
	if role == PlatformAdmin && dom != AllDomains {
		return errs.Field("domain", "the %s role holds in every tenant: grant it in domain %q, not %q", PlatformAdmin, AllDomains, dom)
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	if err := a.adapter.AddPolicyCtx(ctx, "g", "g", rule); err != nil {
		return fmt.Errorf("grant %s to %s in %s: %w", role, sub, dom, err)
	}
	if _, err := a.enforcer.AddNamedGroupingPolicy("g", rule); err != nil {
		return fmt.Errorf("grant %s to %s in %s: %w", role, sub, dom, err)
	}
	a.forget()
	return nil
}

// Revoke takes the role in dom away from sub. Revoking a role not held changes nothing;
// a grant in AllDomains is only revoked by revoking it in AllDomains.
func (a *Authorizer) Revoke(ctx context.Context, sub string, role Role, dom string) error {
	rule, err := grantRule(sub, role, dom)
	if err != nil {
		return err
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	if err := a.adapter.RemovePolicyCtx(ctx, "g", "g", rule); err != nil {
		return fmt.Errorf("revoke %s from %s in %s: %w", role, sub, dom, err)
	}
	if _, err := a.enforcer.RemoveNamedGroupingPolicy("g", rule); err != nil {
		return fmt.Errorf("revoke %s from %s in %s: %w", role, sub, dom, err)
	}
	a.forget()
	return nil
}

// grantRule checks the parts of a grant and returns its grouping rule.
func grantRule(sub string, role Role, dom string) ([]string, error) {
	switch {
	case sub == "" || strings.TrimSpace(sub) != sub:
		return nil, errs.Field("subject", "subject %q is empty or has surrounding spaces", sub)
	case sub == AnonymousSubject:
		return nil, errs.Field("subject", "roles cannot be granted to anonymous visitors")
	case strings.HasPrefix(sub, rolePrefix):
		return nil, errs.Field("subject", "subject %q is a role, not a subject", sub)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, err
	}
	if !validDomain(dom) {
		return nil, errs.Field("domain", "domain %q is neither a tenant ID nor %q", dom, AllDomains)
	}
	return []string{sub, roleSubject(role), dom}, nil
}

func validDomain(dom string) bool {
	if dom == AllDomains {
		return true
	}
	id, err := strconv.ParseInt(dom, 10, 64)
	return err == nil && id > 0 && Domain(id) == dom
}

// GrantsOf lists every role sub holds, with its domain, sorted by domain then role.
func (a *Authorizer) GrantsOf(sub string) []Grant {
	var gs []Grant
	for _, rule := range a.groupingRules(0, sub) {
		if r, ok := roleOf(rule[1]); ok {
			gs = append(gs, Grant{Role: r, Domain: rule[2]})
		}
	}
	slices.SortFunc(gs, func(x, y Grant) int {
		if c := strings.Compare(x.Domain, y.Domain); c != 0 {
			return c
		}
		return strings.Compare(string(x.Role), string(y.Role))
	})
	return gs
}

// RolesOf lists the roles sub holds in dom, counting grants in AllDomains, sorted and without
// repeats.
func (a *Authorizer) RolesOf(sub, dom string) []Role {
	var rs []Role
	for _, g := range a.GrantsOf(sub) {
		if g.Domain == dom || g.Domain == AllDomains {
			rs = append(rs, g.Role)
		}
	}
	slices.Sort(rs)
	return slices.Compact(rs)
}

// HasAnyRoleIn reports whether sub holds some role in dom, counting grants in AllDomains.
func (a *Authorizer) HasAnyRoleIn(sub, dom string) bool { return len(a.RolesOf(sub, dom)) > 0 }

// SubjectsWithRole lists the subjects holding role in dom, counting grants in AllDomains,
// sorted and without repeats.
func (a *Authorizer) SubjectsWithRole(role Role, dom string) []string {
	var subs []string
	for _, rule := range a.groupingRules(1, roleSubject(role)) {
		if rule[2] == dom || rule[2] == AllDomains {
			subs = append(subs, rule[0])
		}
	}
	slices.Sort(subs)
	return slices.Compact(subs)
}

// groupingRules returns the (subject, role, domain) rules whose field i is v.
func (a *Authorizer) groupingRules(i int, v string) [][]string {
	rules, err := a.enforcer.GetFilteredNamedGroupingPolicy("g", i, v)
	if err != nil {
		// Only an unknown ptype fails here, and "g" is in the embedded model.
		panic(fmt.Sprintf("authz: grouping policy: %v", err))
	}
	out := rules[:0:0]
	for _, r := range rules {
		if len(r) == 3 {
			out = append(out, r)
		}
	}
	return out
}

func roleOf(s string) (Role, bool) {
	name, ok := strings.CutPrefix(s, rolePrefix)
	return Role(name), ok
}
