package proposal_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/proposal"
)

// Seeds are in testdata/fuzz/FuzzValidateContent. Whatever a participant types, a proposal's
// text is either refused as invalid or is 12 to 140 characters of plain, valid, visible text.
func FuzzValidateContent(f *testing.F) {
	f.Fuzz(func(t *testing.T, prefix, raw string) {
		got, err := proposal.ValidateContent(prefix, raw)
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("%q: error of kind %s: %v", raw, errs.KindOf(err), err)
			}
			return
		}
		n := utf8.RuneCountInString(got)
		if !utf8.ValidString(got) || n < proposal.MinLength || n > proposal.MaxLength {
			t.Fatalf("%q accepted as %q (%d characters)", raw, got, n)
		}
		if got != strings.TrimSpace(got) || strings.Contains(got, "  ") {
			t.Fatalf("%q accepted with untrimmed space: %q", raw, got)
		}
		for _, r := range got {
			if unicode.Is(unicode.Cc, r) {
				t.Fatalf("%q accepted with control character %U: %q", raw, r, got)
			}
		}
		if strings.ContainsAny(got, "<>") && strings.Contains(strings.ToLower(got), "<script") ||
			strings.Contains(strings.ToLower(got), "http://") || strings.Contains(strings.ToLower(got), "https://") ||
			strings.Contains(strings.ToLower(got), "javascript:") {
			t.Fatalf("%q accepted with markup or a link: %q", raw, got)
		}
	})
}
