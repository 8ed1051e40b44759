package vote

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/storetest"
)

func TestMerge_NeverChangesTheCountsOfAClosedConsultation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db, 3, Options{})
		ctx := context.Background()
		p, q := f.proposals[consultationA], f.proposals[consultationA2]
		f.cast(t, f.ballot(p[1], "account-7", results.Neutral, results.Sequence))
		f.cast(t, f.ballot(p[0], "anon-x", results.Agree, results.Sequence))
		f.cast(t, f.ballot(p[1], "anon-x", results.Disagree, results.Sequence)) // both voted, results frozen
		open := f.ballot(q[0], "account-7", results.Agree, results.Sequence)
		open.ConsultationID = consultationA2
		f.cast(t, open)
		open.Participant, open.Key = "anon-x", results.Disagree
		f.cast(t, open) // both voted, consultation still open: the account's vote stands
		if _, err := db.ExecContext(ctx, `UPDATE consultations SET status = 'closed' WHERE id = ?`, consultationA); err != nil {
			t.Fatal(err)
		}
		before := f.counts(t, tenantA, consultationA)

		moved, err := f.svc.Merge(ctx, tenantA, "anon-x", "account-7")
		if err != nil || moved != 1 {
			t.Fatalf("Merge = %d, %v; want 1 vote moved (p[0])", moved, err)
		}
		if after := f.counts(t, tenantA, consultationA); len(after) != len(before) || after[p[0]] != before[p[0]] || after[p[1]] != before[p[1]] {
			t.Fatalf("counts of the closed consultation moved: %+v → %+v", before, after)
		}
		if left, _ := f.svc.Voted(ctx, tenantA, consultationA, "anon-x"); len(left) != 1 || left[p[1]] != results.Disagree {
			t.Fatalf("the frozen duplicate should stay with the session: %v", left)
		}
		if c := f.counts(t, tenantA, consultationA2); c[q[0]] != one(results.Sequence, results.Agree) {
			t.Fatalf("open consultation: %+v, want only the account's vote", c[q[0]])
		}
		f.assertRecomputeClean(t, tenantA, consultationA)
		f.assertRecomputeClean(t, tenantA, consultationA2)
	})
}
