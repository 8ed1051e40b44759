package web_test

import (
	"io/fs"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/concorde-civic/concorde/tenants"
	"github.com/concorde-civic/concorde/web"
)

// Every key a template uses exists in every catalogue, and the catalogues have the same keys.
func TestCatalogues_CoverEveryTemplateKey(t *testing.T) {
	p, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	en, fr := p.Keys("en"), p.Keys("fr")
	for k := range en {
		if _, ok := fr[k]; !ok {
			t.Errorf("key %q is in en but not fr", k)
		}
	}
	for k := range fr {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q is in fr but not en", k)
		}
	}
	used := regexp.MustCompile(`\{\{-?\s*t\s+"([a-z0-9_]+)"`)
	err = fs.WalkDir(os.DirFS("templates"), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile("templates/" + path)
		if err != nil {
			return err
		}
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			if _, ok := en[m[1]]; !ok {
				t.Errorf("%s uses key %q that no catalogue has", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The site's Content-Security-Policy allows no inline script or style: templates must carry
// none (JSON-LD data blocks are not scripts), nor event-handler attributes.
func TestTemplates_NoInlineScriptOrStyle(t *testing.T) {
	bad := []*regexp.Regexp{
		regexp.MustCompile(`\sstyle\s*=`),
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\son[a-z]+\s*=`),
		regexp.MustCompile(`<script(?:\s+(?:defer|async))?\s*>`),
		regexp.MustCompile(`javascript:`),
	}
	files, err := fs.Glob(os.DirFS("templates"), "*.html")
	if err != nil || len(files) < 10 {
		t.Fatalf("templates: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile("templates/" + f)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range bad {
			if loc := re.FindIndex(b); loc != nil {
				t.Errorf("%s: %q breaks the CSP", f, b[loc[0]:loc[1]])
			}
		}
	}
}

func TestAt_WritesTheSitesZoneInItsLanguage(t *testing.T) {
	at := time.Date(2026, 3, 5, 13, 30, 0, 0, time.UTC)
	paris := &tenants.Tenant{TimeZone: "Europe/Paris"}
	reunion := &tenants.Tenant{TimeZone: "Indian/Reunion"}
	for _, c := range []struct {
		t      *tenants.Tenant
		locale string
		want   string
	}{
		{paris, "fr", "05/03/2026 à 14:30"},
		{paris, "en", "2026-03-05 14:30"},
		{reunion, "fr", "05/03/2026 à 17:30"},
		{nil, "fr", "05/03/2026 à 13:30 UTC"},
	} {
		if got := web.At(c.t, c.locale, at); got != c.want {
			t.Errorf("%v %s: %q, want %q", c.t, c.locale, got, c.want)
		}
	}
	if web.At(paris, "fr", time.Time{}) != "" {
		t.Error("a zero time is written")
	}
}
