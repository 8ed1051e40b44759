package pluginhost

import (
	"context"
	"sort"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/core/errs"
)

// PermissionGrant is one permission a plugin declares and the roles holding it on a tenant
// (including the platform-wide defaults the manifest asked for).
type PermissionGrant struct {
	Object      string   `json:"object"`
	Action      string   `json:"action"`
	Description string   `json:"description"`
	Roles       []string `json:"roles"`
}

// Permissions lists a plugin's declared permissions and who holds them on a tenant.
func (h *Host) Permissions(ctx context.Context, tenantID int64, name string) ([]PermissionGrant, error) {
	p, err := h.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	dom := authz.Domain(tenantID)
	var out []PermissionGrant
	for _, x := range p.Manifest.GetPermissions() {
		g := PermissionGrant{Object: x.GetObject(), Action: x.GetAction(), Description: x.GetDescription(), Roles: []string{}}
		seen := map[string]bool{}
		for _, r := range h.authz.RolesWith(dom, PermissionObject(p.Name, x.GetObject()), x.GetAction()) {
			if !seen[string(r)] {
				seen[string(r)] = true
				g.Roles = append(g.Roles, string(r))
			}
		}
		sort.Strings(g.Roles)
		out = append(out, g)
	}
	return out, nil
}

// SetPermission grants (or revokes) one of a plugin's declared permissions to a role on one
// tenant. Only declared permissions can be granted; platform-wide defaults from the manifest
// stay as they are. The change is audited.
func (h *Host) SetPermission(ctx context.Context, actor string, tenantID int64, name, object, action, roleName string, grant bool) ([]PermissionGrant, error) {
	p, err := h.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	declared := false
	for _, x := range p.Manifest.GetPermissions() {
		declared = declared || (x.GetObject() == object && x.GetAction() == action)
	}
	if !declared {
		return nil, errs.Field("object", "plugin %s declares no permission %s on %q", name, action, object)
	}
	role, err := authz.ParseRole(roleName)
	if err != nil {
		return nil, err
	}
	if role == authz.PlatformAdmin || role == authz.Ops {
		return nil, errs.Field("role", "role %s is platform staff; give plugin permissions to a site's roles", role)
	}
	obj, dom := PermissionObject(p.Name, object), authz.Domain(tenantID)
	what := "plugin.permission.grant"
	if grant {
		err = h.authz.AddPermission(ctx, role, dom, obj, action)
	} else {
		what = "plugin.permission.revoke"
		err = h.authz.RemovePermission(ctx, role, dom, obj, action)
	}
	if err != nil {
		return nil, err
	}
	if _, err := h.audit.Append(ctx, h.db, tenantID, audit.Record{Actor: actor, Action: what, Object: "plugin:" + name,
		Detail: map[string]any{"object": object, "action": action, "role": string(role)}}); err != nil {
		return nil, err
	}
	return h.Permissions(ctx, tenantID, name)
}
