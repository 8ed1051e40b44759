package identity

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
)

// API token format and limits.
const (
	TokenPrefix        = "cct_"
	TokenDisplayLength = 8   // characters of the plaintext kept to tell tokens apart in lists
	MaxTokenNameLength = 100 // characters
)

const errBadToken = "the API token is not valid or has been revoked"

// Token is an API token: a bearer credential acting as one account of one tenant. Only its
// SHA-256 is stored; the plaintext is shown once, when it is created.
type Token struct {
	bun.BaseModel `bun:"table:api_tokens,alias:t"`

	TenantID  int64      `bun:"tenant_id,pk" json:"tenant_id"`
	ID        int64      `bun:"id,pk" json:"id"`
	UserID    int64      `bun:"user_id,notnull" json:"user_id"`
	Name      string     `bun:"name,notnull" json:"name"`
	Hash      string     `bun:"hash,notnull" json:"-"`
	Prefix    string     `bun:"prefix,notnull" json:"prefix"`
	CreatedAt time.Time  `bun:"created_at,notnull" json:"created_at"`
	RevokedAt *time.Time `bun:"revoked_at" json:"revoked_at,omitempty"`
	// LastUsedAt is when the token last authenticated a request, to within TokenUseResolution.
	LastUsedAt *time.Time `bun:"last_used_at" json:"last_used_at,omitempty"`
}

// TokenUseResolution is how stale a token's LastUsedAt may be: it is written at most this
// often per token, so reads with a token cost no write.
const TokenUseResolution = time.Minute

// SetTenantID lets store.Scope stamp the token with its tenant.
func (t *Token) SetTenantID(id int64) { t.TenantID = id }

// Revoked reports whether the token has been withdrawn.
func (t Token) Revoked() bool { return t.RevokedAt != nil }

// Tokens issues, checks and revokes API tokens.
type Tokens struct {
	db  *bun.DB
	ids store.IDs
}

// NewTokens returns the API token service.
func NewTokens(db *bun.DB) *Tokens { return &Tokens{db: db} }

// Create issues a token named name for account userID of the tenant and returns its
// plaintext, which is not kept and cannot be shown again.
func (s *Tokens) Create(ctx context.Context, tenantID, userID int64, name string) (string, Token, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", Token{}, errs.Field("name", "give the token a name, to recognise it later").Say("err_token_name_needed")
	case !utf8.ValidString(name):
		return "", Token{}, errs.Field("name", "the name is not valid text").Say("err_name_not_text")
	case utf8.RuneCountInString(name) > MaxTokenNameLength:
		return "", Token{}, errs.Field("name", "the name must have at most %d characters", MaxTokenNameLength).Say("err_name_too_long")
	}
	scope := store.For(s.db, tenantID)
	var owner User
	if err := scope.Select(&owner).Where("u.id = ?", userID).Scan(ctx); err != nil {
		if store.IsNoRows(err) {
			return "", Token{}, errs.E(errs.NotFound, "no such account").Say("err_account_not_found")
		}
		return "", Token{}, fmt.Errorf("create token: find user %d: %w", userID, err)
	}
	if owner.Disabled() {
		return "", Token{}, errs.E(errs.Forbidden, "this account is disabled and cannot receive API tokens").Say("err_token_account_disabled")
	}
	plaintext := TokenPrefix + newSecret()
	t := Token{
		ID:        s.ids.Next(),
		UserID:    userID,
		Name:      name,
		Hash:      hashToken(plaintext),
		Prefix:    plaintext[:TokenDisplayLength],
		CreatedAt: now(),
	}
	if _, err := scope.Insert(&t).Exec(ctx); err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	return plaintext, t, nil
}

// Lookup finds the token whose plaintext is given, in whichever tenant issued it: the
// token itself names its tenant, and the caller must check that tenant against the host's.
// Unknown and revoked tokens, and tokens of disabled accounts, are errs.Unauthorized.
func (s *Tokens) Lookup(ctx context.Context, plaintext string) (Token, error) {
	if !strings.HasPrefix(plaintext, TokenPrefix) || len(plaintext) > maxTokenLength {
		return Token{}, errs.E(errs.Unauthorized, errBadToken)
	}
	var t Token
	// Across tenants on purpose: the hash is unique over the whole table.
	err := store.Across(s.db).Select(&t).
		Where("t.hash = ?", hashToken(plaintext)).
		Where("t.revoked_at IS NULL").
		Where("NOT EXISTS (SELECT 1 FROM users AS du WHERE du.tenant_id = t.tenant_id AND du.id = t.user_id AND du.disabled_at IS NOT NULL)").
		Scan(ctx)
	switch {
	case store.IsNoRows(err):
		return Token{}, errs.E(errs.Unauthorized, errBadToken)
	case err != nil:
		return Token{}, fmt.Errorf("look up token: %w", err)
	}
	return t, nil
}

// Touch records that t authenticated a request now, unless its LastUsedAt is already within
// TokenUseResolution of now.
func (s *Tokens) Touch(ctx context.Context, t Token) error {
	at := now()
	if t.LastUsedAt != nil && at.Sub(*t.LastUsedAt) < TokenUseResolution {
		return nil
	}
	_, err := store.For(s.db, t.TenantID).Update(&Token{}).Set("last_used_at = ?", at).Where("t.id = ?", t.ID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("record use of token %d: %w", t.ID, err)
	}
	return nil
}

// List returns the tenant's tokens, revoked ones included, newest first: those of account
// userID, or of every account when userID is 0.
func (s *Tokens) List(ctx context.Context, tenantID, userID int64) ([]Token, error) {
	tokens := []Token{}
	q := store.For(s.db, tenantID).Select(&tokens).OrderExpr("t.id DESC")
	if userID != 0 {
		q = q.Where("t.user_id = ?", userID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return tokens, nil
}

// Revoke withdraws token id of the tenant; revoking it again changes nothing. A token of
// another tenant is errs.NotFound, as if it did not exist.
func (s *Tokens) Revoke(ctx context.Context, tenantID, id int64) error {
	scope := store.For(s.db, tenantID)
	res, err := scope.Update(&Token{}).Set("revoked_at = ?", now()).
		Where("t.id = ?", id).Where("t.revoked_at IS NULL").Exec(ctx)
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	n, err := scope.Select((*Token)(nil)).Where("t.id = ?", id).Count(ctx)
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	if n == 0 {
		return errs.E(errs.NotFound, "no such API token").Say("err_token_not_found")
	}
	return nil
}
