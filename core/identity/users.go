package identity

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
)

// Limits on account fields and listings.
const (
	MaxEmailLength   = 254 // bytes, the longest address SMTP can carry
	MaxNameLength    = 200 // characters
	DefaultUserLimit = 50
	MaxUserLimit     = 500
)

// errBadCredentials is the one answer to every failed login, whatever the reason, so a
// caller cannot learn which accounts exist or are disabled.
const errBadCredentials = "email or password is incorrect"

// User is a staff or citizen account of one tenant.
type User struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	TenantID     int64      `bun:"tenant_id,pk" json:"tenant_id"`
	ID           int64      `bun:"id,pk" json:"id"`
	Email        string     `bun:"email,notnull" json:"email"`
	Name         string     `bun:"name,notnull" json:"name"`
	PasswordHash string     `bun:"password_hash,notnull" json:"-"`
	CreatedAt    time.Time  `bun:"created_at,notnull" json:"created_at"`
	DisabledAt   *time.Time `bun:"disabled_at" json:"-"`
	// EmailVerifiedAt is when the owner of the address proved it (a verification link, or
	// an accepted invitation); nil: not verified.
	EmailVerifiedAt *time.Time `bun:"email_verified_at" json:"email_verified_at,omitempty"`
	// NotifyResults: e-mail when a consultation the person took part in publishes its
	// results (opt-in). NotifyProposals: e-mail when their proposal is accepted or refused.
	NotifyResults   bool `bun:"notify_results,notnull" json:"notify_results"`
	NotifyProposals bool `bun:"notify_proposals,notnull" json:"notify_proposals"`

	// IsDisabled mirrors DisabledAt for JSON readers; bun sets it on every read. Code
	// should ask Disabled(), which reads DisabledAt itself.
	IsDisabled bool `bun:"-" json:"disabled"`
	// InvitationPending is true for an invited account whose owner has not chosen a
	// password yet (it cannot sign in until they do).
	InvitationPending bool `bun:"-" json:"invitation_pending"`
}

// SetTenantID lets store.Scope stamp the user with its tenant.
func (u *User) SetTenantID(id int64) { u.TenantID = id }

var _ bun.AfterScanRowHook = (*User)(nil)

// AfterScanRow derives IsDisabled after bun reads a row, whichever query read it.
// (A MarshalJSON method would do it too, but it would be promoted to every type that
// embeds User and hide that type's own fields.)
func (u *User) AfterScanRow(context.Context) error {
	u.IsDisabled = u.DisabledAt != nil
	u.InvitationPending = u.PasswordHash == ""
	return nil
}

// Disabled reports whether the account is switched off: it can neither log in nor use
// its sessions and API tokens.
func (u User) Disabled() bool { return u.DisabledAt != nil }

// Verified reports whether the account's address is proven to be its owner's.
func (u User) Verified() bool { return u.EmailVerifiedAt != nil }

// Users creates, finds and authenticates accounts.
type Users struct {
	db      *bun.DB
	hasher  Hasher
	dummy   string // verified instead of a real hash when the account is unknown
	ids     store.IDs
	limiter *signInLimiter
	verify  func(pw, phc string) (bool, error) // Verify; tests count the checks
}

// NewUsers returns the account service; h sets the cost of new password hashes. Sign-ins
// are limited by the default SignInLimits until LimitSignIns says otherwise.
func NewUsers(db *bun.DB, h Hasher) *Users {
	return &Users{db: db, hasher: h, dummy: h.dummyHash(), limiter: newSignInLimiter(SignInLimits{}), verify: Verify}
}

// NormalizeEmail trims and lower-cases an address, the form accounts are stored and
// looked up under.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func checkEmail(email string) error {
	if email == "" {
		return errs.Field("email", "the email address is required").Say("err_email_required")
	}
	if len(email) > MaxEmailLength {
		return errs.Field("email", "the email address must have at most %d characters", MaxEmailLength).Say("err_email_too_long")
	}
	// Only a bare address is accepted, not "Name <address>".
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return errs.Field("email", "%q is not a valid email address, such as name@example.org", email).Say("err_email_invalid")
	}
	return nil
}

func checkName(name string) error {
	if utf8.RuneCountInString(name) > MaxNameLength {
		return errs.Field("name", "the name must have at most %d characters", MaxNameLength).Say("err_name_too_long")
	}
	if !utf8.ValidString(name) {
		return errs.Field("name", "the name is not valid text").Say("err_name_not_text")
	}
	return nil
}

// Create adds an account to a tenant. The email is stored trimmed and lower-cased and must
// be unique within the tenant (errs.Conflict otherwise); the same address may exist in
// other tenants as separate accounts.
func (s *Users) Create(ctx context.Context, tenantID int64, email, name, password string) (User, error) {
	hash, err := s.hasher.Hash(password) // checks the policy
	if err != nil {
		return User{}, err
	}
	return s.insert(ctx, tenantID, email, name, hash)
}

// CreateInvited adds an account without a password: it cannot sign in until its owner
// chooses one through an invitation link (AccountLinks).
func (s *Users) CreateInvited(ctx context.Context, tenantID int64, email, name string) (User, error) {
	return s.insert(ctx, tenantID, email, name, "")
}

func (s *Users) insert(ctx context.Context, tenantID int64, email, name, hash string) (User, error) {
	email, name = NormalizeEmail(email), strings.TrimSpace(name)
	if err := checkEmail(email); err != nil {
		return User{}, err
	}
	if err := checkName(name); err != nil {
		return User{}, err
	}
	u := User{
		ID:                s.ids.Next(),
		Email:             email,
		Name:              name,
		PasswordHash:      hash,
		CreatedAt:         now(),
		NotifyProposals:   true,
		InvitationPending: hash == "",
	}
	if _, err := store.For(s.db, tenantID).Insert(&u).Exec(ctx); err != nil {
		if store.IsUniqueViolation(err) {
			return User{}, &errs.Error{Kind: errs.Conflict, Field: "email", Message: "an account with this email address already exists in this organisation", Key: "err_email_taken"}
		}
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// ByID returns the account id of the tenant, or errs.NotFound.
func (s *Users) ByID(ctx context.Context, tenantID, id int64) (User, error) {
	var u User
	err := store.For(s.db, tenantID).Select(&u).Where("u.id = ?", id).Scan(ctx)
	return u, userResult(err, "user %d", id)
}

// ByEmail returns the tenant's account with this address (compared normalized), or
// errs.NotFound.
func (s *Users) ByEmail(ctx context.Context, tenantID int64, email string) (User, error) {
	var u User
	err := store.For(s.db, tenantID).Select(&u).Where("u.email = ?", NormalizeEmail(email)).Scan(ctx)
	return u, userResult(err, "user with email %q", email)
}

func userResult(err error, what string, args ...any) error {
	switch {
	case err == nil:
		return nil
	case store.IsNoRows(err):
		return errs.E(errs.NotFound, "no such account")
	default:
		return fmt.Errorf("find "+what+": %w", append(args, err)...)
	}
}

// List returns a page of the tenant's accounts, oldest first. A limit of 0 or less means
// DefaultUserLimit; limits above MaxUserLimit are lowered to it.
func (s *Users) List(ctx context.Context, tenantID int64, limit, offset int) ([]User, error) {
	return s.Find(ctx, tenantID, "", limit, offset)
}

// MaxSearchRunes bounds a search of accounts.
const MaxSearchRunes = 100

// Find is List restricted to the accounts whose address or name contains q (any case);
// an empty q finds them all. % and _ in q are plain characters.
func (s *Users) Find(ctx context.Context, tenantID int64, q string, limit, offset int) ([]User, error) {
	q = strings.ToLower(strings.TrimSpace(q))
	if utf8.RuneCountInString(q) > MaxSearchRunes || strings.ContainsRune(q, 0) {
		return nil, errs.Field("q", "search for at most %d characters", MaxSearchRunes).Say("err_user_search_too_long")
	}
	switch {
	case limit <= 0:
		limit = DefaultUserLimit
	case limit > MaxUserLimit:
		limit = MaxUserLimit
	}
	if offset < 0 {
		offset = 0
	}
	users := []User{}
	sel := store.For(s.db, tenantID).Select(&users)
	if q != "" {
		like := "%" + store.EscapeLike(q) + "%"
		sel = sel.Where(`(LOWER(u.email) LIKE ? ESCAPE '\' OR LOWER(u.name) LIKE ? ESCAPE '\')`, like, like)
	}
	err := sel.OrderExpr("u.id ASC").Limit(int64(limit)).Offset(int64(offset)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// SetPassword replaces the password of account id, after checking the policy.
// Existing sessions and tokens stay valid.
func (s *Users) SetPassword(ctx context.Context, tenantID, id int64, password string) error {
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return err
	}
	res, err := store.For(s.db, tenantID).Update(&User{}).
		Set("password_hash = ?", hash).Where("u.id = ?", id).Exec(ctx)
	return affected(res, err, "set password of user %d", id)
}

// MarkVerified records that the owner of account id's address proved it (the first date stays).
func (s *Users) MarkVerified(ctx context.Context, tenantID, id int64) error {
	return s.markVerified(ctx, store.For(s.db, tenantID), id)
}

func (s *Users) markVerified(ctx context.Context, sc store.Scope, id int64) error {
	res, err := sc.Update(&User{}).Set("email_verified_at = COALESCE(u.email_verified_at, ?)", now()).Where("u.id = ?", id).Exec(ctx)
	return affected(res, err, "verify the address of user %d", id)
}

// Notifications are the e-mails an account has chosen to receive.
type Notifications struct {
	Results   bool `json:"notify_results"`
	Proposals bool `json:"notify_proposals"`
}

// SetNotifications records which e-mails account id wants.
func (s *Users) SetNotifications(ctx context.Context, tenantID, id int64, n Notifications) error {
	res, err := store.For(s.db, tenantID).Update(&User{}).
		Set("notify_results = ?", n.Results).Set("notify_proposals = ?", n.Proposals).Where("u.id = ?", id).Exec(ctx)
	return affected(res, err, "set the notifications of user %d", id)
}

// SetDisabled switches account id off (or back on). A disabled account cannot log in, and
// its sessions and API tokens are refused from then on.
func (s *Users) SetDisabled(ctx context.Context, tenantID, id int64, disabled bool) error {
	var at *time.Time
	if disabled {
		t := now()
		at = &t
	}
	q := store.For(s.db, tenantID).Update(&User{}).Set("disabled_at = ?", at).Where("u.id = ?", id)
	if disabled {
		q = q.Where("u.disabled_at IS NULL") // keep the first date
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return fmt.Errorf("disable user %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		_, err := s.ByID(ctx, tenantID, id) // not found, or already disabled
		return err
	}
	return nil
}

// Authenticate returns the tenant's account whose email and password match: SignIn without
// platform staff. Every failure is the same errs.Unauthorized (errs.TooMany past the limits).
func (s *Users) Authenticate(ctx context.Context, tenantID int64, email, password string) (User, error) {
	return s.SignIn(ctx, tenantID, email, password, nil)
}

// now is the time rows are stamped with: UTC (so SQLite's text timestamps compare in
// order) and to the microsecond (what PostgreSQL keeps).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func affected(res interface{ RowsAffected() (int64, error) }, err error, what string, args ...any) error {
	if err != nil {
		return fmt.Errorf(what+": %w", append(args, err)...)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "no such account")
	}
	return nil
}
