package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/casbin/casbin/v2/model"
	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/storetest"
)

func newAuthorizer(t *testing.T, db *bun.DB) *Authorizer {
	t.Helper()
	a, err := New(context.Background(), db)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func grant(t *testing.T, a *Authorizer, sub string, role Role, dom string) {
	t.Helper()
	if err := a.Grant(context.Background(), sub, role, dom); err != nil {
		t.Fatalf("Grant(%s, %s, %s): %v", sub, role, dom, err)
	}
}

type check struct {
	dom, obj, act string
	want          bool
}

func assertAllowed(t *testing.T, a *Authorizer, sub string, checks []check) {
	t.Helper()
	for _, c := range checks {
		got, err := a.Allowed(sub, c.dom, c.obj, c.act)
		if err != nil {
			t.Errorf("Allowed(%s, %s, %s, %s): %v", sub, c.dom, c.obj, c.act, err)
			continue
		}
		if got != c.want {
			t.Errorf("Allowed(%s, dom %s, %s, %s) = %v, want %v", sub, c.dom, c.obj, c.act, got, c.want)
		}
	}
}

func countRules(t *testing.T, db *bun.DB) int {
	t.Helper()
	n, err := db.NewSelect().Model((*casbinRule)(nil)).Count(context.Background())
	if err != nil {
		t.Fatalf("count casbin_rules: %v", err)
	}
	return int(n)
}

var writeActions = []string{Create, Update, Delete}

// Objects that routes name; used to sweep for permissions a role must not have.
var objects = []string{"tenants", "tenant", "users", "roles", "tokens", "audit", "site", "session",
	"metrics", "health", "settings", "plugins", "consultations", "proposals", "moderation", "votes", "account"}

func TestAllowed_AuditorReadsOnlyInGrantedTenants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		a := newAuthorizer(t, db)
		sub := UserSubject(2, 7)
		grant(t, a, sub, Auditor, "2")

		checks := []check{
			{"2", "audit", Read, true},
			{"2", "users", Read, true},
			{"2", "tenant", Read, true},
			{"3", "audit", Read, false},
			{"3", "users", Read, false},
			{"*", "audit", Read, false},
		}
		for _, dom := range []string{"2", "3", "*"} {
			for _, obj := range objects {
				for _, act := range writeActions {
					// Anonymous visitors may vote, but a signed-in auditor writes nothing at all.
					checks = append(checks, check{dom, obj, act, false})
				}
			}
		}
		assertAllowed(t, a, sub, checks)
	})
}

func TestAllowed_PlatformAdminEverywhere(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		a := newAuthorizer(t, db)
		admin := UserSubject(1, 1)
		grant(t, a, admin, PlatformAdmin, AllDomains)

		var checks []check
		for _, dom := range []string{"1", "2", "42", AllDomains} {
			for _, obj := range []string{"tenants", "users", "audit", "metrics", "anything-a-plugin-adds"} {
				for _, act := range []string{Read, Create, Update, Delete} {
					checks = append(checks, check{dom, obj, act, true})
				}
			}
		}
		assertAllowed(t, a, admin, checks)
		// Someone else gains nothing from the admin's grant.
		assertAllowed(t, a, UserSubject(1, 2), []check{{"2", "tenants", Create, false}})
	})
}

func TestAllowed_TenantAdminOnlyInOwnTenant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		a := newAuthorizer(t, db)
		sub := UserSubject(2, 5)
		grant(t, a, sub, TenantAdmin, "2")

		assertAllowed(t, a, sub, []check{
			{"2", "users", Create, true},
			{"2", "roles", Update, true},
			{"2", "tenant", Update, true},
			{"2", "tokens", Delete, true},
			{"2", "moderation", Update, true},
			{"2", "audit", Read, true},
			{"2", "audit", Delete, false},
			{"2", "audit", Create, false},
			{"2", "tenants", Create, false}, // creating tenants is the platform's business
			{"2", "metrics", Read, false},
			{"3", "users", Create, false},
			{"3", "users", Read, false},
			{"3", "audit", Read, false},
			{AllDomains, "users", Read, false},
		})
	})
}

func TestAllowed_AnonymousFallback(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		a := newAuthorizer(t, db)
		anonymous := []check{
			{"2", "site", Read, true},
			{"2", "health", Read, true},
			{"2", "session", Create, true},
			{"2", "consultations", Read, true},
			{"2", "proposals", Read, true},
			{"2", "votes", Create, true},
			{"2", "users", Read, false},
			{"2", "proposals", Create, true},
			{"2", "session", Delete, false},
			{"2", "metrics", Read, false},
		}
		assertAllowed(t, a, AnonymousSubject, anonymous)
		// A signed-in user without roles may read what a visitor may, and write nothing.
		var signedIn []check
		for _, c := range anonymous {
			if c.act != Read {
				c.want = false
			}
			signedIn = append(signedIn, c)
		}
		assertAllowed(t, a, UserSubject(2, 9), signedIn)

		// A citizen's role does not list health, yet the citizen may read it as anyone may.
		citizen := UserSubject(2, 10)
		grant(t, a, citizen, Citizen, "2")
		assertAllowed(t, a, citizen, []check{{"2", "health", Read, true}, {"2", "proposals", Create, true}})
	})
}

func TestAllowed_DefaultRolePermissions(t *testing.T) {
	tests := []struct {
		role   Role
		checks []check
	}{
		{Moderator, []check{
			{"2", "moderation", Update, true},
			{"2", "session", Delete, true},
			{"2", "proposals", Read, true},
			{"2", "proposals", Create, false},
			{"2", "users", Read, false},
			{"2", "audit", Read, false},
		}},
		{Ops, []check{
			{"2", "metrics", Read, true},
			{"2", "health", Read, true},
			{"2", "session", Delete, true},
			{"2", "metrics", Update, false},
			{"2", "users", Read, false},
		}},
		{Citizen, []check{
			{"2", "proposals", Create, true},
			{"2", "proposals", Update, false},
			{"2", "account", Delete, true},
			{"2", "votes", Update, true},
			{"2", "moderation", Read, false},
			{"2", "users", Read, false},
		}},
	}
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		a := newAuthorizer(t, db)
		for i, tt := range tests {
			t.Run(string(tt.role), func(t *testing.T) {
				sub := UserSubject(2, int64(100+i))
				grant(t, a, sub, tt.role, "2")
				assertAllowed(t, a, sub, tt.checks)
				// The same role held in tenant 2 gives nothing in tenant 3 beyond what
				// anonymous visitors may read.
				for _, c := range tt.checks {
					if c.want {
						want, _ := a.Allowed(AnonymousSubject, "3", c.obj, c.act)
						want = want && c.act == Read
						assertAllowed(t, a, sub, []check{{"3", c.obj, c.act, want}})
					}
				}
			})
		}
	})
}

func TestAllowed_RefusesRoleAsSubject(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		a := newAuthorizer(t, db)
		ok, err := a.Allowed(roleSubject(PlatformAdmin), "2", "tenants", Delete)
		if ok || !errs.Is(err, errs.Invalid) {
			t.Fatalf("Allowed(role subject) = %v, %v; want false and an invalid error", ok, err)
		}
	})
}

func TestGrant_PersistsAcrossReload(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		node1 := newAuthorizer(t, db)
		node2 := newAuthorizer(t, db)
		sub := UserSubject(2, 3)
		readUsers := func(a *Authorizer) bool {
			ok, err := a.Allowed(sub, "2", "users", Read)
			if err != nil {
				t.Fatalf("Allowed: %v", err)
			}
			return ok
		}

		grant(t, node1, sub, TenantAdmin, "2")
		if !readUsers(newAuthorizer(t, db)) {
			t.Fatal("a new Authorizer does not see the grant")
		}
		if readUsers(node2) {
			t.Fatal("node 2 saw the grant before reloading: the test proves nothing")
		}
		if err := node2.Reload(ctx); err != nil {
			t.Fatalf("Reload: %v", err)
		}
		if !readUsers(node2) {
			t.Fatal("node 2 does not see the grant after Reload")
		}

		if err := node1.Revoke(ctx, sub, TenantAdmin, "2"); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if readUsers(node1) {
			t.Fatal("revoked role still works on the node that revoked it")
		}
		if readUsers(newAuthorizer(t, db)) {
			t.Fatal("a new Authorizer still sees the revoked grant")
		}
		if err := node2.Reload(ctx); err != nil {
			t.Fatalf("Reload: %v", err)
		}
		if readUsers(node2) {
			t.Fatal("node 2 still sees the revoked grant after Reload")
		}
		// Reloading keeps grants in "*" working in every domain.
		grant(t, node1, sub, Auditor, AllDomains)
		if err := node2.Reload(ctx); err != nil {
			t.Fatalf("Reload: %v", err)
		}
		assertAllowed(t, node2, sub, []check{{"5", "audit", Read, true}, {"5", "audit", Delete, false}})
	})
}

func TestGrant_RefusesPlatformAdminInTenant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		a := newAuthorizer(t, db)
		sub := UserSubject(2, 3)
		err := a.Grant(context.Background(), sub, PlatformAdmin, "2")
		if !errs.Is(err, errs.Invalid) {
			t.Fatalf("Grant(platform-admin in tenant) = %v, want an invalid error", err)
		}
		if g := a.GrantsOf(sub); len(g) != 0 {
			t.Fatalf("grants after refusal = %v, want none", g)
		}
		if g := newAuthorizer(t, db).GrantsOf(sub); len(g) != 0 {
			t.Fatalf("stored grants after refusal = %v, want none", g)
		}
		assertAllowed(t, a, sub, []check{{"2", "tenants", Delete, false}})
	})
}

func TestGrant_RejectsBadInput(t *testing.T) {
	tests := []struct {
		name, sub string
		role      Role
		dom       string
	}{
		{"unknown role", "u:2:3", "root", "2"},
		{"anonymous role", "u:2:3", Anonymous, "2"},
		{"empty domain", "u:2:3", Citizen, ""},
		{"domain not a number", "u:2:3", Citizen, "acme"},
		{"domain zero", "u:2:3", Citizen, "0"},
		{"negative domain", "u:2:3", Citizen, "-2"},
		{"domain with leading zero", "u:2:3", Citizen, "02"},
		{"domain pattern", "u:2:3", Citizen, "2*"},
		{"empty subject", "", Citizen, "2"},
		{"anonymous subject", AnonymousSubject, Citizen, "2"},
		{"role as subject", "role:citizen", TenantAdmin, "2"},
	}
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		a := newAuthorizer(t, db)
		before := countRules(t, db)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := a.Grant(context.Background(), tt.sub, tt.role, tt.dom); !errs.Is(err, errs.Invalid) {
					t.Fatalf("Grant = %v, want an invalid error", err)
				}
			})
		}
		if after := countRules(t, db); after != before {
			t.Fatalf("stored rules went from %d to %d after refused grants", before, after)
		}
	})
}

func TestGrant_TwiceIsHarmless(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		a := newAuthorizer(t, db)
		sub := UserSubject(2, 3)
		grant(t, a, sub, Citizen, "2")
		grant(t, a, sub, Citizen, "2")
		want := []Grant{{Citizen, "2"}}
		if got := a.GrantsOf(sub); !slices.Equal(got, want) {
			t.Fatalf("GrantsOf = %v, want %v", got, want)
		}
		// Revoking what is not held is harmless too.
		if err := a.Revoke(context.Background(), sub, Moderator, "2"); err != nil {
			t.Fatalf("Revoke of a role not held: %v", err)
		}
	})
}

func TestRolesOf_CountsPlatformWideGrants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		a := newAuthorizer(t, db)
		alice, bob := UserSubject(2, 1), UserSubject(2, 2)
		grant(t, a, alice, Moderator, "2")
		grant(t, a, alice, Citizen, "2")
		grant(t, a, alice, Auditor, AllDomains)
		grant(t, a, alice, Citizen, "3")
		grant(t, a, bob, Moderator, "3")

		roles := []struct {
			sub, dom string
			want     []Role
		}{
			{alice, "2", []Role{Auditor, Citizen, Moderator}},
			{alice, "3", []Role{Auditor, Citizen}},
			{alice, "4", []Role{Auditor}},
			{bob, "2", nil},
			{bob, "3", []Role{Moderator}},
		}
		for _, tt := range roles {
			if got := a.RolesOf(tt.sub, tt.dom); !slices.Equal(got, tt.want) {
				t.Errorf("RolesOf(%s, %s) = %v, want %v", tt.sub, tt.dom, got, tt.want)
			}
			if got := a.HasAnyRoleIn(tt.sub, tt.dom); got != (len(tt.want) > 0) {
				t.Errorf("HasAnyRoleIn(%s, %s) = %v", tt.sub, tt.dom, got)
			}
		}

		wantGrants := []Grant{{Auditor, "*"}, {Citizen, "2"}, {Moderator, "2"}, {Citizen, "3"}}
		if got := a.GrantsOf(alice); !slices.Equal(got, wantGrants) {
			t.Errorf("GrantsOf(alice) = %v, want %v", got, wantGrants)
		}

		subjects := []struct {
			role Role
			dom  string
			want []string
		}{
			{Moderator, "2", []string{alice}},
			{Moderator, "3", []string{bob}},
			{Auditor, "9", []string{alice}},
			{TenantAdmin, "2", nil},
		}
		for _, tt := range subjects {
			if got := a.SubjectsWithRole(tt.role, tt.dom); !slices.Equal(got, tt.want) {
				t.Errorf("SubjectsWithRole(%s, %s) = %v, want %v", tt.role, tt.dom, got, tt.want)
			}
		}
	})
}

func TestGrant_ConcurrentGrantsAllPersist(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		a := newAuthorizer(t, db)
		const n = 16
		var wg sync.WaitGroup
		errc := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sub := UserSubject(2, int64(i+1))
				if err := a.Grant(context.Background(), sub, Citizen, "2"); err != nil {
					errc <- err
					return
				}
				if _, err := a.Allowed(sub, "2", "proposals", Create); err != nil {
					errc <- err
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		if got := newAuthorizer(t, db).SubjectsWithRole(Citizen, "2"); len(got) != n {
			t.Fatalf("stored citizens = %d, want %d", len(got), n)
		}
	})
}

func TestNew_DefaultsStoredOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		newAuthorizer(t, db)
		newAuthorizer(t, db)
		if got, want := countRules(t, db), len(DefaultPermissions()); got != want {
			t.Fatalf("stored rules = %d, want %d default permissions", got, want)
		}
	})
}

func TestParseRole_RejectsUnknown(t *testing.T) {
	for _, r := range Roles() {
		got, err := ParseRole(string(r))
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	for _, s := range []string{"", "admin", "Tenant-Admin", " citizen", string(Anonymous)} {
		_, err := ParseRole(s)
		if !errs.Is(err, errs.Invalid) {
			t.Errorf("ParseRole(%q) error = %v, want an invalid error", s, err)
			continue
		}
		msg, _ := errs.MessageOf(err)
		for _, r := range Roles() {
			if !strings.Contains(msg, string(r)) {
				t.Errorf("ParseRole(%q) message %q does not name role %s", s, msg, r)
			}
		}
	}
}

func TestSubjectAndDomain_Format(t *testing.T) {
	if got := UserSubject(12, 345); got != "u:12:345" {
		t.Errorf("UserSubject = %q", got)
	}
	if got := Domain(12); got != "12" {
		t.Errorf("Domain = %q", got)
	}
}

func newModel(t *testing.T) model.Model {
	t.Helper()
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func loaded(t *testing.T, ad *Adapter) (p, g [][]string) {
	t.Helper()
	m := newModel(t)
	if err := ad.LoadPolicy(m); err != nil {
		t.Fatalf("LoadPolicy: %v", err)
	}
	p, _ = m.GetPolicy("p", "p")
	g, _ = m.GetPolicy("g", "g")
	sortRules(p)
	sortRules(g)
	return p, g
}

func sortRules(rs [][]string) {
	slices.SortFunc(rs, func(x, y []string) int { return slices.Compare(x, y) })
}

func TestAdapter_AddTwiceIsHarmless(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ad := NewAdapter(db)
		rule := []string{"u:2:3", "role:citizen", "2"}
		for range 2 {
			if err := ad.AddPolicy("g", "g", rule); err != nil {
				t.Fatalf("AddPolicy: %v", err)
			}
		}
		more := [][]string{rule, {"u:2:4", "role:citizen", "2"}}
		if err := ad.AddPolicies("g", "g", more); err != nil {
			t.Fatalf("AddPolicies with a stored rule: %v", err)
		}
		_, g := loaded(t, ad)
		if want := [][]string{rule, more[1]}; !slices.EqualFunc(g, want, slices.Equal) {
			t.Fatalf("stored = %v, want %v", g, want)
		}
	})
}

func TestAdapter_SavePolicyRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ad := NewAdapter(db)
		if err := ad.AddPolicy("p", "p", []string{"role:stale", "*", "x", "read"}); err != nil {
			t.Fatal(err)
		}
		wantP := [][]string{{"role:citizen", "*", "votes", "*"}, {"role:ops", "2", "metrics", "read"}}
		wantG := [][]string{{"u:2:3", "role:citizen", "2"}, {"u:2:4", "role:ops", "*"}}
		m := newModel(t)
		if err := m.AddPolicies("p", "p", wantP); err != nil {
			t.Fatal(err)
		}
		if err := m.AddPolicies("g", "g", wantG); err != nil {
			t.Fatal(err)
		}
		if err := ad.SavePolicy(m); err != nil {
			t.Fatalf("SavePolicy: %v", err)
		}
		p, g := loaded(t, ad)
		if !slices.EqualFunc(p, wantP, slices.Equal) || !slices.EqualFunc(g, wantG, slices.Equal) {
			t.Fatalf("after SavePolicy, loaded p=%v g=%v; want p=%v g=%v", p, g, wantP, wantG)
		}
	})
}

func TestAdapter_RemovesOnlyWhatIsNamed(t *testing.T) {
	rules := [][]string{
		{"u:2:1", "role:citizen", "2"},
		{"u:2:1", "role:moderator", "2"},
		{"u:2:2", "role:citizen", "2"},
		{"u:3:1", "role:citizen", "3"},
	}
	tests := []struct {
		name   string
		remove func(ad *Adapter) error
		want   [][]string
	}{
		{"one rule", func(ad *Adapter) error {
			return ad.RemovePolicy("g", "g", rules[1])
		}, [][]string{rules[0], rules[2], rules[3]}},
		{"several rules", func(ad *Adapter) error {
			return ad.RemovePolicies("g", "g", [][]string{rules[0], rules[3], {"u:9:9", "role:x", "9"}})
		}, [][]string{rules[1], rules[2]}},
		{"filter on subject", func(ad *Adapter) error {
			return ad.RemoveFilteredPolicy("g", "g", 0, "u:2:1")
		}, [][]string{rules[2], rules[3]}},
		{"filter skipping empty values", func(ad *Adapter) error {
			return ad.RemoveFilteredPolicy("g", "g", 0, "", "role:citizen", "2")
		}, [][]string{rules[1], rules[3]}},
		{"filter from a later field", func(ad *Adapter) error {
			return ad.RemoveFilteredPolicy("g", "g", 2, "3")
		}, [][]string{rules[0], rules[1], rules[2]}},
	}
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ad := NewAdapter(db)
				if _, err := db.NewDelete().Model((*casbinRule)(nil)).Where("1 = 1").Exec(context.Background()); err != nil {
					t.Fatal(err)
				}
				if err := ad.AddPolicies("g", "g", rules); err != nil {
					t.Fatal(err)
				}
				// A p rule with the same values must survive removals of g rules.
				if err := ad.AddPolicy("p", "p", append(slices.Clone(rules[0]), Read)); err != nil {
					t.Fatal(err)
				}
				if err := tt.remove(ad); err != nil {
					t.Fatalf("remove: %v", err)
				}
				p, g := loaded(t, ad)
				if !slices.EqualFunc(g, tt.want, slices.Equal) {
					t.Errorf("g rules left = %v, want %v", g, tt.want)
				}
				if len(p) != 1 {
					t.Errorf("p rules left = %v, want the one p rule", p)
				}
			})
		}
	})
}

func TestAdapter_RejectsTooLongRule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ad := NewAdapter(db)
		rule := strings.Split("a,b,c,d,e,f,g", ",")
		if err := ad.AddPolicy("p", "p", rule); err == nil {
			t.Fatal("AddPolicy of a 7-value rule succeeded; the table holds 6")
		}
		if n := countRules(t, db); n != 0 {
			t.Fatalf("stored rules = %d, want 0", n)
		}
	})
}

// Allowed remembers its answers; every change of policy must be seen at once all the same.
func TestAllowed_RememberedAnswersFollowPolicyChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		a := newAuthorizer(t, db)
		sub := UserSubject(2, 42)
		ask := func(want bool) {
			t.Helper()
			for i := 0; i < 3; i++ { // the second and third answers come from memory
				if ok, err := a.Allowed(sub, "2", "users", Create); err != nil || ok != want {
					t.Fatalf("Allowed = %v, %v; want %v", ok, err, want)
				}
			}
		}
		ask(false)
		grant(t, a, sub, TenantAdmin, "2")
		ask(true)
		if err := a.Revoke(context.Background(), sub, TenantAdmin, "2"); err != nil {
			t.Fatal(err)
		}
		ask(false)
		if err := a.AddPermission(context.Background(), Citizen, "2", "users", Create); err != nil {
			t.Fatal(err)
		}
		grant(t, a, sub, Citizen, "2")
		ask(true)
		if err := a.RemovePermission(context.Background(), Citizen, "2", "users", Create); err != nil {
			t.Fatal(err)
		}
		ask(false)
	})
}

// A reload reads the rules only when the policy version moved, applies changed grants in
// place, swaps in a new policy when a permission changed, and forgets only the decisions of
// the subjects whose roles changed.
func TestReload_ForgetsOnlyWhatChanged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		node1, node2 := newAuthorizer(t, db), newAuthorizer(t, db)
		changed, unchanged := UserSubject(2, 1), UserSubject(2, 2)
		grant(t, node1, unchanged, TenantAdmin, "2")
		if err := node2.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		before := node2.enforcer.Load()
		if err := node2.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if node2.enforcer.Load() != before {
			t.Fatal("a reload without any change rebuilt the policy")
		}
		assertAllowed(t, node2, changed, []check{{"2", "users", Read, false}})
		assertAllowed(t, node2, unchanged, []check{{"2", "users", Read, true}})
		remembered := func(sub string) bool {
			v, ok := node2.decisions.Load().subjects.Load(sub)
			if !ok {
				return false
			}
			_, ok = v.(*subjectDecisions).m.Load("2\x00users\x00" + Read)
			return ok
		}
		grant(t, node1, changed, TenantAdmin, "2")
		if err := node2.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if !remembered(unchanged) || remembered(changed) {
			t.Fatalf("after a grant to one subject: remembered unchanged=%v changed=%v, want true false", remembered(unchanged), remembered(changed))
		}
		assertAllowed(t, node2, changed, []check{{"2", "users", Read, true}})

		// A permission change forgets everything.
		if err := node1.AddPermission(ctx, Citizen, "2", "reports", Read); err != nil {
			t.Fatal(err)
		}
		if err := node2.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if remembered(unchanged) {
			t.Fatal("a permission change kept remembered decisions")
		}
		if node2.enforcer.Load() == before {
			t.Fatal("a permission change was not read into a new policy")
		}
		assertAllowed(t, node2, UserSubject(2, 9), []check{{"2", "reports", Read, false}})
		grant(t, node1, UserSubject(2, 9), Citizen, "2")
		if err := node2.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		assertAllowed(t, node2, UserSubject(2, 9), []check{{"2", "reports", Read, true}, {"3", "reports", Read, false}})
		// This node's own writes do not make it read every rule again.
		own := node1.enforcer.Load()
		grant(t, node1, UserSubject(2, 3), Moderator, "2")
		if err := node1.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if node1.enforcer.Load() != own {
			t.Fatal("a node reloaded the policy after its own grant")
		}
	})
}

// What a reload costs with 10,000 tenants that have an admin each: it used to grow with the
// square of the tenants (a domain-matching function linked every domain to every other).
func BenchmarkReload_10000TenantAdmins(b *testing.B) {
	db := storetest.Open(b, "sqlite")
	ctx := context.Background()
	a, err := New(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	var rules [][]string
	for i := int64(2); i < 10_002; i++ {
		rules = append(rules, GrantRule(UserSubject(i, i), TenantAdmin, Domain(i)))
	}
	if err := a.adapter.AddPoliciesCtx(ctx, "g", "g", rules); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.version = 0 // as if another node had changed the policy
		if err := a.Reload(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if ok, err := a.Allowed(UserSubject(9999, 9999), "9999", "users", Create); err != nil || !ok {
		b.Fatalf("a tenant admin after reloading: %v %v", ok, err)
	}
}

// A change another node announces is applied in place when it is the next version and names
// its rule; a gap (a missed note) or a change without its rule makes the node read everything.
func TestApply_NextVersionInPlaceOtherwiseReload(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		node1, node2 := newAuthorizer(t, db), newAuthorizer(t, db)
		sub := UserSubject(2, 7)
		note := func(op string, rule []string) string {
			return fmt.Sprintf("%d %s", node1.adapter.written, delta(op, "g", [][]string{rule}))
		}
		rule := GrantRule(sub, TenantAdmin, "2")

		grant(t, node1, sub, TenantAdmin, "2")
		before := node2.enforcer.Load()
		assertAllowed(t, node2, sub, []check{{"2", "users", Read, false}})
		if err := node2.Apply(ctx, note("+", rule)); err != nil {
			t.Fatal(err)
		}
		if node2.enforcer.Load() != before {
			t.Fatal("the next version with its rule was not applied in place")
		}
		assertAllowed(t, node2, sub, []check{{"2", "users", Read, true}})
		if err := node2.Apply(ctx, note("+", rule)); err != nil { // heard twice
			t.Fatal(err)
		}

		// Two changes, the first note missed.
		grant(t, node1, UserSubject(2, 8), Moderator, "2")
		if err := node1.Revoke(ctx, sub, TenantAdmin, "2"); err != nil {
			t.Fatal(err)
		}
		if err := node2.Apply(ctx, note("-", rule)); err != nil {
			t.Fatal(err)
		}
		// Had the note been applied alone, the missed grant would be missing.
		assertAllowed(t, node2, sub, []check{{"2", "users", Read, false}})
		assertAllowed(t, node2, UserSubject(2, 8), []check{{"2", "moderation", Update, true}})
	})
}
