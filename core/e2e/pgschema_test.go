package e2e_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/e2e"
	"github.com/concorde-civic/concorde/core/store"
)

// PostgresSchema gives ops/bench and ops/integrity an empty schema of their own, and drops it.
func TestPostgresSchema_AnEmptySchemaDroppedAfter(t *testing.T) {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	ctx := context.Background()
	if _, _, err := e2e.PostgresSchema(ctx, "sqlite:///tmp/x.db", "x"); err == nil {
		t.Fatal("a SQLite URL was taken")
	}
	u, drop, err := e2e.PostgresSchema(ctx, base, "schematest")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, "search_path=schematest_") {
		t.Fatalf("URL %s does not name the schema", u)
	}
	db, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var schema string
	if err := db.NewRaw("SELECT current_schema()").Scan(ctx, &schema); err != nil || !strings.HasPrefix(schema, "schematest_") {
		t.Fatalf("current schema %q (%v)", schema, err)
	}
	drop()
	var n int
	if err := db.NewRaw("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", schema).Scan(ctx, &n); err != nil || n != 0 {
		t.Fatalf("schema %s still there (%d, %v)", schema, n, err)
	}
}
