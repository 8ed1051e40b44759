package proposal

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
)

// Service takes proposals from participants, hands them to moderators and finds them again.
type Service struct {
	db  *bun.DB
	log *audit.Log
	ids *store.IDs
	// Now is the clock; tests replace it.
	Now func() time.Time
	// OnAccepted, when set, is called after a decision that changed the set of accepted
	// proposals of a consultation has committed (an accept or an archive), so that caches of
	// that set (the sequence's) can reload. It runs on the caller's goroutine: keep it short.
	OnAccepted func(tenantID, consultationID int64)
	// Events, when set, is told of each moderation decision after it commits (its audit
	// action, e.g. "proposal.accept"); plugins hear of them through it.
	Events func(tenantID int64, name string, payload map[string]any)
}

// New wires the proposal service.
func New(db *bun.DB, log *audit.Log, ids *store.IDs) *Service {
	return &Service{db: db, log: log, ids: ids, Now: time.Now}
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// maxAuthor bounds participant and moderator keys.
const maxAuthor = 200

// Submit records a participant's proposal, pending moderation. raw is what they typed, with
// or without the consultation's prefix (see ValidateContent). The consultation must be open;
// when it requires an account the author must be a signed-in user ("u:..."); an author may
// submit Settings.ProposalLimitPerDay proposals per consultation in 24 hours.
func (s *Service) Submit(ctx context.Context, tenantID int64, c consultation.Consultation, author, raw string) (Proposal, error) {
	if c.TenantID != tenantID || c.ID == 0 {
		return Proposal{}, errs.E(errs.NotFound, "no such consultation").Say("err_consultation_not_found")
	}
	if err := validKey("author", author); err != nil {
		return Proposal{}, err
	}
	now := s.now()
	if !c.IsOpen(now) {
		return Proposal{}, errs.E(errs.Conflict, "the consultation is not open for proposals").Say("err_consultation_not_open_proposals")
	}
	if c.RequiresAccount && !strings.HasPrefix(author, "u:") {
		return Proposal{}, errs.E(errs.Unauthorized, "sign in to submit a proposal to this consultation").Say("err_proposal_sign_in")
	}
	content, err := ValidateContent(c.Prefix, raw)
	if err != nil {
		return Proposal{}, err
	}
	p := Proposal{
		ID: s.ids.Next(), ConsultationID: c.ID, Author: author, Content: content, Lang: c.Language,
		Status: Pending, Themes: []string{}, CreatedAt: now,
	}
	err = store.For(s.db, tenantID).Tx(ctx, func(ctx context.Context, tx store.Scope) error {
		n, err := tx.Select((*Proposal)(nil)).
			Where("p.author = ?", author).
			Where("p.consultation_id = ?", c.ID).
			Where("p.created_at > ?", now.Add(-24*time.Hour)).
			Count(ctx)
		if err != nil {
			return err
		}
		if limit := c.Settings.ProposalLimitPerDay; limit > 0 && n >= int64(limit) {
			return errs.E(errs.TooMany, "you have submitted %d proposals to this consultation in the last 24 hours, the most allowed; try again tomorrow", n).Say("err_proposal_daily_limit")
		}
		_, err = tx.Insert(&p).Exec(ctx)
		return err
	})
	if err != nil {
		return Proposal{}, wrap(err, "submit proposal")
	}
	return p, nil
}

// Get returns a proposal whatever its status; the caller shows it to others only when it is
// accepted (or to its author, see Proposal.IsAuthor).
func (s *Service) Get(ctx context.Context, tenantID, id int64) (Proposal, error) {
	p, err := get(ctx, store.For(s.db, tenantID), id, false)
	return p, wrap(err, fmt.Sprintf("get proposal %d", id))
}

// Texts returns the texts of the tenant's proposals among ids, whatever their status, in one
// read (ids not found are absent from the map). For staff screens that name many proposals.
func (s *Service) Texts(ctx context.Context, tenantID int64, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID      int64  `bun:"id"`
		Content string `bun:"content"`
	}
	err := store.For(s.db, tenantID).Select((*Proposal)(nil)).Column("id", "content").
		Where("p.id IN (?)", bun.List(ids)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("texts of %d proposals in tenant %d: %w", len(ids), tenantID, err)
	}
	for _, r := range rows {
		out[r.ID] = r.Content
	}
	return out, nil
}

// ByAuthor returns the author's own proposals in every consultation of the tenant, newest
// first, with their status and refusal reason.
func (s *Service) ByAuthor(ctx context.Context, tenantID int64, author string) ([]Proposal, error) {
	ps := []Proposal{}
	if author == "" {
		return ps, nil
	}
	err := store.For(s.db, tenantID).Select(&ps).Where("p.author = ?", author).
		OrderExpr("p.created_at DESC, p.id DESC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("proposals of an author in tenant %d: %w", tenantID, err)
	}
	return ps, nil
}

// Accepted returns every accepted proposal of a consultation, in the order they were
// accepted, for the sequence engine.
func (s *Service) Accepted(ctx context.Context, tenantID, consultationID int64) ([]AcceptedProposal, error) {
	var ps []Proposal
	err := store.For(s.db, tenantID).Select(&ps).
		Column("id", "consultation_id", "author", "content", "themes", "created_at", "moderated_at").
		Where("p.consultation_id = ?", consultationID).
		Where("p.status = ?", Accepted).
		OrderExpr("p.moderated_at ASC, p.id ASC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("accepted proposals of consultation %d: %w", consultationID, err)
	}
	out := make([]AcceptedProposal, len(ps))
	for i, p := range ps {
		at := p.CreatedAt
		if p.ModeratedAt != nil {
			at = *p.ModeratedAt
		}
		out[i] = AcceptedProposal{ID: p.ID, ConsultationID: p.ConsultationID, Author: p.Author, Content: p.Content,
			Themes: p.Themes, CreatedAt: p.CreatedAt, AcceptedAt: at}
	}
	return out, nil
}

// get reads one proposal. forUpdate locks its row on PostgreSQL until the transaction ends;
// SQLite transactions hold the database's write lock from their start already.
func get(ctx context.Context, s store.Scope, id int64, forUpdate bool) (Proposal, error) {
	var p Proposal
	q := s.Select(&p).Where("p.id = ?", id).Limit(1)
	if forUpdate && s.Dialect() == store.Postgres {
		q = q.For("UPDATE")
	}
	err := q.Scan(ctx)
	if store.IsNoRows(err) {
		return p, errs.E(errs.NotFound, "no such proposal").Say("err_proposal_not_found")
	}
	return p, err
}

func validKey(field, v string) error {
	switch {
	case strings.TrimSpace(v) == "":
		return errs.Field(field, "%s is required", field)
	case utf8.RuneCountInString(v) > maxAuthor || !utf8.ValidString(v) || strings.ContainsRune(v, 0):
		return errs.Field(field, "%s must be valid text of at most %d characters", field, maxAuthor)
	}
	return nil
}

// wrap keeps domain errors as they are and gives others context.
func wrap(err error, what string) error {
	if err == nil || errs.KindOf(err) != errs.Internal {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}
