package vote

import (
	"context"
	"fmt"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/store"
)

// Opinions reads a consultation's sequence votes and computes its opinion groups and
// bridging scores (results.Groups), and which sessions count as one participant
// (results.Coalesce: same source, near-identical votes). Only sequence votes count: the server chose what each
// participant saw, so they are close to a random sample, where votes through a shared
// link or a search are chosen by the voter. It reads the votes once, streamed, and does
// not lock anything: votes go on while it runs. It takes seconds for a million votes:
// call it in the background (see catalog) or for an audit, never on the vote path.
func (s *Service) Opinions(ctx context.Context, tenantID, consultationID int64, cfg results.GroupsConfig) (results.Opinions, error) {
	if err := checkTenant(tenantID); err != nil {
		return results.Opinions{}, err
	}
	sc := store.For(s.db, tenantID)
	n, err := sc.Select((*Vote)(nil)).Where("v.consultation_id = ? AND v.trust = ?", consultationID, results.Sequence).Count(ctx)
	if err != nil {
		return results.Opinions{}, errs.Wrap(errs.Unavailable, fmt.Errorf("count sequence votes: %w", err), "the opinion groups could not be computed; try again")
	}
	rows, err := sc.Select((*Vote)(nil)).Column("participant", "proposal_id", "vote", "qualifications", "source").
		Where("v.consultation_id = ? AND v.trust = ?", consultationID, results.Sequence).Rows(ctx)
	if err != nil {
		return results.Opinions{}, errs.Wrap(errs.Unavailable, fmt.Errorf("read sequence votes: %w", err), "the opinion groups could not be computed; try again")
	}
	defer rows.Close()
	m := results.NewOpinionVotes(int(n))
	sv := results.NewSessionVotes(int(n))
	keys := results.Keys()
	var participant, source string
	var pid, key, quals int64
	for rows.Next() {
		if err := rows.Scan(&participant, &pid, &key, &quals, &source); err != nil {
			return results.Opinions{}, fmt.Errorf("read sequence vote: %w", err)
		}
		if key >= 0 && key < int64(len(keys)) {
			m.Add(participant, pid, keys[key])
			sv.Add(participant, source, pid, int(key), quals)
		}
	}
	if err := rows.Err(); err != nil {
		return results.Opinions{}, errs.Wrap(errs.Unavailable, fmt.Errorf("read sequence votes: %w", err), "the opinion groups could not be computed; try again")
	}
	return results.Groups(m, cfg).WithCoalesced(results.Coalesce(sv, results.DefaultCoalesceConfig())), nil
}
