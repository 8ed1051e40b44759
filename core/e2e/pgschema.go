package e2e

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/concorde-civic/concorde/core/store"
	"github.com/uptrace/bun"
)

// PostgresSchema makes sure the database of base exists, creates a schema of its own in it
// (named prefix and a time), and returns the URL that uses that schema and a function that
// drops it: a measure or a simulation then starts from an empty installation each time.
func PostgresSchema(ctx context.Context, base, prefix string) (string, func(), error) {
	schema := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	u, db, err := postgresSchema(ctx, base, schema, "CREATE SCHEMA ")
	if err != nil {
		return "", nil, err
	}
	return u, func() {
		_, _ = db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	}, nil
}

// PostgresNamedSchema is PostgresSchema for a schema of the given name, created if missing and
// kept, with what it holds, otherwise: a long seeding, such as the scale suite's 10,000,000
// votes, then serves several runs.
func PostgresNamedSchema(ctx context.Context, base, schema string) (string, error) {
	if !identifier.MatchString(schema) {
		return "", fmt.Errorf("schema name %q: use lower-case letters, digits and _", schema)
	}
	u, db, err := postgresSchema(ctx, base, schema, "CREATE SCHEMA IF NOT EXISTS ")
	if err != nil {
		return "", err
	}
	db.Close()
	return u, nil
}

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// postgresSchema creates the database of base if missing, then the schema by the create
// statement, and returns the URL that uses the schema and the connection to base.
func postgresSchema(ctx context.Context, base, schema, create string) (string, *bun.DB, error) {
	u, err := url.Parse(base)
	if err != nil || !store.IsPostgresURL(base) {
		return "", nil, fmt.Errorf("%q is not a postgres:// URL", base)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if !identifier.MatchString(name) {
		return "", nil, fmt.Errorf("database name %q: use lower-case letters, digits and _", name)
	}
	adminURL := *u
	adminURL.Path = "/postgres"
	admin, err := store.Open(ctx, adminURL.String())
	if err != nil {
		return "", nil, err
	}
	var exists int
	err = admin.NewRaw("SELECT COUNT(*) FROM pg_database WHERE datname = ?", name).Scan(ctx, &exists)
	if err == nil && exists == 0 {
		_, err = admin.ExecContext(ctx, `CREATE DATABASE "`+name+`"`)
	}
	admin.Close()
	if err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	db, err := store.Open(ctx, base)
	if err != nil {
		return "", nil, err
	}
	if _, err := db.ExecContext(ctx, create+schema); err != nil {
		db.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), db, nil
}
