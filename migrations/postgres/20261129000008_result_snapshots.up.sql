-- The results of a consultation as published, frozen: the exact JSON the results API served
-- at the moment of publication and its SHA-256, so that anyone can check later that the
-- published results are unchanged and follow from the raw votes (concorde results verify).
CREATE TABLE result_snapshots (
    tenant_id       BIGINT NOT NULL,
    consultation_id BIGINT NOT NULL,
    body            TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    taken_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, consultation_id),
    FOREIGN KEY (tenant_id, consultation_id) REFERENCES consultations (tenant_id, id)
);
