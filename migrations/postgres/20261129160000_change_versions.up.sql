-- One version per kind of shared state that nodes keep in memory (core/changes): a writer bumps
-- it in its own transaction, and a node reloads only when the version it holds is behind.
CREATE TABLE change_versions (
    topic   TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);

--bun:split

INSERT INTO change_versions (topic, version) VALUES ('policy', 1), ('tenants', 1);
