package vote

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
)

// Merge moves the votes of participant from to participant to, as when an anonymous
// participant signs in and their session's votes follow them to their account. Where both
// voted on the same proposal, to's vote stays and from's is dropped (and uncounted), except
// in a closed or published consultation, whose results are frozen: there from's vote stays
// where it is, under from. It returns how many votes moved. It runs in one transaction
// under the tenant's write lock, so counters stay exact while votes keep coming.
func (s *Service) Merge(ctx context.Context, tenantID int64, from, to string) (moved int, err error) {
	if err := checkTenant(tenantID); err != nil {
		return 0, err
	}
	if from == "" || to == "" {
		return 0, errs.E(errs.Invalid, "merging votes needs both participants")
	}
	if from == to {
		return 0, nil
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := lockTenant(ctx, tx, s.dialect, tenantID); err != nil {
			return err
		}
		sc := store.For(tx, tenantID)
		var theirs []Vote
		if err := sc.Select(&theirs).Where("v.participant = ?", from).Scan(ctx); err != nil {
			return fmt.Errorf("read votes: %w", err)
		}
		if len(theirs) == 0 {
			return nil
		}
		toVoted := sc.Select((*Vote)(nil)).Column("proposal_id").Where("v.participant = ?", to)
		var both []Vote // from's votes on proposals that to has voted on too, where results may change
		err := sc.Select(&both).Where("v.participant = ?", from).
			Where("v.proposal_id IN (?)", toVoted).
			Where("v.consultation_id NOT IN (SELECT c.id FROM consultations AS c WHERE c.tenant_id = ? AND c.status IN ('closed', 'published'))", tenantID).
			Scan(ctx)
		if err != nil {
			return fmt.Errorf("read votes: %w", err)
		}
		if len(both) > 0 {
			counters := counterDeltas{}
			ids := make([]int64, len(both))
			for i, v := range both {
				counters.add(v, -1)
				ids[i] = v.ProposalID
			}
			if _, err := sc.Delete((*Vote)(nil)).Where("v.participant = ? AND v.proposal_id IN (?)", from, bun.List(ids)).Exec(ctx); err != nil {
				return fmt.Errorf("drop duplicate votes: %w", err)
			}
			if err := counters.apply(ctx, sc); err != nil {
				return err
			}
		}
		res, err := sc.Update(&Vote{}).Set("participant = ?", to).Where("v.participant = ?", from).
			Where("v.proposal_id NOT IN (?)", toVoted).Exec(ctx)
		if err != nil {
			return fmt.Errorf("move votes: %w", err)
		}
		n, _ := res.RowsAffected()
		moved = int(n)
		return nil
	})
	if err != nil {
		return 0, errs.Wrap(errs.Unavailable, err, "the votes could not be moved to your account; try again")
	}
	return moved, nil
}

// Detach unlinks a participant from their votes (erasure under the GDPR): each vote gets a
// random pseudonym of its own, "erased:<hex>", so it stays counted, and nothing ties it to
// the person or to their other votes any more. It returns how many votes were detached.
func (s *Service) Detach(ctx context.Context, tenantID int64, participant string) (int64, error) {
	if err := checkTenant(tenantID); err != nil {
		return 0, err
	}
	if participant == "" {
		return 0, errs.E(errs.Invalid, "detaching votes needs a participant")
	}
	random := "'erased:' || lower(hex(randomblob(16)))"
	if s.dialect == store.Postgres {
		random = "'erased:' || replace(gen_random_uuid()::text, '-', '')"
	}
	var n int64
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := lockTenant(ctx, tx, s.dialect, tenantID); err != nil {
			return err
		}
		res, err := store.For(tx, tenantID).Update(&Vote{}).Set("participant = "+random).
			Where("v.participant = ?", participant).Exec(ctx)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, errs.Wrap(errs.Unavailable, err, "the votes could not be detached; try again")
	}
	return n, nil
}
