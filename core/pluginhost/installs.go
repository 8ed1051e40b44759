package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/plugins/sdk"
	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
	"github.com/concorde-civic/concorde/tenants"
)

// ProtocolVersion is the newest plugin protocol this host speaks (see sdk.ProtocolVersion), and
// HostVersion the version of the host's plugin API that manifests' min_host_version names.
const (
	ProtocolVersion = 2
	HostVersion     = "2.0.0"
)

// versionAfter reports whether version a (MAJOR.MINOR.PATCH, a leading v allowed) comes after b.
func versionAfter(a, b string) (bool, bool) {
	parse := func(v string) ([3]int, bool) {
		var out [3]int
		parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
		if len(parts) != 3 {
			return out, false
		}
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 {
				return out, false
			}
			out[i] = n
		}
		return out, true
	}
	x, ok1 := parse(a)
	y, ok2 := parse(b)
	if !ok1 || !ok2 {
		return false, false
	}
	for i := range x {
		if x[i] != y[i] {
			return x[i] > y[i], true
		}
	}
	return false, true
}

// Catalogue states of a plugin.
const (
	StateInstalled = "installed" // may run
	StateFailed    = "failed"    // crashed too often; reset it (or install it again) to retry
)

// Plugin is one installed plugin binary.
type Plugin struct {
	bun.BaseModel `bun:"table:plugins"`

	Name        string    `bun:"name,pk" json:"name"`
	Version     string    `bun:"version" json:"version"`
	SHA256      string    `bun:"sha256" json:"sha256"`
	Path        string    `bun:"path" json:"path"`
	ManifestRaw string    `bun:"manifest" json:"-"`
	State       string    `bun:"state" json:"state"`
	StateDetail string    `bun:"state_detail" json:"state_detail,omitempty"`
	InstalledAt time.Time `bun:"installed_at" json:"installed_at"`
	UpdatedAt   time.Time `bun:"updated_at" json:"updated_at"`

	Manifest *pluginpb.Manifest `bun:"-" json:"-"`
}

func (p *Plugin) decode() error {
	p.Manifest = &pluginpb.Manifest{}
	if err := protojson.Unmarshal([]byte(p.ManifestRaw), p.Manifest); err != nil {
		return fmt.Errorf("manifest of plugin %s: %w", p.Name, err)
	}
	return nil
}

// List returns the installed plugins, by name.
func (h *Host) List(ctx context.Context) ([]Plugin, error) {
	var ps []Plugin
	if err := h.db.NewSelect().Model(&ps).OrderExpr("name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list plugins: %w", err)
	}
	for i := range ps {
		if err := ps[i].decode(); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// Get returns one installed plugin.
func (h *Host) Get(ctx context.Context, name string) (Plugin, error) {
	var p Plugin
	err := h.db.NewSelect().Model(&p).Where("name = ?", name).Scan(ctx)
	if err != nil {
		if store.IsNoRows(err) {
			return Plugin{}, errs.E(errs.NotFound, "no plugin %q is installed", name).Say("err_plugin_not_installed")
		}
		return Plugin{}, fmt.Errorf("read plugin %s: %w", name, err)
	}
	return p, p.decode()
}

// FileSHA256 returns the hex SHA-256 of a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Install records the plugin binary at path in the catalogue: it computes its SHA-256,
// launches it once to read its manifest, and adds the permissions the manifest declares.
// Installing a plugin again replaces its entry: a running process is upgraded (the new one
// starts, takes the new calls, the old one stops once its calls are over), on this node now
// and on the others at their next catalogue refresh.
func (h *Host) Install(ctx context.Context, actor, path string) (Plugin, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Plugin{}, errs.Field("path", "bad path %q: %v", path, err)
	}
	st, err := os.Stat(abs)
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return Plugin{}, errs.Field("path", "%s is not an executable file", abs)
	}
	sum, err := FileSHA256(abs)
	if err != nil {
		return Plugin{}, errs.Field("path", "cannot read %s: %v", abs, err)
	}
	l, err := h.launch(ctx, "install", 0, abs, sum)
	if err != nil {
		return Plugin{}, errs.Wrap(errs.Invalid, err, "the plugin at %s did not start or describe itself: %v", abs, err)
	}
	m := l.manifest
	l.client.Kill()
	if err := ValidateManifest(m); err != nil {
		return Plugin{}, err
	}
	raw, err := protojson.Marshal(m)
	if err != nil {
		return Plugin{}, err
	}
	now := time.Now().UTC()
	p := Plugin{Name: m.GetName(), Version: m.GetVersion(), SHA256: sum, Path: abs, ManifestRaw: string(raw),
		State: StateInstalled, InstalledAt: now, UpdatedAt: now, Manifest: m}
	err = h.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&p).On("CONFLICT (name) DO UPDATE").
			Set("version = EXCLUDED.version, sha256 = EXCLUDED.sha256, path = EXCLUDED.path, manifest = EXCLUDED.manifest, state = EXCLUDED.state, state_detail = '', updated_at = EXCLUDED.updated_at").
			Exec(ctx); err != nil {
			return fmt.Errorf("record plugin %s: %w", p.Name, err)
		}
		_, err := h.audit.Append(ctx, tx, tenants.PlatformID, audit.Record{Actor: actor, Action: "plugin.install",
			Object: "plugin:" + p.Name, Detail: map[string]any{"version": p.Version, "sha256": sum, "path": abs}})
		return err
	})
	if err != nil {
		return Plugin{}, err
	}
	if err := h.ensurePermissions(ctx, m); err != nil {
		return Plugin{}, err
	}
	if err := h.ensureAllJobs(ctx, p); err != nil {
		return Plugin{}, err
	}
	h.remember(p)
	h.upgrade(p)
	return p, nil
}

// setState records a catalogue state (a plugin that failed for good, for instance).
func (h *Host) setState(ctx context.Context, name, state, detail string) error {
	_, err := h.db.NewUpdate().Model((*Plugin)(nil)).Set("state = ?", state).Set("state_detail = ?", detail).
		Set("updated_at = ?", time.Now().UTC()).Where("name = ?", name).Exec(ctx)
	return err
}

// ensurePermissions gives each permission the manifest declares to its default roles in every
// tenant.
func (h *Host) ensurePermissions(ctx context.Context, m *pluginpb.Manifest) error {
	for _, perm := range m.GetPermissions() {
		for _, r := range perm.GetDefaultRoles() {
			if err := h.authz.AddPermission(ctx, authz.Role(r), authz.AllDomains, PermissionObject(m.GetName(), perm.GetObject()), perm.GetAction()); err != nil {
				return fmt.Errorf("permission %s %s of plugin %s for %s: %w", perm.GetObject(), perm.GetAction(), m.GetName(), r, err)
			}
		}
	}
	return nil
}

// PermissionObject is the Casbin object of a plugin's permission.
func PermissionObject(plugin, object string) string { return "plugin:" + plugin + ":" + object }

var (
	nameRE    = regexp.MustCompile(`^[a-z][a-z0-9-]{1,31}$`)
	jobNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
	objectRE  = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)
	segmentRE = regexp.MustCompile(`^([A-Za-z0-9._~-]+|\{[a-zA-Z_][a-zA-Z0-9_]*\}|\{[a-zA-Z_][a-zA-Z0-9_]*\.\.\.\}|\*)$`)
)

// ValidateManifest checks what a plugin says about itself before the host trusts any of it.
func ValidateManifest(m *pluginpb.Manifest) error {
	if !nameRE.MatchString(m.GetName()) {
		return errs.Field("name", "plugin name %q must be 2 to 32 lower-case letters, digits or dashes", m.GetName())
	}
	if reservedNames[m.GetName()] {
		return errs.Field("name", "plugin name %q is reserved for the core's events", m.GetName())
	}
	if m.GetVersion() == "" || len(m.GetVersion()) > 64 {
		return errs.Field("version", "plugin %s declares no version (or one too long)", m.GetName())
	}
	if m.GetProtocolVersion() > ProtocolVersion {
		return errs.Field("protocol_version", "plugin %s speaks protocol %d; this host knows up to %d: upgrade Concorde first", m.GetName(), m.GetProtocolVersion(), ProtocolVersion)
	}
	if v := m.GetMinHostVersion(); v != "" {
		newer, ok := versionAfter(v, HostVersion)
		if !ok {
			return errs.Field("min_host_version", "plugin %s: min_host_version %q is not a version like 2.0.0", m.GetName(), v)
		}
		if newer {
			return errs.Field("min_host_version", "plugin %s needs host %s or later; this host is %s: upgrade Concorde first", m.GetName(), v, HostVersion)
		}
	}
	switch m.GetIsolation() {
	case "", sdk.IsolationShared, sdk.IsolationTenant:
	default:
		return errs.Field("isolation", "plugin %s: isolation %q must be %q or %q", m.GetName(), m.GetIsolation(), sdk.IsolationShared, sdk.IsolationTenant)
	}
	jobs := map[string]bool{}
	for _, j := range m.GetJobs() {
		if !jobNameRE.MatchString(j.GetName()) || jobs[j.GetName()] {
			return errs.Field("jobs", "plugin %s: job name %q must be unique, 1 to 64 lower-case letters, digits, dashes or underscores", m.GetName(), j.GetName())
		}
		if j.GetEverySeconds() < 1 || j.GetEverySeconds() > 30*24*3600 {
			return errs.Field("jobs", "plugin %s: job %s must run every 1 s to 30 days", m.GetName(), j.GetName())
		}
		jobs[j.GetName()] = true
	}
	perms := map[string]bool{}
	for _, p := range m.GetPermissions() {
		if !objectRE.MatchString(p.GetObject()) || !validAction(p.GetAction()) {
			return errs.Field("permissions", "permission %q %q of plugin %s is malformed", p.GetObject(), p.GetAction(), m.GetName())
		}
		for _, r := range p.GetDefaultRoles() {
			if r == string(authz.PlatformAdmin) {
				continue
			}
			if _, err := authz.ParseRole(r); err != nil && r != string(authz.Anonymous) {
				return errs.Field("permissions", "permission %s %s gives unknown role %q", p.GetObject(), p.GetAction(), r)
			}
			if r == string(authz.Auditor) && p.GetAction() != authz.Read {
				return errs.Field("permissions", "auditors change nothing: permission %s %s cannot go to them", p.GetObject(), p.GetAction())
			}
		}
		perms[p.GetObject()+" "+p.GetAction()] = true
	}
	if len(m.GetRoutes()) == 0 || len(m.GetRoutes()) > 200 {
		return errs.Field("routes", "plugin %s must declare between 1 and 200 routes", m.GetName())
	}
	for _, r := range m.GetRoutes() {
		switch r.GetMethod() {
		case "GET", "POST", "PUT", "PATCH", "DELETE":
		default:
			return errs.Field("routes", "route %s %s: unsupported method", r.GetMethod(), r.GetPath())
		}
		if !strings.HasPrefix(r.GetPath(), "/") || len(r.GetPath()) > 200 {
			return errs.Field("routes", "route path %q must start with /", r.GetPath())
		}
		segs := splitPath(r.GetPath())
		for i, s := range segs {
			if !segmentRE.MatchString(s) || (isRest(s) && i != len(segs)-1) {
				return errs.Field("routes", "route path %q: bad segment %q", r.GetPath(), s)
			}
		}
		isAPI := len(segs) > 0 && segs[0] == "api"
		if (r.GetKind() == "api") != isAPI || (r.GetKind() != "api" && r.GetKind() != "page") {
			return errs.Field("routes", "route %s: kind %q must be \"api\" exactly when the path starts with /api/", r.GetPath(), r.GetKind())
		}
		if !perms[r.GetObject()+" "+r.GetAction()] {
			return errs.Field("routes", "route %s %s needs permission %s %s, which the manifest does not declare", r.GetMethod(), r.GetPath(), r.GetObject(), r.GetAction())
		}
	}
	if s := m.GetSettingsSchema(); s != "" {
		if _, err := ParseSchema([]byte(s)); err != nil {
			return err
		}
	}
	for _, ev := range m.GetEvents() {
		if !objectRE.MatchString(ev) {
			return errs.Field("events", "event name %q is malformed", ev)
		}
	}
	return nil
}

func validAction(a string) bool {
	return a == authz.Read || a == authz.Create || a == authz.Update || a == authz.Delete
}

// Describe returns what the catalogue knows of a plugin, for admins.
func (p Plugin) Describe() map[string]any {
	var perms []map[string]any
	for _, x := range p.Manifest.GetPermissions() {
		perms = append(perms, map[string]any{"object": PermissionObject(p.Name, x.GetObject()), "action": x.GetAction(),
			"description": x.GetDescription(), "default_roles": x.GetDefaultRoles()})
	}
	var schema any
	if s := p.Manifest.GetSettingsSchema(); s != "" {
		_ = json.Unmarshal([]byte(s), &schema)
	}
	return map[string]any{"name": p.Name, "version": p.Version, "title": p.Manifest.GetTitle(),
		"description": p.Manifest.GetDescription(), "permissions": perms, "settings_schema": schema}
}
