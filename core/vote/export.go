package vote

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strconv"
	"time"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/results"
	"github.com/concorde-civic/concorde/core/store"
)

// RawVote is one vote as auditors receive it: the participant replaced by a pseudonym.
type RawVote struct {
	ProposalID int64 `json:"proposalId"`
	// Participant is a pseudonym: the same for one participant across a consultation, and
	// unlinkable from one consultation to another or to the person without the secret.
	Participant    string      `json:"participant"`
	Key            results.Key `json:"vote"`
	Qualifications []string    `json:"qualifications"`
	Trust          string      `json:"trust"` // troll, trusted or sequence
	Origin         Origin      `json:"origin"`
	// Source is the keyed hash of the network source (Signer.Source; "" if unknown): what
	// results coalesce sessions by. It is per consultation and holds no address.
	Source string    `json:"source"`
	At     time.Time `json:"at"` // when the vote last changed
}

// Export streams a consultation's raw votes to fn, in proposal order, with participants
// pseudonymised: the first 16 hex digits of HMAC-SHA256(pseudonymSecret,
// "pseudonym|<consultation>|<participant>"). It stops at fn's first error and returns it.
func (s *Service) Export(ctx context.Context, tenantID, consultationID int64, pseudonymSecret []byte, fn func(RawVote) error) error {
	if err := checkTenant(tenantID); err != nil {
		return err
	}
	if len(pseudonymSecret) == 0 {
		return errs.E(errs.Invalid, "exporting votes needs a pseudonym secret")
	}
	rows, err := store.For(s.db, tenantID).Select((*Vote)(nil)).
		Column("proposal_id", "participant", "vote", "qualifications", "trust", "origin", "source", "updated_at").
		Where("v.consultation_id = ?", consultationID).OrderExpr("v.proposal_id").Rows(ctx)
	if err != nil {
		return errs.Wrap(errs.Unavailable, err, "the votes could not be read; try again")
	}
	defer rows.Close()
	p := pseudonymizer{mac: hmac.New(sha256.New, pseudonymSecret), prefix: "pseudonym|" + strconv.FormatInt(consultationID, 10) + "|"}
	for rows.Next() {
		var (
			v           RawVote
			key, quals  int64
			trust       int64
			participant string
		)
		if err := s.db.ScanRow(ctx, rows, &v.ProposalID, &participant, &key, &quals, &trust, &v.Origin, &v.Source, &v.At); err != nil {
			return fmt.Errorf("read vote: %w", err)
		}
		v.Participant = p.of(participant)
		v.Key = Vote{KeyIndex: int16(key)}.Key()
		v.Qualifications = QualificationSet(quals).Strings()
		v.Trust = results.Trust(trust).String()
		v.At = v.At.UTC()
		if err := fn(v); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return errs.Wrap(errs.Unavailable, err, "the votes could not be read; try again")
	}
	return nil
}

type pseudonymizer struct {
	mac    hash.Hash
	prefix string
	sum    []byte
}

func (p *pseudonymizer) of(participant string) string {
	p.mac.Reset()
	p.mac.Write([]byte(p.prefix))
	p.mac.Write([]byte(participant))
	p.sum = p.mac.Sum(p.sum[:0])
	return hex.EncodeToString(p.sum[:8])
}
