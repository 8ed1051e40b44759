package vote

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/storetest"
)

// BenchmarkCast casts votes from many concurrent requests on SQLite, each acknowledged only
// once committed. go test -run - -bench Cast ./core/vote/
func BenchmarkCast(b *testing.B) {
	for _, dialect := range storetest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			f := newFixture(b, storetest.Open(b, dialect), 300, Options{})
			ps := f.proposals[consultationA]
			var next atomic.Int64
			b.SetParallelism(32) // requests waiting on the database, as an HTTP server has
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				who := fmt.Sprintf("bench-%d", next.Add(1))
				r := rand.New(rand.NewPCG(uint64(next.Load()), 1))
				for pb.Next() {
					bl := f.ballot(ps[r.IntN(len(ps))], who, results.Keys()[r.IntN(3)], results.Sequence)
					if _, err := f.svc.Cast(context.Background(), bl); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "votes/s")
			if n := f.metric(b, "concorde_vote_batch_size"); n > 0 {
				b.ReportMetric(float64(b.N)/n, "votes/commit")
			}
		})
	}
}

// BenchmarkRecompute1M recounts a consultation of 1,000,000 votes on 3,000 proposals, as
// auditors do (write=false). Setting it up takes a while:
// go test -run - -bench Recompute1M -benchtime 3x ./core/vote/
func BenchmarkRecompute1M(b *testing.B) {
	for _, dialect := range storetest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			const proposals, votes = 3000, 1_000_000
			db := storetest.Open(b, dialect)
			f := newFixture(b, db, proposals, Options{})
			ctx := context.Background()
			ps := f.proposals[consultationA]
			now := time.Now().UTC()
			r := rand.New(rand.NewPCG(1, 2))
			const chunk = 2000
			rows := make([]Vote, 0, chunk)
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			for i := range votes {
				k := r.IntN(3)
				rows = append(rows, Vote{TenantID: tenantA, ProposalID: ps[i%proposals], Participant: fmt.Sprintf("p%d", i/proposals),
					ConsultationID: consultationA, KeyIndex: int16(k), Qualifications: QualificationSet(r.IntN(8) << (3 * k)),
					Trust: results.Trust(r.IntN(3)), Origin: Sequence, CreatedAt: now, UpdatedAt: now})
				if len(rows) == chunk {
					if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
						b.Fatal(err)
					}
					rows = rows[:0]
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			if _, err := f.svc.Recompute(ctx, tenantA, consultationA, true, nil); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				d, err := f.svc.Recompute(ctx, tenantA, consultationA, false, nil)
				if err != nil || d.Votes != votes || len(d.Mismatches) != 0 {
					b.Fatalf("recompute: %d votes, %d mismatches, %v", d.Votes, len(d.Mismatches), err)
				}
			}
		})
	}
}
