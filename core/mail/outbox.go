package mail

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/store"
)

// Row is one message of the outbox.
type Row struct {
	bun.BaseModel `bun:"table:mail_outbox,alias:mo"`

	TenantID      int64      `bun:"tenant_id,pk"`
	ID            int64      `bun:"id,pk"`
	Kind          Kind       `bun:"kind,notnull"`
	Recipient     string     `bun:"recipient,notnull"`
	SenderName    string     `bun:"sender_name,notnull"`
	Subject       string     `bun:"subject,notnull"`
	Body          string     `bun:"body,notnull"`
	CreatedAt     time.Time  `bun:"created_at,notnull"`
	NextAttemptAt time.Time  `bun:"next_attempt_at,notnull"`
	Attempts      int        `bun:"attempts,notnull"`
	LeaseOwner    string     `bun:"lease_owner,notnull"`
	LeaseUntil    *time.Time `bun:"lease_until"`
	SentAt        *time.Time `bun:"sent_at"`
	FailedAt      *time.Time `bun:"failed_at"`
	LastError     string     `bun:"last_error,notnull"`
}

// SetTenantID lets store.Scope stamp the row with its tenant.
func (r *Row) SetTenantID(id int64) { r.TenantID = id }

// Message is the row as a message.
func (r Row) Message() Message {
	return Message{Kind: r.Kind, To: r.Recipient, SenderName: r.SenderName, Subject: r.Subject, Body: r.Body}
}

// Outbox is where messages wait to be sent. Writing to it is a plain insert in the tenant's
// scope: it never waits for a mail server.
type Outbox struct {
	db  *bun.DB
	ids *store.IDs
	// Queued, when set, is told that rows were added (the sender then looks at once).
	Queued func()
	Now    func() time.Time
}

// NewOutbox returns the outbox of db.
func NewOutbox(db *bun.DB, ids *store.IDs) *Outbox {
	return &Outbox{db: db, ids: ids, Now: time.Now}
}

func (o *Outbox) now() time.Time { return o.Now().UTC().Truncate(time.Microsecond) }

// insertBatch bounds the rows of one insert statement (SQLite allows 32,766 variables).
const insertBatch = 500

// Enqueue adds messages of one tenant to the outbox.
func (o *Outbox) Enqueue(ctx context.Context, tenantID int64, msgs ...Message) error {
	return o.EnqueueIn(ctx, store.For(o.db, tenantID), msgs...)
}

// EnqueueIn is Enqueue within a transaction (or scope) of the caller.
func (o *Outbox) EnqueueIn(ctx context.Context, sc store.Scope, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	at := o.now()
	rows := make([]Row, 0, len(msgs))
	for _, m := range msgs {
		if err := m.Validate(); err != nil {
			return err
		}
		rows = append(rows, Row{ID: o.ids.Next(), Kind: m.Kind, Recipient: m.To, SenderName: HeaderText(m.SenderName, MaxSenderNameRunes),
			Subject: HeaderText(m.Subject, MaxSubjectRunes), Body: m.Body, CreatedAt: at, NextAttemptAt: at})
	}
	for len(rows) > 0 {
		n := min(len(rows), insertBatch)
		batch := rows[:n]
		if _, err := sc.Insert(&batch).Exec(ctx); err != nil {
			return fmt.Errorf("queue %d e-mails: %w", len(batch), err)
		}
		rows = rows[n:]
	}
	if o.Queued != nil {
		o.Queued()
	}
	return nil
}

// Forget deletes a tenant's messages to an address, sent or not (erasure of an account).
func (o *Outbox) Forget(ctx context.Context, sc store.Scope, recipient string) error {
	if _, err := sc.Delete((*Row)(nil)).Where("recipient = ?", strings.ToLower(recipient)).Exec(ctx); err != nil {
		return fmt.Errorf("forget e-mails: %w", err)
	}
	return nil
}

// Depth counts the messages waiting to be sent, over every tenant (the queue gauge).
func (o *Outbox) Depth(ctx context.Context) (int64, error) {
	n, err := store.Across(o.db).Select((*Row)(nil)).Where("mo.sent_at IS NULL").Where("mo.failed_at IS NULL").Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count waiting e-mails: %w", err)
	}
	return n, nil
}

// List returns a tenant's messages to recipient (every one when recipient is ""), oldest
// first: for tests and the operators' look at the queue.
func (o *Outbox) List(ctx context.Context, tenantID int64, recipient string) ([]Row, error) {
	rows := []Row{}
	q := store.For(o.db, tenantID).Select(&rows).OrderExpr("mo.id ASC")
	if recipient != "" {
		q = q.Where("mo.recipient = ?", recipient)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list e-mails: %w", err)
	}
	return rows, nil
}

func newToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
