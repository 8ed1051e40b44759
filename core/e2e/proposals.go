package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/proposal"
	"github.com/concorde-civic/concorde/core/store"
)

// SeedProposals writes n accepted proposals into a consultation, in bulk (multi-row INSERTs of
// 1,000 rows, one transaction), with the server stopped, and returns their ids in order. Each
// is by its own anonymous author, in the theme "acces" (which Server.Seed gives the
// consultation), accepted a minute after it was written, with a distinct text. It skips the
// moderation queue and the audit log, so it is for load only: 30,000 proposals take seconds
// here, where Server.Seed's API path (submit, then accept) takes many minutes.
func SeedProposals(ctx context.Context, db *bun.DB, tenantID, consultationID int64, n int) ([]int64, error) {
	gen := &store.IDs{}
	written := time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)
	accepted := written.Add(time.Minute)
	ps := make([]proposal.Proposal, n)
	ids := make([]int64, n)
	for i := range ps {
		ids[i] = gen.Next()
		ps[i] = proposal.Proposal{TenantID: tenantID, ID: ids[i], ConsultationID: consultationID,
			Author:  fmt.Sprintf("p:seed-author-%d-%08d", consultationID, i),
			Content: fmt.Sprintf("Il faut ouvrir les lieux culturels le soir, proposition numéro %d", i+1),
			Lang:    "fr", Status: proposal.Accepted, Themes: []string{"acces"},
			CreatedAt: written, ModeratedAt: &accepted, ModeratedBy: "seed"}
	}
	err := db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		return insertAll(ctx, tx, ps)
	})
	if err != nil {
		return nil, fmt.Errorf("insert proposals: %w", err)
	}
	return ids, nil
}
