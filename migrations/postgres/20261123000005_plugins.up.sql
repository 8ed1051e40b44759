-- Plugins: the catalogue of installed binaries (platform-wide), which tenants enable them
-- with which settings, and the key-value storage the host keeps for each (tenant, plugin).
CREATE TABLE plugins (
    name         TEXT PRIMARY KEY,
    version      TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    path         TEXT NOT NULL,
    manifest     TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL DEFAULT 'installed',
    state_detail TEXT NOT NULL DEFAULT '',
    installed_at TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
--bun:split
CREATE TABLE tenant_plugins (
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id),
    plugin     TEXT NOT NULL REFERENCES plugins (name),
    enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    settings   TEXT NOT NULL DEFAULT '{}',
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, plugin)
);
--bun:split
-- Keys compare byte by byte on both dialects, so listing by prefix pages the same way.
CREATE TABLE plugin_kv (
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id),
    plugin     TEXT NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    value      BYTEA NOT NULL,
    version    BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, plugin, key)
);
