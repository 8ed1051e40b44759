package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/core/storetest"
)

type note struct {
	bun.BaseModel `bun:"table:users"`
	TenantID      int64     `bun:"tenant_id,pk"`
	ID            int64     `bun:"id,pk"`
	Email         string    `bun:"email"`
	CreatedAt     time.Time `bun:"created_at"`
}

func (n *note) SetTenantID(id int64) { n.TenantID = id }

func TestScope_NeverCrossesTenants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		now := time.Now()
		for _, id := range []int64{2, 3} {
			if _, err := db.NewInsert().Model(&map[string]any{"id": id, "slug": "t" + string(rune('0'+id)), "kind": "city", "name": "T", "created_at": now, "updated_at": now}).TableExpr("tenants").Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		a, b := store.For(db, 2), store.For(db, 3)
		// The model claims tenant 3, but the scope of tenant 2 stamps its own tenant.
		n := &note{TenantID: 3, ID: 10, Email: "a@example.org", CreatedAt: now}
		if _, err := a.Insert(n).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if n.TenantID != 2 {
			t.Fatalf("insert kept tenant %d, want 2", n.TenantID)
		}
		var got []note
		if err := b.Select(&got).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Fatalf("tenant 3 sees %d rows of tenant 2", len(got))
		}
		res, err := b.Delete((*note)(nil)).Where("id = ?", 10).Exec(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if k, _ := res.RowsAffected(); k != 0 {
			t.Fatalf("tenant 3 deleted %d rows of tenant 2", k)
		}
		if err := a.Select(&got).Scan(ctx); err != nil || len(got) != 1 {
			t.Fatalf("tenant 2 sees %d rows, err %v", len(got), err)
		}
		// A raw select (grouped counts, joins) is restricted to the tenant too.
		for _, c := range []struct {
			scope store.Scope
			want  int
		}{{a, 1}, {b, 0}} {
			var n int
			if err := c.scope.SelectFrom("users", "u").ColumnExpr("COUNT(*)").Scan(ctx, &n); err != nil || n != c.want {
				t.Fatalf("tenant %d counts %d users (%v), want %d", c.scope.TenantID(), n, err, c.want)
			}
		}
		// Its tenant lock is taken and released with its transaction, on either dialect.
		for i := 0; i < 2; i++ {
			if err := a.Tx(ctx, func(ctx context.Context, tx store.Scope) error { return tx.Lock(ctx, 1) }); err != nil {
				t.Fatal(err)
			}
		}
		if a.Dialect() != store.DialectOf(db) {
			t.Fatalf("scope dialect %v, database %v", a.Dialect(), store.DialectOf(db))
		}
	})
}

func TestFor_RefusesZeroTenant(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("store.For(db, 0) did not panic")
		}
	}()
	store.For(nil, 0)
}

func TestMigrate_IsIdempotentAndCurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		again, err := store.Migrate(ctx, db)
		if err != nil || len(again) != 0 {
			t.Fatalf("second migrate applied %v, err %v", again, err)
		}
		ok, err := store.Current(ctx, db)
		if err != nil || !ok {
			t.Fatalf("current = %v, %v", ok, err)
		}
	})
}

func TestOpen_BadURLsFailClearly(t *testing.T) {
	for _, dsn := range []string{"", "postgres://", "postgres://nobody@127.0.0.1:1/x?connect_timeout=1"} {
		if _, err := store.Open(context.Background(), dsn); err == nil {
			t.Errorf("Open(%q) succeeded", dsn)
		}
	}
}

func TestIDs_Increase(t *testing.T) {
	var g store.IDs
	prev := g.Next()
	for i := 0; i < 10000; i++ {
		n := g.Next()
		if n <= prev || n >= 1<<53 {
			t.Fatalf("id %d after %d", n, prev)
		}
		prev = n
	}
}
