package httpapi

import "testing"

func TestAcceptLanguage_WeighsQualities(t *testing.T) {
	for _, c := range []struct{ header, want string }{
		{"", "en"},
		{"fr", "fr"},
		{"FR-be", "fr"},
		{"de-DE, fr;q=0.5", "fr"},
		{"fr;q=0.5, en;q=0.8", "en"},
		{"en;q=0.5, fr;q=0.8", "fr"},
		{"fr;q=0", "en"},
		{"fr;q=nope, en;q=0.1", "en"},
		{"*", "en"},
		{"fr;q=0.2, *;q=0.9", "en"},
		{"de, es", "en"},
		{"fr , en", "fr"},
	} {
		if got := acceptLanguage(c.header, []string{"fr", "en"}, "en"); got != c.want {
			t.Errorf("acceptLanguage(%q) = %s, want %s", c.header, got, c.want)
		}
	}
}
