package identity

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
)

// Purpose is what an account link is for.
type Purpose string

// The account links sent by e-mail.
const (
	// InviteLink lets an invited person choose their password (and proves their address).
	InviteLink Purpose = "invite"
	// VerifyLink proves that the person who signed up owns the address.
	VerifyLink Purpose = "verify"
)

// How long each kind of link stays valid.
const (
	InviteTTL = 7 * 24 * time.Hour
	VerifyTTL = 3 * 24 * time.Hour
)

// LinkPrefix starts every account link token, so a token pasted in the wrong place is told apart.
const LinkPrefix = "ccl_"

// errBadLink is the one answer to an unknown, expired, used or revoked link: which of them
// it was would tell an attacker nothing useful, and the person what to do is the same.
const errBadLink = "this link is not valid: it has expired, was already used, or a newer one was sent; ask for a new one"

// Link is a single-use, expiring token sent to an account's address. Only its SHA-256 is
// stored; the plaintext goes into the e-mail.
type Link struct {
	bun.BaseModel `bun:"table:account_links,alias:l"`

	TenantID  int64      `bun:"tenant_id,pk"`
	ID        int64      `bun:"id,pk"`
	UserID    int64      `bun:"user_id,notnull"`
	Purpose   Purpose    `bun:"purpose,notnull"`
	Hash      string     `bun:"hash,notnull"`
	CreatedBy string     `bun:"created_by,notnull"`
	CreatedAt time.Time  `bun:"created_at,notnull"`
	ExpiresAt time.Time  `bun:"expires_at,notnull"`
	UsedAt    *time.Time `bun:"used_at"`
	RevokedAt *time.Time `bun:"revoked_at"`
}

// SetTenantID lets store.Scope stamp the link with its tenant.
func (l *Link) SetTenantID(id int64) { l.TenantID = id }

// AccountLinks issues and redeems account links.
type AccountLinks struct {
	db    *bun.DB
	users *Users
	ids   store.IDs
	Now   func() time.Time
}

// NewAccountLinks returns the account link service.
func NewAccountLinks(db *bun.DB, users *Users) *AccountLinks {
	return &AccountLinks{db: db, users: users, Now: now}
}

func (s *AccountLinks) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Issue creates a link of purpose for account userID, valid for ttl, and revokes the
// account's older links of the same purpose. It returns the plaintext token and the link.
func (s *AccountLinks) Issue(ctx context.Context, tenantID, userID int64, purpose Purpose, ttl time.Duration, by string) (string, Link, error) {
	plain := LinkPrefix + newSecret()
	at := s.now()
	l := Link{ID: s.ids.Next(), UserID: userID, Purpose: purpose, Hash: hashToken(plain), CreatedBy: by, CreatedAt: at, ExpiresAt: at.Add(ttl)}
	err := store.For(s.db, tenantID).Tx(ctx, func(ctx context.Context, tx store.Scope) error {
		if _, err := tx.Update((*Link)(nil)).Set("revoked_at = ?", at).
			Where("l.user_id = ?", userID).Where("l.purpose = ?", purpose).
			Where("l.used_at IS NULL").Where("l.revoked_at IS NULL").Exec(ctx); err != nil {
			return err
		}
		_, err := tx.Insert(&l).Exec(ctx)
		return err
	})
	if err != nil {
		return "", Link{}, fmt.Errorf("issue %s link for user %d: %w", purpose, userID, err)
	}
	return plain, l, nil
}

// Check returns the account a valid link of purpose belongs to, without using the link (the
// page that asks for a password shows whose it is). Anything else is errs.Invalid.
func (s *AccountLinks) Check(ctx context.Context, tenantID int64, purpose Purpose, plain string) (User, Link, error) {
	return s.find(ctx, store.For(s.db, tenantID), purpose, plain, false)
}

func (s *AccountLinks) find(ctx context.Context, sc store.Scope, purpose Purpose, plain string, lock bool) (User, Link, error) {
	if !strings.HasPrefix(plain, LinkPrefix) || len(plain) > maxTokenLength {
		return User{}, Link{}, errs.Field("token", errBadLink)
	}
	var l Link
	q := sc.Select(&l).Where("l.hash = ?", hashToken(plain)).Where("l.purpose = ?", purpose)
	if lock && sc.Dialect() == store.Postgres {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if store.IsNoRows(err) {
			return User{}, Link{}, errs.Field("token", errBadLink)
		}
		return User{}, Link{}, fmt.Errorf("find %s link: %w", purpose, err)
	}
	if l.UsedAt != nil || l.RevokedAt != nil || !s.now().Before(l.ExpiresAt) {
		return User{}, Link{}, errs.Field("token", errBadLink)
	}
	var u User
	if err := sc.Select(&u).Where("u.id = ?", l.UserID).Scan(ctx); err != nil {
		return User{}, Link{}, userResult(err, "user %d", l.UserID)
	}
	if u.Disabled() {
		return User{}, Link{}, errs.Field("token", errBadLink)
	}
	return u, l, nil
}

// Redeem uses a valid link of purpose once: within one transaction it marks the link used,
// marks the account's address verified and runs then (if not nil) on the same transaction,
// so that either all of it happens or none. A second use of the link is errs.Invalid.
func (s *AccountLinks) Redeem(ctx context.Context, tenantID int64, purpose Purpose, plain string, then func(ctx context.Context, tx store.Scope, u User) error) (User, error) {
	var u User
	err := store.For(s.db, tenantID).Tx(ctx, func(ctx context.Context, tx store.Scope) error {
		var l Link
		var err error
		if u, l, err = s.find(ctx, tx, purpose, plain, true); err != nil {
			return err
		}
		// Conditional, so that two redemptions racing on SQLite (no row lock) use it once.
		res, err := tx.Update((*Link)(nil)).Set("used_at = ?", s.now()).
			Where("l.id = ?", l.ID).Where("l.used_at IS NULL").Where("l.revoked_at IS NULL").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.Field("token", errBadLink)
		}
		if err := s.users.markVerified(ctx, tx, u.ID); err != nil {
			return err
		}
		if then != nil {
			return then(ctx, tx, u)
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// IssuedSince counts the links of purpose issued to account userID since t (resend limits).
func (s *AccountLinks) IssuedSince(ctx context.Context, tenantID, userID int64, purpose Purpose, t time.Time) (int, error) {
	n, err := store.For(s.db, tenantID).Select((*Link)(nil)).
		Where("l.user_id = ?", userID).Where("l.purpose = ?", purpose).Where("l.created_at > ?", t.UTC()).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count %s links: %w", purpose, err)
	}
	return int(n), nil
}

// LastIssued is when the newest link of purpose was issued to account userID (zero if none).
func (s *AccountLinks) LastIssued(ctx context.Context, tenantID, userID int64, purpose Purpose) (time.Time, error) {
	var ls []Link
	err := store.For(s.db, tenantID).Select(&ls).Where("l.user_id = ?", userID).Where("l.purpose = ?", purpose).
		OrderExpr("l.created_at DESC").Limit(1).Scan(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("last %s link: %w", purpose, err)
	}
	if len(ls) == 0 {
		return time.Time{}, nil
	}
	return ls[0].CreatedAt, nil
}

// HashPassword checks a password against the policy and hashes it, before a transaction
// that stores it (so the transaction does not wait for the hash).
func (s *Users) HashPassword(password string) (string, error) { return s.hasher.Hash(password) }

// SetPasswordHashIn stores a hash from HashPassword as account id's password, within tx.
func (s *Users) SetPasswordHashIn(ctx context.Context, tx store.Scope, id int64, hash string) error {
	res, err := tx.Update(&User{}).Set("password_hash = ?", hash).Where("u.id = ?", id).Exec(ctx)
	return affected(res, err, "set password of user %d", id)
}
