package vote

import (
	"context"
	"fmt"
	"testing"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/storetest"
)

func TestOpinions_FromSequenceVotesOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 12, Options{})
		ctx := context.Background()
		ps := f.proposals[consultationA]
		// Two camps of 20 through the sequence: proposals 0–5 both like, 6–11 split them.
		for i := range 40 {
			who := fmt.Sprintf("participant-%d", i)
			for j, p := range ps {
				k := results.Agree
				if j >= 6 && (i < 20) == (j%2 == 0) {
					k = results.Disagree
				}
				f.cast(t, f.ballot(p, who, k, results.Sequence))
			}
		}
		// A bloc voting through shared links must not change anything.
		cfg := results.DefaultGroupsConfig()
		before, err := f.svc.Opinions(ctx, tenantA, consultationA, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 30 {
			for _, p := range ps {
				f.cast(t, f.ballot(p, fmt.Sprintf("bloc-%d", i), results.Disagree, results.Trusted))
			}
		}
		after, err := f.svc.Opinions(ctx, tenantA, consultationA, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if before.Digest != after.Digest || after.Votes != 40*12 || after.Participants != 40 {
			t.Fatalf("link votes changed the groups or were counted: %d votes, %d participants, digest %s then %s",
				after.Votes, after.Participants, before.Digest, after.Digest)
		}
		if len(after.GroupSizes) != 2 {
			t.Fatalf("groups %v, want the two camps", after.GroupSizes)
		}
		for j, p := range ps {
			o, ok := after.Of(p)
			want := results.AcrossFails
			if j < 6 {
				want = results.AcrossHolds
			}
			if !ok || o.Across != want {
				t.Errorf("proposal %d: across %q, want %q", j, o.Across, want)
			}
		}
		// Another tenant's consultation of the same id reads nothing.
		other, err := f.svc.Opinions(ctx, tenantB, consultationA, cfg)
		if err != nil || other.Votes != 0 {
			t.Fatalf("tenant B read %d votes of tenant A (%v)", other.Votes, err)
		}
		if _, err := f.svc.Opinions(ctx, 0, consultationA, cfg); !errs.Is(err, errs.Invalid) {
			t.Fatalf("no tenant: %v", err)
		}
	})
}
