// Package httpapi is the HTTP face of the core: the Fiber app, its middleware chain
// (tenant → authentication → CSRF → authorization), the JSON API under /api/v1 and the
// site's pages. Every route declares the (object, action) it needs; the app refuses to
// start if one does not.
package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/account"
	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/booth"
	"github.com/concorde-civic/concorde/core/catalog"
	"github.com/concorde-civic/concorde/core/consultation"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/forwarded"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/metrics"
	"github.com/concorde-civic/concorde/core/notify"
	"github.com/concorde-civic/concorde/core/pluginhost"
	"github.com/concorde-civic/concorde/core/proposal"
	"github.com/concorde-civic/concorde/core/ratelimit"
	"github.com/concorde-civic/concorde/core/sitepages"
	"github.com/concorde-civic/concorde/core/snapshot"
	"github.com/concorde-civic/concorde/core/staff"
	"github.com/concorde-civic/concorde/core/vote"
	"github.com/concorde-civic/concorde/tenants"
	"github.com/concorde-civic/concorde/web"
)

// Deps is what the HTTP layer needs; core/app builds it.
type Deps struct {
	DB       *bun.DB
	Tenants  *tenants.Service
	Authz    *authz.Authorizer
	Audit    *audit.Log
	Users    *identity.Users
	Sessions *identity.Sessions
	Tokens   *identity.Tokens
	Staff    *staff.Service

	Consultations *consultation.Service
	Proposals     *proposal.Service
	Votes         *vote.Service
	Catalog       *catalog.Catalog
	Account       *account.Service
	// SitePages are the legal and trust pages (built from DB and Audit when nil).
	SitePages   *sitepages.Service
	Signer      vote.Signer
	RateLimiter *ratelimit.Limiter
	// VoteLimits bound votes per participant (overridden by each consultation) and per source.
	VoteLimits ratelimit.Limits
	// SequenceLimits bound the sequences asked for per participant and per source.
	SequenceLimits ratelimit.Limits
	// ProposalsPerSourcePerHour bounds proposals from one address in one site (0: 30; negative: no limit).
	ProposalsPerSourcePerHour int
	// FreshPerSourcePerHour is booth.Booth's (core/vote rule 7; 0: the default; negative: off).
	FreshPerSourcePerHour int
	// TrustedProxies are the load balancers whose X-Forwarded-For or Forwarded header gives the
	// client's address; empty: the socket's peer is the client.
	TrustedProxies forwarded.Trusted
	// Now is the clock (tests move it).
	Now          func() time.Time
	Participants identity.Participants
	Metrics      *metrics.Metrics
	Pages        *web.Pages
	Log          *slog.Logger
	Secret       []byte
	CookieSecure bool
	// HSTS sends Strict-Transport-Security (CONCORDE_ENV=production: sites are served over HTTPS).
	HSTS bool
	// LoginLimit is how many login attempts one address may make per minute on one site.
	LoginLimit int
	// Plugins runs the plugins and forwards /p/NAME and /api/v1/p/NAME to them.
	Plugins *pluginhost.Host
	// Snapshots holds the frozen results of published consultations.
	Snapshots *snapshot.Service
	// Notify writes the e-mails (verification, invitations); Links are the single-use links
	// they carry.
	Notify *notify.Service
	Links  *identity.AccountLinks
}

// Scope says in which Casbin domain a route's permission is checked.
type Scope int

const (
	// TenantScope routes act on the request's tenant: checked in its domain.
	TenantScope Scope = iota
	// PlatformScope routes act on the platform (all tenants): checked in the platform domain,
	// so only platform-wide grants pass, whatever the host.
	PlatformScope
	// NoTenant routes (health checks) answer on any host, before tenant resolution.
	NoTenant
)

// Perm is what a route needs: an action on an object, in a scope.
type Perm struct {
	Object string
	Action string
	Scope  Scope
}

// Route is one entry of the route table: everything the router, the authorization check and
// the OpenAPI document need, declared together in one place (as Vault's framework.Path), so
// that no route exists without its permission and its documentation.
type Route struct {
	Method string
	Path   string
	Perm   Perm
	// Summary says what the route does: the OpenAPI operation's summary. Required.
	Summary string
	// Request is an example of the JSON body the route reads (its Go type gives the schema);
	// nil for a route that reads none. map[string]any{} for any JSON object.
	Request any
	// Response is an example of the JSON the route answers with; nil when it is not JSON
	// (a page, a CSV) or empty.
	Response any
	// Body is true when the route reads a JSON body (set from Request when registered).
	Body bool
}

// Server holds the app and the table of declared routes.
type Server struct {
	Deps
	App         *fiber.App
	routes      map[string]Route // "METHOD path" → route
	incomplete  []string         // routes registered without a permission or a summary
	loginLimit  fiber.Handler    // sign-in attempts per address and site
	signupLimit fiber.Handler    // sign-up attempts per address and site
	// templates interns every registered path (path → the same string), for metric labels
	// that must not point into Fiber's buffers; written only while New registers routes.
	templates map[string]string
	booth     *booth.Booth // votes and sequences, for the API and the pages
}

// New builds the app with every core route.
func New(d Deps) (*Server, error) {
	if d.LoginLimit == 0 {
		d.LoginLimit = 10
	}
	if d.ProposalsPerSourcePerHour == 0 {
		d.ProposalsPerSourcePerHour = 30
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.SitePages == nil {
		d.SitePages = sitepages.NewService(d.DB, d.Audit)
	}
	s := &Server{Deps: d, routes: map[string]Route{}, templates: map[string]string{}}
	s.booth = &booth.Booth{Catalog: d.Catalog, Votes: d.Votes, Signer: d.Signer, Limiter: d.RateLimiter, Limits: d.VoteLimits, Now: d.Now,
		Proposals: d.Proposals, ProposalsPerSourcePerHour: d.ProposalsPerSourcePerHour, FreshPerSourcePerHour: d.FreshPerSourcePerHour}
	s.App = fiber.New(fiber.Config{
		AppName:               "concorde",
		ErrorHandler:          s.handleError,
		DisableStartupMessage: true,
		BodyLimit:             4 << 20,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		// Fiber reads X-Forwarded-Host and X-Forwarded-Proto (c.Hostname, c.Protocol,
		// c.BaseURL) only from the trusted load balancers: from anyone else they would let a
		// client write another domain into the links a page or a cache serves to others.
		EnableTrustedProxyCheck: true,
		TrustedProxies:          d.TrustedProxies.Prefixes(),
	})
	s.App.Use(requestid.New())
	s.App.Use(s.setClientAddr)
	s.App.Use(s.observe)
	s.App.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		// Copied: the path points into a buffer Fiber reuses, and a log handler may keep it.
		s.Log.Error("panic", "error", fmt.Sprint(e), "path", strings.Clone(c.Path()), "stack", string(debug.Stack()))
	}}))
	s.App.Use(s.securityHeaders, refuseBadText)

	// Health checks answer on any host, before tenant resolution.
	s.opsRoutes()

	s.App.Use(s.resolveTenant, s.authenticate, s.checkCSRF)
	s.siteRoutes()
	s.authRoutes()
	s.accountRoutes()
	s.emailPageRoutes()
	s.tenantRoutes()
	s.userRoutes()
	s.tokenRoutes()
	s.auditRoutes()
	s.pluginRoutes()
	s.installRoutes()
	s.consultationRoutes()
	s.proposalRoutes()
	s.moderationRoutes()
	s.voteRoutes()
	s.resultRoutes()
	s.pageRoutes()
	s.sitePageRoutes()
	s.platformPageRoutes()
	s.segmentRoutes()
	s.openAPIRoutes()
	return s, s.CheckRoutes()
}

func (s *Server) now() time.Time { return s.Now() }

// handle adds r to the route table and serves it with h (after extra, and after the
// authorization check built from r.Perm). A route without a permission or a summary is
// recorded as incomplete, and CheckRoutes then stops the server from starting.
func (s *Server) handle(r Route, h fiber.Handler, extra ...fiber.Handler) {
	if r.Perm.Object == "" || r.Perm.Action == "" || strings.TrimSpace(r.Summary) == "" {
		s.incomplete = append(s.incomplete, r.Method+" "+r.Path)
	}
	r.Body = r.Request != nil
	s.routes[r.Method+" "+r.Path] = r
	s.templates[r.Path] = strings.Clone(r.Path)
	chain := append([]fiber.Handler{s.authorize(r.Perm)}, extra...)
	if !r.Body {
		chain = append(chain, refuseBody)
	}
	chain = append(chain, h)
	s.App.Add(r.Method, r.Path, chain...)
}

// Routes lists the declared routes, sorted, for tests and documentation.
func (s *Server) Routes() []Route {
	out := make([]Route, 0, len(s.routes))
	for _, r := range s.routes {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// CheckRoutes fails if a route declares no permission or no summary, or if the app serves a
// route that is not in the table (for instance one added with App.Get directly, bypassing
// handle). New returns its error, so such a server never starts.
func (s *Server) CheckRoutes() error {
	var missing []string
	for _, r := range s.App.GetRoutes(true) {
		m := r.Method
		if m == fiber.MethodHead {
			m = fiber.MethodGet // Fiber adds HEAD for every GET
		}
		if _, ok := s.routes[m+" "+r.Path]; !ok {
			missing = append(missing, r.Method+" "+r.Path)
		}
	}
	var problems []string
	if len(missing) > 0 {
		sort.Strings(missing)
		problems = append(problems, "routes without a declared permission: "+strings.Join(missing, ", "))
	}
	if len(s.incomplete) > 0 {
		incomplete := append([]string(nil), s.incomplete...)
		sort.Strings(incomplete)
		problems = append(problems, "routes without a permission or a summary: "+strings.Join(incomplete, ", "))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// refuseBadText refuses a path, query parameter or form field holding a NUL character or
// invalid UTF-8: no text of the service may hold them (PostgreSQL refuses both, which was a
// 500), so they are the client's to fix. JSON bodies are checked by decode.
func refuseBadText(c *fiber.Ctx) error {
	if badText(c.Request().URI().Path()) {
		return errs.E(errs.Invalid, "the address holds a NUL character or invalid UTF-8")
	}
	var bad []byte
	check := func(k, v []byte) {
		if bad == nil && (badText(k) || badText(v)) {
			bad = k
		}
	}
	c.Request().URI().QueryArgs().VisitAll(check)
	if bad != nil {
		return errs.Field(string(bad), "the query parameter %q holds a NUL character or invalid UTF-8", string(bad))
	}
	if bytes.HasPrefix(c.Request().Header.ContentType(), []byte(fiber.MIMEApplicationForm)) {
		c.Request().PostArgs().VisitAll(check)
		if bad != nil {
			return errs.Field(string(bad), "the form field %q holds a NUL character or invalid UTF-8", string(bad))
		}
	}
	return c.Next()
}

func badText(b []byte) bool { return bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) }

// refuseBody rejects a body sent to a route that reads none, so bad input never passes unseen.
func refuseBody(c *fiber.Ctx) error {
	if len(c.Body()) > 0 && !isForm(c) {
		return errInvalid("this endpoint takes no request body")
	}
	return c.Next()
}

func isForm(c *fiber.Ctx) bool {
	ct := string(c.Request().Header.ContentType())
	return strings.HasPrefix(ct, fiber.MIMEApplicationForm) || strings.HasPrefix(ct, fiber.MIMEMultipartForm)
}

func (s *Server) securityHeaders(c *fiber.Ctx) error {
	h := &c.Response().Header
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
	if s.HSTS {
		// One year, this host only: a tenant's own domain may have plain-http subdomains.
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	err := c.Next()
	if private(c) {
		// Set after the handler, over whatever it (or a plugin) chose: a shared or browser
		// cache must not hand one person's page, CSRF token or data to the next.
		h.Set(fiber.HeaderCacheControl, "no-store")
	}
	return err
}

// publicRoutes serve the same bytes to everyone, cookies or not.
var publicRoutes = map[string]bool{"/static/*": true, "/theme.css": true, "/brand/:name": true}

// private is true for a response meant for one person: the request carries cookies (a session
// or a participant, whose CSRF token every page holds) or an API token, the response sets a
// cookie, or it is an account page.
func private(c *fiber.Ctx) bool {
	if r := c.Route(); r != nil && publicRoutes[r.Path] {
		return false
	}
	req := &c.Request().Header
	if len(req.Peek(fiber.HeaderCookie)) > 0 || len(req.Peek(fiber.HeaderAuthorization)) > 0 ||
		strings.HasPrefix(c.Path(), "/account") || strings.HasPrefix(c.Path(), "/api/v1/auth/") {
		return true
	}
	sets := false
	c.Response().Header.VisitAllCookie(func(_, _ []byte) { sets = true })
	return sets
}
