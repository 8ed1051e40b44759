package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/concorde-civic/concorde/core/e2e"
)

// scaleRun is the scale suite (e2e.ScaleSuite) on one dialect.
type scaleRun struct {
	name   string
	rounds int
	points []e2e.ScalePoint
}

// measureScale runs the scale suite on one dialect; reuse keeps what an earlier run seeded at dbURL.
func measureScale(ctx context.Context, o options, bin, dir, name, dbURL string, sizes []e2e.ScaleSize, reuse bool) (*scaleRun, error) {
	points, err := e2e.ScaleSuite(ctx, bin, dbURL, filepath.Join(dir, strings.ToLower(name)+"-scale.log"), sizes, e2e.ScaleOptions{
		Concurrency: o.concurrency, Duration: o.duration, VotesPerParticipant: o.votesPerPerson, Reuse: reuse, Rounds: o.scaleRounds, Drift: o.scaleDrift,
		Log: func(format string, args ...any) { logf(name+": "+format, args...) },
	})
	if err != nil {
		return nil, err
	}
	return &scaleRun{name: name, rounds: o.scaleRounds, points: points}, nil
}

// reportScale prints the Markdown table of the scale suite.
func reportScale(w io.Writer, runs []*scaleRun) {
	if len(runs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nScale suite (issue 15): the vote path and the sequence on consultations of growing size, each as a ratio to GET /healthz measured just before it (the median of %d rounds), then against the smallest consultation (the median over the rounds of the two ratios' ratio in each round):\n\n", max(runs[0].rounds, 1))
	fmt.Fprintln(w, "| Dialect | proposals | stored votes | seeding: proposals (bulk) / votes (bulk) / counters | vote × plain | sequence × plain | vote vs smallest | sequence vs smallest | errors |")
	fmt.Fprintln(w, "|---|---:|---:|---|---:|---:|---:|---:|---:|")
	for _, r := range runs {
		if len(r.points) == 0 {
			continue
		}
		for _, p := range r.points {
			v, s := p.VoteRatio(), p.SequenceRatio()
			vs, ss := p.Against(r.points[0])
			seeding := fmt.Sprintf("%s / %s / %s", p.SeedProposals.Round(100*time.Millisecond), p.SeedVotes.Round(100*time.Millisecond), p.Recount.Round(100*time.Millisecond))
			switch {
			case p.Kept && p.Trimmed > 0:
				seeding = fmt.Sprintf("kept; %d votes of earlier loads removed, counters rebuilt in %s", p.Trimmed, p.Recount.Round(100*time.Millisecond))
			case p.Kept:
				seeding = "kept from an earlier run"
			}
			fmt.Fprintf(w, "| %s | %d | %d | %s | %.3f | %.3f | **%.2f** | **%.2f** | %d |\n", r.name, p.Size.Proposals, p.Size.Votes,
				seeding, v, s, vs, ss, p.Vote.Errors+p.Sequence.Errors)
		}
	}
	fmt.Fprintln(w, "\nTargets (issue 15): at 1,000,000 votes and 3,000 proposals ≥ 0.9× the smallest, at 10,000,000 and 30,000 ≥ 0.8×, for both paths on both dialects.")
}
