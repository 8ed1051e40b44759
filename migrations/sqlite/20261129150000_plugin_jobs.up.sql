-- Jobs the plugin host runs on schedule, one row per (tenant, plugin, job). A node runs a job
-- only after taking its lease with a conditional update, so a run happens once across nodes.
CREATE TABLE plugin_jobs (
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id),
    plugin      TEXT NOT NULL,
    job         TEXT NOT NULL,
    next_run_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    lease_owner TEXT NOT NULL DEFAULT '',
    last_run_at TIMESTAMP,
    last_status TEXT NOT NULL DEFAULT '',
    last_detail TEXT NOT NULL DEFAULT '',
    runs        BIGINT NOT NULL DEFAULT 0,
    failures    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, plugin, job)
);
--bun:split
CREATE INDEX plugin_jobs_due ON plugin_jobs (next_run_at);
