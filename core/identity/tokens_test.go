package identity_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/storetest"
)

func TestTokens_CreateAndLookup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2, 3)
		users := identity.NewUsers(db, cheap)
		u := mustCreateUser(t, users, 3, "bot@example.org")
		mustCreateUser(t, users, 2, "bot@example.org") // same address elsewhere
		tokens := identity.NewTokens(db)
		plain, tok, err := tokens.Create(ctx, 3, u.ID, " CI export ")
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(plain, "cct_"))
		if !strings.HasPrefix(plain, "cct_") || err != nil || len(raw) != 32 {
			t.Fatalf("plaintext %q is not cct_ + 32 random bytes in base64url", plain)
		}
		if tok.TenantID != 3 || tok.UserID != u.ID || tok.Name != "CI export" || tok.Prefix != plain[:8] || tok.Revoked() {
			t.Fatalf("token %+v", tok)
		}
		// Lookup needs no tenant: the token tells it.
		got, err := tokens.Lookup(ctx, plain)
		if err != nil {
			t.Fatal(err)
		}
		if got.TenantID != 3 || got.ID != tok.ID || got.UserID != u.ID || !got.CreatedAt.Equal(tok.CreatedAt) {
			t.Fatalf("looked up %+v, created %+v", got, tok)
		}
	})
}

func TestTokens_StoredHashedOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		u := mustCreateUser(t, identity.NewUsers(db, cheap), 1, "ada@example.org")
		plain, tok, err := identity.NewTokens(db).Create(context.Background(), 1, u.ID, "deploy")
		if err != nil {
			t.Fatal(err)
		}
		stored := tableText(t, db, "api_tokens")
		if strings.Contains(stored, plain) || strings.Contains(stored, strings.TrimPrefix(plain, "cct_")) {
			t.Fatal("the plaintext token is stored")
		}
		if !strings.Contains(stored, tok.Hash) || len(tok.Hash) != 64 {
			t.Fatalf("hash %q is not what the table holds", tok.Hash)
		}
		b, _ := json.Marshal(tok)
		if strings.Contains(string(b), tok.Hash) || strings.Contains(string(b), plain) {
			t.Fatalf("token JSON leaks the secret: %s", b)
		}
	})
}

func TestTokens_RevokedIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		u := mustCreateUser(t, identity.NewUsers(db, cheap), 1, "ada@example.org")
		tokens := identity.NewTokens(db)
		plain, tok, _ := tokens.Create(ctx, 1, u.ID, "deploy")
		keep, _, _ := tokens.Create(ctx, 1, u.ID, "other")
		if err := tokens.Revoke(ctx, 1, tok.ID); err != nil {
			t.Fatal(err)
		}
		_, err := tokens.Lookup(ctx, plain)
		wantKind(t, err, errs.Unauthorized)
		if _, err := tokens.Lookup(ctx, keep); err != nil {
			t.Fatalf("revoking one token revoked another: %v", err)
		}
		if err := tokens.Revoke(ctx, 1, tok.ID); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		list, _ := tokens.List(ctx, 1, u.ID)
		if len(list) != 2 || list[1].ID != tok.ID || !list[1].Revoked() || list[0].Revoked() {
			t.Fatalf("list after revoke: %+v", list)
		}
	})
}

func TestTokens_RevokeInAnotherTenantIsNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2, 3)
		u := mustCreateUser(t, identity.NewUsers(db, cheap), 2, "ada@example.org")
		tokens := identity.NewTokens(db)
		plain, tok, _ := tokens.Create(ctx, 2, u.ID, "deploy")
		wantKind(t, tokens.Revoke(ctx, 3, tok.ID), errs.NotFound)
		wantKind(t, tokens.Revoke(ctx, 2, tok.ID+1), errs.NotFound)
		if _, err := tokens.Lookup(ctx, plain); err != nil {
			t.Fatalf("tenant 3 revoked tenant 2's token: %v", err)
		}
		if list, _ := tokens.List(ctx, 3, 0); len(list) != 0 {
			t.Fatalf("tenant 3 lists %d tokens of tenant 2", len(list))
		}
		// Issuing a token in tenant 3 for tenant 2's account is refused.
		_, _, err := tokens.Create(ctx, 3, u.ID, "stolen")
		wantKind(t, err, errs.NotFound)
	})
}

func TestTokens_ListByUserOrTenant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		users := identity.NewUsers(db, cheap)
		a := mustCreateUser(t, users, 1, "a@example.org")
		b := mustCreateUser(t, users, 1, "b@example.org")
		tokens := identity.NewTokens(db)
		_, ta, _ := tokens.Create(ctx, 1, a.ID, "a")
		_, tb, _ := tokens.Create(ctx, 1, b.ID, "b")
		mine, err := tokens.List(ctx, 1, a.ID)
		if err != nil || len(mine) != 1 || mine[0].ID != ta.ID {
			t.Fatalf("a's tokens: %+v, %v", mine, err)
		}
		all, err := tokens.List(ctx, 1, 0)
		if err != nil || len(all) != 2 || all[0].ID != tb.ID {
			t.Fatalf("tenant's tokens, newest first: %+v, %v", all, err)
		}
	})
}

func TestTokens_NameRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		u := mustCreateUser(t, identity.NewUsers(db, cheap), 1, "a@example.org")
		tokens := identity.NewTokens(db)
		for _, name := range []string{"", "   ", strings.Repeat("n", 101)} {
			_, _, err := tokens.Create(ctx, 1, u.ID, name)
			wantKind(t, err, errs.Invalid)
		}
		if _, _, err := tokens.Create(ctx, 1, u.ID, strings.Repeat("é", 100)); err != nil {
			t.Fatalf("100-character name: %v", err)
		}
		_, _, err := tokens.Create(ctx, 1, u.ID+1, "nobody")
		wantKind(t, err, errs.NotFound)
	})
}

func TestTokens_DisabledAccountIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		users := identity.NewUsers(db, cheap)
		u := mustCreateUser(t, users, 1, "a@example.org")
		tokens := identity.NewTokens(db)
		plain, _, _ := tokens.Create(ctx, 1, u.ID, "deploy")
		if err := users.SetDisabled(ctx, 1, u.ID, true); err != nil {
			t.Fatal(err)
		}
		_, err := tokens.Lookup(ctx, plain)
		wantKind(t, err, errs.Unauthorized)
		_, _, err = tokens.Create(ctx, 1, u.ID, "another")
		wantKind(t, err, errs.Forbidden)
	})
}

func TestTokens_GarbageIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		tokens := identity.NewTokens(db)
		for _, plain := range []string{"", "cct_", "cct_nonexistent", "abc", strings.Repeat("cct_", 5000)} {
			_, err := tokens.Lookup(context.Background(), plain)
			wantKind(t, err, errs.Unauthorized)
		}
	})
}
