// Package storetest opens real, migrated databases for tests: a fresh SQLite file always, and
// a fresh PostgreSQL schema when TEST_DATABASE_URL is set (CI sets it).
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/store"
)

// Each runs fn once per available dialect, each time on a new migrated database.
func Each(t *testing.T, fn func(t *testing.T, db *bun.DB)) {
	t.Helper()
	for _, name := range Dialects() {
		t.Run(name, func(t *testing.T) { fn(t, Open(t, name)) })
	}
}

// Dialects lists the dialects tests can use here: sqlite, plus postgres when TEST_DATABASE_URL is set.
func Dialects() []string {
	if os.Getenv("TEST_DATABASE_URL") != "" {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

// Open returns a new migrated database of the given dialect, removed when the test ends.
func Open(t testing.TB, dialect string) *bun.DB {
	t.Helper()
	db, err := store.Open(context.Background(), URL(t, dialect))
	if err != nil {
		t.Fatalf("open %s: %v", dialect, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := store.Migrate(context.Background(), db); err != nil {
		t.Fatalf("migrate %s: %v", dialect, err)
	}
	return db
}

// URL returns the address of a new, empty database of the given dialect: a file in the
// test's temp dir, or a PostgreSQL schema of its own (dropped at the end of the test).
func URL(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == "sqlite" {
		return filepath.Join(t.TempDir(), "concorde.db")
	}
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "test_" + hex.EncodeToString(b[:])
	admin, err := store.Open(context.Background(), base)
	if err != nil {
		t.Fatalf("open %s: %v", base, err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// AddTenants inserts bare tenants with the given ids (tenant 1, the platform, always exists),
// for store tests below the tenants package.
func AddTenants(t testing.TB, db bun.IDB, ids ...int64) {
	t.Helper()
	now := time.Now().UTC()
	for _, id := range ids {
		row := map[string]any{"id": id, "slug": fmt.Sprintf("t%d", id), "kind": "city", "name": "T", "created_at": now, "updated_at": now}
		if _, err := db.NewInsert().Model(&row).TableExpr("tenants").Exec(context.Background()); err != nil {
			t.Fatalf("add tenant %d: %v", id, err)
		}
	}
}
