// Package pluginhost runs Concorde's plugins: separate processes launched with
// hashicorp/go-plugin over gRPC from a catalogue of checksummed binaries, one process per
// plugin for every tenant. It starts a plugin when it is first needed, pings it, restarts it
// with back-off when it crashes and gives up (state "failed") after repeated failures; it
// forwards the requests routed to a plugin with a deadline and a size limit, validates what
// comes back, serves the plugin the host services (storage, consultations, audit, events)
// scoped to the tenant of the call, and keeps which tenant enabled which plugin.
package pluginhost

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"github.com/concorde-civic/concorde/core/audit"
	"github.com/concorde-civic/concorde/core/authz"
	"github.com/concorde-civic/concorde/plugins/sdk"
)

// Limits bound what a plugin may cost the host.
type Limits struct {
	CallTimeout      time.Duration // each Handle or OnEvent call
	MaxResponseBytes int           // a response's body
	MaxRequestBytes  int           // a request's body forwarded to a plugin
	StartTimeout     time.Duration // from launch to a valid manifest
	HealthInterval   time.Duration // between health pings and metric collections
	MaxFailures      int           // consecutive crashes before the plugin is marked failed
	BackoffMin       time.Duration // wait before the first restart, doubled at each crash
	BackoffMax       time.Duration
	// StableAfter is how long a plugin must run for its failure count to start over.
	StableAfter time.Duration
	// JobTick is how often the host looks for due jobs; MinJobInterval the shortest interval
	// between two runs of one job (whatever the manifest says); JobTimeout bounds one run.
	JobTick        time.Duration
	MinJobInterval time.Duration
	JobTimeout     time.Duration
	// IdleStop is how long a process of a plugin isolated per tenant may go without calls
	// before it is stopped (the tenant's next call starts it again).
	IdleStop time.Duration
}

// DefaultLimits are the limits of a production host.
func DefaultLimits() Limits {
	return Limits{
		CallTimeout:      5 * time.Second,
		MaxResponseBytes: 2 << 20,
		MaxRequestBytes:  1 << 20,
		StartTimeout:     10 * time.Second,
		HealthInterval:   5 * time.Second,
		MaxFailures:      5,
		BackoffMin:       100 * time.Millisecond,
		BackoffMax:       30 * time.Second,
		StableAfter:      time.Minute,
		JobTick:          5 * time.Second,
		MinJobInterval:   time.Minute,
		JobTimeout:       time.Minute,
		IdleStop:         10 * time.Minute,
	}
}

// Config is what a Host needs.
type Config struct {
	DB       *bun.DB
	Log      *slog.Logger
	Audit    *audit.Log
	Authz    *authz.Authorizer
	Registry *prometheus.Registry
	Limits   Limits
	// Secret is the server secret, from which the key of secret settings is derived.
	Secret []byte
}

// Host runs the plugins of one node.
type Host struct {
	db     *bun.DB
	log    *slog.Logger
	audit  *audit.Log
	authz  *authz.Authorizer
	limits Limits
	m      *hostMetrics
	calls  *callRegistry

	mu    sync.Mutex
	procs map[procKey]*process

	enabled *enabledCache

	node   string  // names this node in job leases
	sealer *sealer // encrypts secret settings

	syncMu sync.Mutex
	known  map[string]installedSig // the catalogue as this node last applied it

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// New builds the host. It launches nothing: a plugin starts when first needed.
func New(ctx context.Context, cfg Config) (*Host, error) {
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits()
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	h := &Host{
		db: cfg.DB, log: cfg.Log, audit: cfg.Audit, authz: cfg.Authz, limits: cfg.Limits,
		calls: newCallRegistry(), procs: map[procKey]*process{}, enabled: newEnabledCache(),
		stop: make(chan struct{}), known: map[string]installedSig{}, node: nodeName(), sealer: newSealer(cfg.Secret),
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	h.m = newHostMetrics(reg, h)
	if err := h.ensureGatePermissions(ctx); err != nil {
		return nil, err
	}
	plugins, err := h.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range plugins {
		if err := h.ensurePermissions(ctx, p.Manifest); err != nil {
			return nil, err
		}
		h.remember(p)
		if err := h.ensureAllJobs(ctx, p); err != nil {
			return nil, err
		}
	}
	h.wg.Add(2)
	go h.watch()
	go h.schedule()
	return h, nil
}

// SetLimits changes the limits; call it before the host serves anything (tests use it).
func (h *Host) SetLimits(l Limits) { h.limits = l }

// Limits returns the host's limits.
func (h *Host) Limits() Limits { return h.limits }

// Close stops every plugin process.
func (h *Host) Close() {
	h.stopOnce.Do(func() { close(h.stop) })
	h.wg.Wait()
	h.mu.Lock()
	procs := make([]*process, 0, len(h.procs))
	for _, p := range h.procs {
		procs = append(procs, p)
	}
	h.mu.Unlock()
	for _, p := range procs {
		p.shutdown()
	}
}

// watch pings the running plugins and collects their metrics every HealthInterval.
func (h *Host) watch() {
	defer h.wg.Done()
	t := time.NewTicker(h.limits.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		if err := h.Refresh(context.Background()); err != nil {
			h.log.Warn("read the plugin catalogue", "error", err.Error())
		}
		h.mu.Lock()
		procs := make([]*process, 0, len(h.procs))
		for _, p := range h.procs {
			procs = append(procs, p)
		}
		h.mu.Unlock()
		for _, p := range procs {
			p.check()
		}
		h.StopIdle()
	}
}

// StopIdle stops the processes of plugins isolated per tenant that had no call for
// Limits.IdleStop (the health loop calls it at every tick), and returns how many it stopped.
func (h *Host) StopIdle() int {
	h.mu.Lock()
	procs := make([]*process, 0, len(h.procs))
	for k, p := range h.procs {
		if k.tenant != 0 {
			procs = append(procs, p)
		}
	}
	h.mu.Unlock()
	stopped, running := 0, map[string]int{}
	for _, p := range procs {
		if p.stopIfIdle(h.limits.IdleStop) {
			stopped++
			h.log.Info("plugin process stopped after being idle", "plugin", p.name, "tenant", p.tenant)
		}
		if p.isRunning() {
			running[p.name]++
		}
	}
	h.m.setTenantProcesses(running)
	return stopped
}

// procKey names a process: a plugin's only process (tenant 0), or, for a plugin isolated per
// tenant, the process of one tenant.
type procKey struct {
	plugin string
	tenant int64
}

// process is a plugin's shared process.
func (h *Host) process(name string) *process { return h.processAt(procKey{plugin: name}) }

// processFor is the process that serves p's calls for a tenant: the shared one, or the
// tenant's own when the plugin's manifest asks for isolation per tenant.
func (h *Host) processFor(p Plugin, tenantID int64) *process {
	if p.Manifest.GetIsolation() == sdk.IsolationTenant {
		return h.processAt(procKey{plugin: p.Name, tenant: tenantID})
	}
	return h.process(p.Name)
}

func (h *Host) processAt(k procKey) *process {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.procs[k]
	if !ok {
		p = newProcess(h, k.plugin, k.tenant)
		h.procs[k] = p
	}
	return p
}

// upgrade moves every process of a plugin on this node to the binary now in the catalogue
// (see process.upgrade). A process of the wrong kind for the new manifest (shared while the new
// version asks for isolation per tenant, or the reverse) is stopped; calls start the right one.
func (h *Host) upgrade(p Plugin) {
	isolated := p.Manifest.GetIsolation() == sdk.IsolationTenant
	for _, proc := range h.processesOf(p.Name) {
		if (proc.tenant != 0) == isolated {
			proc.upgrade(p)
		} else {
			proc.reset()
		}
	}
}

// reset stops every process of a plugin on this node; the next calls start them afresh.
func (h *Host) reset(name string) {
	for _, proc := range h.processesOf(name) {
		proc.reset()
	}
}

// processesOf lists every process of a plugin this node has started or tried to start (the
// shared one, each tenant's); none before the first call.
func (h *Host) processesOf(name string) []*process {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*process
	for k, p := range h.procs {
		if k.plugin == name {
			out = append(out, p)
		}
	}
	return out
}

// ensureGatePermissions lets requests reach the plugin routes' handler, which then checks
// the permission the plugin declared for the route. Reading is open to anyone; writing needs
// a signed-in role that may write (so auditors, who change nothing, never pass), except
// posting (create), which anyone may reach: a plugin may declare a POST route open to
// visitors (a computation that stores nothing, such as the candidates plugin's matching),
// and Serve still refuses every route whose declared permission the caller lacks.
func (h *Host) ensureGatePermissions(ctx context.Context) error {
	for _, act := range []string{authz.Read, authz.Create} {
		if err := h.authz.AddPermission(ctx, authz.Anonymous, authz.AllDomains, GateObject, act); err != nil {
			return err
		}
	}
	for _, r := range []authz.Role{authz.Citizen, authz.Partner, authz.Moderator, authz.TenantAdmin} {
		for _, act := range []string{authz.Create, authz.Update, authz.Delete} {
			if err := h.authz.AddPermission(ctx, r, authz.AllDomains, GateObject, act); err != nil {
				return err
			}
		}
	}
	return nil
}

// GateObject is the permission object of the routes that forward to plugins.
const GateObject = "plugin"
