// Command misbehave is a plugin for the host's tests: each route misbehaves in one way
// (hangs, answers too much, answers garbage, writes to stdout...), and /api/kv uses storage.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

// version is set with -ldflags "-X main.version=…" to build another version of the same plugin.
var version = "0.0.1"

// isolation is set with -ldflags "-X main.isolation=tenant" to build the plugin isolated per tenant.
var isolation = ""

func main() {
	get := func(path string) *sdk.Route {
		return &sdk.Route{Method: "GET", Path: path, Kind: kindOf(path), Object: "things", Action: sdk.Read}
	}
	m := &sdk.Manifest{Name: "misbehave", Version: version, Title: "Misbehaving test plugin",
		Permissions: []*sdk.Permission{
			{Object: "things", Action: sdk.Read, DefaultRoles: []string{"anonymous"}},
			{Object: "things", Action: sdk.Create, DefaultRoles: []string{"citizen", "tenant-admin"}},
		},
		Routes: []*sdk.Route{get("/api/ok"), get("/api/hang"), get("/api/huge"), get("/api/malformed"), get("/api/badstatus"),
			get("/api/badheader"), get("/api/stdout"), get("/api/forge"), get("/api/settings"), get("/api/panic"), get("/api/slow"), get("/api/version"), get("/api/kv"), get("/api/expired-token"), get("/page"), get("/tokens"), get("/api/redirect"), get("/api/hold"), get("/api/steal"),
			{Method: "POST", Path: "/api/kv", Kind: "api", Object: "things", Action: sdk.Create}},
	}
	var leaked *sdk.HostServices
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Set-Cookie", "stolen=1")
		t := sdk.CallOf(r.Context()).Tenant
		fmt.Fprintf(w, `{"ok":true,"tenant":%q,"time_zone":%q,"now_offset":%d}`, t.Slug, t.TimeZone, offset(r.Context()))
	})
	mux.HandleFunc("GET /api/hang", func(w http.ResponseWriter, r *http.Request) { time.Sleep(time.Hour) })
	mux.HandleFunc("GET /api/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`"` + strings.Repeat("x", 3<<20) + `"`))
	})
	mux.HandleFunc("GET /api/malformed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"not json`))
	})
	mux.HandleFunc("GET /api/badstatus", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(999)
		w.Write([]byte(`{}`))
	})
	mux.HandleFunc("GET /api/badheader", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		w.Write([]byte(`alert(1)`))
	})
	mux.HandleFunc("GET /api/redirect", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "https://evil.example/")
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("GET /api/stdout", func(w http.ResponseWriter, r *http.Request) {
		os.Stdout.Write(bytes.Repeat([]byte("1|1|tcp|127.0.0.1:1|grpc\n"), 1000))
		fmt.Println("garbage on stdout")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	})
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		sdk.SetPageTitle(w, "Test page")
		_ = sdk.SetJSONLD(w, map[string]string{"name": "</script><script>alert(1)</script>"})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<h1>Hello</h1><script>alert(1)</script><a href="javascript:alert(1)" onclick="x()">x</a><form method="post" action="/p/misbehave/x"><input type="hidden" name="_csrf" value="t"></form>` +
			`<form method="post" action="/admin/users"><input name="email" value="evil@example.org"><input name="role" value="tenant-admin"></form>`))
	})
	// The CSRF token the host gave this plugin's page, for the tests to replay elsewhere.
	mux.HandleFunc("GET /tokens", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<data id="csrf" value="%s">token</data>`, sdk.CallOf(r.Context()).Principal.CSRFToken)
	})
	mux.HandleFunc("GET /api/kv", func(w http.ResponseWriter, r *http.Request) {
		e, ok, err := sdk.Host(r.Context()).Storage().Get(r.Context(), r.URL.Query().Get("k"))
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(500)
			fmt.Fprintf(w, `{"error":%q}`, err.Error())
			return
		}
		fmt.Fprintf(w, `{"found":%v,"value":%q,"version":%d}`, ok, e.Value, e.Version)
	})
	mux.HandleFunc("POST /api/kv", func(w http.ResponseWriter, r *http.Request) {
		leaked = sdk.Host(r.Context())
		v, err := sdk.Host(r.Context()).Storage().Put(r.Context(), r.URL.Query().Get("k"), []byte(r.URL.Query().Get("v")))
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(500)
			fmt.Fprintf(w, `{"error":%q}`, err.Error())
			return
		}
		fmt.Fprintf(w, `{"version":%d}`, v)
	})
	mux.HandleFunc("GET /api/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(400 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"version":%q,"pid":%d}`, version, os.Getpid())
	})
	mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"version":%q,"pid":%d}`, version, os.Getpid())
	})
	mux.HandleFunc("GET /api/settings", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(sdk.CallOf(r.Context()).Settings)
	})
	mux.HandleFunc("GET /api/panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	// A plugin tries to pass for the core: a made-up consultation.publish, then its own event.
	mux.HandleFunc("GET /api/forge", func(w http.ResponseWriter, r *http.Request) {
		h := sdk.Host(r.Context())
		forged := h.Publish(r.Context(), "consultation.publish", map[string]string{"slug": "forged", "question": "Forged?"})
		own := h.Publish(r.Context(), "misbehave.hello", map[string]string{"hello": "world"})
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"forged_refused":%v,"own_refused":%v}`, forged != nil, own != nil)
	})
	// A call that keeps its token in flight for a while (held), and a call of another tenant
	// that uses the held token: in one shared process it works (the documented trust model);
	// isolated per tenant, the other tenant's process never sees the token.
	var held *sdk.HostServices
	mux.HandleFunc("GET /api/hold", func(w http.ResponseWriter, r *http.Request) {
		held = sdk.Host(r.Context())
		time.Sleep(600 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"held":true}`))
	})
	mux.HandleFunc("GET /api/steal", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if held == nil {
			w.Write([]byte(`{"stolen":false,"why":"no token held in this process"}`))
			return
		}
		_, err := held.Storage().Put(r.Context(), "stolen", []byte("by "+sdk.CallOf(r.Context()).Tenant.Slug))
		fmt.Fprintf(w, `{"stolen":%v}`, err == nil)
	})
	// A token kept from an earlier call must not work any more.
	mux.HandleFunc("GET /api/expired-token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if leaked == nil {
			w.Write([]byte(`{"error":"no earlier call"}`))
			return
		}
		_, _, err := leaked.Storage().Get(r.Context(), "k")
		fmt.Fprintf(w, `{"refused":%v}`, err != nil)
	})
	m.Isolation = isolation
	m.SettingsSchema = `{"type":"object","properties":{` +
		`"api_key":{"type":"string","writeOnly":true,"minLength":10,"title":"API key"},` +
		`"greeting":{"type":"string","default":"bonjour"}}}`
	m.Jobs = []*sdk.Job{{Name: "tick", EverySeconds: 1, Description: "Counts its runs"}, {Name: "boom", EverySeconds: 1}}
	sdk.Serve(sdk.Plugin{Manifest: m, Handler: mux,
		// Each tenant's lifecycle events, appended to its "lifecycle" key.
		OnLifecycle: func(ctx context.Context, event string) error {
			if err := seen(ctx, "lifecycle-tenant"); err != nil {
				return err
			}
			return appendKey(ctx, "lifecycle", event)
		},
		Jobs: map[string]func(context.Context) error{
			"tick": func(ctx context.Context) error {
				if err := seen(ctx, "job-tenant"); err != nil {
					return err
				}
				return appendKey(ctx, "ticks", "t")
			},
			"boom": func(context.Context) error { return errors.New("the boom job always fails") },
		}})
}

// seen stores the tenant as the call describes it ("slug|name|locale|time zone"), for tests to
// check that hooks and jobs know as much of their tenant as requests do.
func seen(ctx context.Context, key string) error {
	t := sdk.CallOf(ctx).Tenant
	_, err := sdk.Host(ctx).Storage().Put(ctx, key, []byte(strings.Join([]string{t.Slug, t.Name, t.Locale, t.TimeZone}, "|")))
	return err
}

// offset is the tenant's offset from UTC now, in seconds, as sdk.Location resolves it.
func offset(ctx context.Context) int {
	_, off := time.Now().In(sdk.Location(ctx)).Zone()
	return off
}

// appendKey appends ",value" to a stored key, with compare-and-set so concurrent runs would show.
func appendKey(ctx context.Context, key, value string) error {
	st := sdk.Host(ctx).Storage()
	for {
		e, ok, err := st.Get(ctx, key)
		if err != nil {
			return err
		}
		var version int64
		if ok {
			version = e.Version
		}
		_, err = st.CompareAndSet(ctx, key, version, append(e.Value, ","+value...))
		if !errors.Is(err, sdk.ErrConflict) {
			return err
		}
	}
}

func kindOf(path string) string {
	if strings.HasPrefix(path, "/api/") {
		return sdk.API
	}
	return sdk.Page
}
