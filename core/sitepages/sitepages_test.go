package sitepages_test

import (
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/sitepages"
)

// Every page has a default in each language, written for the site.
func TestDefault_EveryPageInEachLanguage(t *testing.T) {
	site := sitepages.Site{Name: "Région Bretagne", Host: "bretagne.example", Reasons: []string{"Hors sujet", "Publicité"}}
	for _, locale := range []string{"fr", "en"} {
		site.Locale = locale
		for _, name := range sitepages.Names {
			md, err := sitepages.Default(name, site)
			if err != nil {
				t.Fatalf("%s %s: %v", locale, name, err)
			}
			if !strings.HasPrefix(md, "# ") || !strings.Contains(md, "Région Bretagne") || strings.Contains(md, "{{") {
				t.Errorf("%s %s: %.200s", locale, name, md)
			}
		}
		charte, _ := sitepages.Default("charte", site)
		if !strings.Contains(charte, "- Hors sujet\n- Publicité\n") {
			t.Errorf("%s charter without the reasons: %s", locale, charte)
		}
	}
	if _, err := sitepages.Default("../../etc/passwd", site); err == nil {
		t.Error("a page outside the list")
	}
}
