package vote

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/storetest"
)

// Rule 8 of the package comment: the raking sample holds only participants with a sequence
// vote; sessions that voted only through links or with troll keys claim a profile without
// taking part, and are left out (their votes still show in the per-cell counts).
func TestSegments_RakingSampleCountsOnlySequenceParticipants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 2, Options{})
		ctx := context.Background()
		now := time.Now().UTC()
		for _, p := range []struct{ who, band string }{{"seq", "18-24"}, {"link", "65-plus"}, {"troll", "65-plus"}, {"both", "65-plus"}} {
			row := map[string]any{"tenant_id": tenantA, "participant": p.who, "age_band": p.band, "consent_at": now}
			if _, err := db.NewInsert().Model(&row).TableExpr("participant_profiles").Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		ps := f.proposals[consultationA]
		f.cast(t, f.ballot(ps[0], "seq", results.Agree, results.Sequence))
		f.cast(t, f.ballot(ps[0], "link", results.Agree, results.Trusted))
		f.cast(t, f.ballot(ps[1], "link", results.Agree, results.Trusted))
		f.cast(t, f.ballot(ps[0], "troll", results.Agree, results.Troll))
		f.cast(t, f.ballot(ps[0], "both", results.Agree, results.Trusted))
		f.cast(t, f.ballot(ps[1], "both", results.Disagree, results.Sequence))
		cells, sample, err := f.svc.Segments(ctx, tenantA, consultationA)
		if err != nil {
			t.Fatal(err)
		}
		young, old := results.Profile{AgeBand: "18-24"}, results.Profile{AgeBand: "65-plus"}
		if len(sample) != 2 || sample[young] != 1 || sample[old] != 1 {
			t.Fatalf("raking sample %v, want one 18-24 and one 65-plus (only the participant with a sequence vote)", sample)
		}
		var oldVotes int64
		for _, c := range cells {
			if c.Profile == old {
				oldVotes += c.Counts.Total(results.Trusted) + c.Counts.Total(results.Troll) + c.Counts.Total(results.Sequence)
			}
		}
		if oldVotes != 5 {
			t.Fatalf("65-plus cells hold %d votes, want all 5", oldVotes)
		}
	})
}
