package httpapi

import (
	"errors"
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
	if errors.As(err, &fe) {
		k, ok := kindOfStatus[fe.Code]
		if !ok {
			k = errs.Internal
		}
		msg := fe.Message
		if fe.Code == fiber.StatusNotFound || fe.Code == fiber.StatusMethodNotAllowed {
			msg = "no such page or endpoint"
		}
		err = errs.E(k, "%s", msg)
	}
	kind := errs.KindOf(err)
	status := statusOf[kind]
	if kind == errs.Internal {
		rid, _ := c.Locals("requestid").(string)
		// Copied: both point into buffers Fiber reuses, and a log handler may keep them.
		s.Log.Error("internal error", "error", err.Error(), "request_id", strings.Clone(rid), "path", strings.Clone(c.Path()))
	}
	msg, field := errs.MessageOf(err)
	if wantsJSON(c) {
		var b ErrorBody
		b.Error.Code, b.Error.Message, b.Error.Field = string(kind), msg, field
		return c.Status(status).JSON(b)
	}
	return s.Pages.Error(c, status, caller.Tenant(c.UserContext()), msg)
}

func wantsJSON(c *fiber.Ctx) bool {
	return strings.HasPrefix(c.Path(), "/api/") ||
		strings.Contains(c.Get(fiber.HeaderAccept), fiber.MIMEApplicationJSON) && !strings.Contains(c.Get(fiber.HeaderAccept), "text/html")
}

func errInvalid(msg string) error { return errs.E(errs.Invalid, "%s", msg) }
