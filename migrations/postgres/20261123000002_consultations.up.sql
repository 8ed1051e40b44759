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
    opens_at          TIMESTAMPTZ,
    closes_at         TIMESTAMPTZ,
    published_at      TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
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
    created_at       TIMESTAMPTZ NOT NULL,
    moderated_at     TIMESTAMPTZ,
    moderated_by     TEXT NOT NULL DEFAULT '',
    locked_by        TEXT NOT NULL DEFAULT '',
    locked_until     TIMESTAMPTZ,
    search           TSVECTOR GENERATED ALWAYS AS (to_tsvector(CASE lang WHEN 'en' THEN 'english'::regconfig ELSE 'french'::regconfig END, content)) STORED,
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
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
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
    consent_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, participant)
);
--bun:split
CREATE INDEX proposals_search ON proposals USING GIN (search);
