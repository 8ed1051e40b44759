package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

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
	SeedProposals         time.Duration  // the proposals, in bulk
	SeedVotes             time.Duration  // the votes, in bulk
	Recount               time.Duration  // `concorde results recompute` writing the counters
	Kept                  bool           // seeded by an earlier run (ScaleOptions.Reuse): not seeded again, recounted only if its counters fell short or votes were removed
	Trimmed               int            // votes earlier runs' loads had added to a kept size, removed (ScaleOptions.Drift)
	Rounds                []ScaleRound   // one per round (ScaleOptions.Rounds), in order
	Plain, Vote, Sequence loadgen.Report // the rounds' together (requests and errors added up)
}

// ScaleRound is one round of measures on one consultation: GET /healthz, then the vote path,
// then the sequence.
type ScaleRound struct{ Plain, Vote, Sequence loadgen.Report }

// VoteRatio and SequenceRatio are the throughputs as a share of GET /healthz's just before,
// the median over the rounds.
func (p ScalePoint) VoteRatio() float64 {
	return medianOf(p.Rounds, func(r ScaleRound) float64 { return r.Vote.Throughput / r.Plain.Throughput })
}

func (p ScalePoint) SequenceRatio() float64 {
	return medianOf(p.Rounds, func(r ScaleRound) float64 { return r.Sequence.Throughput / r.Plain.Throughput })
}

// Against is p's vote and sequence ratios against base's (the smallest consultation's): for
// each round the ratio of the two consultations' ratios measured in that round, a minute or so
// apart, then the median over the rounds, so that a machine whose load drifts during the run
// moves both sides of each figure alike.
func (p ScalePoint) Against(base ScalePoint) (vote, sequence float64) {
	n := min(len(p.Rounds), len(base.Rounds))
	v, s := make([]float64, n), make([]float64, n)
	for k := range n {
		r, b := p.Rounds[k], base.Rounds[k]
		v[k] = (r.Vote.Throughput / r.Plain.Throughput) / (b.Vote.Throughput / b.Plain.Throughput)
		s[k] = (r.Sequence.Throughput / r.Plain.Throughput) / (b.Sequence.Throughput / b.Plain.Throughput)
	}
	return median(v), median(s)
}

func medianOf(rounds []ScaleRound, f func(ScaleRound) float64) float64 {
	xs := make([]float64, len(rounds))
	for k, r := range rounds {
		xs[k] = f(r)
	}
	return median(xs)
}

// median of xs (the mean of the middle two for an even count), NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// ScaleOptions tune ScaleSuite.
type ScaleOptions struct {
	Concurrency         int           // concurrent participants of each measure
	Duration            time.Duration // of each measure
	VotesPerParticipant int           // sequence votes per seeded participant (10 by default)
	// Rounds measures every consultation this many times (1 by default), one consultation
	// after the other in each round; the ratios are the medians over the rounds.
	Rounds int
	// Reuse keeps consultations an earlier run seeded in the same database (its proposals and
	// at least its votes found): only the missing sizes are seeded, so one long seeding (10M
	// votes) serves several builds or runs. Their counters are rebuilt only if they do not
	// count every vote (an earlier run stopped before its recompute ended).
	Reuse bool
	// Drift is how far a kept size may grow: each run's load adds votes to it (tens of
	// thousands a round), so that after a few runs the smallest consultation no longer is
	// (its 10,000 votes had become 762,000 after six runs). When its votes exceed its seeded
	// ones by more than this share of them, the votes of the earlier loads are removed and its
	// counters rebuilt before measuring. 0 means 0.05; negative, never.
	Drift float64
	Log   func(format string, args ...any)
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
	seeded := map[ScaleSize]seedState{}
	if o.Reuse {
		if seeded, err = seededSizes(ctx, srv.DatabaseURL, sizes); err != nil {
			return nil, err
		}
	}
	for _, sz := range sizes {
		points = append(points, ScalePoint{Size: sz, Kept: seeded[sz].seeded})
		if seeded[sz].seeded {
			o.Log("scale: %s already holds %d proposals and %d votes: kept", scaleSlug(sz), sz.Proposals, sz.Votes)
			continue
		}
		if _, err = srv.Seed(ctx, Consultation{Host: demoHost, Token: token, Slug: scaleSlug(sz)}); err != nil {
			return nil, err
		}
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
		if p.Kept {
			if p.Trimmed, err = trimLoads(ctx, db, ref.TenantID, ref.ConsultationID, p.Size, o.Drift); err != nil {
				db.Close()
				return nil, err
			}
			if p.Trimmed > 0 {
				o.Log("scale: %s: %d votes of earlier runs' loads removed", scaleSlug(p.Size), p.Trimmed)
				seeded[p.Size] = seedState{seeded: true} // its counters count them: rebuilt below
			}
			continue
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
		if err := SeedVotes(ctx, db, ref.TenantID, ref.ConsultationID, ids, p.Size.Votes, per, seededPrefix+strconv.Itoa(i)+"-"); err != nil {
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
		if seeded[p.Size].counted {
			continue // counted by the earlier run's recompute, and since by the vote writer
		}
		t0 := time.Now()
		if _, err := srv.Command(ctx, "results", "recompute", "--tenant", demoTenant, "--consultation", scaleSlug(p.Size)); err != nil {
			return nil, err
		}
		p.Recount = time.Since(t0)
	}
	if err := settle(ctx, srv.DatabaseURL, points); err != nil {
		return nil, err
	}

	srv2, err := Start(bin, srv.DatabaseURL, logPath, false)
	if err != nil {
		return nil, err
	}
	defer func() { _ = srv2.Kill() }()
	rounds := max(o.Rounds, 1)
	for round := range rounds {
		for i := range points {
			p := &points[i]
			load := func(mode string, d time.Duration) (loadgen.Report, error) {
				r, err := loadgen.Run(ctx, loadgen.Config{BaseURL: srv2.URL, Host: demoHost, Consultation: scaleSlug(p.Size), Mode: mode, Path: "/healthz",
					Concurrency: o.Concurrency, Duration: d, Seed: uint64(time.Now().UnixNano())})
				if err == nil {
					o.Log("scale %d proposals, %d votes, round %d of %d: %s", p.Size.Proposals, p.Size.Votes, round+1, rounds, r)
				}
				return r, err
			}
			if round == 0 {
				for _, mode := range []string{"plain", "sequence", "vote"} { // warm-up: connections, the catalog entry
					if _, err := load(mode, time.Second); err != nil {
						return nil, err
					}
				}
			}
			var r ScaleRound
			for _, step := range []struct {
				mode string
				into *loadgen.Report
			}{{"plain", &r.Plain}, {"vote", &r.Vote}, {"sequence", &r.Sequence}} {
				if *step.into, err = load(step.mode, o.Duration); err != nil {
					return nil, err
				}
			}
			p.Rounds = append(p.Rounds, r)
			p.Plain, p.Vote, p.Sequence = p.Plain.Add(r.Plain), p.Vote.Add(r.Vote), p.Sequence.Add(r.Sequence)
		}
	}
	return points, srv2.Stop(30 * time.Second)
}

func scaleSlug(sz ScaleSize) string { return fmt.Sprintf("scale-%d", sz.Proposals) }

// seededPrefix begins the name of every participant SeedVotes writes for the suite (then the
// size's index and a dash): the votes of other participants are the loads'.
const seededPrefix = "p:scale"

// trimLoads removes the votes earlier loads added to a kept size's consultation when they are
// more than drift (ScaleOptions.Drift) of its seeded votes, and says how many it removed.
// They are counted, then removed, through the participants' index, which holds the seeded
// participants' names in one run: only the others are read.
func trimLoads(ctx context.Context, db *bun.DB, tenantID, consultationID int64, sz ScaleSize, drift float64) (int, error) {
	if drift == 0 {
		drift = 0.05
	}
	if drift < 0 {
		return 0, nil
	}
	// Every name below the prefix, and every name at or after the first one past it.
	const others = "v.tenant_id = ? AND (v.participant < ? OR v.participant >= ?) AND v.consultation_id = ?"
	after := seededPrefix[:len(seededPrefix)-1] + string(seededPrefix[len(seededPrefix)-1]+1)
	var n int
	if err := db.NewRaw("SELECT COUNT(*) FROM votes v WHERE "+others, tenantID, seededPrefix, after, consultationID).Scan(ctx, &n); err != nil {
		return 0, fmt.Errorf("count the loads' votes of %s: %w", scaleSlug(sz), err)
	}
	if float64(n) <= drift*float64(sz.Votes) {
		return 0, nil
	}
	res, err := db.NewRaw("DELETE FROM votes AS v WHERE "+others, tenantID, seededPrefix, after, consultationID).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("remove the loads' votes of %s: %w", scaleSlug(sz), err)
	}
	removed, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("remove the loads' votes of %s: %w", scaleSlug(sz), err)
	}
	return int(removed), nil
}

// settle writes out what the seeding, the removals and the recounts left pending, so that the
// first round does not pay for it: SQLite's log is copied into the database and emptied;
// PostgreSQL reclaims the removed votes' rows (an autovacuum could otherwise start during a
// measure) and checkpoints.
func settle(ctx context.Context, dbURL string, points []ScalePoint) error {
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if store.DialectOf(db) == store.SQLite {
		if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		return nil
	}
	for _, p := range points {
		if p.Trimmed > 0 {
			if _, err := db.ExecContext(ctx, "VACUUM ANALYZE votes"); err != nil {
				return fmt.Errorf("vacuum the votes: %w", err)
			}
			break
		}
	}
	// A superuser's (or pg_checkpoint's) right: without it the next checkpoint comes on its own.
	_, _ = db.ExecContext(ctx, "CHECKPOINT")
	return nil
}

// seedState is what an earlier run left of one size: its proposals and votes (seeded), and
// counters that count them all (counted; a run stopped during the recompute leaves them short).
type seedState struct{ seeded, counted bool }

// seededSizes says which sizes an earlier run seeded completely at dbURL: their consultation
// exists with its proposals and at least its votes (the load adds a few).
func seededSizes(ctx context.Context, dbURL string, sizes []ScaleSize) (map[ScaleSize]seedState, error) {
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	out := map[ScaleSize]seedState{}
	for _, sz := range sizes {
		var n struct {
			Proposals int `bun:"proposals"`
			Votes     int `bun:"votes"`
			Counted   int `bun:"counted"`
		}
		err := db.NewRaw(`SELECT
			(SELECT COUNT(*) FROM proposals p WHERE p.tenant_id = c.tenant_id AND p.consultation_id = c.id) AS proposals,
			(SELECT COUNT(*) FROM votes v WHERE v.tenant_id = c.tenant_id AND v.consultation_id = c.id) AS votes,
			(SELECT COALESCE(SUM(pc.agree + pc.disagree + pc.neutral), 0) FROM proposal_counts pc
				WHERE pc.tenant_id = c.tenant_id AND pc.consultation_id = c.id) AS counted
			FROM consultations c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = ? AND c.slug = ?`,
			demoTenant, scaleSlug(sz)).Scan(ctx, &n)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("look for %s: %w", scaleSlug(sz), err)
		case n.Proposals == sz.Proposals && n.Votes >= sz.Votes:
			out[sz] = seedState{seeded: true, counted: n.Counted == n.Votes}
		default:
			return nil, fmt.Errorf("%s holds %d proposals and %d votes, not %d and %d: seeded by another run, or its seeding did not finish; use a new database", scaleSlug(sz), n.Proposals, n.Votes, sz.Proposals, sz.Votes)
		}
	}
	return out, nil
}
