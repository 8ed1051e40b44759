// Package cli is the concorde command: the server (serve) and the admin commands, which all
// read the same configuration (flags and CONCORDE_* variables).
package cli

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/concorde-civic/concorde/core/app"
	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/config"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/staff"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/tenants"
)

// Env is what a command runs with: arguments, environment and output streams.
type Env struct {
	Args []string
	// LookupEnv reads the environment (os.LookupEnv): a variable set to "" is not unset.
	LookupEnv func(string) (string, bool)
	Stdout    io.Writer
	Stderr    io.Writer
}

type command struct {
	name, usage string
	run         func(ctx context.Context, e Env, cfg *config.Config, fs *flag.FlagSet, args []string) error
	flags       func(fs *flag.FlagSet) // command flags, declared before parsing
}

var errUsage = errors.New("usage")

// Main runs the command line and returns the exit status: 0 ok, 1 failure, 2 bad usage.
func Main(ctx context.Context, e Env) int {
	cmds := commands()
	if len(e.Args) == 0 || e.Args[0] == "help" || e.Args[0] == "-h" || e.Args[0] == "--help" {
		usage(e.Stdout, cmds)
		return 0
	}
	name := e.Args[0]
	rest := e.Args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		if _, ok := cmds[name+" "+rest[0]]; ok {
			name, rest = name+" "+rest[0], rest[1:]
		}
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(e.Stderr, "concorde: unknown command %q\n\n", strings.Join(e.Args[:min(2, len(e.Args))], " "))
		usage(e.Stderr, cmds)
		return 2
	}
	fs := flag.NewFlagSet("concorde "+name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	var cfg config.Config
	config.Register(fs, &cfg, e.LookupEnv)
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(e.Stderr, "usage: concorde %s %s\n\nflags:\n", name, cmd.usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(e.Stderr, "concorde: %v\n", err)
		return 1
	}
	err := cmd.run(ctx, e, &cfg, fs, fs.Args())
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fs.Usage()
		return 2
	default:
		msg, field := errs.MessageOf(err)
		if errs.KindOf(err) == errs.Internal {
			msg = err.Error()
		}
		if field != "" && !strings.Contains(msg, field) {
			msg = field + ": " + msg
		}
		fmt.Fprintf(e.Stderr, "concorde: %s\n", msg)
		return 1
	}
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "concorde: citizen consultations, multi-tenant.\n\nusage: concorde COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, cmds[n].usage)
	}
	fmt.Fprintln(w, "\nEvery command reads the same configuration: run 'concorde serve -h' for the flags and CONCORDE_* variables.")
}

// open wires the services for an admin command (logs go to stderr, warnings only).
func open(ctx context.Context, e Env, cfg *config.Config) (*app.App, error) {
	log := slog.New(slog.NewJSONHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return app.Open(ctx, *cfg, log, app.Options{Command: true})
}

// cliActor names the person running an admin command in the audit log.
func cliActor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return "cli:" + name + "@" + host
}

func tenantBySlug(ctx context.Context, a *app.App, slug string) (tenants.Tenant, error) {
	if slug == "" {
		return tenants.Tenant{}, errs.Field("tenant", "give --tenant SLUG")
	}
	return a.Tenants.BySlug(ctx, slug)
}

func randomPassword() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func commands() map[string]command {
	var (
		slug, kind, name, locale, timeZone, email, role, password, tokenName string
		hosts                                                                multi
		check                                                                bool
	)
	var headFile string
	list := []command{
		{name: "serve", usage: "[--demo]  start the server", run: serve, flags: func(fs *flag.FlagSet) { fs.Bool("demo", false, "create the demo tenants and print their admin logins") }},
		{name: "tenant create", usage: "--slug S --kind region|city|company --name N --host H [--host H2] [--locale fr|en] [--time-zone Europe/Paris]",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&slug, "slug", "", "tenant slug")
				fs.StringVar(&kind, "kind", "", "region, city or company")
				fs.StringVar(&name, "name", "", "display name")
				fs.StringVar(&locale, "locale", "fr", "default locale")
				fs.StringVar(&timeZone, "time-zone", tenants.DefaultTimeZone, "IANA time zone of the site's dates")
				fs.Var(&hosts, "host", "host name (repeatable)")
			},
			run: func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
				if len(args) > 0 {
					return errUsage
				}
				return withApp(ctx, e, cfg, func(a *app.App) error {
					t, err := a.Tenants.Create(ctx, cliActor(), tenants.NewTenant{Slug: slug, Kind: kind, Name: name, Hosts: hosts, DefaultLocale: locale, TimeZone: timeZone})
					if err != nil {
						return err
					}
					printTenant(e.Stdout, t)
					return nil
				})
			}},
		{name: "tenant list", usage: "list tenants", run: func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
			return withApp(ctx, e, cfg, func(a *app.App) error {
				ts, err := a.Tenants.List(ctx)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "SLUG\tKIND\tSTATUS\tNAME\tHOSTS")
				for _, t := range ts {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.Slug, t.Kind, t.Status, t.Name, strings.Join(t.Hosts, " "))
				}
				return w.Flush()
			})
		}},
		{name: "tenant show", usage: "SLUG  show one tenant", run: oneSlug(func(ctx context.Context, e Env, a *app.App, slug string, _ []string) error {
			t, err := a.Tenants.BySlug(ctx, slug)
			if err == nil {
				printTenant(e.Stdout, t)
			}
			return err
		}, 0)},
		{name: "tenant suspend", usage: "SLUG  stop serving a tenant's site (503)", run: oneSlug(func(ctx context.Context, e Env, a *app.App, slug string, _ []string) error {
			t, err := a.Tenants.SetStatus(ctx, cliActor(), slug, tenants.Suspended)
			if err == nil {
				fmt.Fprintf(e.Stdout, "tenant %s suspended\n", t.Slug)
			}
			return err
		}, 0)},
		{name: "tenant resume", usage: "SLUG  serve a suspended tenant's site again", run: oneSlug(func(ctx context.Context, e Env, a *app.App, slug string, _ []string) error {
			t, err := a.Tenants.SetStatus(ctx, cliActor(), slug, tenants.Active)
			if err == nil {
				fmt.Fprintf(e.Stdout, "tenant %s resumed\n", t.Slug)
			}
			return err
		}, 0)},
		{name: "tenant add-host", usage: "SLUG HOST  serve a tenant on one more host name", run: oneSlug(func(ctx context.Context, e Env, a *app.App, slug string, args []string) error {
			t, err := a.Tenants.AddHost(ctx, cliActor(), slug, args[0])
			if err == nil {
				printTenant(e.Stdout, t)
			}
			return err
		}, 1)},
		{name: "user create", usage: "--tenant SLUG --email E --role ROLE [--name N] [--password P]  (a password is generated and printed if none is given)",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&slug, "tenant", "", "tenant slug (platform for platform staff)")
				fs.StringVar(&email, "email", "", "email address")
				fs.StringVar(&role, "role", "", "platform-admin, tenant-admin, moderator, auditor, ops or citizen")
				fs.StringVar(&name, "name", "", "display name")
				fs.StringVar(&password, "password", "", "password (at least 10 characters); generated when empty")
			},
			run: func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
				return withTenant(ctx, e, cfg, args, slug, func(a *app.App, t tenants.Tenant) error {
					pw, generated := password, password == ""
					if generated {
						pw = randomPassword()
					}
					m, err := a.Staff.Create(ctx, cliActor(), t.ID, staffUser(email, name, pw, role))
					if err != nil {
						return err
					}
					fmt.Fprintf(e.Stdout, "user %s (id %d) created in %s with role %s\n", m.Email, m.ID, t.Slug, strings.Join(m.Roles, ", "))
					if generated {
						fmt.Fprintf(e.Stdout, "password: %s\n", pw)
					}
					return nil
				})
			}},
		{name: "token create", usage: "--tenant SLUG --email E [--name N]  print a new API token for Authorization: Bearer",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&slug, "tenant", "", "tenant slug")
				fs.StringVar(&email, "email", "", "email of the account the token acts for")
				fs.StringVar(&tokenName, "name", "cli", "a name to recognise the token by")
			},
			run: func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
				return withTenant(ctx, e, cfg, args, slug, func(a *app.App, t tenants.Tenant) error {
					m, err := a.Staff.ByEmail(ctx, t.ID, email)
					if err != nil {
						return err
					}
					plain, _, err := a.Staff.CreateToken(ctx, cliActor(), t.ID, m.ID, tokenName)
					if err != nil {
						return err
					}
					fmt.Fprintln(e.Stdout, plain)
					return nil
				})
			}},
		{name: "migrate up", usage: "apply pending migrations", run: func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
			db, err := store.Open(ctx, cfg.DatabaseURL)
			if err != nil {
				return err
			}
			defer db.Close()
			applied, err := store.Migrate(ctx, db)
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				fmt.Fprintln(e.Stdout, "database is up to date")
			}
			for _, m := range applied {
				fmt.Fprintf(e.Stdout, "applied %s\n", m)
			}
			return nil
		}},
		{name: "migrate status", usage: "list migrations and whether each is applied", run: func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
			db, err := store.Open(ctx, cfg.DatabaseURL)
			if err != nil {
				return err
			}
			defer db.Close()
			st, err := store.Status(ctx, db)
			if err != nil {
				return err
			}
			for _, m := range st {
				state := "pending"
				if m.Applied {
					state = "applied"
				}
				fmt.Fprintf(e.Stdout, "%-8s %s\n", state, m.Name)
			}
			return nil
		}},
		{name: "backup", usage: "FILE  write a consistent copy of the database to a new file, while the server runs (SQLite: VACUUM INTO; PostgreSQL: pg_dump -Fc)",
			run: func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
				if len(args) != 1 {
					return errUsage
				}
				if err := store.Backup(ctx, cfg.DatabaseURL, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(e.Stdout, "backup written to %s\n", args[0])
				return nil
			}},
		{name: "restore", usage: "FILE  load a backup into a new, empty database (server stopped; PostgreSQL: pg_restore)",
			run: func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
				if len(args) != 1 {
					return errUsage
				}
				if err := store.Restore(ctx, cfg.DatabaseURL, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(e.Stdout, "restored %s; check it with: concorde audit verify\n", args[0])
				return nil
			}},
		{name: "results recompute", usage: "--tenant SLUG --consultation SLUG [--check]  recompute every counter from the raw votes",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&slug, "tenant", "", "tenant slug")
				fs.StringVar(&name, "consultation", "", "consultation slug")
				fs.BoolVar(&check, "check", false, "only compare with the stored counters; change nothing")
			},
			run: func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
				return withTenant(ctx, e, cfg, args, slug, func(a *app.App, t tenants.Tenant) error { return recompute(ctx, e, a, t, name, check) })
			}},
		{name: "results verify", usage: "--tenant SLUG --consultation SLUG  rebuild a published consultation's results from the raw votes and compare them with its frozen snapshot and SHA-256",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&slug, "tenant", "", "tenant slug")
				fs.StringVar(&name, "consultation", "", "consultation slug")
			},
			run: func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
				return withTenant(ctx, e, cfg, args, slug, func(a *app.App, t tenants.Tenant) error { return resultsVerify(ctx, e, a, t, name) })
			}},
		{name: "results snapshot", usage: "--tenant SLUG --consultation SLUG  freeze the results of a consultation published before snapshots existed, as they are now",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&slug, "tenant", "", "tenant slug")
				fs.StringVar(&name, "consultation", "", "consultation slug")
			},
			run: func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
				return withTenant(ctx, e, cfg, args, slug, func(a *app.App, t tenants.Tenant) error {
					if name == "" {
						return errs.Field("consultation", "give --consultation SLUG")
					}
					c, err := a.Consultations.Get(ctx, t.ID, name)
					if err != nil {
						return err
					}
					sum, err := a.Snapshots.Freeze(ctx, cliActor(), c)
					if err != nil {
						return err
					}
					fmt.Fprintf(e.Stdout, "sha256: %s\n", sum)
					return nil
				})
			}},
		{name: "audit verify", usage: "[--tenant SLUG] [--head FILE]  recompute the audit hash chains and name the first broken entry",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&slug, "tenant", "", "only this tenant (default: all)")
				fs.StringVar(&headFile, "head", "", "a signed head saved from GET /api/v1/audit/head: also check the chain still ends as it said")
			},
			run: func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
				if len(args) > 0 {
					return errUsage
				}
				if headFile != "" {
					return withApp(ctx, e, cfg, func(a *app.App) error { return auditVerifyHead(ctx, e, a, slug, headFile) })
				}
				return withApp(ctx, e, cfg, func(a *app.App) error { return auditVerify(ctx, e, a, slug) })
			}},
	}
	list = append(list, pluginCommands()...)
	out := make(map[string]command, len(list))
	for _, c := range list {
		out[c.name] = c
	}
	return out
}

func withApp(ctx context.Context, e Env, cfg *config.Config, fn func(a *app.App) error) error {
	a, err := open(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

// withTenant runs fn for a command that takes no positional argument and names its tenant
// with --tenant.
func withTenant(ctx context.Context, e Env, cfg *config.Config, args []string, slug string, fn func(a *app.App, t tenants.Tenant) error) error {
	if len(args) > 0 {
		return errUsage
	}
	return withApp(ctx, e, cfg, func(a *app.App) error {
		t, err := tenantBySlug(ctx, a, slug)
		if err != nil {
			return err
		}
		return fn(a, t)
	})
}

// oneSlug adapts a command taking SLUG and n more positional arguments.
func oneSlug(fn func(ctx context.Context, e Env, a *app.App, slug string, args []string) error, n int) func(context.Context, Env, *config.Config, *flag.FlagSet, []string) error {
	return func(ctx context.Context, e Env, cfg *config.Config, _ *flag.FlagSet, args []string) error {
		if len(args) != n+1 {
			return errUsage
		}
		return withApp(ctx, e, cfg, func(a *app.App) error { return fn(ctx, e, a, args[0], args[1:]) })
	}
}

func printTenant(w io.Writer, t tenants.Tenant) {
	fmt.Fprintf(w, "slug:    %s\nkind:    %s\nname:    %s\nstatus:  %s\nhosts:   %s\nlocale:  %s\nzone:    %s\ncolours: %s %s\n",
		t.Slug, t.Kind, t.Name, t.Status, strings.Join(t.Hosts, " "), t.DefaultLocale, t.TimeZone, t.ColorPrimary, t.ColorAccent)
}

// auditVerify checks one tenant's chain, or all of them; a broken chain is a failure.
func auditVerify(ctx context.Context, e Env, a *app.App, slug string) error {
	var reports []audit.Report
	if slug != "" {
		t, err := a.Tenants.BySlug(ctx, slug)
		if err != nil {
			return err
		}
		r, err := a.Audit.Verify(ctx, t.ID)
		if err != nil {
			return err
		}
		reports = append(reports, r)
	} else {
		var err error
		if reports, err = a.Audit.VerifyAll(ctx); err != nil {
			return err
		}
	}
	slugs := map[int64]string{}
	if ts, err := a.Tenants.List(ctx); err == nil {
		for _, t := range ts {
			slugs[t.ID] = t.Slug
		}
	}
	return printReports(e, slugs, reports)
}

func printReports(e Env, slugs map[int64]string, reports []audit.Report) error {
	broken := 0
	for _, r := range reports {
		legacy := ""
		if r.Legacy > 0 {
			legacy = fmt.Sprintf(" (entries 1-%d legacy, unkeyed)", r.Legacy)
		}
		if r.OK {
			fmt.Fprintf(e.Stdout, "ok      %-20s %d entries%s\n", slugs[r.TenantID], r.Entries, legacy)
			continue
		}
		broken++
		fmt.Fprintf(e.Stdout, "BROKEN  %-20s %d entries%s; first broken entry: #%d (%s)\n", slugs[r.TenantID], r.Entries, legacy, r.FirstBroken, r.Reason)
	}
	if broken > 0 {
		return fmt.Errorf("%d audit chain(s) broken", broken)
	}
	return nil
}

// recomputeOpinions computes the opinion groups, bridging scores and coalesced sessions from
// the raw sequence votes with the published rules and prints their digest, which the results API publishes
// (opinion_groups.digest): the same votes give the same digest.
func recomputeOpinions(ctx context.Context, e Env, a *app.App, t tenants.Tenant, consultationID int64) error {
	start := time.Now()
	o, err := a.Votes.Opinions(ctx, t.ID, consultationID, results.DefaultGroupsConfig())
	if err != nil {
		return err
	}
	var holds, bridging int
	for _, p := range o.Proposals {
		if p.Across == results.AcrossHolds {
			holds++
		}
		if p.Bridging {
			bridging++
		}
	}
	fmt.Fprintf(e.Stdout, "opinion groups from %d sequence votes in %s: %d participants placed, groups %v (silhouette %.3f)\n",
		o.Votes, time.Since(start).Round(time.Millisecond), o.Participants, o.GroupSizes, o.Silhouette)
	if c := o.Coalesced; c != nil {
		fmt.Fprintf(e.Stdout, "%d group(s) of sessions from one source voting alike count as one participant each (%d sessions)\n", c.Groups, c.Sessions)
	}
	fmt.Fprintf(e.Stdout, "%d proposal(s) hold consensus across groups, %d bridge; opinions digest %s\n", holds, bridging, o.Digest)
	return nil
}

// auditVerifyHead checks a tenant's chain against a signed head saved from the API.
func auditVerifyHead(ctx context.Context, e Env, a *app.App, slug, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return errs.Field("head", "cannot read the head file: %v", err)
	}
	var h audit.Head
	if err := json.Unmarshal(b, &h); err != nil {
		return errs.Field("head", "%s is not a head saved from GET /api/v1/audit/head: %v", file, err)
	}
	t, err := a.Tenants.BySlug(ctx, h.Tenant)
	if err != nil {
		return err
	}
	if t.ID != h.TenantID || slug != "" && slug != t.Slug {
		return errs.Field("head", "the head is of tenant %s (%d), not of this installation's tenant %s", h.Tenant, h.TenantID, cmp.Or(slug, t.Slug))
	}
	r, err := a.Audit.VerifyHead(ctx, h)
	if err != nil {
		return err
	}
	if err := printReports(e, map[int64]string{t.ID: t.Slug}, []audit.Report{r}); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "the chain holds the signed head: entry #%d of %s\n", h.Seq, h.At.Format(time.RFC3339))
	return nil
}

func staffUser(email, name, password, role string) staff.NewUser {
	return staff.NewUser{Email: email, Name: name, Password: password, Role: role}
}

// recompute rebuilds a consultation's counters from its raw votes, with a progress bar on
// stderr, and says whether they matched what results were built from.
func recompute(ctx context.Context, e Env, a *app.App, t tenants.Tenant, consultationSlug string, check bool) error {
	if consultationSlug == "" {
		return errs.Field("consultation", "give --consultation SLUG")
	}
	c, err := a.Consultations.Get(ctx, t.ID, consultationSlug)
	if err != nil {
		return err
	}
	start := time.Now()
	last := time.Time{}
	progress := func(done, total int64) {
		if time.Since(last) < 100*time.Millisecond && done != total {
			return
		}
		last = time.Now()
		const width = 40
		filled := width
		if total > 0 {
			filled = int(done * width / total)
		}
		fmt.Fprintf(e.Stderr, "\r[%s%s] %d/%d votes", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
	}
	d, err := a.Votes.Recompute(ctx, t.ID, c.ID, !check, progress)
	fmt.Fprintln(e.Stderr)
	if err != nil {
		return err
	}
	a.Catalog.Invalidate(t.ID, c.ID)
	fmt.Fprintf(e.Stdout, "%d votes on %d proposals recomputed in %s\n", d.Votes, d.Proposals, time.Since(start).Round(time.Millisecond))
	if err := recomputeOpinions(ctx, e, a, t, c.ID); err != nil {
		return err
	}
	if len(d.Mismatches) == 0 {
		fmt.Fprintln(e.Stdout, "the stored counters match the raw votes")
		return nil
	}
	for _, m := range d.Mismatches {
		fmt.Fprintf(e.Stdout, "proposal %d: stored counters differ from the raw votes\n", m.ProposalID)
	}
	if check {
		return fmt.Errorf("%d proposal(s) have counters that do not follow from the votes", len(d.Mismatches))
	}
	fmt.Fprintf(e.Stdout, "%d proposal(s) corrected\n", len(d.Mismatches))
	return nil
}

// resultsVerify checks a published consultation's frozen results against its raw votes and
// prints the SHA-256 anyone can compare with the one on the results page; any difference is
// named and is a failure.
func resultsVerify(ctx context.Context, e Env, a *app.App, t tenants.Tenant, consultationSlug string) error {
	if consultationSlug == "" {
		return errs.Field("consultation", "give --consultation SLUG")
	}
	c, err := a.Consultations.Get(ctx, t.ID, consultationSlug)
	if err != nil {
		return err
	}
	r, err := a.Snapshots.Verify(ctx, c)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "sha256:     %s (published %s)\n", r.SHA256, r.TakenAt.Format(time.RFC3339))
	fmt.Fprintf(e.Stdout, "snapshot:   %s\n", r.BodySHA256)
	fmt.Fprintf(e.Stdout, "recomputed: %s (from %d raw votes)\n", r.RecomputedSHA256, r.Votes)
	if r.Match {
		fmt.Fprintln(e.Stdout, "match: the published results follow from the raw votes")
		return nil
	}
	for _, d := range r.Differences {
		fmt.Fprintln(e.Stdout, "DIFFERS  "+d)
	}
	return fmt.Errorf("the published results of %q do not match: %d difference(s)", c.Slug, len(r.Differences))
}
