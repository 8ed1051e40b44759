package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
)

// DefaultSessionTTL is how long a session lasts when NewSessions is given no duration.
const DefaultSessionTTL = 12 * time.Hour

// secretBytes is the entropy of session and API tokens.
const secretBytes = 32

// maxTokenLength bounds what Lookup will hash: longer input is refused untouched.
const maxTokenLength = 128

const errNoSession = "your session has expired or is not valid; please log in again"

// Session is a logged-in staff or citizen account on one tenant's host. The secret token
// lives only in the browser's cookie; the row keeps its SHA-256.
type Session struct {
	bun.BaseModel `bun:"table:sessions,alias:s"`

	TenantID     int64     `bun:"tenant_id,pk" json:"tenant_id"` // the host's tenant
	ID           string    `bun:"id,pk" json:"-"`                // hex SHA-256 of the token
	UserTenantID int64     `bun:"user_tenant_id,notnull" json:"user_tenant_id"`
	UserID       int64     `bun:"user_id,notnull" json:"user_id"`
	CreatedAt    time.Time `bun:"created_at,notnull" json:"created_at"`
	ExpiresAt    time.Time `bun:"expires_at,notnull" json:"expires_at"`
}

// SetTenantID lets store.Scope stamp the session with its host's tenant.
func (s *Session) SetTenantID(id int64) { s.TenantID = id }

// Sessions issues and checks login sessions.
type Sessions struct {
	db  *bun.DB
	ttl time.Duration

	// Now is the clock expiry is measured against; tests replace it.
	Now func() time.Time
}

// NewSessions returns the session service; sessions last ttl (DefaultSessionTTL if ttl ≤ 0).
func NewSessions(db *bun.DB, ttl time.Duration) *Sessions {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	return &Sessions{db: db, ttl: ttl, Now: time.Now}
}

func (s *Sessions) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Create opens a session for u on the host of tenant hostTenantID and returns the secret
// token to set as the cookie. u may belong to another tenant (a platform administrator on a
// city's host); whether it may act there is for authorization to decide.
func (s *Sessions) Create(ctx context.Context, hostTenantID int64, u User) (string, Session, error) {
	if u.ID == 0 || u.TenantID == 0 {
		return "", Session{}, fmt.Errorf("create session: user has no id")
	}
	if u.Disabled() {
		return "", Session{}, errs.E(errs.Unauthorized, errBadCredentials).Say("err_bad_credentials")
	}
	token := newSecret()
	at := s.now()
	sess := Session{
		ID:           hashToken(token),
		UserTenantID: u.TenantID,
		UserID:       u.ID,
		CreatedAt:    at,
		ExpiresAt:    at.Add(s.ttl),
	}
	if _, err := store.For(s.db, hostTenantID).Insert(&sess).Exec(ctx); err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	return token, sess, nil
}

// Lookup returns the unexpired session of token on the host of hostTenantID, or
// errs.Unauthorized: a token issued on another host, an expired one, or one whose account
// has since been disabled are all refused the same way.
func (s *Sessions) Lookup(ctx context.Context, hostTenantID int64, token string) (Session, error) {
	if token == "" || len(token) > maxTokenLength {
		return Session{}, errs.E(errs.Unauthorized, errNoSession).Say("err_no_session")
	}
	var sess Session
	err := store.For(s.db, hostTenantID).Select(&sess).
		Where("s.id = ?", hashToken(token)).
		Where("s.expires_at > ?", s.now()).
		Where("NOT EXISTS (SELECT 1 FROM users AS du WHERE du.tenant_id = s.user_tenant_id AND du.id = s.user_id AND du.disabled_at IS NOT NULL)").
		Scan(ctx)
	switch {
	case store.IsNoRows(err):
		return Session{}, errs.E(errs.Unauthorized, errNoSession).Say("err_no_session")
	case err != nil:
		return Session{}, fmt.Errorf("look up session: %w", err)
	}
	return sess, nil
}

// Delete ends the session of token on the host of hostTenantID (logging out). Ending a
// session that does not exist is not an error.
func (s *Sessions) Delete(ctx context.Context, hostTenantID int64, token string) error {
	if token == "" || len(token) > maxTokenLength {
		return nil
	}
	if _, err := store.For(s.db, hostTenantID).Delete((*Session)(nil)).
		Where("s.id = ?", hashToken(token)).Exec(ctx); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpired removes the expired sessions of every tenant and returns how many there
// were. It is housekeeping, run by the platform rather than for a request, hence the query
// across tenants.
func (s *Sessions) DeleteExpired(ctx context.Context) (int64, error) {
	res, err := store.Across(s.db).Delete((*Session)(nil)).Where("s.expires_at <= ?", s.now()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// CountActive returns the number of unexpired sessions across all tenants, for a metric.
func (s *Sessions) CountActive(ctx context.Context) (int64, error) {
	n, err := store.Across(s.db).Select((*Session)(nil)).Where("s.expires_at > ?", s.now()).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count sessions: %w", err)
	}
	return int64(n), nil
}

// newSecret returns 32 random bytes, base64url-encoded without padding.
func newSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it aborts the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is what rows keep instead of a secret token: hex SHA-256.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
