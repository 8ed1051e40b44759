package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/ops/loadgen"
)

// ScaleSize is one consultation of the scale suite: its accepted proposals and stored votes.
type ScaleSize struct{ Proposals, Votes int }

// ParseScale reads "300:10000,3000:1000000" (proposals:votes, the smallest first).
func ParseScale(s string) ([]ScaleSize, error) {
	var out []ScaleSize
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		p, v, ok := strings.Cut(part, ":")
		np, err1 := strconv.Atoi(p)
		nv, err2 := strconv.Atoi(v)
		if !ok || err1 != nil || err2 != nil || np < 10 || nv < 0 {
			return nil, fmt.Errorf("scale: %q is not proposals:votes (at least 10 proposals)", part)
		}
		out = append(out, ScaleSize{np, nv})
	}
	return out, nil
}

// ScalePoint is what one consultation size measured.
type ScalePoint struct {
	Size                  ScaleSize
	SeedProposals         time.Duration // the proposals, in bulk
	SeedVotes             time.Duration // the votes, in bulk
	Recount               time.Duration // `concorde results recompute` writing the counters
	Plain, Vote, Sequence loadgen.Report
}

// VoteRatio and SequenceRatio are the throughputs as a share of GET /healthz's just before.
func (p ScalePoint) VoteRatio() float64     { return p.Vote.Throughput / p.Plain.Throughput }
func (p ScalePoint) SequenceRatio() float64 { return p.Sequence.Throughput / p.Plain.Throughput }

// ScaleOptions tune ScaleSuite.
type ScaleOptions struct {
	Concurrency         int           // concurrent participants of each measure
	Duration            time.Duration // of each measure
	VotesPerParticipant int           // sequence votes per seeded participant (10 by default)
	Log                 func(format string, args ...any)
}

// The demo site the suite seeds its consultations on.
const (
	demoHost   = "bretagne.localhost"
	demoTenant = "bretagne"
	demoAdmin  = "admin@bretagne.localhost"
)

// ScaleSuite seeds one consultation per size on a new installation at dbURL (the consultation
// through the API; its proposals and votes in bulk with the server stopped, see SeedProposals
// and SeedVotes; then the counters rebuilt by `concorde results recompute`), starts the server
// again, and measures the vote path and the sequence on each consultation against GET
// /healthz measured just before, at the same concurrency.
func ScaleSuite(ctx context.Context, bin, dbURL, logPath string, sizes []ScaleSize, o ScaleOptions) ([]ScalePoint, error) {
	if o.VotesPerParticipant <= 0 {
		o.VotesPerParticipant = 10
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	var points []ScalePoint
	srv, err := Start(bin, dbURL, logPath, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = srv.Kill() }()
	token, err := srv.Token(ctx, demoTenant, demoAdmin)
	if err != nil {
		return nil, err
	}
	for _, sz := range sizes {
		if _, err = srv.Seed(ctx, Consultation{Host: demoHost, Token: token, Slug: scaleSlug(sz)}); err != nil {
			return nil, err
		}
		points = append(points, ScalePoint{Size: sz})
	}
	if err := srv.Stop(30 * time.Second); err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, srv.DatabaseURL)
	if err != nil {
		return nil, err
	}
	for i := range points {
		p := &points[i]
		var ref struct {
			TenantID       int64 `bun:"tenant_id"`
			ConsultationID int64 `bun:"id"`
		}
		if err := db.NewRaw("SELECT c.tenant_id, c.id FROM consultations c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = ? AND c.slug = ?",
			demoTenant, scaleSlug(p.Size)).Scan(ctx, &ref); err != nil {
			db.Close()
			return nil, fmt.Errorf("find consultation %s: %w", scaleSlug(p.Size), err)
		}
		o.Log("scale: inserting %d proposals", p.Size.Proposals)
		t0 := time.Now()
		ids, err := SeedProposals(ctx, db, ref.TenantID, ref.ConsultationID, p.Size.Proposals)
		if err != nil {
			db.Close()
			return nil, err
		}
		p.SeedProposals = time.Since(t0)
		o.Log("scale: inserting %d votes", p.Size.Votes)
		t0 = time.Now()
		per := min(o.VotesPerParticipant, len(ids))
		if err := SeedVotes(ctx, db, ref.TenantID, ref.ConsultationID, ids, p.Size.Votes, per, "p:scale"+strconv.Itoa(i)+"-"); err != nil {
			db.Close()
			return nil, err
		}
		p.SeedVotes = time.Since(t0)
		o.Log("scale: %d votes inserted in %s", p.Size.Votes, p.SeedVotes.Round(time.Millisecond))
	}
	if store.DialectOf(db) == store.Postgres {
		if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
			db.Close()
			return nil, err
		}
	}
	db.Close()
	for i := range points {
		p := &points[i]
		t0 := time.Now()
		if _, err := srv.Command(ctx, "results", "recompute", "--tenant", demoTenant, "--consultation", scaleSlug(p.Size)); err != nil {
			return nil, err
		}
		p.Recount = time.Since(t0)
	}

	srv2, err := Start(bin, srv.DatabaseURL, logPath, false)
	if err != nil {
		return nil, err
	}
	defer func() { _ = srv2.Kill() }()
	for i := range points {
		p := &points[i]
		load := func(mode string, d time.Duration) (loadgen.Report, error) {
			r, err := loadgen.Run(ctx, loadgen.Config{BaseURL: srv2.URL, Host: demoHost, Consultation: scaleSlug(p.Size), Mode: mode, Path: "/healthz",
				Concurrency: o.Concurrency, Duration: d, Seed: uint64(time.Now().UnixNano())})
			if err == nil {
				o.Log("scale %d proposals, %d votes: %s", p.Size.Proposals, p.Size.Votes, r)
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
		}{{"plain", &p.Plain}, {"vote", &p.Vote}, {"sequence", &p.Sequence}} {
			if *step.into, err = load(step.mode, o.Duration); err != nil {
				return nil, err
			}
		}
	}
	return points, srv2.Stop(30 * time.Second)
}

func scaleSlug(sz ScaleSize) string { return fmt.Sprintf("scale-%d", sz.Proposals) }
