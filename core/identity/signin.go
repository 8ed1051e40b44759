package identity

import (
	"context"
	"sync"
	"time"

	"github.com/concorde-civic/concorde/core/errs"
)

// Default bounds on password checks, per minute. An argon2id check at the default cost takes
// tens of milliseconds of a core and 64 MiB, so the global bound is also what keeps a flood of
// sign-ins from taking the machine; it is per node.
const (
	DefaultSignInsPerAccount = 10
	DefaultSignInsGlobal     = 600
)

// SignInLimits bound the password checks one node makes, in a window: per account address
// (the same address on every site and on the platform counts as one, so platform staff, who may
// sign in on every site, get as many guesses as anyone) and in total.
type SignInLimits struct {
	PerAccount int           // checks per address per window; 0: DefaultSignInsPerAccount; < 0: no limit
	Global     int           // checks per window over every address; 0: DefaultSignInsGlobal; < 0: no limit
	Window     time.Duration // 0: one minute
}

// signInLimiter counts password checks in fixed windows. Its map holds at most Global entries
// per window (every check counts globally first), so guessing many addresses cannot grow it.
type signInLimiter struct {
	limits SignInLimits
	now    func() time.Time

	mu      sync.Mutex
	start   time.Time
	total   int
	perAddr map[string]int
}

func newSignInLimiter(l SignInLimits) *signInLimiter {
	if l.PerAccount == 0 {
		l.PerAccount = DefaultSignInsPerAccount
	}
	if l.Global == 0 {
		l.Global = DefaultSignInsGlobal
	}
	if l.Window <= 0 {
		l.Window = time.Minute
	}
	return &signInLimiter{limits: l, now: time.Now, perAddr: map[string]int{}}
}

// allow counts one password check for the normalized address, or refuses it with
// errs.TooMany without counting it.
func (l *signInLimiter) allow(email string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := l.now(); now.Sub(l.start) >= l.limits.Window {
		l.start, l.total = now, 0
		clear(l.perAddr)
	}
	if l.limits.Global > 0 && l.total >= l.limits.Global {
		return errs.E(errs.TooMany, "too many sign-in attempts on the service right now; try again in a minute").Say("err_signin_busy")
	}
	if l.limits.PerAccount > 0 && l.perAddr[email] >= l.limits.PerAccount {
		return errs.E(errs.TooMany, "too many sign-in attempts for this account; wait a minute and try again").Say("err_signin_too_many")
	}
	l.total++
	l.perAddr[email]++
	return nil
}

// LimitSignIns replaces the bounds on password checks (the wiring sets them from the
// configuration before the service is used).
func (s *Users) LimitSignIns(l SignInLimits) { s.limiter = newSignInLimiter(l) }

// PlatformStaff lets platform accounts sign in on a site: TenantID is the platform tenant,
// and MayEnter says whether the account holds a role on the site.
type PlatformStaff struct {
	TenantID int64
	MayEnter func(User) bool
}

// SignIn returns the account that signs in on site siteID with this email and password:
// the site's own account with this address or, when the site has none and staff is given,
// the platform account with this address if staff.MayEnter allows it here.
//
// Each call checks at most one password hash, and counts against the sign-in limits (per
// address across every site, and globally) before it does: a refused attempt is errs.TooMany
// and costs no hash. Every other failure (unknown email, wrong password, disabled account,
// platform account without a role here) is the same errs.Unauthorized, in about the same time.
func (s *Users) SignIn(ctx context.Context, siteID int64, email, password string, staff *PlatformStaff) (User, error) {
	email = NormalizeEmail(email)
	if err := s.limiter.allow(email); err != nil {
		return User{}, err
	}
	u, err := s.ByEmail(ctx, siteID, email)
	if errs.Is(err, errs.NotFound) && staff != nil && staff.TenantID != siteID {
		u, err = s.ByEmail(ctx, staff.TenantID, email)
		if err == nil && (staff.MayEnter == nil || !staff.MayEnter(u)) {
			err = errs.E(errs.NotFound, "no such account") // spend the dummy check below
		}
	}
	found := err == nil
	if err != nil && !errs.Is(err, errs.NotFound) {
		return User{}, err
	}
	phc := s.dummy
	if found && u.PasswordHash != "" {
		phc = u.PasswordHash
	}
	ok, verr := s.verify(password, phc)
	if verr != nil { // a stored hash we cannot read (no hash was computed): refuse in comparable time
		_, _ = s.verify(password, s.dummy)
		ok = false
	}
	if !found || !ok || phc == s.dummy || u.Disabled() {
		return User{}, errs.E(errs.Unauthorized, errBadCredentials).Say("err_bad_credentials")
	}
	return u, nil
}
