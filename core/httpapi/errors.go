package httpapi

import (
	"errors"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/tenants"
	"github.com/concorde-civic/concorde/web"
)

// statusOf is the one place where error kinds become HTTP statuses.
var statusOf = map[errs.Kind]int{
	errs.Invalid:      fiber.StatusBadRequest,
	errs.TooLarge:     fiber.StatusBadRequest,
	errs.NotFound:     fiber.StatusNotFound,
	errs.Conflict:     fiber.StatusConflict,
	errs.Unauthorized: fiber.StatusUnauthorized,
	errs.Forbidden:    fiber.StatusForbidden,
	errs.TooMany:      fiber.StatusTooManyRequests,
	errs.Unavailable:  fiber.StatusServiceUnavailable,
	errs.Internal:     fiber.StatusInternalServerError,
}

// kindOfStatus maps Fiber's own errors (unknown route, wrong method...) back to kinds.
var kindOfStatus = map[int]errs.Kind{
	fiber.StatusBadRequest:            errs.Invalid,
	fiber.StatusNotFound:              errs.NotFound,
	fiber.StatusMethodNotAllowed:      errs.NotFound,
	fiber.StatusRequestEntityTooLarge: errs.TooLarge,
	fiber.StatusTooManyRequests:       errs.TooMany,
	fiber.StatusUnauthorized:          errs.Unauthorized,
	fiber.StatusForbidden:             errs.Forbidden,
	fiber.StatusServiceUnavailable:    errs.Unavailable,
}

// fiberMessages say what to fix for the statuses Fiber and fasthttp produce while reading a
// request, before any route runs.
var fiberMessages = map[int]string{
	fiber.StatusRequestHeaderFieldsTooLarge:  "the request headers are too large (over 4 KiB): remove some cookies or headers",
	fiber.StatusRequestTimeout:               "the request took too long to arrive; try again",
	fiber.StatusRequestEntityTooLarge:        "the request body is too large",
	fiber.StatusRequestedRangeNotSatisfiable: "the requested range is not satisfiable",
	fiber.StatusUnprocessableEntity:          "the request body cannot be read",
}

// fiberError turns an error of Fiber or fasthttp into a kind, the status to answer and a
// message. Each of them is the client's doing (a malformed or oversized request, a
// connection that broke or stalled, an unknown route): its 4xx status is kept (431, 408...)
// and any other becomes 400, never a 5xx that would be logged as internal.
func fiberError(fe *fiber.Error) (errs.Kind, int, string) {
	status := fe.Code
	if status < 400 || status > 499 {
		status = fiber.StatusBadRequest
	}
	k, ok := kindOfStatus[status]
	if !ok {
		k = errs.Invalid
	}
	msg := fe.Message
	if m, ok := fiberMessages[status]; ok {
		msg = m
	}
	if status == fiber.StatusNotFound || status == fiber.StatusMethodNotAllowed {
		msg = "no such page or endpoint"
	}
	return k, status, msg
}

// ErrorBody is the JSON shape of every error the API returns.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

func (s *Server) handleError(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	status := 0
	if errors.As(err, &fe) {
		var k errs.Kind
		var msg string
		k, status, msg = fiberError(fe)
		err = errs.E(k, "%s", msg)
		if c.Locals("requestid") == nil {
			// fasthttp could not read the request (431, 408...): no middleware ran, so it is
			// counted and logged here, as a client error.
			code := strconv.Itoa(status)
			s.Metrics.Requests.WithLabelValues(methodLabel(c.Method()), "unmatched", code).Inc()
			s.Log.Info("request refused", "status", status, "error", strings.Clone(fe.Message))
		}
	}
	kind := errs.KindOf(err)
	if status == 0 {
		status = statusOf[kind]
	}
	if kind == errs.Internal {
		rid, _ := c.Locals("requestid").(string)
		// Copied: both point into buffers Fiber reuses, and a log handler may keep them.
		s.Log.Error("internal error", "error", err.Error(), "request_id", strings.Clone(rid), "path", strings.Clone(c.Path()))
	}
	if d := errs.RetryAfterOf(err); kind == errs.TooMany && d > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10))
	}
	msg, field := s.errorMessage(c, err)
	if kind == errs.Unauthorized && !wantsJSON(c) && (c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead) &&
		c.Get(fiber.HeaderAuthorization) == "" && c.Path() != "/account/signin" &&
		caller.Tenant(c.UserContext()) != nil && caller.PrincipalOf(c.UserContext()).Anonymous() {
		// A signed-out browser opening a page that needs an account (a link to /admin/… in an
		// e-mail, say) signs in and comes back to it, rather than reading a bare 401. A client
		// with a token that does not hold here still gets the 401.
		return c.Redirect("/account/signin?next="+url.QueryEscape(string(c.Request().URI().RequestURI())), fiber.StatusSeeOther)
	}
	if wantsJSON(c) {
		var b ErrorBody
		b.Error.Code, b.Error.Message, b.Error.Field = string(kind), msg, field
		return c.Status(status).JSON(b)
	}
	t := caller.Tenant(c.UserContext())
	return s.Pages.Render(c, status, "error", web.Page{Tenant: t, Locale: s.messageLocale(c), Title: strconv.Itoa(status), Message: msg})
}

// kindMessages are the catalogue keys of what a page says, by kind, about an error whose
// message has no key of its own.
var kindMessages = map[errs.Kind]string{
	errs.Invalid: "error_msg_invalid", errs.TooLarge: "error_msg_too_large", errs.NotFound: "error_msg_not_found",
	errs.Conflict: "error_msg_conflict", errs.Unauthorized: "error_msg_unauthorized", errs.Forbidden: "error_msg_forbidden",
	errs.TooMany: "error_msg_too_many", errs.Unavailable: "error_msg_unavailable", errs.Internal: "error_msg_internal",
}

// errorMessage is the message of err (and the field at fault) in the language of the request:
// a page's (see messageLocale). It is what every page and API answer shows of an error.
func (s *Server) errorMessage(c *fiber.Ctx, err error) (msg, field string) {
	return s.messageIn(s.messageLocale(c), err)
}

// messageIn writes err's message in locale: its catalogue text when it has a key; else, in
// English, the core's own message, and in another language what happened, by kind (the
// core's messages without a key are written for developers).
func (s *Server) messageIn(locale string, err error) (msg, field string) {
	msg, field = errs.MessageOf(err)
	if key, args, ok := errs.Said(err); ok {
		return s.Pages.Message(locale, key, args...), field
	}
	if locale == "en" {
		return msg, field
	}
	return s.Pages.T(locale, kindMessages[errs.KindOf(err)]), field
}

// messageLocale is the language an answer speaks. A page (and the JSON a page's script asks
// of a form) speaks the page's language: the visitor's choice, else the site's. The API
// (and an API client on a page's route: a bearer token or a JSON body) speaks the language
// Accept-Language prefers among those the site has, and English when the header asks for
// none of them: API clients get English unless they ask, and the site's own scripts send the
// page's language.
func (s *Server) messageLocale(c *fiber.Ctx) string {
	if strings.HasPrefix(c.Path(), "/api/") || strings.HasPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ") ||
		strings.HasPrefix(string(c.Request().Header.ContentType()), fiber.MIMEApplicationJSON) {
		return acceptLanguage(c.Get(fiber.HeaderAcceptLanguage), tenants.Locales, "en")
	}
	if caller.Tenant(c.UserContext()) == nil {
		return "en"
	}
	return s.locale(c)
}

// acceptLanguage picks, from an Accept-Language header, the language of supported with the
// highest quality ("fr-FR;q=0.8" is French at 0.8; q=0 refuses; "*" takes fallback); ties go
// to the first named. It returns fallback when the header names none of them.
func acceptLanguage(header string, supported []string, fallback string) string {
	best, bestQ := fallback, 0.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		primary, _, _ := strings.Cut(strings.TrimSpace(tag), "-")
		lang := ""
		if primary == "*" {
			lang = fallback
		}
		for _, l := range supported {
			if strings.EqualFold(primary, l) {
				lang = l
			}
		}
		if lang != "" && q > bestQ {
			best, bestQ = lang, q
		}
	}
	return best
}

func wantsJSON(c *fiber.Ctx) bool {
	return strings.HasPrefix(c.Path(), "/api/") ||
		strings.Contains(c.Get(fiber.HeaderAccept), fiber.MIMEApplicationJSON) && !strings.Contains(c.Get(fiber.HeaderAccept), "text/html")
}

func errInvalid(msg string) error { return errs.E(errs.Invalid, "%s", msg) }
