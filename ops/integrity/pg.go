package main

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/concorde-civic/concorde/core/store"
)

// pgSchema creates a schema of its own in the database of base (which must exist) and
// returns the URL that uses it and a function that drops it.
func pgSchema(ctx context.Context, base, prefix string) (string, func(), error) {
	u, err := url.Parse(base)
	if err != nil || !store.IsPostgresURL(base) {
		return "", nil, fmt.Errorf("%q is not a postgres:// URL", base)
	}
	db, err := store.Open(ctx, base)
	if err != nil {
		return "", nil, err
	}
	schema := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		_, _ = db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	}, nil
}
