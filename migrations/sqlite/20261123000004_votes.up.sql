-- Bursts of direct-link votes on one proposal, one row per flagged minute (core/vote).
CREATE TABLE vote_bursts (
    tenant_id        BIGINT NOT NULL,
    proposal_id      BIGINT NOT NULL,
    started_at       TIMESTAMP NOT NULL,
    consultation_id  BIGINT NOT NULL,
    votes            INTEGER NOT NULL,
    sequence_votes   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, proposal_id, started_at),
    FOREIGN KEY (tenant_id, proposal_id) REFERENCES proposals (tenant_id, id)
);
--bun:split
CREATE INDEX vote_bursts_by_consultation ON vote_bursts (tenant_id, consultation_id);
