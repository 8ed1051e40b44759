package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"
	gomail "github.com/wneessen/go-mail"

	"github.com/concorde-civic/concorde/core/store"
)

// Metrics are the sender's Prometheus metrics. They exist (at zero) on every node, with or
// without a mail server, so that dashboards and alerts always find them.
type Metrics struct {
	Sent  *prometheus.CounterVec // result: sent, retry, failed
	Queue prometheus.Gauge
}

// NewMetrics registers the mail metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "concorde_mail_sent_total",
			Help: "E-mail delivery attempts by this node, by result: sent, retry (a temporary failure, tried again later) or failed (given up).",
		}, []string{"result"}),
		Queue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "concorde_mail_queue_depth", Help: "E-mails waiting in the outbox (every tenant), as this node last counted them.",
		}),
	}
	for _, r := range []string{"sent", "retry", "failed"} {
		m.Sent.WithLabelValues(r)
	}
	reg.MustRegister(m.Sent, m.Queue)
	return m
}

// Transport delivers composed messages. An error that IsPermanent is not retried.
type Transport interface {
	// Send delivers msgs; a message it could not deliver has its SendError set, or the
	// whole batch failed with the returned error.
	Send(ctx context.Context, msgs []*gomail.Msg) error
}

// Sender delivers the outbox.
type Sender struct {
	DB        *bun.DB
	Transport Transport
	From      string // the platform's From address, "Name <address>" or a bare address
	Log       *slog.Logger
	Metrics   *Metrics
	// Node names this process in the leases it takes.
	Node string
	// Lease is how long a claimed message is this node's before another may take it
	// (a node that died while sending); Batch is how many messages one round claims;
	// MaxAttempts is when a message that keeps failing is given up.
	Lease       time.Duration
	Batch       int
	MaxAttempts int
	// Keep is how long sent and failed messages stay in the outbox before they are deleted.
	Keep time.Duration
	Now  func() time.Time

	wake chan struct{}
}

// Defaults of the Sender's bounds.
const (
	DefaultLease       = 2 * time.Minute
	DefaultBatch       = 50
	DefaultMaxAttempts = 10
	DefaultKeep        = 30 * 24 * time.Hour
	firstRetry         = 30 * time.Second
	maxRetry           = 6 * time.Hour
)

func (s *Sender) defaults() {
	if s.Lease <= 0 {
		s.Lease = DefaultLease
	}
	if s.Batch <= 0 {
		s.Batch = DefaultBatch
	}
	if s.MaxAttempts <= 0 {
		s.MaxAttempts = DefaultMaxAttempts
	}
	if s.Keep <= 0 {
		s.Keep = DefaultKeep
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Node == "" {
		s.Node = newToken(8)
	}
}

func (s *Sender) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Wake asks a running sender to look at the outbox now rather than at its next period.
func (s *Sender) Wake() {
	if s.wake == nil {
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers the outbox every period (and when woken) until ctx ends.
func (s *Sender) Run(ctx context.Context, period time.Duration) {
	s.defaults()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		for {
			n, err := s.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				s.Log.Warn("deliver e-mails", "error", err.Error())
			}
			if n < s.Batch || err != nil || ctx.Err() != nil {
				break // a full batch: there may be more right away
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// Start makes Wake effective; call it before Run (core/app does).
func (s *Sender) Start() { s.wake = make(chan struct{}, 1) }

// RunOnce claims up to Batch due messages (any tenant), delivers them and records the
// outcome; it returns how many it claimed. Two nodes never hold one message at once: a
// message is claimed by a conditional update that only one of them can win.
func (s *Sender) RunOnce(ctx context.Context) (int, error) {
	s.defaults()
	now := s.now()
	var due []Row
	err := store.Across(s.DB).Select(&due).Column("tenant_id", "id").
		Where("mo.sent_at IS NULL").Where("mo.failed_at IS NULL").
		Where("mo.next_attempt_at <= ?", now).
		Where("(mo.lease_until IS NULL OR mo.lease_until < ?)", now).
		OrderExpr("mo.next_attempt_at ASC").Limit(int64(s.Batch)).Scan(ctx)
	if err != nil {
		return 0, fmt.Errorf("find due e-mails: %w", err)
	}
	var claimed []Row
	until := now.Add(s.Lease)
	for _, d := range due {
		sc := store.For(s.DB, d.TenantID)
		res, err := sc.Update((*Row)(nil)).Set("lease_owner = ?", s.Node).Set("lease_until = ?", until).
			Where("mo.id = ?", d.ID).Where("mo.sent_at IS NULL").Where("mo.failed_at IS NULL").
			Where("(mo.lease_until IS NULL OR mo.lease_until < ?)", now).Exec(ctx)
		if err != nil {
			return len(claimed), fmt.Errorf("claim e-mail %d: %w", d.ID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			continue // another node took it
		}
		var r Row
		if err := sc.Select(&r).Where("mo.id = ?", d.ID).Scan(ctx); err != nil {
			return len(claimed), fmt.Errorf("read e-mail %d: %w", d.ID, err)
		}
		claimed = append(claimed, r)
	}
	if len(claimed) > 0 {
		s.deliver(ctx, claimed)
	}
	s.sweep(ctx, now)
	return len(claimed), nil
}

// deliver sends the claimed rows and records each outcome.
func (s *Sender) deliver(ctx context.Context, rows []Row) {
	msgs := make([]*gomail.Msg, 0, len(rows))
	idx := make([]int, 0, len(rows)) // msgs[i] is rows[idx[i]]
	for i, r := range rows {
		msg, err := Compose(s.From, r.Message(), s.now())
		if err != nil {
			s.record(ctx, r, Permanent(err))
			continue
		}
		msgs = append(msgs, msg)
		idx = append(idx, i)
	}
	if len(msgs) == 0 {
		return
	}
	// The round ends well within the lease, so no other node takes these messages while this
	// one may still send them; what is left unsent by then is retried later.
	sctx, cancel := context.WithTimeout(ctx, min(time.Duration(len(msgs))*30*time.Second, s.Lease*4/5))
	defer cancel()
	batchErr := s.Transport.Send(sctx, msgs)
	for i, msg := range msgs {
		var err error
		switch {
		case msg.HasSendError():
			err = msg.SendError()
			var se *gomail.SendError
			if errors.As(err, &se) && !se.IsTemp() {
				err = Permanent(err)
			}
		case batchErr != nil && !msg.IsDelivered():
			err = batchErr
		}
		s.record(ctx, rows[idx[i]], err)
	}
}

// record writes the outcome of one attempt: sent, or retried later with back-off, or given up.
func (s *Sender) record(ctx context.Context, r Row, err error) {
	now := s.now()
	sc := store.For(s.DB, r.TenantID)
	q := sc.Update((*Row)(nil)).Set("attempts = ?", r.Attempts+1).Set("lease_until = NULL").Set("lease_owner = ''").
		Where("mo.id = ?", r.ID).Where("mo.lease_owner = ?", s.Node)
	result := "sent"
	switch {
	case err == nil:
		// The body goes: it may hold a link's token (an invitation's, for 7 days), which
		// nobody should find in the database or a backup once the e-mail has left.
		q = q.Set("sent_at = ?", now).Set("last_error = ''").Set("body = ''")
		s.Log.Info("e-mail sent", "tenant_id", r.TenantID, "id", r.ID, "kind", string(r.Kind))
	case IsPermanent(err) || r.Attempts+1 >= s.MaxAttempts:
		result = "failed"
		q = q.Set("failed_at = ?", now).Set("last_error = ?", truncate(err.Error(), 500)).Set("body = ''")
		s.Log.Error("e-mail given up", "tenant_id", r.TenantID, "id", r.ID, "kind", string(r.Kind), "attempts", r.Attempts+1, "error", err.Error())
	default:
		result = "retry"
		q = q.Set("next_attempt_at = ?", now.Add(Backoff(r.Attempts+1))).Set("last_error = ?", truncate(err.Error(), 500))
		s.Log.Warn("e-mail not sent; will retry", "tenant_id", r.TenantID, "id", r.ID, "kind", string(r.Kind), "attempts", r.Attempts+1, "error", err.Error())
	}
	if _, uerr := q.Exec(ctx); uerr != nil {
		// The lease runs out and another round sends it again: at least once, not lost.
		s.Log.Error("record e-mail outcome", "id", r.ID, "error", uerr.Error())
	}
	if s.Metrics != nil {
		s.Metrics.Sent.WithLabelValues(result).Inc()
	}
}

// sweep refreshes the queue gauge and deletes old sent and failed messages.
func (s *Sender) sweep(ctx context.Context, now time.Time) {
	n, err := (&Outbox{db: s.DB}).Depth(ctx)
	if err == nil && s.Metrics != nil {
		s.Metrics.Queue.Set(float64(n))
	}
	old := now.Add(-s.Keep)
	if _, err := store.Across(s.DB).Delete((*Row)(nil)).
		Where("(mo.sent_at IS NOT NULL AND mo.sent_at < ?) OR (mo.failed_at IS NOT NULL AND mo.failed_at < ?)", old, old).Exec(ctx); err != nil {
		s.Log.Warn("delete old e-mails", "error", err.Error())
	}
}

// Backoff is the wait before attempt n+1 after n failed attempts: 30 s doubling up to 6 h,
// give or take a tenth (so messages failed together are not retried together).
func Backoff(n int) time.Duration {
	d := firstRetry
	for i := 1; i < n && d < maxRetry; i++ {
		d *= 2
	}
	d = min(d, maxRetry)
	return d + time.Duration(rand.Int64N(int64(d/10)+1))
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as one that retrying cannot cure (a refused address, a bad message).
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
