// Package sdk is what a Concorde plugin is written against: a plugin is a program whose main
// calls Serve with its manifest and a standard net/http Handler. The host (Concorde) runs it
// as a separate process through hashicorp/go-plugin over gRPC, forwards the requests routed to
// it, and offers services (storage, consultations, audit, events) reached with Host(ctx).
//
// A plugin never imports the core: everything it may use is here. It never writes to stdout
// (the protocol's channel); it logs with Logger, which goes to stderr and on to the host's log.
package sdk

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
)

// Handshake is the go-plugin handshake shared by the host and every plugin. ProtocolVersion
// changes when the protocol in proto/plugin.proto changes incompatibly.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "CONCORDE_PLUGIN",
	MagicCookieValue: "a4f7c1e2-concorde-plugin-v1",
}

// ProtocolVersion is the version of the protocol this SDK speaks, sent in the manifest: 2 added
// lifecycle hooks and jobs. The host refuses a plugin that speaks a newer one than it knows.
const ProtocolVersion = 2

// Version is this SDK module's semantic version (github.com/concorde-civic/concorde/plugins/sdk,
// tagged plugins/sdk/vX.Y.Z): a minor version adds to the API, a major one breaks it. CHANGELOG.md
// beside this file says what each version changed.
const Version = "0.3.1"

// Isolation modes of Manifest.Isolation. IsolationTenant makes the host run one process per
// tenant, for plugins that hold sensitive data: a tenant's calls, tokens and memory never meet
// another tenant's in the same process. It costs a process per active tenant (idle ones are
// stopped after a while and started again by the next call).
const (
	IsolationShared = "shared"
	IsolationTenant = "tenant"
)

// Lifecycle events a plugin hears of through OnLifecycle.
const (
	Enabled         = "enabled"
	Disabled        = "disabled"
	SettingsChanged = "settings_changed"
)

// Job is a job a plugin declares in its manifest; the host runs it on schedule.
type Job = pluginpb.Job

// PluginKey is the name under which the plugin is dispensed in the go-plugin plugin set.
const PluginKey = "concorde"

// Manifest is what a plugin declares about itself.
type Manifest = pluginpb.Manifest

// Route is one route a plugin serves. Paths are relative to the plugin's prefix: pages live
// under /p/NAME on the tenant's site, JSON under /api/v1/p/NAME, which the plugin's handler
// sees as /api/... (so "GET /api/events" in an http.ServeMux is the route
// Route{Method: "GET", Path: "/api/events", Kind: "api"}).
type Route = pluginpb.Route

// Permission is a permission a plugin declares; the host checks "plugin:NAME:OBJECT".
type Permission = pluginpb.Permission

// Actions of permissions, as the host's roles know them.
const (
	Read   = "read"
	Create = "create"
	Update = "update"
	Delete = "delete"
)

// Kinds of routes.
const (
	Page = "page"
	API  = "api"
)

// Plugin is a plugin's implementation.
type Plugin struct {
	Manifest *Manifest
	// Handler serves the plugin's routes with the standard library's types. Host(r.Context())
	// reaches the host services; Call(r.Context()) tells the tenant, principal and settings.
	Handler http.Handler
	// OnEvent receives the events the manifest lists; Host(ctx) works inside it.
	OnEvent func(ctx context.Context, name string, payload []byte) error
	// OnLifecycle hears that a tenant enabled or disabled the plugin, or changed its settings
	// (Enabled, Disabled, SettingsChanged); CallOf(ctx) tells the tenant and the new settings,
	// Host(ctx) works inside it. An error is logged by the host; it does not undo the change.
	OnLifecycle func(ctx context.Context, event string) error
	// Jobs runs the manifest's jobs by name, for the tenant CallOf(ctx) names. The host calls
	// each at most once at a time across all its nodes; a returned error is counted and shown
	// to the tenant's admins, and the job runs again at its next time.
	Jobs map[string]func(ctx context.Context) error
	// Health reports whether the plugin can serve; nil means always healthy.
	Health func() error
	// Metrics is the plugin's own registry; the host re-exposes it with a plugin label.
	Metrics *prometheus.Registry
	// Logger defaults to Logger(manifest name).
	Logger hclog.Logger
}

// Logger returns a logger writing JSON lines to stderr, which go-plugin forwards to the host.
func Logger(name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: name, Output: os.Stderr, JSONFormat: true, Level: hclog.Info})
}

// Serve runs the plugin until the host stops it. It never returns normally.
func Serve(p Plugin) {
	if p.Logger == nil {
		p.Logger = Logger(p.Manifest.GetName())
	}
	if p.Manifest.ProtocolVersion == 0 {
		p.Manifest.ProtocolVersion = ProtocolVersion
	}
	p.Manifest.LifecycleHooks = p.OnLifecycle != nil
	go exitWhenOrphaned(os.Getppid(), time.Second)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{PluginKey: &grpcPlugin{impl: &p}},
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          p.Logger,
	})
	os.Exit(0)
}

// exitWhenOrphaned ends the process once its parent, the host that started it, is gone: a
// host killed (SIGKILL, the OOM killer, a crash) cannot stop its plugins, which the system
// then gives another parent; without this they would linger, holding memory, until the
// machine restarts. A host that runs as process 1 (in a container) is never left: nothing to
// watch then.
func exitWhenOrphaned(parent int, every time.Duration) {
	if parent <= 1 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		if os.Getppid() != parent {
			os.Exit(0)
		}
	}
}
