package pluginhost

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/uptrace/bun"
	"google.golang.org/grpc/status"

	"github.com/concorde-civic/concorde/core/store"
	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
)

// Jobs: a plugin declares jobs in its manifest; the host runs each for every tenant that
// enabled the plugin, at its interval. Every node schedules, but a run needs the job's lease,
// taken by a conditional update of its row, so it happens once across nodes. A run carries a
// call token scoped to its tenant and plugin, like a request.

// jobRow is one (tenant, plugin, job) with its schedule and last outcome.
type jobRow struct {
	bun.BaseModel `bun:"table:plugin_jobs,alias:j"`

	TenantID   int64        `bun:"tenant_id,pk"`
	Plugin     string       `bun:"plugin,pk"`
	Job        string       `bun:"job,pk"`
	NextRunAt  time.Time    `bun:"next_run_at"`
	LeaseUntil bun.NullTime `bun:"lease_until"`
	LeaseOwner string       `bun:"lease_owner"`
	LastRunAt  bun.NullTime `bun:"last_run_at"`
	LastStatus string       `bun:"last_status"`
	LastDetail string       `bun:"last_detail"`
	Runs       int64        `bun:"runs"`
	Failures   int64        `bun:"failures"`
}

func (r *jobRow) SetTenantID(id int64) { r.TenantID = id }

// JobStatus is a job as a tenant's admins see it.
type JobStatus struct {
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	EverySecs   int64      `json:"every_seconds"`
	NextRunAt   time.Time  `json:"next_run_at"`
	LastRunAt   *time.Time `json:"last_run_at,omitempty"`
	LastStatus  string     `json:"last_status,omitempty"` // "ok" or "error"
	LastDetail  string     `json:"last_detail,omitempty"`
	Runs        int64      `json:"runs"`
	Failures    int64      `json:"failures"`
}

// Jobs lists a plugin's jobs in a tenant with their last outcome.
func (h *Host) Jobs(ctx context.Context, tenantID int64, name string) ([]JobStatus, error) {
	p, err := h.installed(ctx, name)
	if err != nil {
		return nil, err
	}
	var rows []jobRow
	if err := store.For(h.db, tenantID).Select(&rows).Where("j.plugin = ?", name).Scan(ctx); err != nil {
		return nil, fmt.Errorf("jobs of %s: %w", name, err)
	}
	byName := map[string]jobRow{}
	for _, r := range rows {
		byName[r.Job] = r
	}
	out := []JobStatus{}
	for _, j := range p.Manifest.GetJobs() {
		st := JobStatus{Name: j.GetName(), Description: j.GetDescription(), EverySecs: int64(h.interval(j) / time.Second)}
		if r, ok := byName[j.GetName()]; ok {
			st.NextRunAt, st.LastStatus, st.LastDetail, st.Runs, st.Failures = r.NextRunAt, r.LastStatus, r.LastDetail, r.Runs, r.Failures
			if !r.LastRunAt.IsZero() {
				at := r.LastRunAt.Time
				st.LastRunAt = &at
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// interval is how often a job runs: as declared, but never more often than the host allows.
func (h *Host) interval(j *pluginpb.Job) time.Duration {
	return max(time.Duration(j.GetEverySeconds())*time.Second, h.limits.MinJobInterval)
}

// ensureTenantJobs gives a tenant that enables the plugin a row for each of its jobs, due now.
func (h *Host) ensureTenantJobs(ctx context.Context, tx store.Scope, p Plugin) error {
	for _, j := range p.Manifest.GetJobs() {
		if _, err := tx.Insert(&jobRow{Plugin: p.Name, Job: j.GetName(), NextRunAt: jobNow()}).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("job %s of %s: %w", j.GetName(), p.Name, err)
		}
	}
	return nil
}

// ensureAllJobs gives every tenant that enabled the plugin a row for each of its jobs: at
// start, and when a new version brings a new job. One statement per job, whatever the tenants.
func (h *Host) ensureAllJobs(ctx context.Context, p Plugin) error {
	for _, j := range p.Manifest.GetJobs() {
		_, err := h.db.NewRaw(`INSERT INTO plugin_jobs (tenant_id, plugin, job, next_run_at)
			SELECT tenant_id, plugin, ?, ? FROM tenant_plugins WHERE plugin = ? AND enabled
			ON CONFLICT DO NOTHING`, j.GetName(), jobNow(), p.Name).Exec(ctx)
		if err != nil {
			return fmt.Errorf("jobs of %s: %w", p.Name, err)
		}
	}
	return nil
}

func jobNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// schedule runs due jobs until the host closes.
func (h *Host) schedule() {
	defer h.wg.Done()
	for {
		select {
		case <-h.stop:
			return
		case <-time.After(h.limits.JobTick):
		}
		if err := h.RunDueJobs(context.Background()); err != nil {
			h.log.Warn("plugin jobs", "error", err.Error())
		}
	}
}

// RunDueJobs runs, on this node, the due jobs whose lease it can take, and waits for them.
func (h *Host) RunDueJobs(ctx context.Context) error {
	now := jobNow()
	var due []jobRow
	err := h.db.NewSelect().Model(&due).
		Join("JOIN tenant_plugins AS tp ON tp.tenant_id = j.tenant_id AND tp.plugin = j.plugin").
		Where("tp.enabled = ?", true).
		Where("j.next_run_at <= ?", now).
		Where("(j.lease_until IS NULL OR j.lease_until < ?)", now).
		OrderExpr("j.next_run_at").Limit(maxJobsPerTick).Scan(ctx)
	if err != nil {
		return fmt.Errorf("due jobs: %w", err)
	}
	done := make(chan struct{}, len(due))
	started := 0
	for _, r := range due {
		lease := now.Add(h.limits.JobTimeout + 30*time.Second)
		res, err := h.db.NewUpdate().Model((*jobRow)(nil)).
			Set("lease_until = ?", lease).Set("lease_owner = ?", h.node).
			Where("tenant_id = ? AND plugin = ? AND job = ?", r.TenantID, r.Plugin, r.Job).
			Where("next_run_at <= ?", now).
			Where("(lease_until IS NULL OR lease_until < ?)", now).Exec(ctx)
		if err != nil {
			return fmt.Errorf("lease job %s of %s: %w", r.Job, r.Plugin, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			continue // another node took it
		}
		started++
		go func(r jobRow) {
			h.runJob(ctx, r, now)
			done <- struct{}{}
		}(r)
	}
	for range started {
		<-done
	}
	return nil
}

const maxJobsPerTick = 16

// runJob runs one leased job and records its outcome, releasing the lease.
func (h *Host) runJob(ctx context.Context, r jobRow, now time.Time) {
	p, err := h.installed(ctx, r.Plugin)
	var spec *pluginpb.Job
	if err == nil {
		for _, j := range p.Manifest.GetJobs() {
			if j.GetName() == r.Job {
				spec = j
			}
		}
	}
	if spec == nil || p.Manifest.GetProtocolVersion() < 2 {
		// The job is gone from the plugin (an upgrade removed it), or the plugin was removed.
		_, _ = store.For(h.db, r.TenantID).Delete(&r).WherePK().Exec(ctx)
		return
	}
	start := time.Now()
	detail, runErr := h.callJob(ctx, p, r)
	result := "ok"
	if runErr != nil {
		result, detail = "error", runErr.Error()
	}
	h.m.jobRuns.WithLabelValues(r.Plugin, r.Job, result).Inc()
	h.m.jobDuration.WithLabelValues(r.Plugin).Observe(time.Since(start).Seconds())
	next := r.NextRunAt.Add(h.interval(spec))
	if !next.After(now) {
		next = now.Add(h.interval(spec)) // do not replay missed runs one after another
	}
	if len(detail) > 500 {
		detail = detail[:500]
	}
	failed := int64(0)
	if runErr != nil {
		failed = 1
		h.log.Warn("plugin job failed", "plugin", r.Plugin, "job", r.Job, "tenant", r.TenantID, "error", detail)
	}
	_, err = h.db.NewUpdate().Model((*jobRow)(nil)).
		Set("next_run_at = ?", next).Set("lease_until = NULL").Set("lease_owner = ''").
		Set("last_run_at = ?", jobNow()).Set("last_status = ?", result).Set("last_detail = ?", detail).
		Set("runs = runs + 1").Set("failures = failures + ?", failed).
		Where("tenant_id = ? AND plugin = ? AND job = ?", r.TenantID, r.Plugin, r.Job).Exec(ctx)
	if err != nil {
		h.log.Error("record plugin job", "plugin", r.Plugin, "job", r.Job, "error", err.Error())
	}
}

func (h *Host) callJob(ctx context.Context, p Plugin, r jobRow) (string, error) {
	sctx, cancel := context.WithTimeout(ctx, h.limits.StartTimeout)
	l, done, err := h.processFor(p, r.TenantID).client(sctx)
	cancel()
	if err != nil {
		return "", err
	}
	defer done()
	_, settings, err := h.enabledFor(ctx, r.TenantID, p.Name)
	if err != nil {
		return "", err
	}
	token, end := h.calls.begin(callScope{tenantID: r.TenantID, plugin: p.Name})
	defer end()
	cctx, cancel := context.WithTimeout(ctx, h.limits.JobTimeout)
	defer cancel()
	res, err := l.rpc.RunJob(cctx, &pluginpb.JobRequest{CallToken: token, Tenant: h.tenantByID(ctx, r.TenantID),
		Name: r.Job, Settings: settings, ScheduledAt: r.NextRunAt.Format(time.RFC3339)})
	h.m.calls.WithLabelValues(p.Name, "job").Inc()
	if err != nil {
		if st, ok := status.FromError(err); ok {
			return "", fmt.Errorf("%s", st.Message())
		}
		return "", err
	}
	return res.GetMessage(), nil
}

// lifecycle tells a plugin of a change in a tenant; the change stands whatever it answers.
func (h *Host) lifecycle(ctx context.Context, p Plugin, tenantID int64, event, settings string) {
	if p.Manifest.GetProtocolVersion() < 2 || !p.Manifest.GetLifecycleHooks() {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, h.limits.StartTimeout)
	l, done, err := h.processFor(p, tenantID).client(sctx)
	cancel()
	if err != nil {
		h.log.Warn("plugin lifecycle: plugin down", "plugin", p.Name, "event", event, "error", err.Error())
		return
	}
	defer done()
	token, end := h.calls.begin(callScope{tenantID: tenantID, plugin: p.Name})
	defer end()
	cctx, cancel := context.WithTimeout(ctx, h.limits.CallTimeout)
	defer cancel()
	_, err = l.rpc.OnLifecycle(cctx, &pluginpb.LifecycleRequest{CallToken: token, Tenant: h.tenantByID(ctx, tenantID), Event: event, Settings: settings})
	h.m.calls.WithLabelValues(p.Name, "lifecycle").Inc()
	if err != nil {
		h.log.Warn("plugin lifecycle hook failed", "plugin", p.Name, "event", event, "tenant", tenantID, "error", err.Error())
		h.callError(p.Name, err)
	}
}

// nodeName names this node in job leases (for operators reading the table).
func nodeName() string {
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid())
}
