package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/concorde-civic/concorde/core/e2e"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/ops/loadgen"
)

// scaleSize is one consultation of the scale suite: its accepted proposals and stored votes.
type scaleSize struct{ proposals, votes int }

// parseScale reads "300:10000,3000:1000000" (proposals:votes, the smallest first).
func parseScale(s string) ([]scaleSize, error) {
	var out []scaleSize
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		p, v, ok := strings.Cut(part, ":")
		np, err1 := strconv.Atoi(p)
		nv, err2 := strconv.Atoi(v)
		if !ok || err1 != nil || err2 != nil || np < 10 || nv < 0 {
			return nil, fmt.Errorf("-scale: %q is not proposals:votes (at least 10 proposals)", part)
		}
		out = append(out, scaleSize{np, nv})
	}
	return out, nil
}

// scalePoint is what one consultation size measured.
type scalePoint struct {
	size                  scaleSize
	seedProposals         time.Duration // the proposals, through the API
	seedVotes             time.Duration // the votes, in bulk
	recount               time.Duration // `concorde results recompute` writing the counters
	plain, vote, sequence loadgen.Report
}

// scaleRun is the scale suite on one dialect.
type scaleRun struct {
	name   string
	points []scalePoint
}

// measureScale seeds one consultation per size on a new installation (the proposals through
// the API, the votes in bulk with the server stopped, then the counters rebuilt by `concorde
// results recompute`), starts the server again, and measures the vote path and the sequence
// on each consultation against GET /healthz measured just before, at the same concurrency.
func measureScale(ctx context.Context, o options, bin, dir, name, dbURL string, sizes []scaleSize) (*scaleRun, error) {
	run := &scaleRun{name: name}
	logPath := filepath.Join(dir, strings.ToLower(name)+"-scale.log")
	srv, err := e2e.Start(bin, dbURL, logPath, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = srv.Kill() }()
	token, err := srv.Token(ctx, tenantSlug, adminEmail)
	if err != nil {
		return nil, err
	}
	ids := make([][]int64, len(sizes))
	for i, sz := range sizes {
		logf("%s: scale: seeding %d proposals through the API", name, sz.proposals)
		t0 := time.Now()
		if ids[i], err = srv.Seed(ctx, e2e.Consultation{Host: host, Token: token, Slug: scaleSlug(sz), Proposals: sz.proposals}); err != nil {
			return nil, err
		}
		run.points = append(run.points, scalePoint{size: sz, seedProposals: time.Since(t0)})
	}
	if err := srv.Stop(30 * time.Second); err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, srv.DatabaseURL)
	if err != nil {
		return nil, err
	}
	for i := range run.points {
		p := &run.points[i]
		var ref struct {
			TenantID       int64 `bun:"tenant_id"`
			ConsultationID int64 `bun:"id"`
		}
		if err := db.NewRaw("SELECT c.tenant_id, c.id FROM consultations c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = ? AND c.slug = ?",
			tenantSlug, scaleSlug(p.size)).Scan(ctx, &ref); err != nil {
			db.Close()
			return nil, fmt.Errorf("find consultation %s: %w", scaleSlug(p.size), err)
		}
		logf("%s: scale: inserting %d votes", name, p.size.votes)
		t0 := time.Now()
		per := min(o.votesPerPerson, len(ids[i]))
		if err := e2e.SeedVotes(ctx, db, ref.TenantID, ref.ConsultationID, ids[i], p.size.votes, per, "p:scale"+strconv.Itoa(i)+"-"); err != nil {
			db.Close()
			return nil, err
		}
		p.seedVotes = time.Since(t0)
		logf("%s: scale: %d votes inserted in %s", name, p.size.votes, p.seedVotes.Round(time.Millisecond))
	}
	if store.DialectOf(db) == store.Postgres {
		if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
			db.Close()
			return nil, err
		}
	}
	db.Close()
	for i := range run.points {
		p := &run.points[i]
		t0 := time.Now()
		if _, err := srv.Command(ctx, "results", "recompute", "--tenant", tenantSlug, "--consultation", scaleSlug(p.size)); err != nil {
			return nil, err
		}
		p.recount = time.Since(t0)
	}

	srv2, err := e2e.Start(bin, srv.DatabaseURL, logPath, false)
	if err != nil {
		return nil, err
	}
	defer func() { _ = srv2.Kill() }()
	for i := range run.points {
		p := &run.points[i]
		load := func(mode string, d time.Duration) (loadgen.Report, error) {
			r, err := loadgen.Run(ctx, loadgen.Config{BaseURL: srv2.URL, Host: host, Consultation: scaleSlug(p.size), Mode: mode, Path: "/healthz",
				Concurrency: o.concurrency, Duration: d, Seed: uint64(time.Now().UnixNano())})
			if err == nil {
				logf("%s: scale %d proposals, %d votes: %s", name, p.size.proposals, p.size.votes, r)
			}
			return r, err
		}
		for _, mode := range []string{"plain", "sequence", "vote"} { // warm-up: connections, the catalog entry
			if _, err := load(mode, time.Second); err != nil {
				return nil, err
			}
		}
		for _, step := range []struct {
			mode string
			into *loadgen.Report
		}{{"plain", &p.plain}, {"vote", &p.vote}, {"sequence", &p.sequence}} {
			if *step.into, err = load(step.mode, o.duration); err != nil {
				return nil, err
			}
		}
	}
	return run, srv2.Stop(30 * time.Second)
}

func scaleSlug(sz scaleSize) string { return fmt.Sprintf("scale-%d", sz.proposals) }

// reportScale prints the Markdown table of the scale suite.
func reportScale(w io.Writer, runs []*scaleRun) {
	if len(runs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nScale suite (issue 15): the vote path and the sequence on consultations of growing size, each as a ratio to GET /healthz measured just before it, then against the smallest consultation:\n\n")
	fmt.Fprintln(w, "| Dialect | proposals | stored votes | seeding: proposals (API) / votes (bulk) / counters | vote × plain | sequence × plain | vote vs smallest | sequence vs smallest | errors |")
	fmt.Fprintln(w, "|---|---:|---:|---|---:|---:|---:|---:|---:|")
	for _, r := range runs {
		if len(r.points) == 0 {
			continue
		}
		ratio := func(x, plain loadgen.Report) float64 { return x.Throughput / plain.Throughput }
		v0, s0 := ratio(r.points[0].vote, r.points[0].plain), ratio(r.points[0].sequence, r.points[0].plain)
		for _, p := range r.points {
			v, s := ratio(p.vote, p.plain), ratio(p.sequence, p.plain)
			fmt.Fprintf(w, "| %s | %d | %d | %s / %s / %s | %.3f | %.3f | **%.2f** | **%.2f** | %d |\n", r.name, p.size.proposals, p.size.votes,
				p.seedProposals.Round(100*time.Millisecond), p.seedVotes.Round(100*time.Millisecond), p.recount.Round(100*time.Millisecond),
				v, s, v/v0, s/s0, p.vote.Errors+p.sequence.Errors)
		}
	}
	fmt.Fprintln(w, "\nTargets (issue 15): at 1,000,000 votes and 3,000 proposals ≥ 0.9× the smallest, at 10,000,000 and 30,000 ≥ 0.8×, for both paths on both dialects.")
}
