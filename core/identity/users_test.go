package identity_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/storetest"
)

func TestUsers_CreateNormalizesEmailAndHashesPassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		users := identity.NewUsers(db, cheap)
		u, err := users.Create(ctx, 1, "  Ada.Lovelace@Example.ORG ", "  Ada Lovelace ", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "ada.lovelace@example.org" || u.Name != "Ada Lovelace" || u.TenantID != 1 || u.ID == 0 {
			t.Fatalf("created %+v", u)
		}
		got, err := users.ByEmail(ctx, 1, "ADA.LOVELACE@example.org")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != u.ID || !got.CreatedAt.Equal(u.CreatedAt) || got.Disabled() {
			t.Fatalf("by email %+v, created %+v", got, u)
		}
		if ok, err := identity.Verify(goodPassword, got.PasswordHash); err != nil || !ok {
			t.Fatalf("stored hash does not verify: %v %v", ok, err)
		}
		if strings.Contains(tableText(t, db, "users"), goodPassword) {
			t.Fatal("the plaintext password is stored")
		}
	})
}

func TestUsers_CreateRejectsBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		users := identity.NewUsers(db, cheap)
		for _, tc := range []struct{ email, name, password, field string }{
			{"", "A", goodPassword, "email"},
			{"not-an-address", "A", goodPassword, "email"},
			{"Ada <ada@example.org>", "A", goodPassword, "email"},
			{"ada@example.org, bob@example.org", "A", goodPassword, "email"},
			{strings.Repeat("a", 250) + "@example.org", "A", goodPassword, "email"},
			{"ada@example.org", strings.Repeat("n", 201), goodPassword, "name"},
			{"ada@example.org", "A", "short", "password"},
		} {
			_, err := users.Create(context.Background(), 1, tc.email, tc.name, tc.password)
			if !errs.Is(err, errs.Invalid) {
				t.Errorf("Create(%q, %q): %v, want invalid", tc.email, tc.name, err)
				continue
			}
			if _, field := errs.MessageOf(err); field != tc.field {
				t.Errorf("Create(%q, %q): field %q, want %q", tc.email, tc.name, field, tc.field)
			}
		}
		if list, err := users.List(context.Background(), 1, 0, 0); err != nil || len(list) != 0 {
			t.Fatalf("bad input created %d users (err %v)", len(list), err)
		}
	})
}

func TestUsers_DuplicateEmailConflicts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		users := identity.NewUsers(db, cheap)
		mustCreateUser(t, users, 1, "ada@example.org")
		_, err := users.Create(context.Background(), 1, "ADA@example.org ", "Other", goodPassword)
		wantKind(t, err, errs.Conflict)
		if _, field := errs.MessageOf(err); field != "email" {
			t.Fatalf("field %q, want email", field)
		}
	})
}

func TestUsers_SameEmailInTwoTenants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2, 3)
		users := identity.NewUsers(db, cheap)
		a := mustCreateUser(t, users, 2, "ada@example.org")
		b, err := users.Create(ctx, 3, "ada@example.org", "Ada in 3", "another password")
		if err != nil {
			t.Fatal(err)
		}
		if a.ID == b.ID {
			t.Fatal("two accounts share an id")
		}
		// Each tenant's account has its own password.
		if _, err := users.Authenticate(ctx, 3, "ada@example.org", goodPassword); !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("tenant 2's password opens tenant 3's account: %v", err)
		}
		if got, err := users.Authenticate(ctx, 3, "ada@example.org", "another password"); err != nil || got.ID != b.ID {
			t.Fatalf("authenticate in 3: %+v, %v", got, err)
		}
	})
}

func TestUsers_NotVisibleFromAnotherTenant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2, 3)
		users := identity.NewUsers(db, cheap)
		u := mustCreateUser(t, users, 2, "ada@example.org")
		_, err := users.ByID(ctx, 3, u.ID)
		wantKind(t, err, errs.NotFound)
		_, err = users.ByEmail(ctx, 3, u.Email)
		wantKind(t, err, errs.NotFound)
		wantKind(t, users.SetPassword(ctx, 3, u.ID, "hijacked password"), errs.NotFound)
		wantKind(t, users.SetDisabled(ctx, 3, u.ID, true), errs.NotFound)
		if list, _ := users.List(ctx, 3, 10, 0); len(list) != 0 {
			t.Fatalf("tenant 3 lists %d users of tenant 2", len(list))
		}
		if _, err := users.Authenticate(ctx, 2, u.Email, goodPassword); err != nil {
			t.Fatalf("tenant 3's attempts changed tenant 2's account: %v", err)
		}
	})
}

func TestUsers_ListPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		users := identity.NewUsers(db, cheap)
		var want []int64
		for i := range 5 {
			want = append(want, mustCreateUser(t, users, 1, fmt.Sprintf("u%d@example.org", i)).ID)
		}
		first, err := users.List(ctx, 1, 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		rest, err := users.List(ctx, 1, 10, 2)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, u := range append(first, rest...) {
			got = append(got, u.ID)
		}
		if len(first) != 2 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pages %v, want %v in creation order", got, want)
		}
	})
}

func TestUsers_SetPasswordReplacesTheOldOne(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		users := identity.NewUsers(db, cheap)
		u := mustCreateUser(t, users, 1, "ada@example.org")
		wantKind(t, users.SetPassword(ctx, 1, u.ID, "short"), errs.Invalid)
		if err := users.SetPassword(ctx, 1, u.ID, "a brand new password"); err != nil {
			t.Fatal(err)
		}
		if _, err := users.Authenticate(ctx, 1, u.Email, goodPassword); !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("old password still works: %v", err)
		}
		if _, err := users.Authenticate(ctx, 1, u.Email, "a brand new password"); err != nil {
			t.Fatalf("new password: %v", err)
		}
	})
}

func TestUsers_JSONNeverCarriesThePasswordHash(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		users := identity.NewUsers(db, cheap)
		created := mustCreateUser(t, users, 1, "ada@example.org")
		if err := users.SetDisabled(ctx, 1, created.ID, true); err != nil {
			t.Fatal(err)
		}
		u, err := users.ByID(ctx, 1, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		list, _ := users.List(ctx, 1, 0, 0)
		// Types that embed User (with roles, say) must keep their own fields.
		withRoles := struct {
			identity.User
			Roles []string `json:"roles"`
		}{u, []string{"moderator"}}
		for _, v := range []any{u, &u, list, withRoles} {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "argon2id") || strings.Contains(string(b), "password") {
				t.Fatalf("JSON leaks the hash: %s", b)
			}
		}
		b, _ := json.Marshal(withRoles)
		var got map[string]any
		_ = json.Unmarshal(b, &got)
		for _, key := range []string{"id", "tenant_id", "email", "name", "created_at", "disabled", "roles", "notify_results", "notify_proposals", "invitation_pending"} {
			if _, ok := got[key]; !ok {
				t.Errorf("JSON %s lacks %q", b, key)
			}
		}
		if got["disabled"] != true || got["email"] != "ada@example.org" || len(got) != 10 {
			t.Fatalf("JSON %s", b)
		}
		if !list[0].Disabled() || !list[0].IsDisabled {
			t.Fatal("List does not derive Disabled")
		}
	})
}

func TestAuthenticate_GenericErrorForUnknownEmailAndWrongPassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2)
		users := identity.NewUsers(db, cheap)
		u := mustCreateUser(t, users, 1, "ada@example.org")
		off := mustCreateUser(t, users, 1, "off@example.org")
		if err := users.SetDisabled(ctx, 1, off.ID, true); err != nil {
			t.Fatal(err)
		}
		got, err := users.Authenticate(ctx, 1, " ADA@example.org", goodPassword)
		if err != nil || got.ID != u.ID {
			t.Fatalf("right credentials: %+v, %v", got, err)
		}
		for _, tc := range []struct {
			name         string
			tenant       int64
			email, token string
		}{
			{"unknown email", 1, "nobody@example.org", goodPassword},
			{"wrong password", 1, "ada@example.org", "wrong password!"},
			{"empty password", 1, "ada@example.org", ""},
			{"disabled account, right password", 1, "off@example.org", goodPassword},
			{"account of another tenant", 2, "ada@example.org", goodPassword},
			{"malformed email", 1, "not an email", goodPassword},
		} {
			_, err := users.Authenticate(ctx, tc.tenant, tc.email, tc.token)
			if !errs.Is(err, errs.Unauthorized) {
				t.Errorf("%s: %v, want unauthorized", tc.name, err)
				continue
			}
			if msg, field := errs.MessageOf(err); msg != "email or password is incorrect" || field != "" {
				t.Errorf("%s: message %q field %q, want the generic message", tc.name, msg, field)
			}
		}
		// Enabling the account again lets it in.
		if err := users.SetDisabled(ctx, 1, off.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := users.Authenticate(ctx, 1, "off@example.org", goodPassword); err != nil {
			t.Fatalf("re-enabled account: %v", err)
		}
	})
}

// An unknown email must cost a password verification too, or response times would tell
// which accounts exist. With a hasher costly enough to dominate the database query, the
// unknown-email path must take a comparable time to the wrong-password path.
func TestAuthenticate_UnknownEmailTakesAsLongAsWrongPassword(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	db := storetest.Open(t, "sqlite")
	ctx := context.Background()
	users := identity.NewUsers(db, identity.Hasher{Memory: 16 * 1024, Time: 2, Threads: 1})
	if _, err := users.Create(ctx, 1, "ada@example.org", "Ada", goodPassword); err != nil {
		t.Fatal(err)
	}
	fastest := func(email string) time.Duration {
		best := time.Hour
		for range 3 {
			start := time.Now()
			if _, err := users.Authenticate(ctx, 1, email, "wrong password!"); !errs.Is(err, errs.Unauthorized) {
				t.Fatal(err)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	known, unknown := fastest("ada@example.org"), fastest("nobody@example.org")
	if unknown < known/3 {
		t.Fatalf("unknown email answered in %v, wrong password in %v: timing reveals accounts", unknown, known)
	}
}
