-- The consultation engine: consultations, proposals, votes, counters, participant profiles.
CREATE TABLE consultations (
    tenant_id         BIGINT NOT NULL REFERENCES tenants (id),
    id                BIGINT NOT NULL,
    slug              TEXT NOT NULL,
    question          TEXT NOT NULL,
    context           TEXT NOT NULL DEFAULT '',
    steps             TEXT NOT NULL DEFAULT '[]',
    themes            TEXT NOT NULL DEFAULT '[]',
    prefix            TEXT NOT NULL DEFAULT 'Il faut',
    language          TEXT NOT NULL DEFAULT 'fr',
    requires_account  BOOLEAN NOT NULL DEFAULT FALSE,
    settings          TEXT NOT NULL DEFAULT '{}',
    status            TEXT NOT NULL DEFAULT 'draft',
    opens_at          TIMESTAMP,
    closes_at         TIMESTAMP,
    published_at      TIMESTAMP,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, slug)
);
--bun:split
CREATE TABLE proposals (
    tenant_id        BIGINT NOT NULL,
    id               BIGINT NOT NULL,
    consultation_id  BIGINT NOT NULL,
    author           TEXT NOT NULL,
    content          TEXT NOT NULL,
    lang             TEXT NOT NULL DEFAULT 'fr',
    status           TEXT NOT NULL DEFAULT 'pending',
    refusal_reason   TEXT NOT NULL DEFAULT '',
    themes           TEXT NOT NULL DEFAULT '[]',
    created_at       TIMESTAMP NOT NULL,
    moderated_at     TIMESTAMP,
    moderated_by     TEXT NOT NULL DEFAULT '',
    locked_by        TEXT NOT NULL DEFAULT '',
    locked_until     TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, consultation_id) REFERENCES consultations (tenant_id, id)
);
--bun:split
CREATE INDEX proposals_by_consultation ON proposals (tenant_id, consultation_id, status, created_at);
--bun:split
CREATE INDEX proposals_by_author ON proposals (tenant_id, author);
--bun:split
CREATE TABLE votes (
    tenant_id        BIGINT NOT NULL,
    proposal_id      BIGINT NOT NULL,
    participant      TEXT NOT NULL,
    consultation_id  BIGINT NOT NULL,
    vote             SMALLINT NOT NULL,
    qualifications   INTEGER NOT NULL DEFAULT 0,
    trust            SMALLINT NOT NULL,
    origin           TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, proposal_id, participant),
    FOREIGN KEY (tenant_id, proposal_id) REFERENCES proposals (tenant_id, id)
);
--bun:split
CREATE INDEX votes_by_participant ON votes (tenant_id, participant, consultation_id);
--bun:split
CREATE INDEX votes_by_consultation ON votes (tenant_id, consultation_id, proposal_id);
--bun:split
CREATE TABLE proposal_counts (
    tenant_id       BIGINT NOT NULL,
    proposal_id     BIGINT NOT NULL,
    trust           SMALLINT NOT NULL,
    consultation_id BIGINT NOT NULL,
    agree           BIGINT NOT NULL DEFAULT 0,
    disagree        BIGINT NOT NULL DEFAULT 0,
    neutral         BIGINT NOT NULL DEFAULT 0,
    like_it             BIGINT NOT NULL DEFAULT 0,
    doable              BIGINT NOT NULL DEFAULT 0,
    platitude_agree     BIGINT NOT NULL DEFAULT 0,
    no_way              BIGINT NOT NULL DEFAULT 0,
    impossible          BIGINT NOT NULL DEFAULT 0,
    platitude_disagree  BIGINT NOT NULL DEFAULT 0,
    do_not_understand   BIGINT NOT NULL DEFAULT 0,
    no_opinion          BIGINT NOT NULL DEFAULT 0,
    do_not_care         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, proposal_id, trust),
    FOREIGN KEY (tenant_id, proposal_id) REFERENCES proposals (tenant_id, id)
);
--bun:split
CREATE INDEX proposal_counts_by_consultation ON proposal_counts (tenant_id, consultation_id);
--bun:split
CREATE TABLE participant_profiles (
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id),
    participant TEXT NOT NULL,
    age_band    TEXT NOT NULL DEFAULT '',
    gender      TEXT NOT NULL DEFAULT '',
    area        TEXT NOT NULL DEFAULT '',
    consent_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, participant)
);
--bun:split
-- Full-text search: FTS5 with the Porter stemmer (English) and diacritics folded; SQLite has no
-- French stemmer, so French matches whole words (accents ignored).
CREATE VIRTUAL TABLE proposals_fts USING fts5 (content, content='proposals', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2');
--bun:split
CREATE TRIGGER proposals_fts_insert AFTER INSERT ON proposals BEGIN
    INSERT INTO proposals_fts (rowid, content) VALUES (new.rowid, new.content);
END;
--bun:split
CREATE TRIGGER proposals_fts_delete AFTER DELETE ON proposals BEGIN
    INSERT INTO proposals_fts (proposals_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
END;
--bun:split
CREATE TRIGGER proposals_fts_update AFTER UPDATE OF content ON proposals BEGIN
    INSERT INTO proposals_fts (proposals_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
    INSERT INTO proposals_fts (rowid, content) VALUES (new.rowid, new.content);
END;
