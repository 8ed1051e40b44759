package pluginhost

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/core/store"
)

// tenantPlugin is one row of tenant_plugins.
type tenantPlugin struct {
	bun.BaseModel `bun:"table:tenant_plugins,alias:tp"`

	TenantID  int64     `bun:"tenant_id,pk"`
	Plugin    string    `bun:"plugin,pk"`
	Enabled   bool      `bun:"enabled"`
	Settings  string    `bun:"settings"`
	UpdatedAt time.Time `bun:"updated_at"`
}

func (t *tenantPlugin) SetTenantID(id int64) { t.TenantID = id }

// TenantPlugin is a plugin as one tenant sees it.
type TenantPlugin struct {
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Enabled     bool            `json:"enabled"`
	Settings    json.RawMessage `json:"settings"`
	// State is the catalogue's state ("failed" for good) or else the process's on this node.
	State          string `json:"state"`
	SettingsSchema any    `json:"settings_schema,omitempty"`
	Permissions    any    `json:"permissions,omitempty"`
}

func (h *Host) view(p Plugin, row *tenantPlugin) TenantPlugin {
	d := p.Describe()
	tp := TenantPlugin{Name: p.Name, Version: p.Version, Title: p.Manifest.GetTitle(), Description: p.Manifest.GetDescription(),
		Settings: json.RawMessage("{}"), State: p.State, SettingsSchema: d["settings_schema"], Permissions: d["permissions"]}
	if p.State != StateFailed {
		tp.State = h.Status(p.Name).State
	}
	if row != nil {
		tp.Enabled = row.Enabled
		if row.Settings != "" {
			schema, _ := ParseSchema([]byte(p.Manifest.GetSettingsSchema()))
			tp.Settings = maskSettings(schema, row.Settings)
		}
	}
	return tp
}

// ForTenant lists every installed plugin with its state in the tenant.
func (h *Host) ForTenant(ctx context.Context, tenantID int64) ([]TenantPlugin, error) {
	ps, err := h.List(ctx)
	if err != nil {
		return nil, err
	}
	var rows []tenantPlugin
	if err := store.For(h.db, tenantID).Select(&rows).Scan(ctx); err != nil {
		return nil, fmt.Errorf("tenant plugins: %w", err)
	}
	byName := map[string]*tenantPlugin{}
	for i := range rows {
		byName[rows[i].Plugin] = &rows[i]
	}
	out := make([]TenantPlugin, 0, len(ps))
	for _, p := range ps {
		out = append(out, h.view(p, byName[p.Name]))
	}
	return out, nil
}

// ForTenantOne returns one plugin as the tenant sees it.
func (h *Host) ForTenantOne(ctx context.Context, tenantID int64, name string) (TenantPlugin, error) {
	p, err := h.Get(ctx, name)
	if err != nil {
		return TenantPlugin{}, err
	}
	row, err := h.tenantRow(ctx, store.For(h.db, tenantID), name)
	if err != nil {
		return TenantPlugin{}, err
	}
	return h.view(p, row), nil
}

func (h *Host) tenantRow(ctx context.Context, s store.Scope, name string) (*tenantPlugin, error) {
	var row tenantPlugin
	err := s.Select(&row).Where("tp.plugin = ?", name).Scan(ctx)
	if store.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tenant plugin %s: %w", name, err)
	}
	return &row, nil
}

// Enable turns a plugin on for a tenant.
func (h *Host) Enable(ctx context.Context, actor string, tenantID int64, name string) (TenantPlugin, error) {
	return h.change(ctx, actor, tenantID, name, "plugin.enable", func(row *tenantPlugin, _ Plugin) (map[string]any, error) {
		row.Enabled = true
		return nil, nil
	})
}

// Disable turns a plugin off for a tenant: its routes answer 404 there. Its data stays.
func (h *Host) Disable(ctx context.Context, actor string, tenantID int64, name string) (TenantPlugin, error) {
	return h.change(ctx, actor, tenantID, name, "plugin.disable", func(row *tenantPlugin, _ Plugin) (map[string]any, error) {
		row.Enabled = false
		return nil, nil
	})
}

// SetSettings replaces a tenant's settings for a plugin, after validating them against the
// schema the plugin declares.
func (h *Host) SetSettings(ctx context.Context, actor string, tenantID int64, name string, settings json.RawMessage) (TenantPlugin, error) {
	return h.change(ctx, actor, tenantID, name, "plugin.settings", func(row *tenantPlugin, p Plugin) (map[string]any, error) {
		schema, err := ParseSchema([]byte(p.Manifest.GetSettingsSchema()))
		if err != nil {
			return nil, err
		}
		clean, err := schema.Validate(keepSecrets(schema, settings, row.Settings))
		if err != nil {
			return nil, err
		}
		if clean, err = h.sealSettings(schema, clean, row.Settings); err != nil {
			return nil, err
		}
		row.Settings = string(clean)
		var detail map[string]any
		_ = json.Unmarshal(maskSettings(schema, row.Settings), &detail) // the audit log never holds a secret
		return map[string]any{"settings": detail}, nil
	})
}

func (h *Host) change(ctx context.Context, actor string, tenantID int64, name, action string,
	fn func(row *tenantPlugin, p Plugin) (map[string]any, error)) (TenantPlugin, error) {
	p, err := h.Get(ctx, name)
	if err != nil {
		return TenantPlugin{}, err
	}
	var out *tenantPlugin
	var before tenantPlugin
	err = store.For(h.db, tenantID).Tx(ctx, func(ctx context.Context, tx store.Scope) error {
		row, err := h.tenantRow(ctx, tx, name)
		if err != nil {
			return err
		}
		isNew := row == nil
		if isNew {
			row = &tenantPlugin{Plugin: name, Settings: "{}"}
		}
		before = *row
		detail, err := fn(row, p)
		if err != nil {
			return err
		}
		row.UpdatedAt = time.Now().UTC()
		if isNew {
			_, err = tx.Insert(row).Exec(ctx)
		} else {
			_, err = tx.Update(row).Column("enabled", "settings", "updated_at").WherePK().Exec(ctx)
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", action, name, err)
		}
		if row.Enabled {
			if err := h.ensureTenantJobs(ctx, tx, p); err != nil {
				return err
			}
		}
		if detail == nil {
			detail = map[string]any{}
		}
		detail["version"] = p.Version
		_, err = h.audit.AppendIn(ctx, tx, audit.Record{Actor: actor, Action: action, Object: "plugin:" + name, Detail: detail})
		out = row
		return err
	})
	if err != nil {
		return TenantPlugin{}, err
	}
	h.enabled.drop(tenantID, name)
	switch {
	case out.Enabled && !before.Enabled:
		h.lifecycle(ctx, p, tenantID, "enabled", h.effectiveSettings(p, out.Settings))
	case !out.Enabled && before.Enabled:
		h.lifecycle(ctx, p, tenantID, "disabled", h.effectiveSettings(p, out.Settings))
	case out.Settings != before.Settings:
		h.lifecycle(ctx, p, tenantID, "settings_changed", h.effectiveSettings(p, out.Settings))
	}
	return h.view(p, out), nil
}

// enabledCache keeps, for a few seconds, whether a tenant enabled a plugin and with which
// settings: every forwarded request needs it. Changes made on this node drop their entry at
// once; other nodes see them when the entry expires.
type enabledCache struct {
	mu sync.Mutex
	m  map[enabledKey]enabledEntry
	// catalogue entries by name
	plugins map[string]installedEntry
}

type enabledKey struct {
	tenant int64
	plugin string
}

type enabledEntry struct {
	enabled  bool
	settings string
	at       time.Time
}

type installedEntry struct {
	p  Plugin
	at time.Time
}

const cacheTTL = 5 * time.Second

func newEnabledCache() *enabledCache {
	return &enabledCache{m: map[enabledKey]enabledEntry{}, plugins: map[string]installedEntry{}}
}

func (c *enabledCache) drop(tenant int64, plugin string) {
	c.mu.Lock()
	delete(c.m, enabledKey{tenant, plugin})
	c.mu.Unlock()
}

// enabledFor reports whether the tenant enabled the plugin, with its settings.
func (h *Host) enabledFor(ctx context.Context, tenantID int64, name string) (bool, string, error) {
	k := enabledKey{tenantID, name}
	h.enabled.mu.Lock()
	e, ok := h.enabled.m[k]
	h.enabled.mu.Unlock()
	if ok && time.Since(e.at) < cacheTTL {
		return e.enabled, e.settings, nil
	}
	row, err := h.tenantRow(ctx, store.For(h.db, tenantID), name)
	if err != nil {
		return false, "", err
	}
	e = enabledEntry{at: time.Now(), settings: "{}"}
	if row != nil {
		e.enabled, e.settings = row.Enabled, row.Settings
	}
	if p, err := h.installed(ctx, name); err == nil {
		e.settings = h.effectiveSettings(p, e.settings)
	}
	h.enabled.mu.Lock()
	h.enabled.m[k] = e
	h.enabled.mu.Unlock()
	return e.enabled, e.settings, nil
}

// catalogue returns a plugin's catalogue entry, cached for a few seconds.
func (h *Host) installed(ctx context.Context, name string) (Plugin, error) {
	h.enabled.mu.Lock()
	e, ok := h.enabled.plugins[name]
	h.enabled.mu.Unlock()
	if ok && time.Since(e.at) < cacheTTL {
		return e.p, nil
	}
	p, err := h.Get(ctx, name)
	if err != nil {
		return Plugin{}, err
	}
	h.enabled.mu.Lock()
	h.enabled.plugins[name] = installedEntry{p: p, at: time.Now()}
	h.enabled.mu.Unlock()
	return p, nil
}

func (h *Host) forgetInstalled(name string) {
	h.enabled.mu.Lock()
	delete(h.enabled.plugins, name)
	h.enabled.mu.Unlock()
}

// notFound is what every request to a plugin that is not there for the tenant gets: the
// same answer as any unknown page, so a disabled plugin cannot be told from a missing one.
func notFound() error { return errs.E(errs.NotFound, "no such page or endpoint") }
