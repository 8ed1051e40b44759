-- The legal and trust pages a tenant wrote (core/sitepages); a page without a row is served
-- with its default text.
CREATE TABLE site_pages (
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id),
    name       TEXT NOT NULL,
    markdown   TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
