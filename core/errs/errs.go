// Package errs holds the kinds of error the domain returns and the one type that carries them.
// The HTTP layer maps a Kind to a status in one place (core/httpapi/errors.go).
package errs

import (
	"errors"
	"fmt"
	"time"
)

// Kind says what went wrong, in terms a caller can act on.
type Kind string

const (
	Invalid      Kind = "invalid"      // the input is malformed or breaks a rule
	NotFound     Kind = "not_found"    // no such object, or not visible to the caller
	Conflict     Kind = "conflict"     // the object exists already or changed meanwhile
	Unauthorized Kind = "unauthorized" // the caller is not authenticated
	Forbidden    Kind = "forbidden"    // the caller may not do this
	TooMany      Kind = "rate_limited" // the caller must slow down
	TooLarge     Kind = "too_large"    // the input is bigger than allowed
	Unavailable  Kind = "unavailable"  // a dependency is down or the tenant is suspended
	Internal     Kind = "internal"     // a bug or an unexpected failure
)

// Error is a domain error: a kind, a message safe to show to users, and the cause for the logs.
//
// Message is in English, for the logs, the command line and API clients that ask for no
// language. Key, when set, names the text people read instead: the message catalogues
// (web/messages/*.json) hold it in each language, with Args in place of its verbs, and the
// HTTP layer writes it in the reader's language (see Say).
type Error struct {
	Kind    Kind
	Message string
	Field   string // the input field at fault, if any
	Key     string // the catalogue key of the message, if it has one
	Args    []any  // the values of the message's verbs, in the order of Message's format
	Err     error
	// RetryAfter, on a TooMany error, is how long the caller should wait before trying
	// again (sent as Retry-After); 0 when unknown.
	RetryAfter time.Duration
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
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...), Args: args}
}

// Field builds an Invalid error about one input field.
func Field(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Message: fmt.Sprintf(format, args...), Args: args}
}

// Wrap keeps err as the cause of a new error of kind k.
func Wrap(k Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...), Err: err, Args: args}
}

// Say names the catalogue key that says e in each language. Its texts take the arguments
// the English format took, in the same order (the catalogue writes numbers as %s, since they
// come localised: "2 000", "4,5"), unless args are given to replace them.
//
//	errs.Field("content", "at most %d characters", n).Say("err_proposal_too_long")
func (e *Error) Say(key string, args ...any) *Error {
	e.Key = key
	if args != nil {
		e.Args = args
	}
	return e
}

// Said returns the catalogue key and arguments of err's message, if it has a key.
func Said(err error) (key string, args []any, ok bool) {
	var e *Error
	if errors.As(err, &e) && e.Key != "" && e.Kind != Internal {
		return e.Key, e.Args, true
	}
	return "", nil, false
}

// RetryAfterOf returns how long err asks the caller to wait (see Error.RetryAfter), or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// KindOf returns the kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err carries kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// MessageOf returns the user-facing message of err, never the internal detail.
func MessageOf(err error) (msg, field string) {
	var e *Error
	if errors.As(err, &e) && e.Kind != Internal {
		return e.Message, e.Field
	}
	return "an internal error occurred; it has been logged", ""
}
