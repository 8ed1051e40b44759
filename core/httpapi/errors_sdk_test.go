package httpapi

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/plugins/sdk"
)

// TestPluginSDKErrors_MatchTheCore answers one error of every kind through the core's error
// handler and through the plugin SDK's WriteError: status, content type and body must be the
// same bytes, so a plugin's errors cannot drift from the host's.
func TestPluginSDKErrors_MatchTheCore(t *testing.T) {
	s := &Server{Deps: Deps{Log: slog.New(slog.DiscardHandler)}}
	kinds := map[errs.Kind]sdk.Kind{
		errs.Invalid: sdk.Invalid, errs.NotFound: sdk.NotFound, errs.Conflict: sdk.Conflict,
		errs.Unauthorized: sdk.Unauthorized, errs.Forbidden: sdk.Forbidden, errs.TooMany: sdk.TooMany,
		errs.TooLarge: sdk.TooLarge, errs.Unavailable: sdk.Unavailable, errs.Internal: sdk.Internal,
	}
	for k := range statusOf {
		if _, ok := kinds[k]; !ok {
			t.Fatalf("the core's kind %q has no counterpart in the SDK", k)
		}
	}
	type pair struct {
		name string
		core error
		sdk  error
	}
	var cases []pair
	for ck, sk := range kinds {
		msg := `what went wrong, with "quotes" & <brackets>`
		cases = append(cases, pair{string(ck), errs.E(ck, "%s", msg), sdk.E(sk, "%s", msg)})
	}
	cases = append(cases,
		pair{"field", errs.Field("title", "title is required"), sdk.Field("title", "title is required")},
		pair{"wrapped cause stays hidden", errs.Wrap(errs.Unavailable, io.EOF, "try later"), sdk.Wrap(sdk.Unavailable, io.EOF, "try later")},
		pair{"plain error is internal", io.ErrUnexpectedEOF, io.ErrUnexpectedEOF},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := fiber.New(fiber.Config{ErrorHandler: s.handleError})
			app.Get("/api/v1/x", func(c *fiber.Ctx) error { return tc.core })
			res, err := app.Test(httptest.NewRequest("GET", "/api/v1/x", nil))
			if err != nil {
				t.Fatal(err)
			}
			coreBody, _ := io.ReadAll(res.Body)

			rec := httptest.NewRecorder()
			sdk.WriteError(rec, tc.sdk)
			if rec.Code != res.StatusCode {
				t.Errorf("status: sdk %d, core %d", rec.Code, res.StatusCode)
			}
			if got, want := rec.Header().Get("Content-Type"), res.Header.Get("Content-Type"); got != want {
				t.Errorf("content type: sdk %q, core %q", got, want)
			}
			if got := rec.Body.String(); got != string(coreBody) {
				t.Errorf("body:\n sdk  %s\n core %s", got, coreBody)
			}
		})
	}
}
