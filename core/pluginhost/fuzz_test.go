package pluginhost

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
)

// scriptable is what must never come out of a plugin page: scripts, frames, and inside a tag
// event handlers or script URLs (as text they are harmless and escaped).
var scriptable = regexp.MustCompile(`(?i)<\s*(script|iframe|object|embed|style|base|meta|link)\b|<[^>]*\son[a-z]+\s*=|<[^>]*\b(href|src|action|formaction)\s*=\s*["']?\s*(javascript|vbscript|data):`)

// Seeds are in testdata/fuzz/FuzzPluginResponse. The host treats what a plugin answers as
// untrusted input: whatever it sends, the response is refused or is safe to send on.
func FuzzPluginResponse(f *testing.F) {
	h := &Host{limits: DefaultLimits()}
	f.Fuzz(func(t *testing.T, status int32, page bool, headerName, headerValue, contentType string, body []byte, title, jsonLD string) {
		kind := "api"
		if page {
			kind = "page"
		}
		resp := &pluginpb.HandleResponse{Status: status, Body: body, PageTitle: title, JsonLd: jsonLD, Headers: []*pluginpb.Header{
			{Name: "Content-Type", Values: []string{contentType}}, {Name: headerName, Values: []string{headerValue}},
		}}
		out, err := h.validate(resp, kind, "fuzz")
		if err != nil {
			return
		}
		if out.Status < 200 || out.Status > 599 {
			t.Fatalf("status %d let through", out.Status)
		}
		for name, vs := range out.Header {
			if name != "Content-Type" && !responseHeaders[name] {
				t.Fatalf("header %q let through", name)
			}
			for _, v := range vs {
				if !cleanHeaderValue(v) {
					t.Fatalf("header %s: %q let through", name, v)
				}
			}
		}
		if loc := out.Header.Get("Location"); loc != "" && (!strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.Contains(loc, "\\")) {
			t.Fatalf("redirect to %q let through", loc)
		}
		if out.Page != nil {
			if kind != "page" {
				t.Fatal("an HTML page from an API route")
			}
			if m := scriptable.FindString(out.Page.HTML); m != "" {
				t.Fatalf("page HTML holds %q: %q", m, out.Page.HTML)
			}
			if !utf8.ValidString(out.Page.Title) || len(out.Page.Title) > 200 {
				t.Fatalf("page title %q", out.Page.Title)
			}
			if strings.ContainsAny(out.Page.JSONLD, "<>") {
				t.Fatalf("JSON-LD can close its script element: %q", out.Page.JSONLD)
			}
		}
	})
}

// A title is cut at a character boundary and never carries invalid UTF-8 to the layout (the
// second case was found by FuzzPluginResponse).
func TestPageTitle_ValidUTF8AndCutAtACharacter(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	for in, want := range map[string]string{
		"  Programme  ": "Programme",
		"\x92\xe8":      "\uFFFD",
		long:            strings.Repeat("é", 100),
		"a" + long:      "a" + strings.Repeat("é", 99),
	} {
		if got := pageTitle(in); got != want || !utf8.ValidString(got) || len(got) > maxTitle {
			t.Errorf("pageTitle(%q) = %q, want %q", in, got, want)
		}
	}
}
