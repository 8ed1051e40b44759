package httpapi

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/concorde-civic/concorde/core/errs"
)

// Seeds are in testdata/fuzz/FuzzDecodeJSON; `go test` runs them, `make fuzz-long` explores.
// Whatever the body, decoding either refuses it as the client's fault or yields text fields
// of valid UTF-8 without NUL (what PostgreSQL stores).
func FuzzDecodeJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		var v voteRequest
		err := decodeJSON([]byte("application/json"), body, &v)
		if err != nil {
			if k := errs.KindOf(err); k != errs.Invalid && k != errs.TooLarge {
				t.Fatalf("body %q: error of kind %s: %v", body, k, err)
			}
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("invalid UTF-8 accepted: %q", body)
		}
		for _, s := range append([]string{v.Vote, v.Key}, v.Qualifications...) {
			if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
				t.Fatalf("body %q decoded to text %q", body, s)
			}
		}
	})
}

// A return address kept by localPath stays on this site however a browser reads it: with
// tabs and newlines removed, backslashes read as slashes, it is a path with no host.
func FuzzLocalPath(f *testing.F) {
	f.Fuzz(func(t *testing.T, p string) {
		got := localPath(p, "/fallback")
		if got == "/fallback" {
			return
		}
		if got != p {
			t.Fatalf("%q became %q", p, got)
		}
		browser := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(strings.Trim(got, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "))
		if !strings.HasPrefix(browser, "/") || strings.HasPrefix(browser, "//") {
			t.Fatalf("%q kept, which a browser reads as %q", p, browser)
		}
		// A malformed escape ("/0%") is a path a browser requests as is: only a parsed host matters.
		if u, err := url.Parse(browser); err == nil && (u.Scheme != "" || u.Host != "") {
			t.Fatalf("%q kept, which a browser reads as %q (host %q)", p, browser, u.Host)
		}
	})
}
