package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Kind says what went wrong, in the host's words: the same kinds, codes and HTTP statuses as
// the core's errors (core/errs), so a plugin's JSON errors look like every other error of
// the API and clients handle them in one way.
type Kind string

// The kinds of error; their values are the "code" of the JSON error.
const (
	Invalid      Kind = "invalid"      // the input is malformed or breaks a rule
	NotFound     Kind = "not_found"    // no such object, or not visible to the caller
	Conflict     Kind = "conflict"     // the object exists already or changed meanwhile
	Unauthorized Kind = "unauthorized" // the caller is not authenticated
	Forbidden    Kind = "forbidden"    // the caller may not do this
	TooMany      Kind = "rate_limited" // the caller must slow down
	TooLarge     Kind = "too_large"    // the input is bigger than allowed
	Unavailable  Kind = "unavailable"  // a dependency is down
	Internal     Kind = "internal"     // a bug or an unexpected failure
)

// statusOf is the HTTP status of each kind, as the host maps them.
var statusOf = map[Kind]int{
	Invalid:      http.StatusBadRequest,
	TooLarge:     http.StatusBadRequest,
	NotFound:     http.StatusNotFound,
	Conflict:     http.StatusConflict,
	Unauthorized: http.StatusUnauthorized,
	Forbidden:    http.StatusForbidden,
	TooMany:      http.StatusTooManyRequests,
	Unavailable:  http.StatusServiceUnavailable,
	Internal:     http.StatusInternalServerError,
}

// internalMessage is what users read of an unexpected error: never its detail.
const internalMessage = "an internal error occurred; it has been logged"

// Error is an error a plugin answers with: a kind, a message safe to show to users, the input
// field at fault if any, and the cause (for the plugin's logs, never shown).
type Error struct {
	Kind    Kind
	Message string
	Field   string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an error of kind k with a message for users.
func E(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Field builds an Invalid error about one input field.
func Field(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap keeps err as the cause of a new error of kind k.
func Wrap(k Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...), Err: err}
}

// KindOf returns the kind of the first *Error in err's chain; ErrConflict is a Conflict;
// anything else is Internal.
func KindOf(err error) Kind {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Kind
	case errors.Is(err, ErrConflict):
		return Conflict
	}
	return Internal
}

// errorBody is the JSON shape of every error the host's API returns
// ({"error":{"code","message","field"}}, field omitted when empty).
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

// WriteError answers err as the host answers its own errors: the kind's status and the
// JSON error body. An error that is no *Error (nor ErrConflict) answers 500 with a generic
// message: its text may hold details users must not see, so log it before.
func WriteError(w http.ResponseWriter, err error) {
	kind := KindOf(err)
	status, ok := statusOf[kind]
	if !ok { // a Kind the host does not know: a bug in the plugin
		kind, status = Internal, http.StatusInternalServerError
	}
	var b errorBody
	b.Error.Code = string(kind)
	var e *Error
	switch {
	case kind == Internal:
		b.Error.Message = internalMessage
	case errors.As(err, &e):
		b.Error.Message, b.Error.Field = e.Message, e.Field
	default: // ErrConflict
		b.Error.Message = "it changed meanwhile; reload and try again"
	}
	body, _ := json.Marshal(b) // cannot fail: strings only
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
