package e2e_test

import (
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/e2e"
	"github.com/concorde-civic/concorde/ops/loadgen"
)

func TestDurability_KilledServerKeepsEveryAcknowledgedVote(t *testing.T) {
	eachDialect(t, func(t *testing.T, url string) {
		s := start(t, url, true)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		report := stream(ctx, s, 32)
		time.Sleep(2 * time.Second)
		if err := s.Kill(); err != nil {
			t.Fatal(err)
		}
		cancel()
		r := <-report
		if len(r.Acked) < 50 {
			t.Fatalf("only %d votes were acknowledged before the kill (first error: %s); the test would prove nothing", len(r.Acked), r.FirstError)
		}
		t.Logf("%d votes acknowledged before SIGKILL", len(r.Acked))

		s = start(t, url, false) // the server recovers on the database it was killed on
		requireAcked(t, url, "culture", r.Acked)
		requireCountersMatch(t, s, "culture")
	})
}

func TestGracefulShutdown_FinishesInFlight(t *testing.T) {
	eachDialect(t, func(t *testing.T, url string) {
		s := start(t, url, true)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		report := stream(ctx, s, 32)
		time.Sleep(1500 * time.Millisecond)
		began := time.Now()
		err := s.Stop(10 * time.Second)
		took := time.Since(began)
		cancel()
		r := <-report
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			t.Fatalf("after SIGTERM the server exited with status %d, want 0", exit.ExitCode())
		case err != nil:
			t.Fatal(err)
		case took > 5*time.Second:
			t.Errorf("the server took %s to stop after SIGTERM, want under 5s", took)
		}
		if len(r.Acked) < 50 {
			t.Fatalf("only %d votes were acknowledged before SIGTERM (first error: %s)", len(r.Acked), r.FirstError)
		}
		t.Logf("%d votes acknowledged; stopped %s after SIGTERM", len(r.Acked), took.Round(time.Millisecond))
		requireAcked(t, url, "culture", r.Acked)
		requireCountersMatch(t, s, "culture") // an admin command: needs no running server
	})
}

// The normal run's version of the 100,000-vote test (long_test.go): the same path, smaller.
func TestVotes_5000ThroughTheRealServer(t *testing.T) {
	eachDialect(t, func(t *testing.T, url string) { driveVotes(t, url, 5000, 60) })
}

// driveVotes seeds a consultation with the given number of accepted proposals, each by its
// own author, sends at least n votes through the real server from many participants, and
// checks that none failed, every one is stored, the results count them all, and the
// incremental counters equal a recompute from the raw votes.
func driveVotes(t *testing.T, url string, n int64, proposals int) {
	ctx := context.Background()
	s := start(t, url, true)
	token, err := s.Token(ctx, tenantSlug, adminEmail)
	if err != nil {
		t.Fatal(err)
	}
	const slug = "charge"
	began := time.Now()
	if _, err := s.Seed(ctx, e2e.Consultation{Host: host, Token: token, Slug: slug, Proposals: proposals}); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d proposals seeded through the API in %s", proposals, time.Since(began).Round(time.Millisecond))

	r, err := loadgen.Run(ctx, loadgen.Config{BaseURL: s.URL, Host: host, Consultation: slug, Mode: "vote",
		Concurrency: 32, MaxRequests: n, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", r)
	if r.Errors != 0 {
		t.Fatalf("%d of %d votes failed; first: %s", r.Errors, r.Requests, r.FirstError)
	}
	if r.Requests < n || int64(len(r.Acked)) != r.Requests {
		t.Fatalf("%d votes sent and %d acknowledged, want at least %d, all acknowledged", r.Requests, len(r.Acked), n)
	}
	if stored := requireAcked(t, url, slug, r.Acked); stored != len(r.Acked) {
		t.Errorf("the database holds %d votes, want the %d acknowledged", stored, len(r.Acked))
	}
	// Results are built from the in-memory catalog, reloaded in the background once it is
	// 2 s old: they must count every vote within a few seconds.
	var res struct {
		Votes      int64 `json:"votes"`
		TrollVotes int64 `json:"troll_votes"`
	}
	admin := s.Client(ctx, host, token)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		if _, err := admin.Do("GET", "/api/v1/consultations/"+slug+"/results", nil, &res); err != nil {
			t.Fatal(err)
		}
		if res.Votes == int64(len(r.Acked)) || time.Now().After(deadline) {
			break
		}
	}
	if res.Votes != int64(len(r.Acked)) || res.TrollVotes != 0 {
		t.Errorf("results count %d votes and %d troll votes, want %d and 0 (every vote carried its sequence key)", res.Votes, res.TrollVotes, len(r.Acked))
	}
	requireCountersMatch(t, s, slug)
}
