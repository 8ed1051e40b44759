package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/core/testsupport"
	"github.com/concorde-civic/concorde/tenants"
)

// A head saved from GET /api/v1/audit/head lets `audit verify --head` see a cut-off tail,
// which the chain alone cannot show.
func TestCLI_AuditVerifyHeadDetectsATruncatedTail(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dbURL := storetest.URL(t, dialect)
			r := runner{t: t, env: map[string]string{"CONCORDE_DATABASE_URL": dbURL, "CONCORDE_SECRET": testsupport.Secret, "CONCORDE_PLATFORM_HOST": "admin.test"}}
			e := testsupport.NewAt(t, dbURL)
			site := e.Site("nantes")
			_, auditor := e.Account(tenants.PlatformID, "ethics@platform.test", authz.Auditor)

			res := e.Do(testsupport.Request{Method: "GET", Host: site.Host, Path: "/api/v1/audit/head", Token: auditor})
			if res.Status != 200 {
				t.Fatalf("head: %d %s", res.Status, res.Body)
			}
			file := filepath.Join(t.TempDir(), "head.json")
			if err := os.WriteFile(file, res.Body, 0o600); err != nil {
				t.Fatal(err)
			}
			r.ok("user", "create", "--tenant", "nantes", "--email", "later@nantes.test", "--role", "moderator") // the chain grows
			if out := r.ok("audit", "verify", "--head", file); !strings.Contains(out, "ok      nantes") || !strings.Contains(out, "signed head") {
				t.Fatalf("intact: %s", out)
			}

			// Cut the tail back to before the head: every link still holds, the head does not.
			if _, err := e.App.DB.ExecContext(ctx, `DELETE FROM audit_entries WHERE tenant_id = ? AND seq >= (SELECT MAX(seq) - 1 FROM audit_entries WHERE tenant_id = ?)`, site.Tenant.ID, site.Tenant.ID); err != nil {
				t.Fatal(err)
			}
			if out := r.ok("audit", "verify", "--tenant", "nantes"); !strings.Contains(out, "ok      nantes") {
				t.Fatalf("a truncated chain verifies alone: %s", out)
			}
			code, out, _ := r.run("audit", "verify", "--head", file)
			if code != 1 || !strings.Contains(out, "BROKEN  nantes") || !strings.Contains(out, "truncated") {
				t.Fatalf("truncated: exit %d\n%s", code, out)
			}

			// A head edited by hand (to match the cut chain) is refused.
			edited := strings.Replace(string(res.Body), `"seq":`, `"seq":1`, 1)
			if err := os.WriteFile(file, []byte(edited), 0o600); err != nil {
				t.Fatal(err)
			}
			if code, _, stderr := r.run("audit", "verify", "--head", file); code != 1 || !strings.Contains(stderr, "signature") {
				t.Fatalf("edited head: exit %d %s", code, stderr)
			}
		})
	}
}
