-- Tenants and their host names. Tenants are the root of every tenant-scoped key.
CREATE TABLE tenants (
    id              BIGINT PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    name            TEXT NOT NULL,
    logo_url        TEXT NOT NULL DEFAULT '',
    color_primary   TEXT NOT NULL DEFAULT '#1d4ed8',
    color_accent    TEXT NOT NULL DEFAULT '#b91c1c',
    default_locale  TEXT NOT NULL DEFAULT 'fr',
    status          TEXT NOT NULL DEFAULT 'active',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
--bun:split
INSERT INTO tenants (id, slug, kind, name, default_locale, status, created_at, updated_at)
VALUES (1, 'platform', 'platform', 'Concorde', 'en', 'active', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);
--bun:split
CREATE TABLE tenant_hosts (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    host      TEXT NOT NULL UNIQUE,
    PRIMARY KEY (tenant_id, host)
);
--bun:split
CREATE TABLE users (
    tenant_id     BIGINT NOT NULL REFERENCES tenants (id),
    id            BIGINT NOT NULL,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    disabled_at   TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
);
--bun:split
CREATE TABLE sessions (
    tenant_id      BIGINT NOT NULL REFERENCES tenants (id),
    id             TEXT NOT NULL,
    user_tenant_id BIGINT NOT NULL,
    user_id        BIGINT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (user_tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
--bun:split
CREATE INDEX sessions_expires ON sessions (expires_at);
--bun:split
CREATE TABLE api_tokens (
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id),
    id           BIGINT NOT NULL,
    user_id      BIGINT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    hash         TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
--bun:split
CREATE TABLE audit_entries (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    seq       BIGINT NOT NULL,
    at        TIMESTAMP NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    object    TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT '{}',
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
--bun:split
CREATE TABLE casbin_rules (
    ptype TEXT NOT NULL,
    v0    TEXT NOT NULL DEFAULT '',
    v1    TEXT NOT NULL DEFAULT '',
    v2    TEXT NOT NULL DEFAULT '',
    v3    TEXT NOT NULL DEFAULT '',
    v4    TEXT NOT NULL DEFAULT '',
    v5    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (ptype, v0, v1, v2, v3, v4, v5)
);
