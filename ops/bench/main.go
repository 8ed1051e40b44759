// Command bench measures the real concorde server (a separate process, driven over HTTP by
// ops/loadgen) against a plain route measured in the same run and at the same concurrency, on
// SQLite and then PostgreSQL, and prints Markdown tables for BENCHMARKS.md. `make bench` runs it.
//
//	go run ./ops/bench [-quick] [-pg postgres://postgres@127.0.0.1:5432/concorde_bench?sslmode=disable]
//
// Speed targets (issue 3): votes ≥ 0.30× the plain route on SQLite and ≥ 0.12× on
// PostgreSQL with p99 ≤ 25 ms and no errors; sequences ≥ 0.30×; the results of a
// consultation with 3,000 proposals and 1,000,000 votes served in ≤ 20 ms and recomputed
// from the raw votes in ≤ 2 s. Opinion groups and bridging (issue 8) for those 1,000,000
// votes of 100,000 participants computed in ≤ 10 s. Many tenants (issue 15): with 10,000
// tenants that have a tenant admin each, and 100,000 without accounts: start-up ≤ 2 s,
// `concorde tenant create` ≤ 0.5 s and an idle server under 2 % of a core (beside the same
// measures on an empty installation).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/e2e"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/ops/loadgen"
)

const (
	host       = "bretagne.localhost"
	tenantSlug = "bretagne"
	adminEmail = "admin@bretagne.localhost"
)

type options struct {
	pg               string
	concurrency      int
	duration         time.Duration
	proposals        int
	quick            bool
	resultsProposals int
	resultsVotes     int
	votesPerPerson   int
	keep             bool
	bin              string
	tenants          int
	bareTenants      int
	idle             time.Duration
	tenantsOnly      bool
	scale            string
	scaleOnly        bool
	scaleRounds      int
	scaleDrift       float64
	scaleSQLite      string // the scale suite's SQLite database, kept and reused; "" for a new one
	scalePGSchema    string // the scale suite's PostgreSQL schema, kept and reused; "" for a new one
}

func main() {
	var o options
	flag.StringVar(&o.pg, "pg", os.Getenv("TEST_DATABASE_URL"), "PostgreSQL URL (the database is created if missing; the bench works in a schema of its own); empty: SQLite only")
	flag.IntVar(&o.concurrency, "c", 32, "concurrent participants, the same for every route")
	flag.DurationVar(&o.duration, "d", 8*time.Second, "duration of each throughput measurement")
	flag.IntVar(&o.proposals, "proposals", 300, "accepted proposals in the consultation the load votes on")
	flag.BoolVar(&o.quick, "quick", false, "skip the results part (3,000 proposals, 1,000,000 votes)")
	flag.IntVar(&o.resultsProposals, "results-proposals", 3000, "proposals of the results consultation")
	flag.IntVar(&o.resultsVotes, "results-votes", 1_000_000, "votes of the results consultation")
	flag.IntVar(&o.votesPerPerson, "results-votes-per-participant", 10, "sequence votes per participant of the results consultation (10: 100,000 participants for 1,000,000 votes)")
	flag.BoolVar(&o.keep, "keep", false, "keep the databases and server logs")
	flag.StringVar(&o.bin, "bin", "", "a concorde binary to measure instead of building this tree")
	flag.IntVar(&o.tenants, "tenants", 10_000, "tenants (each with a tenant admin) of the many-tenants part; 0 leaves it out")
	flag.IntVar(&o.bareTenants, "tenants-without-accounts", 100_000, "tenants without any account of the many-tenants part; 0 leaves it out")
	flag.DurationVar(&o.idle, "idle", 10*time.Second, "how long the idle processor time of the many-tenants part is measured")
	flag.BoolVar(&o.tenantsOnly, "tenants-only", false, "measure only the many-tenants part")
	flag.StringVar(&o.scale, "scale", "300:10000,3000:1000000", "consultations of the scale suite, proposals:votes, the smallest first (10M votes: add 30000:10000000); empty or -quick leaves it out")
	flag.BoolVar(&o.scaleOnly, "scale-only", false, "measure only the scale suite")
	flag.IntVar(&o.scaleRounds, "scale-rounds", 3, "rounds of the scale suite's measures, each consultation once per round; the ratios are medians over the rounds, which a drifting machine load moves less")
	flag.Float64Var(&o.scaleDrift, "scale-drift", 0.05, "a kept consultation whose votes exceed its seeded ones by more than this share (earlier runs' loads) has those votes removed and its counters rebuilt; 0 is taken as 0.05; negative: never")
	flag.StringVar(&o.scaleSQLite, "scale-sqlite", "", "the scale suite's SQLite database file: kept, and what it already holds is not seeded again (one 10M-vote seeding for several builds); empty: a new one")
	flag.StringVar(&o.scalePGSchema, "scale-pg-schema", "", "the scale suite's PostgreSQL schema in the -pg database: kept and reused like -scale-sqlite; empty: a new one, dropped after")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// dialectRun is what one dialect measured.
type dialectRun struct {
	name                  string
	plain                 []loadgen.Report // before and after the others
	vote, sequence        loadgen.Report
	coreJSON, pluginJSON  loadgen.Report // a core JSON route and a plugin's, each reading storage
	results               *resultsRun
	voteTarget, seqTarget float64
}

func (d dialectRun) plainThroughput() float64 {
	var sum float64
	for _, r := range d.plain {
		sum += r.Throughput
	}
	return sum / float64(len(d.plain))
}

type resultsRun struct {
	votes, proposals int
	insert           time.Duration // loading the votes in bulk (setup, not a target)
	scan             time.Duration // baseline: reading the consultation's raw votes once
	recompute        time.Duration // as printed by `concorde results recompute`
	recomputeWall    time.Duration // the whole command, process start included
	opinions         time.Duration // opinion groups and bridging, as printed by `concorde results recompute`
	participants     int           // participants of the results consultation
	get              latencies     // GET /results
	plain            latencies     // GET /healthz, same client, same pacing
}

type latencies struct{ p50, p99 time.Duration }

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "concorde-bench-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	bin := o.bin
	if bin == "" {
		logf("building the binary in %s", dir)
		if bin, err = e2e.Build(ctx, dir); err != nil {
			return err
		}
	}
	sizes, err := e2e.ParseScale(o.scale)
	if err != nil {
		return err
	}
	if o.quick && !o.scaleOnly {
		sizes = nil
	}
	if o.scaleOnly {
		o.tenantsOnly, o.tenants, o.bareTenants = true, 0, 0
	}
	var scaleRuns []*scaleRun
	if len(sizes) > 0 {
		file := filepath.Join(dir, "scale.db")
		if o.scaleSQLite != "" {
			file = o.scaleSQLite
		}
		sr, err := measureScale(ctx, o, bin, dir, "SQLite", file, sizes, o.scaleSQLite != "")
		if err != nil {
			return fmt.Errorf("SQLite, scale: %w", err)
		}
		scaleRuns = append(scaleRuns, sr)
	}
	var runs []dialectRun
	if !o.tenantsOnly {
		sq, err := measure(ctx, o, bin, dir, "SQLite", filepath.Join(dir, "bench.db"), 0.30)
		if err != nil {
			return fmt.Errorf("SQLite: %w", err)
		}
		runs = append(runs, sq)
	}
	var tenantRuns []*tenantsRun
	// The many-tenants parts: tenants with an admin each, then tenants without accounts.
	parts := []struct {
		n      int
		admins bool
	}{{o.tenants, true}, {o.bareTenants, false}}
	n := 0
	sqliteURL := func() (string, func(), error) {
		n++
		return filepath.Join(dir, fmt.Sprintf("tenants-%d.db", n)), func() {}, nil
	}
	for _, p := range parts {
		if p.n <= 0 {
			continue
		}
		tr, err := measureTenants(ctx, o, bin, dir, "SQLite", p.n, p.admins, sqliteURL)
		if err != nil {
			return fmt.Errorf("SQLite, many tenants: %w", err)
		}
		tenantRuns = append(tenantRuns, tr)
	}
	note := ""
	if o.pg == "" {
		note = "PostgreSQL skipped: give -pg URL or set TEST_DATABASE_URL."
	} else if pgURL, drop, err := e2e.PostgresSchema(ctx, o.pg, "bench"); err != nil {
		note = fmt.Sprintf("PostgreSQL skipped: %v", err)
	} else {
		if !o.tenantsOnly {
			pg, err := measure(ctx, o, bin, dir, "PostgreSQL", pgURL, 0.12)
			if err != nil {
				if !o.keep {
					drop()
				}
				return fmt.Errorf("PostgreSQL: %w", err)
			}
			runs = append(runs, pg)
		}
		if !o.keep {
			drop()
		}
		if len(sizes) > 0 {
			var url string
			var drop func()
			if o.scalePGSchema != "" {
				drop = func() {}
				url, err = e2e.PostgresNamedSchema(ctx, o.pg, o.scalePGSchema)
			} else {
				url, drop, err = e2e.PostgresSchema(ctx, o.pg, "bench")
			}
			if err != nil {
				return err
			}
			sr, err := measureScale(ctx, o, bin, dir, "PostgreSQL", url, sizes, o.scalePGSchema != "")
			if !o.keep {
				drop()
			}
			if err != nil {
				return fmt.Errorf("PostgreSQL, scale: %w", err)
			}
			scaleRuns = append(scaleRuns, sr)
		}
		for _, p := range parts {
			if p.n <= 0 {
				continue
			}
			tr, err := measureTenants(ctx, o, bin, dir, "PostgreSQL", p.n, p.admins, func() (string, func(), error) { return e2e.PostgresSchema(ctx, o.pg, "bench") })
			if err != nil {
				return fmt.Errorf("PostgreSQL, many tenants: %w", err)
			}
			tenantRuns = append(tenantRuns, tr)
		}
	}
	if len(runs) > 0 {
		report(os.Stdout, o, runs, note)
	} else if note != "" {
		fmt.Printf("\n%s\n", note)
	}
	reportTenants(os.Stdout, tenantRuns)
	reportScale(os.Stdout, scaleRuns)
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// measure runs every measurement on one dialect.
func measure(ctx context.Context, o options, bin, dir, name, dbURL string, voteTarget float64) (dialectRun, error) {
	d := dialectRun{name: name, voteTarget: voteTarget, seqTarget: 0.30}
	logPath := filepath.Join(dir, strings.ToLower(name)+".log")
	srv, err := e2e.Start(bin, dbURL, logPath, true)
	if err != nil {
		return d, err
	}
	defer func() { _ = srv.Kill() }()
	token, err := srv.Token(ctx, tenantSlug, adminEmail)
	if err != nil {
		return d, err
	}
	logf("%s: seeding a consultation of %d proposals through the API", name, o.proposals)
	if _, err := srv.Seed(ctx, e2e.Consultation{Host: host, Token: token, Slug: "bench", Proposals: o.proposals}); err != nil {
		return d, err
	}
	load := func(mode string, dur time.Duration) (loadgen.Report, error) {
		path := "/healthz"
		if p, ok := strings.CutPrefix(mode, "plain "); ok {
			mode, path = "plain", p
		}
		r, err := loadgen.Run(ctx, loadgen.Config{BaseURL: srv.URL, Host: host, Consultation: "bench", Mode: mode, Path: path,
			Concurrency: o.concurrency, Duration: dur, Seed: uint64(time.Now().UnixNano())})
		if err == nil {
			logf("%s: %s", name, r)
		}
		return r, err
	}
	// Warm up every path (connections, caches, the catalog entry), then measure the plain
	// route before and after the others so that drift on a shared machine shows.
	for _, mode := range []string{"plain", "sequence", "vote"} {
		if _, err := load(mode, time.Second); err != nil {
			return d, err
		}
	}
	for _, step := range []struct {
		mode string
		into *loadgen.Report
	}{{"plain", nil}, {"vote", &d.vote}, {"sequence", &d.sequence}, {"plain", nil},
		// The plugin platform: a plugin's JSON route (the culture agenda, read through the
		// host's storage service) against a core JSON route that reads the database.
		{"plain /api/v1/consultations", &d.coreJSON}, {"plain /api/v1/p/culture/events", &d.pluginJSON}} {
		r, err := load(step.mode, o.duration)
		if err != nil {
			return d, err
		}
		if step.into != nil {
			*step.into = r
		} else {
			d.plain = append(d.plain, r)
		}
	}
	if o.quick {
		return d, srv.Stop(30 * time.Second)
	}
	d.results, err = measureResults(ctx, o, srv, token, name)
	if err != nil {
		return d, err
	}
	return d, nil
}

// measureResults builds a consultation of o.resultsProposals proposals (through the API) and
// o.resultsVotes votes (inserted directly, server stopped), times `concorde results
// recompute` against a plain read of the same votes, and the latency of GET /results against
// GET /healthz.
func measureResults(ctx context.Context, o options, srv *e2e.Server, token, name string) (*resultsRun, error) {
	rr := &resultsRun{votes: o.resultsVotes, proposals: o.resultsProposals, participants: (o.resultsVotes + o.votesPerPerson - 1) / o.votesPerPerson}
	const slug = "resultats"
	logf("%s: seeding a consultation of %d proposals through the API", name, o.resultsProposals)
	ids, err := srv.Seed(ctx, e2e.Consultation{Host: host, Token: token, Slug: slug, Proposals: o.resultsProposals})
	if err != nil {
		return nil, err
	}
	if err := srv.Stop(30 * time.Second); err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, srv.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var ref struct {
		TenantID       int64 `bun:"tenant_id"`
		ConsultationID int64 `bun:"id"`
	}
	if err := db.NewRaw("SELECT c.tenant_id, c.id FROM consultations c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = ? AND c.slug = ?",
		tenantSlug, slug).Scan(ctx, &ref); err != nil {
		return nil, fmt.Errorf("find consultation %s: %w", slug, err)
	}
	logf("%s: inserting %d votes", name, o.resultsVotes)
	began := time.Now()
	if err := e2e.SeedVotes(ctx, db, ref.TenantID, ref.ConsultationID, ids, o.resultsVotes, o.votesPerPerson, "p:bench"); err != nil {
		return nil, err
	}
	rr.insert = time.Since(began)
	logf("%s: %d votes inserted in %s", name, o.resultsVotes, rr.insert.Round(time.Millisecond))
	if store.DialectOf(db) == store.Postgres {
		if _, err := db.ExecContext(ctx, "ANALYZE votes"); err != nil {
			return nil, err
		}
	}

	// Baseline: one plain read of the consultation's raw votes, the least a recompute does.
	if rr.scan, err = scanVotes(ctx, db, ref.TenantID, ref.ConsultationID); err != nil {
		return nil, err
	}
	began = time.Now()
	out, err := srv.Command(ctx, "results", "recompute", "--tenant", tenantSlug, "--consultation", slug)
	rr.recomputeWall = time.Since(began)
	if err != nil {
		return nil, err
	}
	m := regexp.MustCompile(`recomputed in (\S+)`).FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("recompute printed no duration: %s", out)
	}
	if rr.recompute, err = time.ParseDuration(m[1]); err != nil {
		return nil, err
	}
	logf("%s: %s", name, m[0])
	om := regexp.MustCompile(`opinion groups from \d+ sequence votes in (\S+):`).FindStringSubmatch(out)
	if om == nil {
		return nil, fmt.Errorf("recompute printed no opinion groups: %s", out)
	}
	if rr.opinions, err = time.ParseDuration(om[1]); err != nil {
		return nil, err
	}
	logf("%s: opinion groups in %s", name, rr.opinions)
	if _, err := srv.Command(ctx, "results", "recompute", "--tenant", tenantSlug, "--consultation", slug, "--check"); err != nil {
		return nil, err
	}

	srv2, err := e2e.Start(srv.Bin, srv.DatabaseURL, srv.LogPath, false)
	if err != nil {
		return nil, err
	}
	defer func() { _ = srv2.Kill() }()
	admin := srv2.Client(ctx, host, token)
	var res struct {
		Votes int64 `json:"votes"`
	}
	if _, err := admin.Do("GET", "/api/v1/consultations/"+slug+"/results", nil, &res); err != nil {
		return nil, err
	}
	if res.Votes != int64(o.resultsVotes) {
		return nil, fmt.Errorf("results count %d votes, want %d", res.Votes, o.resultsVotes)
	}
	// Requests paced 50 ms apart for 5 s, so the catalog entry (reloaded in the background
	// once 2 s old) and its ranking are rebuilt during the measurement, as in production.
	if rr.get, err = paced(admin, "/api/v1/consultations/"+slug+"/results", 100); err != nil {
		return nil, err
	}
	if rr.plain, err = paced(admin, "/healthz", 100); err != nil {
		return nil, err
	}
	logf("%s: GET results p50 %s p99 %s; GET /healthz p50 %s p99 %s", name, rr.get.p50, rr.get.p99, rr.plain.p50, rr.plain.p99)
	return rr, srv2.Stop(30 * time.Second)
}

func paced(c *e2e.Client, path string, n int) (latencies, error) {
	lat := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if _, err := c.Do("GET", path, nil, nil); err != nil {
			return latencies{}, err
		}
		lat = append(lat, time.Since(t0))
		time.Sleep(50 * time.Millisecond)
	}
	slices.Sort(lat)
	return latencies{p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}, nil
}

func scanVotes(ctx context.Context, db *bun.DB, tenantID, consultationID int64) (time.Duration, error) {
	began := time.Now()
	rows, err := db.QueryContext(ctx, "SELECT proposal_id, vote, qualifications, trust FROM votes WHERE tenant_id = ? AND consultation_id = ?", tenantID, consultationID)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var p, v, q, t int64
	for rows.Next() {
		if err := rows.Scan(&p, &v, &q, &t); err != nil {
			return 0, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return time.Since(began), nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

// report prints the Markdown tables.
func report(w io.Writer, o options, runs []dialectRun, note string) {
	machine, _ := os.Hostname()
	fmt.Fprintf(w, "\n## Run of %s on %s (%d CPUs, %s/%s, %s)\n\n", time.Now().Format("2006-01-02 15:04"), machine, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(w, "Load: %d concurrent participants, %s per measurement, a consultation of %d accepted proposals; server and load generator share the machine.\n\n", o.concurrency, o.duration, o.proposals)
	fmt.Fprintln(w, "| Dialect | Route | req/s | p50 | p99 | errors | × plain | target | |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---|---|")
	for _, d := range runs {
		base := d.plainThroughput()
		for i, p := range d.plain {
			fmt.Fprintf(w, "| %s | plain GET /healthz (%s) | %.0f | %s | %s | %d | %.2f | baseline | |\n", d.name, []string{"before", "after"}[i], p.Throughput, ms(p.P50), ms(p.P99), p.Errors, p.Throughput/base)
		}
		vr := d.vote.Throughput / base
		vOK := vr >= d.voteTarget && d.vote.P99 <= 25*time.Millisecond && d.vote.Errors == 0
		fmt.Fprintf(w, "| %s | vote, full path | %.0f | %s | %s | %d | **%.3f** | ≥ %.2f×, p99 ≤ 25 ms, no errors | %s |\n", d.name, d.vote.Throughput, ms(d.vote.P50), ms(d.vote.P99), d.vote.Errors, vr, d.voteTarget, verdict(vOK))
		sr := d.sequence.Throughput / base
		fmt.Fprintf(w, "| %s | GET sequence | %.0f | %s | %s | %d | **%.3f** | ≥ %.2f× | %s |\n", d.name, d.sequence.Throughput, ms(d.sequence.P50), ms(d.sequence.P99), d.sequence.Errors, sr, d.seqTarget, verdict(sr >= d.seqTarget && d.sequence.Errors == 0))
		if d.coreJSON.Throughput > 0 {
			pr := d.pluginJSON.Throughput / d.coreJSON.Throughput
			fmt.Fprintf(w, "| %s | core JSON GET /api/v1/consultations | %.0f | %s | %s | %d | %.3f | baseline of the plugin route | |\n", d.name, d.coreJSON.Throughput, ms(d.coreJSON.P50), ms(d.coreJSON.P99), d.coreJSON.Errors, d.coreJSON.Throughput/base)
			fmt.Fprintf(w, "| %s | plugin JSON GET /api/v1/p/culture/events | %.0f | %s | %s | %d | **%.3f× core JSON** | ≥ 0.50× the core JSON route | %s |\n", d.name, d.pluginJSON.Throughput, ms(d.pluginJSON.P50), ms(d.pluginJSON.P99), d.pluginJSON.Errors, pr, verdict(pr >= 0.5 && d.pluginJSON.Errors == 0))
		}
	}
	var withResults []dialectRun
	for _, d := range runs {
		if d.results != nil {
			withResults = append(withResults, d)
		}
	}
	if len(withResults) > 0 {
		r0 := withResults[0].results
		fmt.Fprintf(w, "\nResults of a consultation with %d proposals and %d votes:\n\n", r0.proposals, r0.votes)
		fmt.Fprintln(w, "| Dialect | Measure | time | baseline | × baseline | target | |")
		fmt.Fprintln(w, "|---|---|---:|---|---:|---|---|")
		for _, d := range withResults {
			r := d.results
			fmt.Fprintf(w, "| %s | full recompute (`concorde results recompute`) | %s | one plain read of the raw votes: %s | %.1f | ≤ 2 s | %s |\n",
				d.name, r.recompute.Round(time.Millisecond), r.scan.Round(time.Millisecond), r.recompute.Seconds()/r.scan.Seconds(), verdict(r.recompute <= 2*time.Second))
			fmt.Fprintf(w, "| %s | opinion groups and bridging, %d participants (`concorde results recompute`) | %s | one plain read of the raw votes: %s | %.1f | ≤ 10 s | %s |\n",
				d.name, r.participants, r.opinions.Round(time.Millisecond), r.scan.Round(time.Millisecond), r.opinions.Seconds()/r.scan.Seconds(), verdict(r.opinions <= 10*time.Second))
			fmt.Fprintf(w, "| %s | the same, whole command (process start included) | %s | | | | |\n", d.name, r.recomputeWall.Round(time.Millisecond))
			fmt.Fprintf(w, "| %s | GET /results p50 | %s | GET /healthz p50: %s | %.1f | ≤ 20 ms | %s |\n",
				d.name, ms(r.get.p50), ms(r.plain.p50), r.get.p50.Seconds()/r.plain.p50.Seconds(), verdict(r.get.p50 <= 20*time.Millisecond))
			fmt.Fprintf(w, "| %s | GET /results p99 | %s | GET /healthz p99: %s | %.1f | ≤ 20 ms | %s |\n",
				d.name, ms(r.get.p99), ms(r.plain.p99), r.get.p99.Seconds()/r.plain.p99.Seconds(), verdict(r.get.p99 <= 20*time.Millisecond))
			fmt.Fprintf(w, "| %s | (setup) %d votes inserted in bulk (COPY on PostgreSQL) | %s | | | | |\n", d.name, r.votes, r.insert.Round(time.Millisecond))
		}
	}
	if note != "" {
		fmt.Fprintf(w, "\n%s\n", note)
	}
}
