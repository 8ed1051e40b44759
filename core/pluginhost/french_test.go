package pluginhost_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/testsupport"
)

// On a French site the host's parts of the plugins console speak French: states in words,
// the settings form's refusals, the jobs' periods and counts, and the frame around a plugin's
// page (the plugin's own texts are the plugin's).
func TestPlugins_TheHostSpeaksFrenchAroundThem(t *testing.T) {
	w := newWorld(t, "misbehave")
	w.enable(t, w.A, "misbehave")
	admin := w.Env.Visitor(w.A.Host)
	admin.SignIn("tenant-admin@ay.test", testsupport.Password)
	w.get(w.A, "/api/v1/p/misbehave/ok", "") // starts the process
	page := string(admin.Do("GET", "/admin/plugins", nil).Body)
	if !regexp.MustCompile(`· (en service|pas encore démarrée|en cours de démarrage)</p>`).MatchString(page) {
		t.Errorf("the plugin's state is not said in French: %s", between(page, `id="plugin-misbehave"`, "</p>"))
	}
	for _, raw := range []string{"· running<", "· stopped<", "· starting<", "1s<", "0s<", "failures)"} {
		if strings.Contains(page, raw) {
			t.Errorf("the console shows %q", raw)
		}
	}
	res := admin.PostForm("/admin/plugins/misbehave", url.Values{"action": {"fields"}, "setting.api_key": {"court"}, "setting.greeting": {"salut"}})
	body := string(res.Body)
	if res.Status != 400 || !strings.Contains(body, "Le réglage « api_key » doit faire au moins 10 caractères.") || strings.Contains(body, "must have") {
		t.Errorf("a refused setting: %d %s", res.Status, between(body, `class="error-msg"`, "</p>"))
	}
	res = admin.PostForm("/admin/plugins/misbehave", url.Values{"action": {"settings"}, "settings": {`{"nope":1}`}})
	if body := string(res.Body); res.Status != 400 || !strings.Contains(body, "Réglage inconnu : « nope ».") {
		t.Errorf("an unknown setting: %d %s", res.Status, between(body, `class="error-msg"`, "</p>"))
	}
	// The frame of a plugin's page.
	frame := string(admin.Do("GET", "/p/misbehave/page", nil).Body)
	if !strings.Contains(frame, `<html lang="fr"`) || !strings.Contains(frame, "Mentions légales") || strings.Contains(frame, "Sign out") {
		t.Errorf("the frame of a plugin's page is not French")
	}
}

func between(s, from, to string) string {
	_, after, _ := strings.Cut(s, from)
	before, _, _ := strings.Cut(after, to)
	return before
}
