package consultation_test

import (
	"regexp"
	"testing"

	"github.com/concorde-civic/concorde/core/consultation"
)

// scriptable is what rendered Markdown must never hold: scripts, frames, and inside a tag
// event handlers or script URLs (as text, "onclick=" is harmless and escaped).
var scriptable = regexp.MustCompile(`(?i)<\s*(script|iframe|object|embed|style|base|meta|link|form)\b|<[^>]*\son[a-z]+\s*=|<[^>]*\b(href|src)\s*=\s*["']?\s*(javascript|vbscript|data):`)

// Seeds are in testdata/fuzz/FuzzRenderMarkdown. Whatever an admin writes as a consultation's
// context, the HTML shown to citizens runs nothing.
func FuzzRenderMarkdown(f *testing.F) {
	f.Fuzz(func(t *testing.T, src string) {
		html := string(consultation.RenderMarkdown(src))
		if m := scriptable.FindString(html); m != "" {
			t.Fatalf("Markdown %q renders %q: %s", src, m, html)
		}
	})
}
