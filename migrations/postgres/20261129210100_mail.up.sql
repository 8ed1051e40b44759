-- E-mail: whether an account's address is verified, what it wants to hear about, the
-- single-use links sent to it (invitations, address verification), and the outbox a
-- background sender delivers from.
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMPTZ;
--bun:split
-- Results of consultations the person took part in: opt-in (RGPD: consent, not a default).
ALTER TABLE users ADD COLUMN notify_results BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
-- Service messages about the person's own proposals (accepted, refused with the reason).
ALTER TABLE users ADD COLUMN notify_proposals BOOLEAN NOT NULL DEFAULT TRUE;
--bun:split
-- Only the SHA-256 of a link's token is kept; a link is used once, expires, and a newer link
-- of the same purpose for the same account revokes the older.
CREATE TABLE account_links (
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id),
    id          BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    purpose     TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE,
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
--bun:split
CREATE INDEX account_links_by_user ON account_links (tenant_id, user_id, purpose);
--bun:split
-- One row per message to send. A node sends a row only after taking its lease with a
-- conditional update, so two nodes never send one message twice at once.
CREATE TABLE mail_outbox (
    tenant_id       BIGINT NOT NULL REFERENCES tenants (id),
    id              BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    sender_name     TEXT NOT NULL DEFAULT '',
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     TIMESTAMPTZ,
    sent_at         TIMESTAMPTZ,
    failed_at       TIMESTAMPTZ,
    last_error      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id)
);
--bun:split
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
--bun:split
CREATE INDEX mail_outbox_by_recipient ON mail_outbox (tenant_id, recipient);
