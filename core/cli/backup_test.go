package cli_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/demo"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/tenants"
)

// newDatabase returns the URL of a new, empty database of the dialect: a file, or a
// PostgreSQL database of its own (not a schema: pg_dump and pg_restore work on databases).
func newDatabase(t *testing.T, dialect string) string {
	t.Helper()
	if dialect == "sqlite" {
		return filepath.Join(t.TempDir(), "concorde.db")
	}
	base := os.Getenv("TEST_DATABASE_URL")
	admin, err := store.Open(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "concorde_backup_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		_ = admin.Close()
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return u.String()
}

// summary is what must survive a backup: row counts of every table and each chain's end.
func summary(t *testing.T, dbURL string) string {
	t.Helper()
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	for _, table := range []string{"tenants", "tenant_hosts", "users", "sessions", "api_tokens", "casbin_rules",
		"consultations", "proposals", "votes", "proposal_counts", "participant_profiles", "plugin_kv"} {
		n, err := db.NewSelect().TableExpr(table).Count(context.Background())
		if err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		fmt.Fprintf(&b, "%s=%d ", table, n)
	}
	var heads []struct {
		TenantID int64
		Seq      int64
		Hash     string
	}
	if err := db.NewSelect().TableExpr("audit_entries").Column("tenant_id", "seq", "hash").OrderExpr("tenant_id, seq").Scan(context.Background(), &heads); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "audit=%d last=%v", len(heads), heads[len(heads)-1])
	return b.String()
}

func TestCLI_BackupAndRestoreRoundTrip(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			if dialect == "postgres" && os.Getenv("TEST_DATABASE_URL") == "" {
				t.Skip("TEST_DATABASE_URL is not set")
			}
			ctx := context.Background()
			src, dst := newDatabase(t, dialect), newDatabase(t, dialect)
			env := func(db string) runner {
				return runner{t: t, env: map[string]string{"CONCORDE_DATABASE_URL": db, "CONCORDE_SECRET": testsupport.Secret, "CONCORDE_PLATFORM_HOST": "admin.test"}}
			}

			// Data through the wired application: tenants, accounts, a consultation with votes.
			e := testsupport.NewAt(t, src)
			if _, err := demo.Ensure(ctx, e.App); err != nil {
				t.Fatal(err)
			}
			_, auditor := e.Account(tenants.PlatformID, "ethics@platform.test", authz.Auditor)
			res := e.Do(testsupport.Request{Method: "GET", Host: "bretagne.localhost", Path: "/api/v1/audit/head", Token: auditor})
			if res.Status != 200 {
				t.Fatalf("head: %d %s", res.Status, res.Body)
			}
			head := filepath.Join(t.TempDir(), "head.json")
			if err := os.WriteFile(head, res.Body, 0o600); err != nil {
				t.Fatal(err)
			}
			want := summary(t, src)

			file := filepath.Join(t.TempDir(), "concorde.backup")
			if out := env(src).ok("backup", file); !strings.Contains(out, file) { // the server (e) still runs
				t.Fatalf("backup: %s", out)
			}
			if code, _, stderr := env(src).run("backup", file); code != 1 || !strings.Contains(stderr, "exists") {
				t.Fatalf("backup over an existing file: exit %d %s", code, stderr)
			}
			if code, _, stderr := env(src).run("restore", file); code != 1 || !strings.Contains(stderr, "not empty") {
				t.Fatalf("restore over the live database: exit %d %s", code, stderr)
			}

			env(dst).ok("restore", file)
			if got := summary(t, dst); got != want {
				t.Fatalf("restored data differ:\nbefore %s\nafter  %s", want, got)
			}
			if out := env(dst).ok("audit", "verify"); !strings.Contains(out, "ok      bretagne") || strings.Contains(out, "BROKEN") {
				t.Fatalf("verify the restored chains: %s", out)
			}
			if out := env(dst).ok("audit", "verify", "--head", head); !strings.Contains(out, "signed head") {
				t.Fatalf("verify the restored chain against the head: %s", out)
			}
			// The restored installation serves.
			restored := testsupport.NewAt(t, dst)
			if res := restored.Do(testsupport.Request{Method: "GET", Host: "bretagne.localhost", Path: "/"}); res.Status != 200 {
				t.Fatalf("restored site: %d", res.Status)
			}
		})
	}
}
