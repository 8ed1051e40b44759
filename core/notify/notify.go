// Package notify tells people by e-mail what concerns them: the link that verifies their
// address, an invitation to a site's staff, the moderation of their proposals and the
// results of consultations they took part in. It writes the messages, in the site's
// language and with links to the site's own host, into the outbox (core/mail); it never
// waits for a mail server.
package notify

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/mail"
	"github.com/concorde-civic/concorde/core/proposal"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/tenants"
)

// Texts is the message catalogue (web.Pages).
type Texts interface {
	T(locale, key string) string
}

// Resend limits of the verification e-mail, per account.
const (
	ResendEvery  = time.Minute // at most one link a minute
	ResendPerDay = 5           // and this many a day
)

// Service writes the notifications.
type Service struct {
	DB            *bun.DB
	Outbox        *mail.Outbox
	Texts         Texts
	Users         *identity.Users
	Links         *identity.AccountLinks
	Tenants       *tenants.Service
	Proposals     *proposal.Service
	Consultations *consultation.Service
	Log           *slog.Logger
	// Scheme and Port make the links: scheme://host[:port]/path, host being the site's.
	Scheme string
	Port   string
	// DateIn writes a date as the site's pages do (web.At).
	DateIn func(t *tenants.Tenant, locale string, at time.Time) string
	Now    func() time.Time

	mu     sync.Mutex  // guards fanout: an event may arrive while Close runs
	fanout chan func() // results fan-outs, run one at a time in the background
	done   chan struct{}
}

// Start runs the background fan-out of results notifications until Close.
func (s *Service) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	fanout, done := make(chan func(), 64), make(chan struct{})
	s.fanout, s.done = fanout, done
	go func() {
		defer close(done)
		for f := range fanout {
			f()
		}
	}()
}

// Close waits for the fan-outs already asked for; events after it run their fan-out at once.
func (s *Service) Close() {
	s.mu.Lock()
	fanout, done := s.fanout, s.done
	s.fanout = nil
	if fanout != nil {
		close(fanout)
	}
	s.mu.Unlock()
	if done != nil {
		<-done
	}
}

// queue hands f to the background fan-out, or runs it now when none runs (not started, or
// closed); it never makes the caller wait for a full queue (a burst of publications runs the
// extra ones aside).
func (s *Service) queue(f func()) {
	s.mu.Lock()
	if s.fanout == nil {
		s.mu.Unlock()
		f()
		return
	}
	defer s.mu.Unlock()
	select {
	case s.fanout <- f:
	default:
		go f()
	}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// link is the absolute address of path on host.
func (s *Service) link(host, path string, q url.Values) string {
	h := host
	if s.Port != "" {
		h = net.JoinHostPort(host, s.Port)
	}
	u := url.URL{Scheme: s.Scheme, Host: h, Path: path}
	if q != nil {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func (s *Service) tr(t *tenants.Tenant, key string, args ...any) string {
	text := s.Texts.T(t.DefaultLocale, key)
	if len(args) == 0 {
		return text
	}
	return fmt.Sprintf(text, args...)
}

// Invitation queues the e-mail that invites u to choose a password on site t, reached at host.
func (s *Service) Invitation(ctx context.Context, t *tenants.Tenant, host string, u identity.User, role, inviter, token string, expires time.Time) error {
	link := s.link(host, "/account/invitation", url.Values{"token": {token}})
	roleName := s.tr(t, "role_"+role)
	body := s.tr(t, "mail_invite_body", t.Name, inviter, roleName, s.DateIn(t, t.DefaultLocale, expires), link)
	return s.Outbox.Enqueue(ctx, t.ID, mail.Message{Kind: mail.Invitation, To: u.Email, SenderName: t.Name,
		Subject: s.tr(t, "mail_invite_subject", t.Name), Body: body})
}

// Verification issues a verification link for u's address and queues the e-mail that carries it.
func (s *Service) Verification(ctx context.Context, t *tenants.Tenant, host string, u identity.User) error {
	token, _, err := s.Links.Issue(ctx, t.ID, u.ID, identity.VerifyLink, identity.VerifyTTL, authz.UserSubject(u.TenantID, u.ID))
	if err != nil {
		return err
	}
	link := s.link(host, "/account/verify", url.Values{"token": {token}})
	return s.Outbox.Enqueue(ctx, t.ID, mail.Message{Kind: mail.Verification, To: u.Email, SenderName: t.Name,
		Subject: s.tr(t, "mail_verify_subject", t.Name), Body: s.tr(t, "mail_verify_body", t.Name, link)})
}

// ResendVerification sends u a new verification link, within the resend limits: one a
// minute, ResendPerDay a day (errs.TooMany past them); an address already verified is
// errs.Conflict.
func (s *Service) ResendVerification(ctx context.Context, t *tenants.Tenant, host string, u identity.User) error {
	if u.Verified() {
		return errs.E(errs.Conflict, "your address is already verified")
	}
	now := s.now()
	last, err := s.Links.LastIssued(ctx, t.ID, u.ID, identity.VerifyLink)
	if err != nil {
		return err
	}
	if now.Sub(last) < ResendEvery {
		return errs.E(errs.TooMany, "a verification e-mail was sent less than a minute ago; check your inbox (and spam folder) before asking again")
	}
	n, err := s.Links.IssuedSince(ctx, t.ID, u.ID, identity.VerifyLink, now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	if n >= ResendPerDay {
		return errs.E(errs.TooMany, "%d verification e-mails were sent in the last 24 hours, the most allowed; try again tomorrow", n)
	}
	return s.Verification(ctx, t, host, u)
}

// Event handles the core's events (the same the plugins hear): a moderation decision
// notifies the proposal's author; a publication notifies the participants who asked for it.
// Failures are logged: a notification never undoes or fails what happened.
func (s *Service) Event(tenantID int64, name string, payload map[string]any) {
	id, _ := payload["id"].(int64)
	if id == 0 {
		return
	}
	switch name {
	case "proposal.accept", "proposal.refuse":
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.moderated(ctx, tenantID, id); err != nil {
			s.Log.Warn("notify the author of a moderated proposal", "tenant_id", tenantID, "proposal_id", id, "error", err.Error())
		}
	case "consultation.publish":
		f := func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			if err := s.published(ctx, tenantID, id); err != nil {
				s.Log.Warn("notify the participants of published results", "tenant_id", tenantID, "consultation_id", id, "error", err.Error())
			}
		}
		s.queue(f)
	}
}

// author is the account of a participant key "u:<tenant>:<id>" of this tenant, if it is one.
func author(tenantID int64, participant string) (int64, bool) {
	rest, ok := strings.CutPrefix(participant, "u:"+strconv.FormatInt(tenantID, 10)+":")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil
}

func (s *Service) site(ctx context.Context, tenantID int64) (*tenants.Tenant, string, error) {
	t, err := s.Tenants.ByID(ctx, tenantID)
	if err != nil {
		return nil, "", err
	}
	if len(t.Hosts) == 0 {
		return nil, "", fmt.Errorf("tenant %d has no host to link to", tenantID)
	}
	return &t, t.Hosts[0], nil
}

// moderated notifies the author of proposal id of its acceptance or refusal.
func (s *Service) moderated(ctx context.Context, tenantID, id int64) error {
	p, err := s.Proposals.Get(ctx, tenantID, id)
	if err != nil {
		return err
	}
	uid, ok := author(tenantID, p.Author)
	if !ok {
		return nil // an anonymous participant: no address
	}
	u, err := s.Users.ByID(ctx, tenantID, uid)
	if err != nil {
		return err
	}
	if !u.Verified() || !u.NotifyProposals || u.Disabled() {
		return nil
	}
	t, host, err := s.site(ctx, tenantID)
	if err != nil {
		return err
	}
	cs, err := s.Consultations.GetByID(ctx, tenantID, p.ConsultationID)
	if err != nil {
		return err
	}
	text := strings.TrimSpace(cs.Prefix + " " + p.Content)
	prefs := s.link(host, "/account", nil) + "#notifications"
	m := mail.Message{To: u.Email, SenderName: t.Name}
	switch p.Status {
	case proposal.Accepted:
		m.Kind, m.Subject = mail.ProposalAccepted, s.tr(t, "mail_accepted_subject")
		m.Body = s.tr(t, "mail_accepted_body", t.Name, text, s.link(host, "/proposals/"+strconv.FormatInt(p.ID, 10), nil), prefs)
	case proposal.Refused:
		comment := ""
		if p.RefusalComment != "" {
			comment = s.tr(t, "mail_refused_comment", p.RefusalComment)
		}
		m.Kind, m.Subject = mail.ProposalRefused, s.tr(t, "mail_refused_subject")
		m.Body = s.tr(t, "mail_refused_body", t.Name, text, s.tr(t, "reason_"+string(p.RefusalReason)), comment,
			s.link(host, "/charte", nil), s.link(host, "/account", nil), prefs)
	default:
		return nil
	}
	return s.Outbox.Enqueue(ctx, tenantID, m)
}

// published notifies, once, each account that took part in consultation id (a vote or a
// proposal), verified its address and asked for results.
func (s *Service) published(ctx context.Context, tenantID, id int64) error {
	cs, err := s.Consultations.GetByID(ctx, tenantID, id)
	if err != nil {
		return err
	}
	t, host, err := s.site(ctx, tenantID)
	if err != nil {
		return err
	}
	prefix := "u:" + strconv.FormatInt(tenantID, 10) + ":"
	sc := store.For(s.DB, tenantID)
	var users []identity.User
	err = sc.Select(&users).
		Where("u.notify_results").Where("u.email_verified_at IS NOT NULL").Where("u.disabled_at IS NULL").
		Where(`(EXISTS (SELECT 1 FROM votes AS v WHERE v.tenant_id = u.tenant_id AND v.consultation_id = ? AND v.participant = ? || CAST(u.id AS TEXT))
			OR EXISTS (SELECT 1 FROM proposals AS p WHERE p.tenant_id = u.tenant_id AND p.consultation_id = ? AND p.author = ? || CAST(u.id AS TEXT)))`,
			id, prefix, id, prefix).
		OrderExpr("u.id").Scan(ctx)
	if err != nil {
		return fmt.Errorf("find who asked for the results: %w", err)
	}
	link := s.link(host, "/c/"+cs.Slug+"/results", nil)
	prefs := s.link(host, "/account", nil) + "#notifications"
	msgs := make([]mail.Message, 0, len(users))
	for _, u := range users {
		msgs = append(msgs, mail.Message{Kind: mail.ResultsPublished, To: u.Email, SenderName: t.Name,
			Subject: s.tr(t, "mail_results_subject", cs.Question), Body: s.tr(t, "mail_results_body", t.Name, cs.Question, link, prefs)})
	}
	return s.Outbox.Enqueue(ctx, tenantID, msgs...)
}
