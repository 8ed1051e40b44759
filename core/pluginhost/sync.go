package pluginhost

import (
	"context"
	"fmt"
	"time"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/tenants"
)

// The catalogue is the database's: the CLI, the platform API of any node, or a node that gave
// up on a plugin change it. Every node compares it with what it runs, at each health tick and
// when told (Refresh), and acts: a new checksum is upgraded to with a drain, a plugin set back
// to installed after it failed is reset.

// installedSig is what a node must act on when it changes.
type installedSig struct {
	sum   string
	state string
}

// Refresh reads the catalogue and applies what changed since this node last looked.
func (h *Host) Refresh(ctx context.Context) error {
	ps, err := h.List(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		sig := installedSig{sum: p.SHA256, state: p.State}
		h.syncMu.Lock()
		before, known := h.known[p.Name]
		h.known[p.Name] = sig
		h.syncMu.Unlock()
		switch {
		case !known:
			// Installed by another node: its permissions reach this node's enforcer now.
			if err := h.ensurePermissions(ctx, p.Manifest); err != nil {
				h.log.Error("plugin permissions", "plugin", p.Name, "error", err.Error())
			}
			if err := h.ensureAllJobs(ctx, p); err != nil {
				h.log.Error("plugin jobs", "plugin", p.Name, "error", err.Error())
			}
		case before != sig:
			h.apply(ctx, p, before)
		}
	}
	return nil
}

// apply makes this node's process of p match its catalogue entry.
func (h *Host) apply(ctx context.Context, p Plugin, before installedSig) {
	h.forgetInstalled(p.Name)
	switch {
	case p.State != StateInstalled:
		// Failed on some node: the ones where it runs well keep it until told otherwise.
	case p.SHA256 != before.sum:
		if err := h.ensurePermissions(ctx, p.Manifest); err != nil {
			h.log.Error("plugin permissions", "plugin", p.Name, "error", err.Error())
		}
		if err := h.ensureAllJobs(ctx, p); err != nil {
			h.log.Error("plugin jobs", "plugin", p.Name, "error", err.Error())
		}
		h.upgrade(p)
	case before.state == StateFailed:
		h.reset(p.Name)
	}
}

// remember records an entry this node just wrote, so that Refresh does not apply it twice.
func (h *Host) remember(p Plugin) {
	h.syncMu.Lock()
	h.known[p.Name] = installedSig{sum: p.SHA256, state: p.State}
	h.syncMu.Unlock()
}

// Reset gives a plugin that failed for good another chance, on every node: its catalogue
// entry goes back to installed, and each node's next call starts it afresh.
func (h *Host) Reset(ctx context.Context, actor, name string) (Plugin, error) {
	p, err := h.Get(ctx, name)
	if err != nil {
		return Plugin{}, err
	}
	if err := h.setState(ctx, name, StateInstalled, ""); err != nil {
		return Plugin{}, fmt.Errorf("reset plugin %s: %w", name, err)
	}
	if _, err := h.audit.Append(ctx, h.db, tenants.PlatformID, audit.Record{Actor: actor, Action: "plugin.reset",
		Object: "plugin:" + name, Detail: map[string]any{"was": p.State, "detail": p.StateDetail}}); err != nil {
		return Plugin{}, err
	}
	p.State, p.StateDetail, p.UpdatedAt = StateInstalled, "", time.Now().UTC()
	h.remember(p)
	h.reset(name)
	return p, nil
}

// NodeStatus is a catalogue entry with the state of its process on this node.
type NodeStatus struct {
	Plugin
	Process Status `json:"process"`
}

// Catalogue lists the installed plugins with their process on this node, for platform admins.
func (h *Host) Installed(ctx context.Context) ([]NodeStatus, error) {
	ps, err := h.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]NodeStatus, len(ps))
	for i, p := range ps {
		out[i] = NodeStatus{Plugin: p, Process: h.Status(p.Name)}
	}
	return out, nil
}
