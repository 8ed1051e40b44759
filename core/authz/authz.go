// Package authz decides who may do what: Casbin RBAC with domains, policies stored in the database.
//
// Permissions go to roles and roles go to subjects, each grant in one domain: a tenant ID in
// decimal, or "*" for every tenant. In the stored rules a role appears as "role:<name>", so
// that no subject string can be mistaken for a role.
package authz

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/changes"
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
	return "", errs.Field("role", "unknown role %q: use one of %s", s, strings.Join(names, ", ")).Say("err_role_unknown")
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

// GrantRule is the stored rule (subject, role, domain) of a grant, for seeding policies in
// bulk (core/e2e); everything else grants through Grant, which checks its parts.
func GrantRule(sub string, r Role, dom string) []string { return []string{sub, roleSubject(r), dom} }

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
	db      *bun.DB
	adapter *Adapter
	// enforcer holds the whole policy. This node's own writes change it in place (under its
	// lock); a reload builds a new one aside and swaps it in, so requests never wait for one.
	enforcer atomic.Pointer[casbin.SyncedEnforcer]
	// writeMu orders writes so the database and the in-memory policy change in the same order.
	writeMu sync.Mutex
	// version is the policy version (core/changes) the enforcer holds; under writeMu.
	version int64
	// decisions remembers Allowed's answers (every request asks, mostly the same questions).
	// A change of permissions replaces it with an empty one; a change of one subject's roles
	// forgets that subject's answers only.
	decisions atomic.Pointer[decisionCache]
}

// decisionCache is one generation of remembered decisions.
type decisionCache struct {
	subjects sync.Map // subject → *subjectDecisions
	n        atomic.Int64
}

// subjectDecisions is what was decided for one subject: "dom\x00obj\x00act" → bool.
type subjectDecisions struct{ m sync.Map }

// forSubject is the remembered decisions of sub, made empty if there are none.
func (c *decisionCache) forSubject(sub string) *subjectDecisions {
	if v, ok := c.subjects.Load(sub); ok {
		return v.(*subjectDecisions)
	}
	v, _ := c.subjects.LoadOrStore(sub, &subjectDecisions{})
	return v.(*subjectDecisions)
}

// maxDecisions bounds the memory of one generation (a key is well under 100 bytes).
const maxDecisions = 200_000

// forget drops every remembered decision; callers hold writeMu after changing the policy.
func (a *Authorizer) forget() { a.decisions.Store(&decisionCache{}) }

// forgetSubjects drops what was decided for these subjects; callers hold writeMu after
// changing their roles. (A decision being made meanwhile lands in the dropped map.)
func (a *Authorizer) forgetSubjects(subs ...string) {
	c := a.decisions.Load()
	for _, sub := range subs {
		c.subjects.Delete(sub)
	}
}

// New loads the stored policies and makes sure the default permissions of every role exist.
func New(ctx context.Context, db *bun.DB) (*Authorizer, error) {
	a, err := NewLazy(ctx, db)
	if err != nil {
		return nil, err
	}
	if _, err := a.policy(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// NewLazy is New for admin commands, which mostly write a grant or two: the policy is read
// on first use rather than at start (with 10,000 tenants that is most of a command's time),
// and until then writes go to the database only.
func NewLazy(ctx context.Context, db *bun.DB) (*Authorizer, error) {
	a := &Authorizer{db: db, adapter: NewAdapter(db)}
	a.forget()
	if err := a.ensureDefaults(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// policy is the enforcer, read from the database on first use.
func (a *Authorizer) policy(ctx context.Context) (*casbin.SyncedEnforcer, error) {
	if e := a.enforcer.Load(); e != nil {
		return e, nil
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	if e := a.enforcer.Load(); e != nil {
		return e, nil
	}
	v, e, err := a.load(ctx)
	if err != nil {
		return nil, err
	}
	a.version = v
	a.enforcer.Store(e)
	return e, nil
}

// load reads the policy version, then every rule into a new enforcer. In that order: a change
// made in between makes the next Reload read the rules again, never miss them.
func (a *Authorizer) load(ctx context.Context) (int64, *casbin.SyncedEnforcer, error) {
	v, p, g, err := a.readRules(ctx)
	if err != nil {
		return 0, nil, err
	}
	e, err := build(p, g)
	return v, e, err
}

// readRules reads the policy version, then every permission (p) and grant (g) rule.
func (a *Authorizer) readRules(ctx context.Context) (v int64, p, g [][]string, err error) {
	if v, err = changes.Version(ctx, a.db, changes.Policy); err != nil {
		return 0, nil, nil, err
	}
	var rows []casbinRule
	if err := a.db.NewSelect().Model(&rows).Scan(ctx); err != nil {
		return 0, nil, nil, fmt.Errorf("load authorization policies: %w", err)
	}
	for _, r := range rows {
		switch {
		case r.Ptype == "p" && r.V3 != "" && r.V4 == "":
			p = append(p, []string{r.V0, r.V1, r.V2, r.V3})
		case r.Ptype == "g" && r.V2 != "" && r.V3 == "":
			g = append(g, []string{r.V0, r.V1, r.V2})
		default:
			return 0, nil, nil, fmt.Errorf("load authorization policies: unexpected rule %s %v", r.Ptype, r.values())
		}
	}
	return v, p, g, nil
}

// build makes an enforcer holding these rules.
func build(p, g [][]string) (*casbin.SyncedEnforcer, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("authorization model: %w", err)
	}
	e, err := casbin.NewSyncedEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("authorization model: %w", err)
	}
	e.EnableAutoBuildRoleLinks(false) // built once below, not once per rule
	if len(p) > 0 {
		if _, err := e.AddPolicies(p); err != nil {
			return nil, fmt.Errorf("load authorization policies: %w", err)
		}
	}
	if len(g) > 0 {
		if _, err := e.AddNamedGroupingPolicies("g", g); err != nil {
			return nil, fmt.Errorf("load authorization policies: %w", err)
		}
	}
	if err := e.BuildRoleLinks(); err != nil {
		return nil, fmt.Errorf("load authorization policies: %w", err)
	}
	e.EnableAutoBuildRoleLinks(true) // later writes update the role links as they go
	return e, nil
}

// wrote notes the version this node's write just stored: when it follows the version held,
// nobody else changed the policy meanwhile and the enforcer, changed in place, is current.
// Callers hold writeMu.
func (a *Authorizer) wrote() {
	if a.adapter.written == a.version+1 {
		a.version = a.adapter.written
	}
}

// ensureDefaults stores the default permissions missing from the database (it reads only
// the platform-wide permissions, a few dozen rows).
func (a *Authorizer) ensureDefaults(ctx context.Context) error {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	var stored []casbinRule
	if err := a.db.NewSelect().Model(&stored).Where("ptype = 'p' AND v1 = ?", AllDomains).Scan(ctx); err != nil {
		return fmt.Errorf("default permissions: %w", err)
	}
	have := make(map[string]bool, len(stored))
	for _, r := range stored {
		have[strings.Join(r.values(), "\x00")] = true
	}
	var missing [][]string
	for _, p := range DefaultPermissions() {
		rule := []string{roleSubject(p.Role), AllDomains, p.Object, p.Action}
		if !have[strings.Join(rule, "\x00")] {
			missing = append(missing, rule)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := a.adapter.AddPoliciesCtx(ctx, "p", "p", missing); err != nil {
		return fmt.Errorf("store default permissions: %w", err)
	}
	if e := a.enforcer.Load(); e != nil {
		a.wrote()
		if _, err := e.AddPoliciesEx(missing); err != nil {
			return fmt.Errorf("default permissions: %w", err)
		}
	}
	a.forget()
	return nil
}

// Reload picks up changes made by other nodes: it reads the policy version (one row) and,
// only when it moved, every rule. A few changed grants are applied in place (as this node's
// own writes are); a changed permission or many changes make a new enforcer, built aside and
// swapped in, so requests never wait for it. Only the decisions of the subjects whose roles
// changed are forgotten (all of them if a permission changed).
func (a *Authorizer) Reload(ctx context.Context) error {
	v, err := changes.Version(ctx, a.db, changes.Policy)
	if err != nil {
		return fmt.Errorf("reload authorization policies: %w", err)
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	old := a.enforcer.Load()
	if v == a.version || old == nil { // nothing held yet: the first use reads the policy
		return nil
	}
	v, p, g, err := a.readRules(ctx)
	if err != nil {
		return fmt.Errorf("reload authorization policies: %w", err)
	}
	// Nothing else changes the held model while writeMu is held: read it without copying.
	held := old.GetModel()
	if len(symmetricDifference(held["p"]["p"].Policy, p)) == 0 {
		added, removed := difference(g, held["g"]["g"].Policy), difference(held["g"]["g"].Policy, g)
		if len(added)+len(removed) <= maxInPlace {
			if err := applyGrants(old, added, removed); err != nil {
				return fmt.Errorf("reload authorization policies: %w", err)
			}
			a.version = v
			for _, r := range slices.Concat(added, removed) {
				a.forgetSubjects(r[0])
			}
			return nil
		}
	}
	fresh, err := build(p, g)
	if err != nil {
		return fmt.Errorf("reload authorization policies: %w", err)
	}
	a.enforcer.Store(fresh)
	a.version = v
	a.forget()
	return nil
}

// maxInPlace is how many changed grants a reload applies in place rather than building a new
// enforcer (each takes the enforcer's write lock briefly).
const maxInPlace = 1000

func applyGrants(e *casbin.SyncedEnforcer, added, removed [][]string) error {
	if len(added) > 0 {
		if _, err := e.AddNamedGroupingPolicies("g", added); err != nil {
			return err
		}
	}
	if len(removed) > 0 {
		if _, err := e.RemoveNamedGroupingPolicies("g", removed); err != nil {
			return err
		}
	}
	return nil
}

// Apply acts on a policy change another node announced (the payload of a changes.Policy
// note): when it is the next version and says which rule changed, the rule is applied in
// place, as this node's own writes are; otherwise, unless this node holds that version
// already, it reloads. So a node does not read every rule again each time a citizen signs up
// somewhere.
func (a *Authorizer) Apply(ctx context.Context, payload string) error {
	v, detail, ok := changes.ParseVersioned(payload)
	if !ok {
		return a.Reload(ctx)
	}
	a.writeMu.Lock()
	if v <= a.version || a.enforcer.Load() == nil { // its own write, read already, or nothing held
		a.writeMu.Unlock()
		return nil
	}
	var d policyDelta
	if v != a.version+1 || detail == "" || json.Unmarshal([]byte(detail), &d) != nil || !a.applyDelta(d) {
		a.writeMu.Unlock()
		return a.Reload(ctx)
	}
	a.version = v
	a.writeMu.Unlock()
	return nil
}

// applyDelta changes the enforcer as the write d describes did, and forgets the decisions it
// may change; it reports false for a write it does not know. Callers hold writeMu.
func (a *Authorizer) applyDelta(d policyDelta) bool {
	e := a.enforcer.Load()
	var err error
	switch {
	case d.Ptype == "g" && len(d.Rule) == 3 && d.Op == "+":
		_, err = e.AddNamedGroupingPolicy("g", d.Rule)
	case d.Ptype == "g" && len(d.Rule) == 3 && d.Op == "-":
		_, err = e.RemoveNamedGroupingPolicy("g", d.Rule)
	case d.Ptype == "p" && len(d.Rule) == 4 && d.Op == "+":
		_, err = e.AddPolicy(d.Rule)
	case d.Ptype == "p" && len(d.Rule) == 4 && d.Op == "-":
		_, err = e.RemovePolicy(d.Rule)
	default:
		return false
	}
	if err != nil {
		return false
	}
	if d.Ptype == "g" {
		a.forgetSubjects(d.Rule[0])
	} else {
		a.forget()
	}
	return true
}

// difference is the grants (three values each) of x that are not in y.
func difference(x, y [][]string) [][]string {
	in := make(map[[3]string]bool, len(y))
	for _, r := range y {
		in[[3]string(r)] = true
	}
	var out [][]string
	for _, r := range x {
		if !in[[3]string(r)] {
			out = append(out, r)
		}
	}
	return out
}

// symmetricDifference is the rules in one list and not the other.
func symmetricDifference(x, y [][]string) [][]string {
	join := func(r []string) string { return strings.Join(r, "\x00") }
	in := make(map[string]int, len(x))
	for _, r := range x {
		in[join(r)] |= 1
	}
	for _, r := range y {
		in[join(r)] |= 2
	}
	var out [][]string
	for _, list := range [][][]string{x, y} {
		for _, r := range list {
			if k := join(r); in[k] != 3 {
				out = append(out, r)
				in[k] = 3 // once
			}
		}
	}
	return out
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
	// So are the subject's decisions: a change of its roles drops them after changing the policy.
	cache := a.decisions.Load()
	mine := cache.forSubject(sub)
	key := dom + "\x00" + obj + "\x00" + act
	if v, ok := mine.m.Load(key); ok {
		return v.(bool), nil
	}
	e, err := a.policy(context.Background())
	if err != nil {
		return false, err
	}
	ok, err := a.decide(e, sub, dom, obj, act)
	if err != nil {
		return ok, err
	}
	if cache.n.Load() >= maxDecisions {
		// Full: start a new generation rather than stop remembering.
		a.decisions.CompareAndSwap(cache, &decisionCache{})
		return ok, nil
	}
	if _, loaded := mine.m.LoadOrStore(key, ok); !loaded {
		cache.n.Add(1)
	}
	return ok, nil
}

func (a *Authorizer) decide(e *casbin.SyncedEnforcer, sub, dom, obj, act string) (bool, error) {
	if sub != AnonymousSubject {
		ok, err := e.Enforce(sub, dom, obj, act)
		if err != nil || ok || act != Read {
			return ok, err
		}
	}
	return e.Enforce(roleSubject(Anonymous), dom, obj, act)
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
	if e := a.enforcer.Load(); e != nil {
		a.wrote()
		if _, err := e.AddNamedGroupingPolicy("g", rule); err != nil {
			return fmt.Errorf("grant %s to %s in %s: %w", role, sub, dom, err)
		}
	}
	a.forgetSubjects(sub)
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
	if e := a.enforcer.Load(); e != nil {
		a.wrote()
		if _, err := e.RemoveNamedGroupingPolicy("g", rule); err != nil {
			return fmt.Errorf("revoke %s from %s in %s: %w", role, sub, dom, err)
		}
	}
	a.forgetSubjects(sub)
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
// repeats. It asks the role links of the two domains, not every rule.
func (a *Authorizer) RolesOf(sub, dom string) []Role {
	e, err := a.policy(context.Background())
	if err != nil {
		return nil // no policy, no role
	}
	var rs []Role
	for _, d := range []string{dom, AllDomains} {
		for _, name := range e.GetRolesForUserInDomain(sub, d) {
			if r, ok := roleOf(name); ok {
				rs = append(rs, r)
			}
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
	e, err := a.policy(context.Background())
	if err != nil {
		return nil
	}
	var subs []string
	for _, d := range []string{dom, AllDomains} {
		subs = append(subs, e.GetUsersForRoleInDomain(roleSubject(role), d)...)
	}
	slices.Sort(subs)
	return slices.Compact(subs)
}

// groupingRules returns the (subject, role, domain) rules whose field i is v.
func (a *Authorizer) groupingRules(i int, v string) [][]string {
	e, err := a.policy(context.Background())
	if err != nil {
		return nil // no policy, no grant
	}
	rules, err := e.GetFilteredNamedGroupingPolicy("g", i, v)
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
