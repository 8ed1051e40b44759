package pluginhost

import (
	"context"
	"slices"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
)

// Publish delivers an event of a tenant to every plugin enabled there that listens to it,
// except its publisher (from, "" for the core). Delivery is asynchronous and best effort.
func (h *Host) Publish(tenantID int64, from, name string, payload []byte) {
	go func() {
		ctx := context.Background()
		ps, err := h.List(ctx)
		if err != nil {
			return
		}
		for _, p := range ps {
			if p.Name == from || !slices.Contains(p.Manifest.GetEvents(), name) {
				continue
			}
			enabled, settings, err := h.enabledFor(ctx, tenantID, p.Name)
			if err != nil || !enabled {
				continue
			}
			h.deliver(ctx, tenantID, p.Name, name, payload, settings)
		}
	}()
}

func (h *Host) deliver(ctx context.Context, tenantID int64, plugin, name string, payload []byte, settings string) {
	sctx, cancel := context.WithTimeout(ctx, h.limits.StartTimeout)
	l, err := h.process(plugin).client(sctx)
	cancel()
	if err != nil {
		h.m.errors.WithLabelValues(plugin, "down").Inc()
		return
	}
	token, end := h.calls.begin(callScope{tenantID: tenantID, plugin: plugin})
	defer end()
	cctx, cancel := context.WithTimeout(ctx, h.limits.CallTimeout)
	defer cancel()
	start := time.Now()
	_, err = l.rpc.OnEvent(cctx, &pluginpb.EventRequest{CallToken: token, Tenant: &pluginpb.Tenant{Id: tenantID},
		Name: name, Payload: string(payload), Settings: settings})
	h.m.calls.WithLabelValues(plugin, "event").Inc()
	h.m.latency.WithLabelValues(plugin).Observe(time.Since(start).Seconds())
	if err != nil {
		h.callError(plugin, err)
	}
}
