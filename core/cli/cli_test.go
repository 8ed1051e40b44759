package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/cli"
	"github.com/concorde-civic/concorde/core/demo"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/core/testsupport"
)

type runner struct {
	t   *testing.T
	env map[string]string
}

func (r runner) run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = cli.Main(context.Background(), cli.Env{Args: args, LookupEnv: func(k string) (string, bool) { v, ok := r.env[k]; return v, ok }, Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func (r runner) ok(args ...string) string {
	r.t.Helper()
	code, out, errs := r.run(args...)
	if code != 0 {
		r.t.Fatalf("concorde %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func TestCLI_AdminCommandsAndAuditVerify(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			dbURL := storetest.URL(t, dialect)
			r := runner{t: t, env: map[string]string{"CONCORDE_DATABASE_URL": dbURL, "CONCORDE_SECRET": strings.Repeat("s", 40)}}
			if out := r.ok("migrate", "up"); !strings.Contains(out, "applied") {
				t.Fatalf("migrate up: %s", out)
			}
			if out := r.ok("migrate", "status"); !strings.Contains(out, "applied  20261123000001_foundation") {
				t.Fatalf("migrate status: %s", out)
			}
			out := r.ok("tenant", "create", "--slug", "nantes", "--kind", "city", "--name", "Ville de Nantes", "--host", "nantes.localhost")
			if !strings.Contains(out, "nantes.localhost") {
				t.Fatalf("tenant create: %s", out)
			}
			r.ok("tenant", "add-host", "nantes", "www.nantes.localhost")
			if out := r.ok("tenant", "show", "nantes"); !strings.Contains(out, "www.nantes.localhost") {
				t.Fatalf("show: %s", out)
			}
			r.ok("tenant", "suspend", "nantes")
			if out := r.ok("tenant", "list"); !strings.Contains(out, "suspended") {
				t.Fatalf("list after suspend: %s", out)
			}
			r.ok("tenant", "resume", "nantes")
			out = r.ok("user", "create", "--tenant", "nantes", "--email", "chef@nantes.fr", "--role", "tenant-admin")
			if !strings.Contains(out, "password: ") {
				t.Fatalf("user create should print the generated password: %s", out)
			}
			if tok := r.ok("token", "create", "--tenant", "nantes", "--email", "chef@nantes.fr"); !strings.HasPrefix(tok, "cct_") {
				t.Fatalf("token: %q", tok)
			}
			if out := r.ok("audit", "verify"); !strings.Contains(out, "ok      nantes") || !strings.Contains(out, "ok      platform") {
				t.Fatalf("verify: %s", out)
			}

			// Bad input: a clear one-line error, exit 1, nothing created.
			code, _, stderr := r.run("tenant", "create", "--slug", "Bad Slug", "--kind", "city", "--name", "X y", "--host", "x.localhost")
			if code != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "slug") {
				t.Fatalf("bad slug: exit %d, %q", code, stderr)
			}
			if code, _, _ := r.run("user", "create", "--tenant", "nowhere", "--email", "a@b.fr", "--role", "moderator"); code != 1 {
				t.Fatalf("unknown tenant: exit %d", code)
			}
			if code, _, _ := r.run("tenant", "frobnicate"); code != 2 {
				t.Fatalf("unknown command: exit %d", code)
			}

			// Tamper with a stored entry: verify names it and fails.
			db, err := store.Open(context.Background(), dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.ExecContext(context.Background(), `UPDATE audit_entries SET actor = 'someone else' WHERE seq = 2 AND tenant_id = 1`); err != nil {
				t.Fatal(err)
			}
			code, out, _ = r.run("audit", "verify")
			if code != 1 || !strings.Contains(out, "BROKEN  platform") || !strings.Contains(out, "#2") {
				t.Fatalf("tampered chain: exit %d\n%s", code, out)
			}
		})
	}
}

func TestCLI_BadConfigurationStopsWithOneLine(t *testing.T) {
	dir := t.TempDir()
	for name, env := range map[string]map[string]string{
		"malformed postgres URL":    {"CONCORDE_DATABASE_URL": "postgres//nope"},
		"unreachable database":      {"CONCORDE_DATABASE_URL": "postgres://x@127.0.0.1:1/db?connect_timeout=1", "CONCORDE_SECRET": strings.Repeat("s", 40)},
		"missing production secret": {"CONCORDE_ENV": "production", "CONCORDE_DATABASE_URL": dir + "/x.db"},
		"short secret":              {"CONCORDE_SECRET": "short", "CONCORDE_DATABASE_URL": dir + "/x.db"},
		"bad session ttl":           {"CONCORDE_SESSION_TTL": "forever", "CONCORDE_DATABASE_URL": dir + "/x.db"},
		"bad log level":             {"CONCORDE_LOG_LEVEL": "loud", "CONCORDE_DATABASE_URL": dir + "/x.db"},
		"bad trusted proxy":         {"CONCORDE_TRUSTED_PROXIES": "127.0.0.1, lb.internal", "CONCORDE_DATABASE_URL": dir + "/x.db"},
		"bad proposal limit":        {"CONCORDE_PROPOSAL_LIMIT_PER_SOURCE": "many", "CONCORDE_DATABASE_URL": dir + "/x.db"},
		"malformed Redis URL":       {"CONCORDE_REDIS_URL": "127.0.0.1:6379", "CONCORDE_DATABASE_URL": dir + "/x.db"},
		"SMTP without a From":       {"CONCORDE_SMTP_URL": "smtp://u:p@mail.test:587", "CONCORDE_DATABASE_URL": dir + "/x.db"},
		"SMTP URL of another kind":  {"CONCORDE_SMTP_URL": "http://mail.test", "CONCORDE_MAIL_FROM": "no-reply@x.test", "CONCORDE_DATABASE_URL": dir + "/x.db"},
		"SMTP URL with a bad port":  {"CONCORDE_SMTP_URL": "smtp://mail.test:99999", "CONCORDE_MAIL_FROM": "no-reply@x.test", "CONCORDE_DATABASE_URL": dir + "/x.db"},
		"malformed From":            {"CONCORDE_MAIL_FROM": "nobody", "CONCORDE_DATABASE_URL": dir + "/x.db"},
		"bad public scheme":         {"CONCORDE_PUBLIC_SCHEME": "ftp", "CONCORDE_DATABASE_URL": dir + "/x.db"},
	} {
		r := runner{t: t, env: env}
		code, _, stderr := r.run("tenant", "list")
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "concorde: ") || strings.Contains(stderr, "goroutine") {
			t.Errorf("%s: exit %d, stderr %q", name, code, stderr)
		}
	}
}

func TestCLI_ResultsRecomputeChecksAndRepairsCounters(t *testing.T) {
	dbURL := storetest.URL(t, "sqlite")
	r := runner{t: t, env: map[string]string{"CONCORDE_DATABASE_URL": dbURL, "CONCORDE_SECRET": strings.Repeat("s", 40), "CONCORDE_PLATFORM_HOST": "admin.test"}}
	// Seed through the wired application, as the server would.
	e := testsupport.NewAt(t, dbURL)
	ctx := context.Background()
	if _, err := demo.Ensure(ctx, e.App); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := r.run("results", "recompute", "--tenant", "bretagne", "--consultation", "culture", "--check")
	if code != 0 || !strings.Contains(out, "match") || !strings.Contains(stderr, "votes") {
		t.Fatalf("check on fresh counters: exit %d\n%s%s", code, out, stderr)
	}
	// The opinion groups' digest is the one the server computes from the same votes.
	bretagne, err := e.App.Tenants.BySlug(ctx, "bretagne")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := e.App.Consultations.Get(ctx, bretagne.ID, "culture")
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.App.Votes.Opinions(ctx, cs.TenantID, cs.ID, results.DefaultGroupsConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "opinions digest "+o.Digest) {
		t.Fatalf("recompute printed\n%s\nwant the opinions digest %s", out, o.Digest)
	}
	if _, err := e.App.DB.ExecContext(ctx, `UPDATE proposal_counts SET agree = agree + 7 WHERE proposal_id = (SELECT MIN(proposal_id) FROM proposal_counts)`); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := r.run("results", "recompute", "--tenant", "bretagne", "--consultation", "culture", "--check"); code != 1 || !strings.Contains(out, "differ") {
		t.Fatalf("check on corrupted counters: exit %d\n%s", code, out)
	}
	if code, out, _ := r.run("results", "recompute", "--tenant", "bretagne", "--consultation", "culture"); code != 0 || !strings.Contains(out, "corrected") {
		t.Fatalf("repair: exit %d\n%s", code, out)
	}
	if code, _, _ := r.run("results", "recompute", "--tenant", "bretagne", "--consultation", "culture", "--check"); code != 0 {
		t.Fatalf("check after repair: exit %d", code)
	}
	if code, _, _ := r.run("results", "recompute", "--tenant", "bretagne", "--consultation", "nope"); code != 1 {
		t.Fatalf("unknown consultation: exit %d", code)
	}
}

func TestCLI_ResultsVerifyNamesEveryDifferenceFromThePublishedSnapshot(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			dbURL := storetest.URL(t, dialect)
			r := runner{t: t, env: map[string]string{"CONCORDE_DATABASE_URL": dbURL, "CONCORDE_SECRET": strings.Repeat("s", 40), "CONCORDE_PLATFORM_HOST": "admin.test"}}
			e := testsupport.NewAt(t, dbURL)
			ctx := context.Background()
			if _, err := demo.Ensure(ctx, e.App); err != nil { // Bordeaux's "mobilites" is published
				t.Fatal(err)
			}
			tn, err := e.App.Tenants.BySlug(ctx, "bordeaux")
			if err != nil {
				t.Fatal(err)
			}
			c, err := e.App.Consultations.Get(ctx, tn.ID, "mobilites")
			if err != nil {
				t.Fatal(err)
			}
			snap, err := e.App.Snapshots.Get(ctx, tn.ID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			verify := []string{"results", "verify", "--tenant", "bordeaux", "--consultation", "mobilites"}
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := e.App.DB.ExecContext(ctx, q, args...); err != nil {
					t.Fatal(err)
				}
			}

			code, out, stderr := r.run(verify...)
			if code != 0 || !strings.Contains(out, "sha256:     "+snap.SHA256) || !strings.Contains(out, "recomputed: "+snap.SHA256) || !strings.Contains(out, "match") {
				t.Fatalf("untampered: exit %d\n%s%s", code, out, stderr)
			}

			// One stored vote changed: the counters and the rebuilt results both differ, named.
			var pid int64
			var participant string
			var key int
			if err := e.App.DB.QueryRowContext(ctx, `SELECT proposal_id, participant, vote FROM votes WHERE consultation_id = ? ORDER BY proposal_id, participant LIMIT 1`, c.ID).Scan(&pid, &participant, &key); err != nil {
				t.Fatal(err)
			}
			exec(`UPDATE votes SET vote = ? WHERE proposal_id = ? AND participant = ?`, (key+1)%3, pid, participant)
			code, out, _ = r.run(verify...)
			if code != 1 || !strings.Contains(out, fmt.Sprintf("DIFFERS  proposal %d: stored counters differ from its raw votes", pid)) ||
				!strings.Contains(out, fmt.Sprintf("[id=%d].scores", pid)) || strings.Contains(out, "recomputed: "+snap.SHA256) {
				t.Fatalf("tampered vote: exit %d\n%s", code, out)
			}
			exec(`UPDATE votes SET vote = ? WHERE proposal_id = ? AND participant = ?`, key, pid, participant)
			if code, out, _ := r.run(verify...); code != 0 {
				t.Fatalf("vote restored: exit %d\n%s", code, out)
			}

			// A counter changed: the raw votes still give the snapshot, but the counters differ.
			exec(`UPDATE proposal_counts SET agree = agree + 3 WHERE proposal_id = ? AND trust = 2`, pid)
			code, out, _ = r.run(verify...)
			if code != 1 || !strings.Contains(out, fmt.Sprintf("proposal %d: stored counters differ from its raw votes (sequence agree", pid)) {
				t.Fatalf("tampered counter: exit %d\n%s", code, out)
			}
			exec(`UPDATE proposal_counts SET agree = agree - 3 WHERE proposal_id = ? AND trust = 2`, pid)

			// The snapshot itself changed: its body no longer gives the published hash.
			exec(`UPDATE result_snapshots SET body = REPLACE(body, '"status":"published"', '"status":"published" ') WHERE consultation_id = ?`, c.ID)
			code, out, _ = r.run(verify...)
			if code != 1 || !strings.Contains(out, "the stored snapshot was changed") {
				t.Fatalf("tampered snapshot: exit %d\n%s", code, out)
			}

			// Published before snapshots existed: nothing to verify until it is frozen, once.
			exec(`DELETE FROM result_snapshots WHERE consultation_id = ?`, c.ID)
			if code, _, stderr := r.run(verify...); code != 1 || !strings.Contains(stderr, "no results snapshot") {
				t.Fatalf("no snapshot: exit %d %s", code, stderr)
			}
			freeze := []string{"results", "snapshot", "--tenant", "bordeaux", "--consultation", "mobilites"}
			if out := r.ok(freeze...); !strings.Contains(out, "sha256: "+snap.SHA256) {
				t.Fatalf("frozen again from the same votes, want the same hash %s: %s", snap.SHA256, out)
			}
			r.ok(verify...)
			if code, _, stderr := r.run(freeze...); code != 1 || !strings.Contains(stderr, "frozen already") {
				t.Fatalf("freezing twice: exit %d %s", code, stderr)
			}
			if code, _, stderr := r.run("results", "snapshot", "--tenant", "bretagne", "--consultation", "culture"); code != 1 || !strings.Contains(stderr, "open") {
				t.Fatalf("freezing an open consultation: exit %d %s", code, stderr)
			}

			// Nothing to verify before publication; bad input is one clear line.
			if code, _, stderr := r.run("results", "verify", "--tenant", "bretagne", "--consultation", "culture"); code != 1 || !strings.Contains(stderr, "no results snapshot") {
				t.Fatalf("unpublished: exit %d %s", code, stderr)
			}
			if code, _, _ := r.run("results", "verify", "--tenant", "bordeaux"); code != 1 {
				t.Fatalf("no consultation: exit %d", code)
			}
		})
	}
}
