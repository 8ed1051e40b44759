package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/concorde-civic/concorde/core/errs"
	"github.com/concorde-civic/concorde/plugins/sdk"
	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
)

// Runtime states of a plugin process on this node.
const (
	Stopped    = "stopped"    // not started yet (plugins start when first needed)
	Starting   = "starting"   // launched, not yet described
	Running    = "running"    // serving
	Restarting = "restarting" // crashed; waiting out the back-off before the next start
	Failed     = "failed"     // crashed too often; stays down until installed again
)

// launched is one started plugin process.
type launched struct {
	client   *plugin.Client
	rpc      pluginpb.PluginClient
	manifest *pluginpb.Manifest
	d        *dispensed
	sum      string // the SHA-256 it was checked against

	// inflight counts the calls given this process (added under process.mu, so none is added
	// once the process is swapped out): an upgrade waits for them before stopping it.
	inflight sync.WaitGroup
}

func (l *launched) kill() {
	l.d.stopServer()
	l.client.Kill()
}

// launch starts the binary at path, checking it against sum (hex SHA-256) with go-plugin's
// SecureConfig and talking to it over gRPC with AutoMTLS, then reads its manifest.
func (h *Host) launch(ctx context.Context, name string, tenant int64, path, sum string) (*launched, error) {
	checksum, err := hex.DecodeString(sum)
	if err != nil || len(checksum) != sha256.Size {
		return nil, fmt.Errorf("plugin %s: bad recorded checksum %q", name, sum)
	}
	hp := &hostPlugin{h: h, plugin: name, tenant: tenant}
	log := h.log.With("plugin", name)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          plugin.PluginSet{sdk.PluginKey: hp},
		Cmd:              exec.Command(path),
		SecureConfig:     &plugin.SecureConfig{Checksum: checksum, Hash: sha256.New()},
		AutoMTLS:         true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		// The plugin inherits none of the host's environment: no database URL, no secret.
		SkipHostEnv:  true,
		StartTimeout: h.limits.StartTimeout,
		Logger:       newHCLogger(log),
		SyncStdout:   &stdoutWriter{log: log},
		SyncStderr:   &stdoutWriter{log: log, stderr: true},
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(h.limits.MaxResponseBytes + 64<<10))},
	})
	fail := func(err error) (*launched, error) {
		client.Kill()
		return nil, err
	}
	rpcc, err := client.Client()
	if err != nil {
		return fail(fmt.Errorf("start plugin %s: %w", name, err))
	}
	raw, err := rpcc.Dispense(sdk.PluginKey)
	if err != nil {
		return fail(fmt.Errorf("connect to plugin %s: %w", name, err))
	}
	d, ok := raw.(*dispensed)
	if !ok {
		return fail(fmt.Errorf("plugin %s: unexpected client %T", name, raw))
	}
	cctx, cancel := context.WithTimeout(ctx, h.limits.StartTimeout)
	defer cancel()
	m, err := d.rpc.Describe(cctx, &pluginpb.DescribeRequest{HostBrokerId: d.brokerID})
	if err != nil {
		d.stopServer()
		return fail(fmt.Errorf("describe plugin %s: %w", name, err))
	}
	return &launched{client: client, rpc: d.rpc, manifest: m, d: d, sum: sum}, nil
}

// hostPlugin is the host's side of the go-plugin plugin: it serves the host services on the
// broker for the plugin to call back.
type hostPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	h      *Host
	plugin string
	tenant int64 // a process isolated per tenant: its services answer for this tenant only
}

func (hp *hostPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("the host side serves no plugin")
}

func (hp *hostPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	d := &dispensed{rpc: pluginpb.NewPluginClient(conn), brokerID: broker.NextId()}
	go broker.AcceptAndServe(d.brokerID, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(maxValueBytes+maxBatchOps*(maxKeyBytes+64)+64<<10),
			grpc.ChainUnaryInterceptor(hp.recoverPanics))...)
		registerServices(s, hp.h, hp.plugin, hp.tenant)
		d.setServer(s)
		return s
	})
	return d, nil
}

// recoverPanics keeps a bug in a host service, triggered by what a plugin sent, from taking
// the whole host down: the call fails, the host goes on.
func (hp *hostPlugin) recoverPanics(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			hp.h.log.Error("host service panicked", "plugin", hp.plugin, "method", info.FullMethod, "panic", fmt.Sprint(p))
			err = status.Error(codes.Internal, "host service failed")
		}
	}()
	return next(ctx, req)
}

type dispensed struct {
	rpc      pluginpb.PluginClient
	brokerID uint32

	mu      sync.Mutex
	server  *grpc.Server
	stopped bool
}

func (d *dispensed) setServer(s *grpc.Server) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.server = s
	if d.stopped {
		go s.Stop()
	}
}

func (d *dispensed) stopServer() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
	if d.server != nil {
		go d.server.Stop()
	}
}

// process supervises the process of one plugin on this node.
type process struct {
	h      *Host
	name   string
	tenant int64         // the tenant it serves alone (isolation per tenant), or 0: every tenant
	sem    chan struct{} // bounds concurrent calls

	mu          sync.Mutex
	state       string
	gen         int // bumped when the process is reset or shut down, so stale watchers stop
	cur         *launched
	started     chan struct{} // closed when the current start attempt ends
	startedAt   time.Time
	failures    int
	restarts    int
	healthFails int
	lastErr     string
	active      int       // calls in flight
	lastUsed    time.Time // when the last call began
}

func newProcess(h *Host, name string, tenant int64) *process {
	return &process{h: h, name: name, tenant: tenant, state: Stopped, sem: make(chan struct{}, maxConcurrentCalls)}
}

// reportState sets the plugin's state gauge. A plugin isolated per tenant has many processes,
// counted by concorde_plugin_tenant_processes instead; only their failure for good shows.
func (p *process) reportState(state string) {
	if p.tenant == 0 || state == Failed {
		p.h.m.setState(p.name, state)
	}
}

func (p *process) isRunning() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state == Running
}

// stopIfIdle stops a running process that has had no call for idle; its next call starts it
// again, as at first use. It is no failure: the failure count and the catalogue are untouched.
func (p *process) stopIfIdle(idle time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != Running || p.active > 0 || idle <= 0 || time.Since(p.lastUsed) < idle {
		return false
	}
	p.gen++
	if p.cur != nil {
		p.cur.kill()
	}
	p.cur, p.state = nil, Stopped
	return true
}

const (
	maxConcurrentCalls = 256
	healthFailuresMax  = 3
)

// Status is what the host knows of a plugin's process.
type Status struct {
	State     string `json:"state"`
	Restarts  int    `json:"restarts"`
	LastError string `json:"last_error,omitempty"`
	// TenantProcesses counts the running processes of a plugin isolated per tenant.
	TenantProcesses int `json:"tenant_processes,omitempty"`
}

// Status returns the runtime status of a plugin on this node. For a plugin isolated per tenant
// it sums up its processes: running if any runs, with their restarts and running count.
func (h *Host) Status(name string) Status {
	rank := map[string]int{Stopped: 0, Failed: 1, Restarting: 2, Starting: 3, Running: 4}
	st := Status{State: Stopped}
	for _, p := range h.processesOf(name) {
		p.mu.Lock()
		st.Restarts += p.restarts
		if p.lastErr != "" {
			st.LastError = p.lastErr
		}
		if rank[p.state] > rank[st.State] {
			st.State = p.state
		}
		if p.tenant != 0 && p.state == Running {
			st.TenantProcesses++
		}
		p.mu.Unlock()
	}
	return st
}

// client returns the running process, starting it if it was never started, and the function
// to call when the call is over. It does not wait for a restart: while a plugin is down,
// callers get errs.Unavailable at once.
func (p *process) client(ctx context.Context) (*launched, func(), error) {
	l, err := p.acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	return l, func() {
		l.inflight.Done()
		p.mu.Lock()
		p.active--
		p.mu.Unlock()
	}, nil
}

func (p *process) acquire(ctx context.Context) (*launched, error) {
	p.mu.Lock()
	for {
		switch p.state {
		case Running:
			l, gen := p.cur, p.gen
			if l.client.Exited() {
				p.mu.Unlock()
				p.exited(l, gen)
				return nil, errs.E(errs.Unavailable, "the %s feature stopped and is restarting; try again in a moment", p.name)
			}
			l.inflight.Add(1)
			p.active++
			p.lastUsed = time.Now()
			p.mu.Unlock()
			return l, nil
		case Stopped:
			p.beginStartLocked()
		case Starting:
			ch := p.started
			p.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, errs.E(errs.Unavailable, "the %s feature is starting; try again in a moment", p.name)
			}
			p.mu.Lock()
			if p.state == Starting && p.started == ch {
				p.mu.Unlock()
				return nil, errs.E(errs.Unavailable, "the %s feature is starting; try again in a moment", p.name)
			}
			if p.state != Running {
				p.mu.Unlock()
				return nil, errs.E(errs.Unavailable, "the %s feature could not start; try again later", p.name)
			}
		case Restarting:
			p.mu.Unlock()
			return nil, errs.E(errs.Unavailable, "the %s feature is restarting; try again in a moment", p.name)
		default: // Failed
			p.mu.Unlock()
			return nil, errs.E(errs.Unavailable, "the %s feature is out of order; the platform's administrators have been told", p.name)
		}
	}
}

func (p *process) beginStartLocked() {
	p.state = Starting
	p.started = make(chan struct{})
	p.reportState(Starting)
	go p.start(p.gen, p.started)
}

func (p *process) start(gen int, done chan struct{}) {
	defer close(done)
	ctx := context.Background()
	entry, err := p.h.installed(ctx, p.name)
	var l *launched
	switch {
	case err != nil:
	case entry.State == StateFailed:
		err = fmt.Errorf("marked failed in the catalogue: %s", entry.StateDetail)
	default:
		l, err = p.h.launch(ctx, p.name, p.tenant, entry.Path, entry.SHA256)
		if err == nil && l.manifest.GetName() != p.name {
			l.kill()
			err = fmt.Errorf("the binary describes itself as %q, not %q", l.manifest.GetName(), p.name)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen != p.gen { // reset or shut down meanwhile
		if l != nil {
			l.kill()
		}
		return
	}
	if err != nil {
		p.h.log.Error("plugin did not start", "plugin", p.name, "error", err.Error())
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			// The binary changed on disk: retrying cannot help, and running it must not happen.
			p.failures = p.h.limits.MaxFailures - 1
		}
		p.failLocked(err)
		return
	}
	p.cur, p.state, p.startedAt, p.healthFails, p.lastErr = l, Running, time.Now(), 0, ""
	p.reportState(Running)
	p.h.log.Info("plugin started", "plugin", p.name, "version", l.manifest.GetVersion())
	go p.watch(l, gen)
}

// watch notices when the process exits (crash, kill -9, out of memory).
func (p *process) watch(l *launched, gen int) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for range t.C {
		p.mu.Lock()
		stale := gen != p.gen || p.cur != l
		p.mu.Unlock()
		if stale {
			return
		}
		if l.client.Exited() {
			p.exited(l, gen)
			return
		}
	}
}

// exited handles the end of a process that should be running.
func (p *process) exited(l *launched, gen int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen != p.gen || p.cur != l || p.state != Running {
		return
	}
	l.kill()
	p.cur = nil
	if time.Since(p.startedAt) >= p.h.limits.StableAfter {
		p.failures = 0
	}
	p.h.log.Warn("plugin exited", "plugin", p.name)
	p.failLocked(errors.New("the process exited"))
}

// failLocked counts a failure and schedules a restart after a back-off, or gives up.
func (p *process) failLocked(err error) {
	p.failures++
	p.lastErr = err.Error()
	p.h.m.failures.WithLabelValues(p.name).Inc()
	if p.failures >= p.h.limits.MaxFailures {
		p.state = Failed
		p.reportState(Failed)
		p.h.log.Error("plugin failed for good", "plugin", p.name, "failures", p.failures, "error", p.lastErr)
		detail := fmt.Sprintf("%d failures in a row; last: %s", p.failures, p.lastErr)
		go func() {
			if err := p.h.setState(context.Background(), p.name, StateFailed, detail); err != nil {
				p.h.log.Error("record failed plugin", "plugin", p.name, "error", err.Error())
			}
			p.h.forgetInstalled(p.name)
		}()
		return
	}
	p.state = Restarting
	p.reportState(Restarting)
	wait := p.h.limits.BackoffMin << (p.failures - 1)
	if wait > p.h.limits.BackoffMax || wait <= 0 {
		wait = p.h.limits.BackoffMax
	}
	gen := p.gen
	time.AfterFunc(wait, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if gen != p.gen || p.state != Restarting {
			return
		}
		p.restarts++
		p.h.m.restarts.WithLabelValues(p.name).Inc()
		p.beginStartLocked()
	})
}

// check pings a running process and collects its metrics; a process that fails several
// pings in a row is killed, and restarted like a crashed one.
func (p *process) check() {
	p.mu.Lock()
	l, gen := p.cur, p.gen
	running := p.state == Running
	p.mu.Unlock()
	if !running || l == nil {
		return
	}
	timeout := min(p.h.limits.CallTimeout, 2*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := l.rpc.Health(ctx, &pluginpb.HealthRequest{})
	healthy := err == nil && res.GetOk()
	p.mu.Lock()
	if gen != p.gen || p.cur != l {
		p.mu.Unlock()
		return
	}
	if healthy {
		p.healthFails = 0
	} else {
		p.healthFails++
		p.h.log.Warn("plugin health check failed", "plugin", p.name, "failures", p.healthFails)
	}
	kill := p.healthFails >= healthFailuresMax
	p.mu.Unlock()
	if kill {
		l.client.Kill() // watch sees it exit and restarts it
		return
	}
	if healthy && p.tenant == 0 {
		p.h.m.collect(ctx, p.name, l)
	}
}

// reset stops the process so that the next call starts the binary now in the catalogue.
func (p *process) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	if p.cur != nil {
		p.cur.kill()
	}
	p.cur, p.state, p.failures, p.lastErr = nil, Stopped, 0, ""
	p.reportState(Stopped)
	p.h.forgetInstalled(p.name)
}

// upgrade switches a running plugin to the binary now in the catalogue: the new process starts
// beside the old one, takes the new calls, and the old one stops once its calls in flight are
// over (or after a call timeout). A plugin that does not run is reset: its next call starts
// the new binary.
func (p *process) upgrade(entry Plugin) {
	p.mu.Lock()
	running, gen := p.state == Running && p.cur != nil, p.gen
	p.mu.Unlock()
	if !running {
		p.reset()
		return
	}
	ctx := context.Background()
	l, err := p.h.launch(ctx, p.name, p.tenant, entry.Path, entry.SHA256)
	if err == nil && l.manifest.GetName() != p.name {
		l.kill()
		err = fmt.Errorf("the binary describes itself as %q, not %q", l.manifest.GetName(), p.name)
	}
	if err != nil {
		// The old version keeps serving; the operator sees why in the log and the status.
		p.h.log.Error("plugin upgrade did not start; the previous version keeps serving", "plugin", p.name, "error", err.Error())
		p.mu.Lock()
		p.lastErr = "upgrade: " + err.Error()
		p.mu.Unlock()
		return
	}
	p.mu.Lock()
	if gen != p.gen || p.state != Running {
		p.mu.Unlock()
		l.kill()
		p.reset()
		return
	}
	old := p.cur
	p.gen++
	p.cur, p.startedAt, p.healthFails, p.failures, p.lastErr = l, time.Now(), 0, 0, ""
	go p.watch(l, p.gen)
	p.mu.Unlock()
	p.h.forgetInstalled(p.name)
	p.h.log.Info("plugin upgraded", "plugin", p.name, "from", old.manifest.GetVersion(), "to", l.manifest.GetVersion())
	go p.drain(old)
}

// drain stops a swapped-out process once the calls it was given are over.
func (p *process) drain(l *launched) {
	done := make(chan struct{})
	go func() { l.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(p.h.limits.CallTimeout + time.Second):
		p.h.log.Warn("plugin calls still in flight at the end of the drain", "plugin", p.name)
	}
	l.kill()
}

// shutdown stops the process for good (the host is closing).
func (p *process) shutdown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	if p.cur != nil {
		p.cur.kill()
	}
	p.cur, p.state = nil, Stopped
}

// Kill stops a plugin's process abruptly, as a crash would (for operators and tests).
func (h *Host) Kill(name string) bool {
	p := h.process(name)
	p.mu.Lock()
	l := p.cur
	p.mu.Unlock()
	if l == nil {
		return false
	}
	l.client.Kill()
	return true
}

// Pid returns the process id of a running plugin, or 0.
func (h *Host) Pid(name string) int { return h.PidOf(name, 0) }

// PidOf returns the process id of the process of a plugin isolated per tenant that serves a
// tenant (tenant 0: the shared process), or 0 if none runs.
func (h *Host) PidOf(name string, tenantID int64) int {
	p := h.processAt(procKey{plugin: name, tenant: tenantID})
	p.mu.Lock()
	l := p.cur
	p.mu.Unlock()
	if l == nil {
		return 0
	}
	if rc := l.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}
