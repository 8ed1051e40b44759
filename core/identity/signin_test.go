package identity_test

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/storetest"
)

const platformID = 1

func staffOn(site int64, allowed bool) *identity.PlatformStaff {
	return &identity.PlatformStaff{TenantID: platformID, MayEnter: func(identity.User) bool { return allowed }}
}

// Platform staff may sign in on every site: the limit is per address over all of them, or
// one account gets (limit × sites) guesses a minute.
func TestSignIn_LimitedPerAccountAcrossSites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2, 3)
		users := identity.NewUsers(db, cheap)
		users.LimitSignIns(identity.SignInLimits{PerAccount: 3, Global: -1})
		mustCreateUser(t, users, platformID, "root@platform.test")
		mustCreateUser(t, users, 3, "other@three.test")

		for i, site := range []int64{2, 3, 2} {
			if _, err := users.SignIn(ctx, site, "root@platform.test", "wrong password!", staffOn(site, true)); !errs.Is(err, errs.Unauthorized) {
				t.Fatalf("guess %d on site %d: %v", i+1, site, err)
			}
		}
		// The right password, on yet another site and spelled differently: still refused.
		if _, err := users.SignIn(ctx, platformID, " ROOT@platform.test", goodPassword, nil); !errs.Is(err, errs.TooMany) {
			t.Fatalf("fourth attempt: %v, want too many", err)
		}
		// Another account is not held back.
		if u, err := users.SignIn(ctx, 3, "other@three.test", goodPassword, staffOn(3, true)); err != nil || u.TenantID != 3 {
			t.Fatalf("another account: %+v %v", u, err)
		}
	})
}

func TestSignIn_LimitedGlobally(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2)
		users := identity.NewUsers(db, cheap)
		users.LimitSignIns(identity.SignInLimits{PerAccount: -1, Global: 3})
		mustCreateUser(t, users, 2, "ada@two.test")
		for _, email := range []string{"a@two.test", "b@two.test", "c@two.test"} {
			if _, err := users.SignIn(ctx, 2, email, goodPassword, nil); !errs.Is(err, errs.Unauthorized) {
				t.Fatalf("%s: %v", email, err)
			}
		}
		if _, err := users.SignIn(ctx, 2, "ada@two.test", goodPassword, nil); !errs.Is(err, errs.TooMany) {
			t.Fatalf("past the global limit: %v", err)
		}
	})
}

// One attempt costs one password hash, whoever signs in where (it used to cost two for
// platform staff on a site: one against the site's accounts, then one against the platform's),
// and a refused attempt costs none.
func TestSignIn_OnePasswordHashPerAttempt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2)
		users := identity.NewUsers(db, cheap)
		users.LimitSignIns(identity.SignInLimits{PerAccount: 100, Global: 100})
		mustCreateUser(t, users, platformID, "root@platform.test")
		mustCreateUser(t, users, 2, "ada@two.test")
		checks := identity.CountChecks(users)
		for _, c := range []struct {
			name, email, password string
			staff                 *identity.PlatformStaff
			wantErr               errs.Kind
		}{
			{"site account", "ada@two.test", goodPassword, staffOn(2, true), ""},
			{"site account, wrong password", "ada@two.test", "wrong password!", staffOn(2, true), errs.Unauthorized},
			{"platform staff with a role here", "root@platform.test", goodPassword, staffOn(2, true), ""},
			{"platform staff, wrong password", "root@platform.test", "wrong password!", staffOn(2, true), errs.Unauthorized},
			{"platform staff without a role here", "root@platform.test", goodPassword, staffOn(2, false), errs.Unauthorized},
			{"unknown address", "nobody@two.test", goodPassword, staffOn(2, true), errs.Unauthorized},
		} {
			before := checks.Load()
			_, err := users.SignIn(ctx, 2, c.email, c.password, c.staff)
			if c.wantErr == "" && err != nil || c.wantErr != "" && !errs.Is(err, c.wantErr) {
				t.Errorf("%s: %v, want %q", c.name, err, c.wantErr)
			}
			if n := checks.Load() - before; n != 1 {
				t.Errorf("%s: %d password hashes, want 1", c.name, n)
			}
		}
		users.LimitSignIns(identity.SignInLimits{PerAccount: 1, Global: -1})
		_, _ = users.SignIn(ctx, 2, "ada@two.test", "wrong password!", nil)
		before := checks.Load()
		if _, err := users.SignIn(ctx, 2, "ada@two.test", goodPassword, nil); !errs.Is(err, errs.TooMany) || checks.Load() != before {
			t.Fatalf("a refused attempt: %v, %d hashes", err, checks.Load()-before)
		}
	})
}
