-- Participants whose data was erased (core/vote): a tombstone per participant id, so that a
-- browser keeping an erased id (its cookie, or keys signed for it) cannot vote again as a
-- new person. It holds no personal data: only the random id the site itself made up.
CREATE TABLE retired_participants (
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id),
    participant TEXT NOT NULL,
    retired_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, participant)
);
