// Package httpapi is the HTTP face of the core: the Fiber app, its middleware chain
// (tenant → authentication → CSRF → authorization), the JSON API under /api/v1 and the
// site's pages. Every route declares the (object, action) it needs; the app refuses to
// start if one does not.
package httpapi

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strings"
	"time"

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
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/metrics"
	"github.com/concorde-civic/concorde/core/pluginhost"
	"github.com/concorde-civic/concorde/core/proposal"
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
	Signer        vote.Signer
	Limits        *vote.Limiter
	// VoteLimits bound votes per participant (overridden by each consultation) and per source.
	VoteLimits vote.Limits
	// ProposalsPerSourcePerHour bounds proposals from one address in one site.
	ProposalsPerSourcePerHour int
	// Now is the clock (tests move it).
	Now          func() time.Time
	Participants identity.Participants
	Metrics      *metrics.Metrics
	Pages        *web.Pages
	Log          *slog.Logger
	Secret       []byte
	CookieSecure bool
	// LoginLimit is how many login attempts one address may make per minute on one site.
	LoginLimit int
	// Plugins runs the plugins and forwards /p/NAME and /api/v1/p/NAME to them.
	Plugins *pluginhost.Host
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

// Route is one registered route with its permission, as the route matrix tests see it.
type Route struct {
	Method string
	Path   string
	Perm   Perm
	// Body is true when the route reads a JSON body.
	Body bool
}

// Server holds the app and the table of declared routes.
type Server struct {
	Deps
	App         *fiber.App
	routes      map[string]Route // "METHOD path" → route
	loginLimit  fiber.Handler    // sign-in attempts per address and site
	signupLimit fiber.Handler    // sign-up attempts per address and site
	docs        map[string]Doc   // "METHOD path" → its OpenAPI description
	booth       *booth.Booth     // votes and sequences, for the API and the pages
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
	s := &Server{Deps: d, routes: map[string]Route{}}
	s.booth = &booth.Booth{Catalog: d.Catalog, Votes: d.Votes, Signer: d.Signer, Limiter: d.Limits, Limits: d.VoteLimits, Now: d.Now,
		Proposals: d.Proposals, ProposalsPerSourcePerHour: d.ProposalsPerSourcePerHour}
	s.App = fiber.New(fiber.Config{
		AppName:               "concorde",
		ErrorHandler:          s.handleError,
		DisableStartupMessage: true,
		BodyLimit:             4 << 20,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
	})
	s.App.Use(requestid.New())
	s.App.Use(s.observe)
	s.App.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		s.Log.Error("panic", "error", fmt.Sprint(e), "path", c.Path(), "stack", string(debug.Stack()))
	}}))
	s.App.Use(securityHeaders)

	// Health checks answer on any host, before tenant resolution.
	s.opsRoutes()

	s.App.Use(s.resolveTenant, s.authenticate, s.checkCSRF)
	s.siteRoutes()
	s.authRoutes()
	s.accountRoutes()
	s.tenantRoutes()
	s.userRoutes()
	s.tokenRoutes()
	s.auditRoutes()
	s.pluginRoutes()
	s.consultationRoutes()
	s.proposalRoutes()
	s.moderationRoutes()
	s.voteRoutes()
	s.resultRoutes()
	s.pageRoutes()
	s.segmentRoutes()
	s.openAPIRoutes()
	s.foundationDocs()
	return s, s.CheckRoutes()
}

func (s *Server) now() time.Time { return s.Now() }

// handle registers a route with its permission. Body says whether it reads JSON.
func (s *Server) handle(method, path string, p Perm, body bool, h fiber.Handler, extra ...fiber.Handler) {
	if p.Object == "" || p.Action == "" {
		panic(fmt.Sprintf("route %s %s declares no permission", method, path))
	}
	s.routes[method+" "+path] = Route{Method: method, Path: path, Perm: p, Body: body}
	chain := append([]fiber.Handler{s.authorize(p)}, extra...)
	if !body {
		chain = append(chain, refuseBody)
	}
	chain = append(chain, h)
	s.App.Add(method, path, chain...)
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

// CheckRoutes fails if the app serves a route that declares no permission (for instance one
// added with App.Get directly, bypassing handle).
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
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("routes without a declared permission: %s", strings.Join(missing, ", "))
	}
	return nil
}

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

func securityHeaders(c *fiber.Ctx) error {
	h := &c.Response().Header
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
	return c.Next()
}
