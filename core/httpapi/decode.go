package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/errs"
)

// maxJSONBody bounds every JSON request body of the API.
const maxJSONBody = 64 << 10

// decode reads a JSON body strictly into v: right content type, bounded size, one object,
// no unknown fields, right types. Its errors say what to fix.
func decode(c *fiber.Ctx, v any) error {
	return decodeJSON(c.Request().Header.ContentType(), c.Body(), v)
}

// decodeJSON is decode on a content type and a body (what the fuzz test drives).
func decodeJSON(contentType, body []byte, v any) error {
	if !bytes.HasPrefix(contentType, []byte(fiber.MIMEApplicationJSON)) {
		return errs.E(errs.Invalid, "send the body as JSON with Content-Type: application/json")
	}
	if len(body) > maxJSONBody {
		return errs.E(errs.TooLarge, "the body is larger than %d KiB", maxJSONBody>>10)
	}
	// encoding/json would replace invalid UTF-8 with U+FFFD and keep an escaped NUL, which
	// PostgreSQL refuses later (a 500): both are the client's to fix.
	if !utf8.Valid(body) {
		return errs.E(errs.Invalid, "the body is not valid UTF-8; send the text encoded in UTF-8")
	}
	if hasEscapedNUL(body) {
		return errs.E(errs.Invalid, "the body holds a NUL character (\\u0000), which no text field accepts")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errs.E(errs.Invalid, "the body must hold exactly one JSON object")
	}
	return nil
}

// hasEscapedNUL reports a \u0000 escape inside a JSON string (a raw NUL byte is a syntax
// error the decoder reports itself). An escaped backslash followed by "u0000" is text, not a NUL.
func hasEscapedNUL(body []byte) bool {
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' || i+1 >= len(body) {
			continue
		}
		if body[i+1] == 'u' && i+6 <= len(body) && string(body[i+2:i+6]) == "0000" {
			return true
		}
		i++ // skip the escaped character, a backslash included
	}
	return false
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errs.E(errs.Invalid, "the body is empty; send a JSON object")
	case errors.As(err, &syn):
		return errs.E(errs.Invalid, "malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errs.E(errs.Invalid, "the body must be a JSON object")
		}
		return errs.Field(typ.Field, "field %q must be %s, not %s", typ.Field, jsonType(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return errs.Field(name, "unknown field %q", name)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.E(errs.Invalid, "malformed JSON: the body ends too early")
	}
	return errs.E(errs.Invalid, "malformed JSON: %s", err.Error())
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return fmt.Sprintf("of type %s", kind)
}
