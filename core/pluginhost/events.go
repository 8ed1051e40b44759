package pluginhost

import (
	"context"
	"slices"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
)

// CorePublisher is the publisher receivers see on the core's own events.
const CorePublisher = "core"

// reservedNames are the namespaces of the core's events (and the core itself): no plugin may
// take such a name, since a plugin's events are all named "<plugin>.…".
var reservedNames = map[string]bool{CorePublisher: true, "consultation": true, "proposal": true, "vote": true, "tenant": true, "plugin": true}

// Publish delivers an event of a tenant to every plugin enabled there that listens to it,
// except its publisher (from, "" for the core). Delivery is asynchronous and best effort.
// Receivers are told who published it, so a consultation.publish can only come from the core.
func (h *Host) Publish(tenantID int64, from, name string, payload []byte) {
	publisher := from
	if publisher == "" {
		publisher = CorePublisher
	}
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
			h.deliver(ctx, tenantID, p, publisher, name, payload, settings)
		}
	}()
}

func (h *Host) deliver(ctx context.Context, tenantID int64, p Plugin, publisher, name string, payload []byte, settings string) {
	plugin := p.Name
	sctx, cancel := context.WithTimeout(ctx, h.limits.StartTimeout)
	l, done, err := h.processFor(p, tenantID).client(sctx)
	cancel()
	if err != nil {
		h.m.errors.WithLabelValues(plugin, "down").Inc()
		return
	}
	defer done()
	token, end := h.calls.begin(callScope{tenantID: tenantID, plugin: plugin})
	defer end()
	cctx, cancel := context.WithTimeout(ctx, h.limits.CallTimeout)
	defer cancel()
	start := time.Now()
	_, err = l.rpc.OnEvent(cctx, &pluginpb.EventRequest{CallToken: token, Tenant: h.tenantByID(ctx, tenantID),
		Name: name, Payload: string(payload), Settings: settings, Publisher: publisher})
	h.m.calls.WithLabelValues(plugin, "event").Inc()
	h.m.latency.WithLabelValues(plugin).Observe(time.Since(start).Seconds())
	if err != nil {
		h.callError(plugin, err)
	}
}
