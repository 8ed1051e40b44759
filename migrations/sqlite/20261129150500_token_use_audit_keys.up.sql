-- API tokens remember when they were last used (set at most once a minute per token).
ALTER TABLE api_tokens ADD COLUMN last_used_at TIMESTAMP;
--bun:split
-- The audit chain is keyed (HMAC-SHA256 with a key kept outside the database): key_id names
-- the key an entry was hashed with; '' marks the legacy, unkeyed entries written before.
ALTER TABLE audit_entries ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
