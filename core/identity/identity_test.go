package identity_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/identity"
)

// cheap is a Hasher fast enough for tests; production uses identity.DefaultHasher.
var cheap = identity.Hasher{Memory: 64, Time: 1, Threads: 1}

const goodPassword = "correct horse battery"

func mustCreateUser(t *testing.T, users *identity.Users, tenantID int64, email string) identity.User {
	t.Helper()
	u, err := users.Create(context.Background(), tenantID, email, "Ada", goodPassword)
	if err != nil {
		t.Fatalf("create %s in tenant %d: %v", email, tenantID, err)
	}
	return u
}

// tableText returns every value of every row of table, as text, for "is this secret stored
// anywhere" checks.
func tableText(t *testing.T, db *bun.DB, table string) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "SELECT * FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, "%v\n", v)
		}
	}
	if err := rows.Err(); err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	return b.String()
}

func wantKind(t *testing.T, err error, k errs.Kind) {
	t.Helper()
	if !errs.Is(err, k) {
		t.Fatalf("error %v, want kind %s", err, k)
	}
}
