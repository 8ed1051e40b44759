package httpapi

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/identity"
	"github.com/concorde-civic/concorde/core/staff"
	"github.com/concorde-civic/concorde/tenants"
)

const (
	sessionCookie     = "concorde_session"
	participantCookie = "concorde_participant"
	csrfHeader        = "X-CSRF-Token"
	csrfField         = "_csrf"
)

// observe records metrics and one structured log line per request.
//
// Fiber's strings (c.Method(), c.Path(), headers, locals set from headers) point into
// buffers it reuses for the next request. Prometheus keeps label values for ever and slog
// handlers may keep attributes past the handler, so nothing taken from c is kept as is: the
// method is one of a fixed set of constants, the route is the template interned when the
// route was registered, and the request id is copied. (Fiber's Immutable setting would copy
// every string of every request instead; these few copies are all that outlive a handler.)
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	s.Metrics.InFlight.Inc()
	err := c.Next()
	if err != nil {
		// Let the error handler write the response now, so the status below is the real one.
		if herr := s.App.Config().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
		err = nil
	}
	s.Metrics.InFlight.Dec()
	route := s.routeTemplate(c)
	status := c.Response().StatusCode()
	method := methodLabel(c.Method())
	s.Metrics.Requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	s.Metrics.Duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
	rid, _ := c.Locals("requestid").(string)
	attrs := []any{"request_id", strings.Clone(rid), "method", method, "route", route, "status", status,
		"duration_ms", float64(time.Since(start).Microseconds()) / 1000, "client", clientAddr(c)}
	if t := caller.Tenant(c.UserContext()); t != nil {
		attrs = append(attrs, "tenant", t.Slug)
	}
	if status >= 500 {
		s.Log.Error("request", attrs...)
	} else {
		s.Log.Info("request", attrs...)
	}
	return err
}

// methodLabel is the request's method as one of a fixed set of constants: a bounded label
// whose string never points into a request buffer.
func methodLabel(m string) string {
	for _, known := range labelMethods {
		if m == known {
			return known
		}
	}
	return "OTHER"
}

var labelMethods = [...]string{fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
	fiber.MethodDelete, fiber.MethodOptions, fiber.MethodConnect, fiber.MethodTrace}

// routeTemplate is the matched route's template, never the raw path (bounded label values),
// taken from the templates registered by handle: a string owned by the server, not Fiber.
func (s *Server) routeTemplate(c *fiber.Ctx) string {
	r := c.Route()
	if r == nil || r.Path == "" || r.Path == "/" && c.Path() != "/" {
		return "unmatched"
	}
	if t, ok := s.templates[r.Path]; ok {
		return t
	}
	return "unmatched"
}

// resolveTenant finds the tenant from the request's host, and nowhere else. A request line in
// absolute form ("GET http://other.example/ HTTP/1.1") takes precedence over the Host header
// for fasthttp (and for everything built from c.Hostname()), so one that names another host
// than the Host header is refused: the host a proxy or a log saw is the one served. (Without a
// Host header, as Fiber's app.Test sends absolute-form requests, the request line's host is the
// only one.)
func (s *Server) resolveTenant(c *fiber.Ctx) error {
	if uriHost, ok := absoluteURIHost(c.Request().Header.RequestURI()); ok {
		if h := c.Request().Header.Host(); len(h) > 0 && !bytes.EqualFold(uriHost, h) {
			return errs.E(errs.Invalid, "the request line names another host than the Host header")
		}
	}
	t, err := s.Tenants.Index().ByHost(c.UserContext(), string(c.Request().Host()))
	if err != nil {
		return errs.Wrap(errs.Unavailable, err, "this site cannot be reached right now; please try again in a moment").Say("err_site_unreachable")
	}
	if t == nil {
		return errs.E(errs.NotFound, "no Concorde site is served at this address").Say("err_no_site")
	}
	if t.Status == tenants.Suspended {
		c.SetUserContext(caller.WithTenant(c.UserContext(), t))
		return errs.E(errs.Unavailable, "this site is suspended for now; please come back later").Say("err_site_suspended")
	}
	c.SetUserContext(caller.WithTenant(c.UserContext(), t))
	return c.Next()
}

// absoluteURIHost is the host of a request-target in absolute form (RFC 9112 §3.2.2), and
// false for the usual origin form ("/path").
func absoluteURIHost(uri []byte) ([]byte, bool) {
	i := bytes.Index(uri, []byte("://"))
	if i <= 0 || bytes.IndexByte(uri[:i], '/') >= 0 {
		return nil, false
	}
	rest := uri[i+3:]
	if j := bytes.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	if k := bytes.LastIndexByte(rest, '@'); k >= 0 {
		rest = rest[k+1:]
	}
	return rest, true
}

// authenticate finds the principal: an API token, a session cookie, or an anonymous
// participant cookie (created on the first visit to a page).
func (s *Server) authenticate(c *fiber.Ctx) error {
	ctx := c.UserContext()
	t := caller.Tenant(ctx)
	p := caller.Principal{Subject: "anonymous"}
	if auth := c.Get(fiber.HeaderAuthorization); auth != "" {
		raw, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			return errs.E(errs.Unauthorized, "the Authorization header must be \"Bearer <token>\"")
		}
		tok, err := s.Tokens.Lookup(ctx, strings.TrimSpace(raw))
		if err != nil {
			return err
		}
		if tok.TenantID != t.ID && tok.TenantID != tenants.PlatformID {
			return errs.E(errs.Unauthorized, "this API token is not valid on this site")
		}
		u, err := s.Users.ByID(ctx, tok.TenantID, tok.UserID)
		if err != nil || u.Disabled() {
			return errs.E(errs.Unauthorized, "this API token's account is disabled")
		}
		p = caller.Principal{Subject: userSubject(u.TenantID, u.ID), UserTenantID: u.TenantID, UserID: u.ID, Email: u.Email, Verified: u.Verified(), Via: "token"}
		// Every use of a token is on record (the staff service says how); used within this
		// handler only, so the method and path need no copy.
		m := c.Method()
		write := m != fiber.MethodGet && m != fiber.MethodHead && m != fiber.MethodOptions
		if err := s.Staff.RecordTokenUse(ctx, t.ID, staff.TokenUse{Token: tok, Actor: p.Actor(), Method: m, Path: c.Path(), Write: write}); err != nil {
			return err
		}
	} else if tokStr := c.Cookies(sessionCookie); tokStr != "" {
		sess, err := s.Sessions.Lookup(ctx, t.ID, tokStr)
		if err == nil {
			u, uerr := s.Users.ByID(ctx, sess.UserTenantID, sess.UserID)
			if uerr == nil && !u.Disabled() {
				p = caller.Principal{Subject: userSubject(u.TenantID, u.ID), UserTenantID: u.TenantID, UserID: u.ID,
					Email: u.Email, Verified: u.Verified(), Via: "session", SessionKey: "s:" + strings.Clone(tokStr)}
			}
		}
		if p.Anonymous() {
			c.ClearCookie(sessionCookie)
		}
	}
	if id, ok := s.Participants.Parse(c.Cookies(participantCookie)); ok {
		p.ParticipantID = strings.Clone(id)
		if p.SessionKey == "" {
			p.SessionKey = "p:" + p.ParticipantID
		}
	} else if c.Method() == fiber.MethodGet && p.Via != "token" {
		// Every visitor of a site (page or API) gets an anonymous participant session on
		// their first read, so they can vote without an account.
		id, cookie := s.Participants.New()
		s.setCookie(c, participantCookie, cookie, 365*24*time.Hour)
		p.ParticipantID, p.NewParticipant = id, true
		if p.SessionKey == "" {
			// A signed-in visitor keeps the CSRF binding of their session: binding it to the new
			// participant would make the token this response hands out fail on the next write.
			p.SessionKey = "p:" + id
		}
	}
	c.SetUserContext(caller.WithPrincipal(ctx, p))
	return c.Next()
}

// checkCSRF guards unsafe requests a third-party page could forge. A bearer token is never
// sent by a browser on its own: token-authenticated calls pass. Every other write must come
// from this site when the browser says where it comes from (Origin, Sec-Fetch-Site), and must
// carry a CSRF token bound to its cookie when it has cookies, or when it is a form (a body a
// cross-site page can send without a CORS preflight): a form posted without the site's cookies
// — the victim's are withheld by SameSite, or they have none yet — is a cross-site login or
// sign-up attempt, since the site's own forms always come with a token bound to the participant
// cookie their page set (the pre-session token). JSON writes without cookies (scripts) pass:
// a browser cannot send them across sites without a preflight this server never grants.
func (s *Server) checkCSRF(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	p := caller.PrincipalOf(c.UserContext())
	if p.Via == "token" {
		return c.Next()
	}
	if !fromThisSite(c) {
		return errs.E(errs.Forbidden, "this form was sent from another site; open this site's own page and try again").Say("err_csrf_origin")
	}
	if len(c.Request().Header.Peek(fiber.HeaderCookie)) == 0 && !simpleBody(c) {
		return c.Next()
	}
	got := c.Get(csrfHeader)
	if got == "" && isForm(c) {
		got = c.FormValue(csrfField)
	}
	ok := false
	if plugin := pluginOfPath(c.Path()); plugin != "" {
		// A plugin's routes take its own token only, and core routes never take a plugin's.
		ok = identity.CheckPluginCSRF(s.Secret, p.SessionKey, plugin, got)
	} else {
		ok = identity.CheckCSRF(s.Secret, p.SessionKey, got)
	}
	if p.SessionKey == "" || !ok {
		return errs.E(errs.Forbidden, "the form has expired or did not come from this site (missing or wrong CSRF token); reload the page and try again").Say("err_csrf")
	}
	return c.Next()
}

// pluginOfPath is the plugin a path under /p/NAME or /api/v1/p/NAME is forwarded to, or "".
func pluginOfPath(path string) string {
	rest, ok := strings.CutPrefix(path, "/p/")
	if !ok {
		if rest, ok = strings.CutPrefix(path, "/api/v1/p/"); !ok {
			return ""
		}
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// pluginCSRFToken is the token a plugin gets to put in its forms.
func (s *Server) pluginCSRFToken(ctx context.Context, plugin string) string {
	p := caller.PrincipalOf(ctx)
	if p.SessionKey == "" {
		return ""
	}
	return identity.PluginCSRFToken(s.Secret, p.SessionKey, plugin)
}

// fromThisSite is false when the browser says the request comes from another origin.
// "same-site" is refused too: tenants are sibling hosts of one site, and one tenant's pages
// must not write to another's. Clients that send neither header (scripts, old browsers) rely
// on the CSRF token alone. The scheme is not compared: behind a TLS-terminating proxy the
// server sees http for an https origin.
func fromThisSite(c *fiber.Ctx) bool {
	switch string(c.Request().Header.Peek("Sec-Fetch-Site")) {
	case "", "same-origin", "none":
	default:
		return false
	}
	origin := c.Request().Header.Peek(fiber.HeaderOrigin)
	if len(origin) == 0 {
		return true
	}
	_, host, ok := bytes.Cut(origin, []byte("://"))
	return ok && len(host) > 0 && bytes.EqualFold(host, c.Request().Host())
}

// simpleBody is true for the content types an HTML form or a no-cors fetch can send across
// sites without a CORS preflight.
func simpleBody(c *fiber.Ctx) bool {
	ct := c.Request().Header.ContentType()
	return bytes.HasPrefix(ct, []byte(fiber.MIMEApplicationForm)) || bytes.HasPrefix(ct, []byte(fiber.MIMEMultipartForm)) ||
		bytes.HasPrefix(ct, []byte(fiber.MIMETextPlain))
}

// csrfToken is the token pages and /api/v1/auth/me give the caller.
func (s *Server) csrfToken(ctx context.Context) string {
	p := caller.PrincipalOf(ctx)
	if p.SessionKey == "" {
		return ""
	}
	return identity.CSRFToken(s.Secret, p.SessionKey)
}

// authorize enforces a route's permission with Casbin.
func (s *Server) authorize(perm Perm) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		p := caller.PrincipalOf(ctx)
		dom := caller.Domain(tenants.PlatformID)
		if perm.Scope == TenantScope {
			dom = caller.Domain(caller.Tenant(ctx).ID)
		}
		ok, err := s.Authz.Allowed(p.Subject, dom, perm.Object, perm.Action)
		if err != nil {
			return err
		}
		if !ok {
			if p.Anonymous() {
				return errs.E(errs.Unauthorized, "sign in to do this").Say("err_sign_in")
			}
			return errs.E(errs.Forbidden, "your role does not allow %s on %s here", perm.Action, perm.Object).Say("err_forbidden_action")
		}
		return c.Next()
	}
}

func (s *Server) setCookie(c *fiber.Ctx, name, value string, ttl time.Duration) {
	c.Cookie(&fiber.Cookie{Name: name, Value: value, Path: "/", HTTPOnly: true, Secure: s.CookieSecure,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Now().Add(ttl), MaxAge: int(ttl.Seconds())})
}

func userSubject(tenantID, userID int64) string { return authz.UserSubject(tenantID, userID) }
