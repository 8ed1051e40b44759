package identity_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/storetest"
)

// clock is a settable time for Sessions.Now.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func newSessions(db *bun.DB, ttl time.Duration) (*identity.Sessions, *clock) {
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := identity.NewSessions(db, ttl)
	s.Now = c.Now
	return s, c
}

func TestSessions_CreateAndLookup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2)
		u := mustCreateUser(t, identity.NewUsers(db, cheap), 1, "admin@example.org")
		sessions, c := newSessions(db, time.Hour)
		// A platform account logging in on tenant 2's host.
		token, s, err := sessions.Create(ctx, 2, u)
		if err != nil {
			t.Fatal(err)
		}
		if raw, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(raw) != 32 {
			t.Fatalf("token %q is not 32 random bytes in base64url (%v)", token, err)
		}
		if s.TenantID != 2 || s.UserTenantID != 1 || s.UserID != u.ID || !s.ExpiresAt.Equal(c.t.Add(time.Hour)) {
			t.Fatalf("session %+v", s)
		}
		got, err := sessions.Lookup(ctx, 2, token)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != s.ID || got.UserID != u.ID || got.UserTenantID != 1 || !got.ExpiresAt.Equal(s.ExpiresAt) || !got.CreatedAt.Equal(s.CreatedAt) {
			t.Fatalf("looked up %+v, created %+v", got, s)
		}
		other, _, _ := sessions.Create(ctx, 2, u)
		if other == token {
			t.Fatal("two sessions share a token")
		}
	})
}

func TestSessions_StoredHashedOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		u := mustCreateUser(t, identity.NewUsers(db, cheap), 1, "ada@example.org")
		sessions, _ := newSessions(db, time.Hour)
		token, s, err := sessions.Create(context.Background(), 1, u)
		if err != nil {
			t.Fatal(err)
		}
		stored := tableText(t, db, "sessions")
		if strings.Contains(stored, token) {
			t.Fatal("the session token is stored in clear")
		}
		if len(s.ID) != 64 || !strings.Contains(stored, s.ID) {
			t.Fatalf("session id %q is not the stored hex SHA-256", s.ID)
		}
	})
}

func TestSessions_ExpiredIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		u := mustCreateUser(t, identity.NewUsers(db, cheap), 1, "ada@example.org")
		sessions, c := newSessions(db, time.Hour)
		token, _, err := sessions.Create(ctx, 1, u)
		if err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(time.Hour - time.Second)
		if _, err := sessions.Lookup(ctx, 1, token); err != nil {
			t.Fatalf("one second before expiry: %v", err)
		}
		c.t = c.t.Add(time.Second)
		_, err = sessions.Lookup(ctx, 1, token)
		wantKind(t, err, errs.Unauthorized)
	})
}

func TestSessions_BoundToHostTenant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2, 3)
		u := mustCreateUser(t, identity.NewUsers(db, cheap), 2, "ada@example.org")
		sessions, _ := newSessions(db, time.Hour)
		token, _, err := sessions.Create(ctx, 2, u)
		if err != nil {
			t.Fatal(err)
		}
		_, err = sessions.Lookup(ctx, 3, token)
		wantKind(t, err, errs.Unauthorized)
		// Logging out on tenant 3's host does not end the session on tenant 2's.
		if err := sessions.Delete(ctx, 3, token); err != nil {
			t.Fatal(err)
		}
		if _, err := sessions.Lookup(ctx, 2, token); err != nil {
			t.Fatalf("session on its own host: %v", err)
		}
	})
}

func TestSessions_DeleteLogsOut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		u := mustCreateUser(t, identity.NewUsers(db, cheap), 1, "ada@example.org")
		sessions, _ := newSessions(db, time.Hour)
		token, _, _ := sessions.Create(ctx, 1, u)
		keep, _, _ := sessions.Create(ctx, 1, u)
		if err := sessions.Delete(ctx, 1, token); err != nil {
			t.Fatal(err)
		}
		_, err := sessions.Lookup(ctx, 1, token)
		wantKind(t, err, errs.Unauthorized)
		if _, err := sessions.Lookup(ctx, 1, keep); err != nil {
			t.Fatalf("logging out one session ended another: %v", err)
		}
		if err := sessions.Delete(ctx, 1, token); err != nil {
			t.Fatalf("logging out twice: %v", err)
		}
	})
}

func TestSessions_DisabledAccountIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		users := identity.NewUsers(db, cheap)
		u := mustCreateUser(t, users, 1, "ada@example.org")
		sessions, _ := newSessions(db, time.Hour)
		token, _, _ := sessions.Create(ctx, 1, u)
		if err := users.SetDisabled(ctx, 1, u.ID, true); err != nil {
			t.Fatal(err)
		}
		_, err := sessions.Lookup(ctx, 1, token)
		wantKind(t, err, errs.Unauthorized)
		u, _ = users.ByID(ctx, 1, u.ID)
		_, _, err = sessions.Create(ctx, 1, u)
		wantKind(t, err, errs.Unauthorized)
	})
}

func TestSessions_GarbageTokensAreRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		sessions, _ := newSessions(db, time.Hour)
		for _, token := range []string{"", "x", strings.Repeat("a", 10000), "'; DROP TABLE sessions; --"} {
			_, err := sessions.Lookup(context.Background(), 1, token)
			wantKind(t, err, errs.Unauthorized)
		}
	})
}

func TestSessions_DeleteExpiredAndCountActive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		storetest.AddTenants(t, db, 2)
		u := mustCreateUser(t, identity.NewUsers(db, cheap), 1, "ada@example.org")
		sessions, c := newSessions(db, time.Hour)
		old, _, _ := sessions.Create(ctx, 1, u)
		_, _, _ = sessions.Create(ctx, 2, u)
		c.t = c.t.Add(30 * time.Minute)
		fresh, _, _ := sessions.Create(ctx, 2, u)
		if n, err := sessions.CountActive(ctx); err != nil || n != 3 {
			t.Fatalf("active = %d, %v; want 3", n, err)
		}
		c.t = c.t.Add(30 * time.Minute) // the first two expire now
		if n, err := sessions.CountActive(ctx); err != nil || n != 1 {
			t.Fatalf("active = %d, %v; want 1", n, err)
		}
		if n, err := sessions.DeleteExpired(ctx); err != nil || n != 2 {
			t.Fatalf("deleted %d, %v; want 2", n, err)
		}
		if _, err := sessions.Lookup(ctx, 2, fresh); err != nil {
			t.Fatalf("unexpired session was deleted: %v", err)
		}
		c.t = c.t.Add(-time.Hour) // even back in time, the deleted session is gone
		_, err := sessions.Lookup(ctx, 1, old)
		wantKind(t, err, errs.Unauthorized)
	})
}
