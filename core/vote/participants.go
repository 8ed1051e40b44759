package vote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
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
	err = store.For(s.db, tenantID).Tx(ctx, func(ctx context.Context, sc store.Scope) error {
		if err := sc.Lock(ctx, voteLockClass); err != nil {
			return err
		}
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

// Detach unlinks a participant from their votes and retires them (erasure under the GDPR),
// in a transaction of its own: see DetachIn.
func (s *Service) Detach(ctx context.Context, tenantID int64, participant string) (int64, error) {
	if err := checkTenant(tenantID); err != nil {
		return 0, err
	}
	var n int64
	err := store.For(s.db, tenantID).Tx(ctx, func(ctx context.Context, tx store.Scope) error {
		var err error
		n, err = s.DetachIn(ctx, tx, participant)
		return err
	})
	return n, err
}

// DetachIn unlinks a participant from their votes, in the caller's transaction tx: their
// votes in each consultation get one random pseudonym, "erased:<hex>", the same for all of
// them there and another in each consultation, so they stay counted as one participant's
// (coalescing and the opinion groups, which work per consultation, still see one person),
// nothing ties them to the person any more, and nothing links their votes across
// consultations (where the truncated source, keyed per consultation, would add up). Their source keeps only its first
// results.SourceBucketChars characters: shared by about one network in 260,000, it no longer
// points to the participant's network, yet sessions of one network that vote alike are still
// coalesced after some of them were erased. The participant id is retired (a tombstone
// without personal data): a browser that kept it cannot vote again as someone new, which
// would count one person twice. It returns how many votes were detached.
func (s *Service) DetachIn(ctx context.Context, tx store.Scope, participant string) (int64, error) {
	if participant == "" {
		return 0, errs.E(errs.Invalid, "detaching votes needs a participant")
	}
	if !validParticipant(participant) {
		return 0, errs.E(errs.Invalid, "the participant identifier must be text of at most 200 bytes")
	}
	// Under the tenant's vote lock, so no batch is between reading the tombstones and
	// writing a vote of this participant.
	if err := tx.Lock(ctx, voteLockClass); err != nil {
		return 0, errs.Wrap(errs.Unavailable, err, "the votes could not be detached; try again")
	}
	var consultations []int64
	if err := tx.Select((*Vote)(nil)).ColumnExpr("DISTINCT v.consultation_id").
		Where("v.participant = ?", participant).Scan(ctx, &consultations); err != nil {
		return 0, errs.Wrap(errs.Unavailable, err, "the votes could not be detached; try again")
	}
	var n int64
	for _, c := range consultations {
		var random [16]byte
		if _, err := rand.Read(random[:]); err != nil {
			return 0, errs.Wrap(errs.Unavailable, err, "the votes could not be detached; try again")
		}
		res, err := tx.Update(&Vote{}).Set("participant = ?", "erased:"+hex.EncodeToString(random[:])).
			Set("source = substr(source, 1, ?)", results.SourceBucketChars).
			Where("v.participant = ? AND v.consultation_id = ?", participant, c).Exec(ctx)
		if err != nil {
			return 0, errs.Wrap(errs.Unavailable, err, "the votes could not be detached; try again")
		}
		k, _ := res.RowsAffected()
		n += k
	}
	row := retiredParticipant{Participant: participant, RetiredAt: s.opts.Now().UTC().Truncate(time.Microsecond)}
	if _, err := tx.Insert(&row).On("CONFLICT (tenant_id, participant) DO NOTHING").Exec(ctx); err != nil {
		return 0, errs.Wrap(errs.Unavailable, err, "the participant could not be retired; try again")
	}
	return n, nil
}

// retiredParticipant is a tombstone: a participant id erased, that may not vote again.
type retiredParticipant struct {
	bun.BaseModel `bun:"table:retired_participants,alias:rp"`

	TenantID    int64     `bun:"tenant_id,pk"`
	Participant string    `bun:"participant,pk"`
	RetiredAt   time.Time `bun:"retired_at"`
}

func (r *retiredParticipant) SetTenantID(id int64) {
	if r != nil {
		r.TenantID = id
	}
}

// errRetired refuses the vote of a participant whose data was erased.
var errRetired = errs.E(errs.Forbidden, "this browser's participation was erased, so it cannot vote again; votes already cast stay counted")

// retired returns which of participants are retired (erased), in one query.
func retired(ctx context.Context, sc store.Scope, participants []string) (map[string]bool, error) {
	var rows []retiredParticipant
	if err := sc.Select(&rows).Column("participant").Where("rp.participant IN (?)", bun.List(participants)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read retired participants: %w", err)
	}
	out := make(map[string]bool, len(rows))
	for _, r := range rows {
		out[r.Participant] = true
	}
	return out, nil
}
