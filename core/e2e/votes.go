package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/core/vote"
)

// SeedVotes writes n sequence votes on a consultation's proposals ids, in bulk: COPY on
// PostgreSQL, multi-row INSERTs in transactions of 100,000 rows on SQLite. Vote i is
// participant i/perParticipant's on proposal ids[i%len(ids)] (perParticipant ≤ len(ids), so
// each participant votes on distinct proposals), with a random key and, one time in three,
// one of its qualifications; participants are named prefix followed by their number. The
// counters (proposal_counts) are not touched: `concorde results recompute` rebuilds them from
// the votes.
func SeedVotes(ctx context.Context, db *bun.DB, tenantID, consultationID int64, ids []int64, n, perParticipant int, prefix string) error {
	if perParticipant < 1 || perParticipant > len(ids) {
		return fmt.Errorf("votes per participant must be between 1 and the %d proposals", len(ids))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC().Truncate(time.Microsecond)
	quals := results.Qualifications()
	voteAt := func(i int) vote.Vote {
		k := rng.IntN(results.NumKeys)
		var qs vote.QualificationSet
		if rng.IntN(3) == 0 {
			qs = vote.SetOf([]results.Qualification{quals[3*k+rng.IntN(3)]})
		}
		return vote.Vote{TenantID: tenantID, ProposalID: ids[i%len(ids)], Participant: fmt.Sprintf("%s%08d", prefix, i/perParticipant),
			ConsultationID: consultationID, KeyIndex: int16(k), Qualifications: qs, Trust: results.Sequence, Origin: vote.Sequence,
			CreatedAt: now, UpdatedAt: now}
	}
	if store.DialectOf(db) == store.Postgres {
		return copyVotes(ctx, db, n, voteAt)
	}
	const rowsPerInsert, rowsPerTx = 2000, 100_000
	batch := make([]vote.Vote, 0, rowsPerInsert)
	for start := 0; start < n; start += rowsPerTx {
		end := min(n, start+rowsPerTx)
		err := db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
			for i := start; i < end; i++ {
				batch = append(batch, voteAt(i))
				if len(batch) == rowsPerInsert || i == end-1 {
					if _, err := tx.NewInsert().Model(&batch).Exec(ctx); err != nil {
						return err
					}
					batch = batch[:0]
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("insert votes: %w", err)
		}
	}
	return nil
}

// copyVotes writes n votes with PostgreSQL's COPY, through the pgx connection under db.
func copyVotes(ctx context.Context, db *bun.DB, n int, voteAt func(int) vote.Vote) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The votes are valid by construction (their proposals were just written), so their
	// foreign-key checks, which PostgreSQL runs one by one at the end of the COPY (CPU-bound:
	// 10,000,000 of them did not finish in 40 minutes here), are skipped where the role may
	// (session_replication_role, a superuser's setting; otherwise they run).
	if _, err := conn.ExecContext(ctx, "SET session_replication_role = replica"); err == nil {
		defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "RESET session_replication_role") }() // then the connection goes back to the pool
	}
	cols := []string{"tenant_id", "proposal_id", "participant", "consultation_id", "vote", "qualifications", "trust", "origin", "created_at", "updated_at"}
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy votes: the connection is a %T, not pgx's", dc)
		}
		i := 0
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{"votes"}, cols, pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			v := voteAt(i)
			i++
			return []any{v.TenantID, v.ProposalID, v.Participant, v.ConsultationID, v.KeyIndex, int32(v.Qualifications),
				int16(v.Trust), string(v.Origin), v.CreatedAt, v.UpdatedAt}, nil
		}))
		if err != nil {
			return fmt.Errorf("copy votes: %w", err)
		}
		return nil
	})
}
