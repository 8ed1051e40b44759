package vote

import (
	"context"
	"fmt"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/store"
)

// BesideByOrigin counts a consultation's votes outside the sequence (trust results.Trusted)
// per proposal, origin and key: the results publish direct-link, search, results-page and
// ignored-key votes each on its own, beside the sequence estimate. One grouped read over the
// consultation's votes (seconds for millions): call it in the background, as the catalog does
// with the opinion groups, or for an audit; never on the vote path, which keeps no count
// per origin (an index for it would cost every such vote).
func (s *Service) BesideByOrigin(ctx context.Context, tenantID, consultationID int64) (map[int64]results.OriginVotes, error) {
	if err := checkTenant(tenantID); err != nil {
		return nil, err
	}
	var rows []struct {
		ProposalID int64  `bun:"proposal_id"`
		Origin     string `bun:"origin"`
		Key        int64  `bun:"vote"`
		N          int64  `bun:"n"`
	}
	err := store.For(s.db, tenantID).SelectFrom("votes", "v").
		ColumnExpr("v.proposal_id, v.origin, v.vote, COUNT(*) AS n").
		Where("v.consultation_id = ? AND v.trust = ?", consultationID, results.Trusted).
		GroupExpr("v.proposal_id, v.origin, v.vote").
		Scan(ctx, &rows)
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, fmt.Errorf("read votes outside the sequence: %w", err), "the results could not be read; try again")
	}
	out := map[int64]results.OriginVotes{}
	for _, r := range rows {
		v := out[r.ProposalID]
		if v == nil {
			v = results.OriginVotes{}
			out[r.ProposalID] = v
		}
		v.Add(r.Origin, int(r.Key), r.N)
	}
	return out, nil
}
