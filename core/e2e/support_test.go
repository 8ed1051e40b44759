package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/e2e"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/core/storetest"
	"github.com/concorde-civic/concorde/ops/loadgen"
)

// binary is the concorde binary built once for every test of the package.
var binary string

const (
	host       = "bretagne.localhost"
	tenantSlug = "bretagne"
	adminEmail = "admin@bretagne.localhost"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "concorde-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	binary, err = e2e.Build(ctx, dir)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// eachDialect runs fn on a new empty database of every dialect available here.
func eachDialect(t *testing.T, fn func(t *testing.T, url string)) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) { fn(t, storetest.URL(t, d)) })
	}
}

// start runs the server on url (with the demo data if demo); it is killed when the test ends,
// and its output is shown if the test failed.
func start(t *testing.T, url string, demo bool) *e2e.Server {
	t.Helper()
	s, err := e2e.Start(binary, url, filepath.Join(t.TempDir(), "concorde.log"), demo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Kill()
		if t.Failed() {
			t.Logf("server output:\n%s", s.LogTail())
		}
	})
	return s
}

// stream sends votes to the demo consultation until ctx ends; the report arrives on the channel.
func stream(ctx context.Context, s *e2e.Server, concurrency int) <-chan loadgen.Report {
	out := make(chan loadgen.Report, 1)
	go func() {
		r, _ := loadgen.Run(ctx, loadgen.Config{BaseURL: s.URL, Host: host, Consultation: "culture", Mode: "vote",
			Concurrency: concurrency, Duration: time.Minute, Seed: 7})
		out <- r
	}()
	return out
}

// requireAcked fails unless every acknowledged vote is in the database at url, with its key.
// It returns how many votes the database holds in the consultation.
func requireAcked(t *testing.T, url, consultation string, acked []loadgen.Ack) int {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows []struct {
		ProposalID  int64  `bun:"proposal_id"`
		Participant string `bun:"participant"`
		Vote        int16  `bun:"vote"`
	}
	err = db.NewRaw(`SELECT v.proposal_id, v.participant, v.vote FROM votes v
		JOIN tenants t ON t.id = v.tenant_id JOIN consultations c ON c.tenant_id = v.tenant_id AND c.id = v.consultation_id
		WHERE t.slug = ? AND c.slug = ?`, tenantSlug, consultation).Scan(ctx, &rows)
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		proposal    int64
		participant string
	}
	stored := make(map[key]int16, len(rows))
	for _, r := range rows {
		stored[key{r.ProposalID, r.Participant}] = r.Vote
	}
	lost := 0
	for _, a := range acked {
		if a.Session == "" {
			t.Fatalf("the load generator did not see the participant cookie of %s", a.Participant)
		}
		v, ok := stored[key{a.ProposalID, "p:" + a.Session}]
		if !ok || int(v) != results.Key(a.Vote).Index() {
			if lost++; lost <= 5 {
				t.Errorf("acknowledged vote %s on proposal %d by p:%s: stored %v (key index %d)", a.Vote, a.ProposalID, a.Session, ok, v)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged votes are not in the database", lost, len(acked))
	}
	return len(rows)
}

// requireCountersMatch runs `concorde results recompute --check`, which fails when a
// proposal's stored counters differ from a recount of its raw votes.
func requireCountersMatch(t *testing.T, s *e2e.Server, consultation string) {
	t.Helper()
	out, err := s.Command(context.Background(), "results", "recompute", "--tenant", tenantSlug, "--consultation", consultation, "--check")
	if err != nil {
		t.Fatalf("counters differ from a recompute: %v", err)
	}
	t.Logf("%s", out)
}
