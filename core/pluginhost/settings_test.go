package pluginhost_test

import (
	"context"
	"strings"
	"testing"

	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/testsupport"
)

// Secret settings are stored encrypted, never shown back, kept when left out, and reach the
// plugin in clear; defaults reach it without anyone saving settings.
func TestSettings_SecretsAreWriteOnlyAndDefaultsApply(t *testing.T) {
	w := newWorld(t, "misbehave")
	w.enable(t, w.A, "misbehave")
	settings := func() string { return string(w.get(w.A, "/api/v1/p/misbehave/settings", "").Body) }
	if got := settings(); got != `{"greeting":"bonjour"}` {
		t.Fatalf("defaults before any save: %s", got)
	}
	admin := w.A.Tokens[authz.TenantAdmin]
	put := func(body string) testsupport.Response {
		return w.Do(testsupport.Request{Method: "PUT", Host: w.A.Host, Path: "/api/v1/plugins/misbehave/settings", Token: admin, Body: body})
	}
	const key = "sk_live_0123456789"
	res := put(`{"api_key":"` + key + `"}`)
	if res.Status != 200 || strings.Contains(string(res.Body), key) || !strings.Contains(string(res.Body), `"api_key":"••••••••"`) {
		t.Fatalf("save a secret: %d %s", res.Status, res.Body)
	}
	if got := settings(); !strings.Contains(got, `"api_key":"`+key+`"`) {
		t.Errorf("the plugin did not get its secret: %s", got)
	}
	if res := put(`{"greeting":"salut"}`); res.Status != 200 {
		t.Fatalf("change another setting: %d %s", res.Status, res.Body)
	}
	if got := settings(); !strings.Contains(got, `"api_key":"`+key+`"`) || !strings.Contains(got, `"greeting":"salut"`) {
		t.Errorf("a secret left out was not kept: %s", got)
	}
	if res := put(`{"api_key":"short"}`); res.Status != 400 {
		t.Errorf("a secret too short: %d %s", res.Status, res.Body)
	}
	var stored string
	if err := w.App.DB.NewRaw("SELECT settings FROM tenant_plugins WHERE plugin = 'misbehave'").Scan(context.Background(), &stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, key) || !strings.Contains(stored, "enc:v1:") {
		t.Errorf("stored in clear: %s", stored)
	}
	for _, path := range []string{"/api/v1/plugins", "/api/v1/audit?limit=100", "/admin/plugins"} {
		if body := string(w.get(w.A, path, admin).Body); strings.Contains(body, key) {
			t.Errorf("%s shows the secret", path)
		}
	}
}

func TestHost_APanickingHandlerAnswersAJSON500(t *testing.T) {
	w := newWorld(t, "misbehave")
	w.enable(t, w.A, "misbehave")
	res := w.get(w.A, "/api/v1/p/misbehave/panic", "")
	if res.Status != 500 || !strings.Contains(string(res.Body), `"code":"internal"`) {
		t.Fatalf("panic: %d %s", res.Status, res.Body)
	}
	if res := w.get(w.A, "/api/v1/p/misbehave/ok", ""); res.Status != 200 {
		t.Errorf("after the panic: %d", res.Status)
	}
}
