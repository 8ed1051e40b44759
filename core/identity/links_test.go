package identity_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/storetest"
)

// A link is stored hashed, works once (even for two redemptions racing), only for its
// purpose and its tenant, and a newer link of the same purpose revokes the older.
func TestAccountLinks_SingleUseHashedAndScoped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2, 3)
		users := identity.NewUsers(db, cheap)
		u := mustCreateUser(t, users, 3, "lea@example.org")
		links := identity.NewAccountLinks(db, users)
		old, _, err := links.Issue(ctx, 3, u.ID, identity.VerifyLink, identity.VerifyTTL, "test")
		if err != nil {
			t.Fatal(err)
		}
		plain, l, err := links.Issue(ctx, 3, u.ID, identity.VerifyLink, identity.VerifyTTL, "test")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(tableText(t, db, "account_links"), plain) || l.Hash == "" {
			t.Fatal("a link's token is stored in clear")
		}
		if _, _, err := links.Check(ctx, 3, identity.VerifyLink, old); !errs.Is(err, errs.Invalid) {
			t.Fatalf("the older link still checks: %v", err)
		}
		if _, _, err := links.Check(ctx, 2, identity.VerifyLink, plain); !errs.Is(err, errs.Invalid) {
			t.Fatalf("another tenant's link checks: %v", err)
		}
		if _, _, err := links.Check(ctx, 3, identity.InviteLink, plain); !errs.Is(err, errs.Invalid) {
			t.Fatalf("a verification link is taken as an invitation: %v", err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := links.Redeem(ctx, 3, identity.VerifyLink, plain, nil); err == nil {
					mu.Lock()
					won++
					mu.Unlock()
				} else if !errs.Is(err, errs.Invalid) && !strings.Contains(err.Error(), "lock") && !strings.Contains(err.Error(), "busy") {
					t.Errorf("redeem: %v", err)
				}
			}()
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("the link was redeemed %d times", won)
		}
		if got, _ := users.ByID(ctx, 3, u.ID); !got.Verified() {
			t.Fatal("redeeming did not verify the address")
		}
	})
}
