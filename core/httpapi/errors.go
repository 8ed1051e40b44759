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
	msg, field := errs.MessageOf(err)
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
	if t != nil && s.locale(c) == "fr" {
		// The core's messages are written for developers, in English: a French page says
		// what happened in French instead, by kind (the API keeps the precise message).
		if fr, ok := frenchPageMessages[kind]; ok {
			msg = s.Pages.T("fr", fr)
		}
	}
	return s.Pages.Error(c, status, t, msg)
}

// frenchPageMessages are the catalogue keys of what a French error page says, by kind.
var frenchPageMessages = map[errs.Kind]string{
	errs.Invalid: "error_msg_invalid", errs.TooLarge: "error_msg_too_large", errs.NotFound: "error_msg_not_found",
	errs.Conflict: "error_msg_conflict", errs.Unauthorized: "error_msg_unauthorized", errs.Forbidden: "error_msg_forbidden",
	errs.TooMany: "error_msg_too_many", errs.Unavailable: "error_msg_unavailable", errs.Internal: "error_msg_internal",
}

func wantsJSON(c *fiber.Ctx) bool {
	return strings.HasPrefix(c.Path(), "/api/") ||
		strings.Contains(c.Get(fiber.HeaderAccept), fiber.MIMEApplicationJSON) && !strings.Contains(c.Get(fiber.HeaderAccept), "text/html")
}

func errInvalid(msg string) error { return errs.E(errs.Invalid, "%s", msg) }
