package httpapi

import (
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/errs"
)

// Every error Fiber or fasthttp raises while reading or routing a request is the client's:
// a 4xx and a client kind, never logged as internal.
func TestFiberError_EveryStatusIsAClientError(t *testing.T) {
	for _, fe := range []*fiber.Error{
		fiber.ErrBadRequest, fiber.ErrNotFound, fiber.ErrMethodNotAllowed, fiber.ErrRequestTimeout,
		fiber.ErrRequestEntityTooLarge, fiber.ErrRequestHeaderFieldsTooLarge, fiber.ErrUnprocessableEntity,
		fiber.ErrRequestedRangeNotSatisfiable, fiber.ErrBadGateway, fiber.ErrUnsupportedMediaType,
		fiber.ErrRequestURITooLong, fiber.ErrTooManyRequests, fiber.NewError(fiber.StatusBadRequest, "error when reading request headers"),
	} {
		k, status, msg := fiberError(fe)
		if status < 400 || status > 499 || k == errs.Internal || msg == "" {
			t.Errorf("%d %q: kind %s, status %d, message %q", fe.Code, fe.Message, k, status, msg)
		}
	}
}
