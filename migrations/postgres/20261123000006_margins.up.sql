-- Population margins a tenant gives so results can be weighted to its population (raking).
CREATE TABLE tenant_margins (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    dimension TEXT NOT NULL,
    value     TEXT NOT NULL,
    share     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant_id, dimension, value)
);
