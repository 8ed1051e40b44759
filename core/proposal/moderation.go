package proposal

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
)

// Moderation limits.
const (
	DefaultLock     = 10 * time.Minute // how long Next holds a proposal when lockFor is 0
	MaxLock         = time.Hour
	DefaultQueue    = 50
	MaxQueue        = 500
	MaxComment      = 500 // characters of a refusal comment
	nextAttempts    = 5   // tries of Next when other moderators take the candidates first
	nextCandidates  = 5   // candidates Next reads per try
	auditObjectBase = "proposal:"
)

// waiting are the statuses of the moderation queue: pending first, then postponed.
var waiting = []Status{Pending, Postponed}

// Next gives moderator the oldest pending proposal (postponed ones come after every pending
// one) that no other moderator holds, and locks it to them for lockFor (DefaultLock when 0).
// consultationID 0 takes from every consultation of the tenant that is not closed (Queue).
// A proposal the moderator holds already comes first, so that reloading the page does not
// skip it. The lock is taken by a conditional UPDATE, so two moderators never get the same
// proposal. errs.NotFound when nothing waits.
func (s *Service) Next(ctx context.Context, tenantID, consultationID int64, moderator string, lockFor time.Duration) (Proposal, error) {
	if err := validKey("moderator", moderator); err != nil {
		return Proposal{}, err
	}
	switch {
	case lockFor < 0:
		return Proposal{}, errs.Field("lock_for", "the lock duration must not be negative")
	case lockFor == 0:
		lockFor = DefaultLock
	case lockFor > MaxLock:
		lockFor = MaxLock
	}
	scope := store.For(s.db, tenantID)
	for attempt := 0; attempt < nextAttempts; attempt++ {
		now := s.now()
		var ids []int64
		q := scope.Select((*Proposal)(nil)).Column("id").
			Where("p.status IN (?)", bun.List(waiting)).
			Where(free, now, moderator).
			Where(notFrozen, tenantID)
		if consultationID != 0 {
			q = q.Where("p.consultation_id = ?", consultationID)
		}
		err := q.OrderExpr("CASE WHEN p.locked_by = ? THEN 0 ELSE 1 END", moderator).
			OrderExpr("CASE p.status WHEN ? THEN 0 ELSE 1 END", Pending).
			OrderExpr("p.created_at ASC, p.id ASC").
			Limit(nextCandidates).Scan(ctx, &ids)
		if err != nil {
			return Proposal{}, fmt.Errorf("read moderation queue of tenant %d: %w", tenantID, err)
		}
		if len(ids) == 0 {
			return Proposal{}, errs.E(errs.NotFound, "no proposal is waiting for moderation").Say("err_moderation_none")
		}
		for _, id := range ids {
			res, err := scope.Update(&Proposal{}).
				Set("locked_by = ?", moderator).
				Set("locked_until = ?", now.Add(lockFor)).
				Where("?TableAlias.id = ?", id).
				Where("?TableAlias.status IN (?)", bun.List(waiting)).
				Where(free, now, moderator).
				Exec(ctx)
			if err != nil {
				return Proposal{}, fmt.Errorf("lock proposal %d: %w", id, err)
			}
			if n, err := res.RowsAffected(); err == nil && n == 1 {
				return s.Get(ctx, tenantID, id)
			}
			// Another moderator took it between our read and our update: try the next one.
		}
	}
	return Proposal{}, errs.E(errs.Conflict, "other moderators are taking proposals at the same time; try again").Say("err_moderation_busy")
}

// checkNotFrozen refuses a decision on a proposal of a closed or published consultation:
// accepting, refusing or archiving would change results that are frozen. On PostgreSQL the
// consultation's row is read FOR SHARE, so a close committing meanwhile waits for the
// decision (or the decision for the close) instead of slipping past it; SQLite transactions
// hold the database's write lock from their start.
func checkNotFrozen(ctx context.Context, tx store.Scope, consultationID int64) error {
	var c consultation.Consultation
	q := tx.Select(&c).Where("c.id = ?", consultationID).Limit(1)
	if tx.Dialect() == store.Postgres {
		q = q.For("SHARE")
	}
	if err := q.Scan(ctx); err != nil {
		return fmt.Errorf("read consultation %d: %w", consultationID, err)
	}
	if c.Frozen() {
		return c.FrozenError("moderation decisions on its proposals")
	}
	return nil
}

// notFrozen selects proposals whose consultation is neither closed nor published: the queue
// does not offer what no decision may change. Its argument is the tenant id.
const notFrozen = "?TableAlias.consultation_id IN (SELECT c.id FROM consultations AS c WHERE c.tenant_id = ? AND c.status NOT IN ('closed', 'published'))"

// free selects proposals nobody but the moderator holds at now; its arguments are now, moderator.
const free = "(?TableAlias.locked_until IS NULL OR ?TableAlias.locked_until < ? OR ?TableAlias.locked_by = ?)"

// Queue lists the proposals waiting for moderation, pending before postponed, oldest first,
// with who holds them (StaffView). consultationID 0 lists every consultation's. Proposals of
// closed and published consultations are left out, since no decision may change them.
func (s *Service) Queue(ctx context.Context, tenantID, consultationID int64, limit int) ([]StaffView, error) {
	return s.QueuePage(ctx, tenantID, consultationID, limit, 0)
}

// QueuePage is Queue from offset on: the moderation console pages through thousands of
// waiting proposals this way (the order is total, so pages neither overlap nor skip).
func (s *Service) QueuePage(ctx context.Context, tenantID, consultationID int64, limit, offset int) ([]StaffView, error) {
	if offset < 0 {
		return nil, errs.Field("offset", "offset must not be negative")
	}
	switch {
	case limit < 0:
		return nil, errs.Field("limit", "limit must not be negative")
	case limit == 0:
		limit = DefaultQueue
	case limit > MaxQueue:
		limit = MaxQueue
	}
	// Pending, then postponed, each read in its own index order (tenant, status, created_at,
	// id: proposals_waiting), so a page deep in thousands of waiting proposals costs an index
	// walk, not a sort of them all.
	pending, err := s.waitingCount(ctx, tenantID, consultationID, Pending)
	if err != nil {
		return nil, err
	}
	out := make([]StaffView, 0, limit)
	read := func(st Status, off, n int) error {
		var ps []Proposal
		q := s.waitingQuery(tenantID, consultationID, st, &ps)
		if err := q.OrderExpr("p.created_at ASC, p.id ASC").Limit(int64(n)).Offset(int64(off)).Scan(ctx); err != nil {
			return fmt.Errorf("read moderation queue of tenant %d: %w", tenantID, err)
		}
		for _, p := range ps {
			out = append(out, p.Staff())
		}
		return nil
	}
	if offset < pending {
		if err := read(Pending, offset, min(limit, pending-offset)); err != nil {
			return nil, err
		}
	}
	if rest := limit - len(out); rest > 0 {
		if err := read(Postponed, max(0, offset-pending), rest); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// waitingQuery selects into ps the proposals of one waiting status that the queue shows.
func (s *Service) waitingQuery(tenantID, consultationID int64, st Status, ps any) *bun.SelectQuery {
	q := store.For(s.db, tenantID).Select(ps).Where("p.status = ?", st).Where(notFrozen, tenantID)
	if consultationID != 0 {
		q = q.Where("p.consultation_id = ?", consultationID)
	}
	return q
}

func (s *Service) waitingCount(ctx context.Context, tenantID, consultationID int64, st Status) (int, error) {
	n, err := s.waitingQuery(tenantID, consultationID, st, (*Proposal)(nil)).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count moderation queue of tenant %d: %w", tenantID, err)
	}
	return int(n), nil
}

// QueueLength counts the proposals Queue would list (consultationID 0: every consultation's).
func (s *Service) QueueLength(ctx context.Context, tenantID, consultationID int64) (int, error) {
	total := 0
	for _, st := range waiting {
		n, err := s.waitingCount(ctx, tenantID, consultationID, st)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// MaxAuthorOthers bounds the author's other proposals shown beside one under moderation.
const MaxAuthorOthers = 50

// AuthorOthers returns the other proposals p's author wrote in p's consultation, newest
// first, whatever their status (at most MaxAuthorOthers): a moderator reads them beside p to
// spot one idea sent several times or a series of off-topic texts.
func (s *Service) AuthorOthers(ctx context.Context, tenantID int64, p Proposal) ([]Proposal, error) {
	ps := []Proposal{}
	if p.Author == "" {
		return ps, nil
	}
	err := store.For(s.db, tenantID).Select(&ps).Where("p.author = ?", p.Author).
		Where("p.consultation_id = ?", p.ConsultationID).Where("p.id <> ?", p.ID).
		OrderExpr("p.created_at DESC, p.id DESC").Limit(MaxAuthorOthers).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("other proposals of the author of %d: %w", p.ID, err)
	}
	return ps, nil
}

// Duplicates returns accepted proposals of p's consultation that look like p (Similar, the
// hints its author saw while typing), p itself left out: a moderator refuses a copy as
// "already exists".
func (s *Service) Duplicates(ctx context.Context, tenantID int64, p Proposal, limit int) ([]Proposal, error) {
	// A whole text, not one being typed: the trailing space stops the last word being a prefix.
	ps, err := s.Similar(ctx, tenantID, p.ConsultationID, p.Content+" ", limit+1)
	if err != nil {
		return nil, err
	}
	out := ps[:0]
	for _, x := range ps {
		if x.ID != p.ID {
			out = append(out, x)
		}
	}
	return out[:min(len(out), max(limit, 0))], nil
}

// Accept shows a pending or postponed proposal to participants, tagged with themes, each of
// which must be among validThemes (the consultation's theme slugs).
func (s *Service) Accept(ctx context.Context, tenantID, id int64, moderator string, themes, validThemes []string) (Proposal, error) {
	tags := []string{}
	for _, t := range themes {
		t = strings.TrimSpace(t)
		if !slices.Contains(validThemes, t) {
			return Proposal{}, errs.Field("themes", "unknown theme %q: choose among %s", t, list(validThemes)).Say("err_theme_unknown")
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return s.decide(ctx, tenantID, id, moderator, decision{
		action: "proposal.accept", to: Accepted, from: waiting,
		detail: map[string]any{"themes": tags},
		apply:  func(p *Proposal) { p.Themes, p.RefusalReason = tags, "" },
	})
}

// Refuse hides a pending or postponed proposal; its author sees the reason. The comment,
// required with the reason "other", goes to the audit log for auditors.
func (s *Service) Refuse(ctx context.Context, tenantID, id int64, moderator, reason, comment string) (Proposal, error) {
	r, err := ParseReason(reason)
	if err != nil {
		return Proposal{}, err
	}
	comment = strings.Join(strings.Fields(comment), " ")
	switch {
	case r == Other && comment == "":
		return Proposal{}, errs.Field("comment", "explain the refusal in a comment when the reason is \"other\"").Say("err_refusal_comment_needed")
	case utf8.RuneCountInString(comment) > MaxComment || !utf8.ValidString(comment) || strings.ContainsRune(comment, 0):
		return Proposal{}, errs.Field("comment", "the comment must be valid text of at most %d characters", MaxComment).Say("err_comment_too_long")
	}
	detail := map[string]any{"reason": string(r)}
	if comment != "" {
		detail["comment"] = comment
	}
	return s.decide(ctx, tenantID, id, moderator, decision{
		action: "proposal.refuse", to: Refused, from: waiting, detail: detail,
		apply: func(p *Proposal) { p.RefusalReason, p.RefusalComment = r, comment },
	})
}

// Postpone sets a pending proposal aside: it goes back to the queue after every pending one.
func (s *Service) Postpone(ctx context.Context, tenantID, id int64, moderator string) (Proposal, error) {
	return s.decide(ctx, tenantID, id, moderator, decision{
		action: "proposal.postpone", to: Postponed, from: []Status{Pending},
	})
}

// Archive withdraws an accepted proposal from sequences and search; its votes stay.
func (s *Service) Archive(ctx context.Context, tenantID, id int64, moderator string) (Proposal, error) {
	return s.decide(ctx, tenantID, id, moderator, decision{
		action: "proposal.archive", to: Archived, from: []Status{Accepted},
	})
}

type decision struct {
	action string
	to     Status
	from   []Status
	detail map[string]any
	apply  func(*Proposal)
}

// decide applies one moderation decision and audits it in the same transaction. It refuses
// a proposal another moderator holds and a decision its status does not allow.
func (s *Service) decide(ctx context.Context, tenantID, id int64, moderator string, d decision) (Proposal, error) {
	if err := validKey("moderator", moderator); err != nil {
		return Proposal{}, err
	}
	var p Proposal
	var from Status
	err := store.For(s.db, tenantID).Tx(ctx, func(ctx context.Context, tx store.Scope) error {
		var err error
		if p, err = get(ctx, tx, id, true); err != nil {
			return err
		}
		if err := checkNotFrozen(ctx, tx, p.ConsultationID); err != nil {
			return err
		}
		now := s.now()
		if p.LockedByOther(moderator, now) {
			return errs.E(errs.Conflict, "this proposal is being moderated by someone else until %s; take the next one", p.LockedUntil.Format(time.RFC3339)).Say("err_moderation_locked")
		}
		if !slices.Contains(d.from, p.Status) {
			return errs.E(errs.Conflict, "a proposal that is %s cannot be %s", p.Status, d.to).Say("err_moderation_status")
		}
		from = p.Status
		p.Status, p.ModeratedAt, p.ModeratedBy = d.to, &now, moderator
		p.LockedBy, p.LockedUntil = "", nil
		if d.apply != nil {
			d.apply(&p)
		}
		_, err = tx.Update(&p).
			Column("status", "refusal_reason", "refusal_comment", "themes", "moderated_at", "moderated_by", "locked_by", "locked_until").
			WherePK().Exec(ctx)
		if err != nil {
			return err
		}
		detail := map[string]any{"from": string(from), "consultation_id": p.ConsultationID}
		for k, v := range d.detail {
			detail[k] = v
		}
		_, err = s.log.AppendIn(ctx, tx, audit.Record{
			Actor: moderator, Action: d.action, Object: auditObjectBase + strconv.FormatInt(p.ID, 10), Detail: detail,
		})
		return err
	})
	if err != nil {
		return Proposal{}, wrap(err, fmt.Sprintf("%s %d", d.action, id))
	}
	if s.OnAccepted != nil && (d.to == Accepted || from == Accepted) {
		s.OnAccepted(tenantID, p.ConsultationID)
	}
	if s.Events != nil {
		payload := map[string]any{"id": p.ID, "consultation_id": p.ConsultationID, "status": string(p.Status)}
		if p.Status == Accepted {
			payload["content"], payload["themes"] = p.Content, p.Themes
		}
		s.Events(tenantID, d.action, payload)
	}
	return p, nil
}

func list(ss []string) string {
	if len(ss) == 0 {
		return "(this consultation has no themes)"
	}
	return strings.Join(ss, ", ")
}
