package pluginhost

import (
	"context"

	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
	"github.com/concorde-civic/concorde/tenants"
)

// tenantMessage is what a plugin is told of the tenant it is called for: the same in requests,
// events, lifecycle hooks and jobs, so that a job can write the tenant's name and dates in its
// time zone as a page would.
func tenantMessage(t *tenants.Tenant) *pluginpb.Tenant {
	return &pluginpb.Tenant{Id: t.ID, Slug: t.Slug, Name: t.Name, Locale: t.DefaultLocale, TimeZone: t.TimeZone}
}

// tenantByID reads the tenant of a call that no request carries (events, hooks, jobs). Should the
// read fail, the plugin still gets the id, which scopes every host service.
func (h *Host) tenantByID(ctx context.Context, id int64) *pluginpb.Tenant {
	var t tenants.Tenant
	err := h.db.NewSelect().Model(&t).Column("id", "slug", "name", "default_locale", "time_zone").
		Where("id = ?", id).Scan(ctx)
	if err != nil {
		h.log.Warn("plugin call: cannot read its tenant", "tenant", id, "error", err.Error())
		return &pluginpb.Tenant{Id: id}
	}
	return tenantMessage(&t)
}
