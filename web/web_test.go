package web_test

import (
	"io/fs"
	"os"
	"regexp"
	"testing"

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
