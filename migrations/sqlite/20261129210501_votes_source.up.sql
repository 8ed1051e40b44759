-- The network source a vote came from, as a keyed hash (core/vote, Signer.Source): an
-- HMAC of the address under the server's secret, per tenant and consultation, truncated to
-- 64 bits. No address is stored, and sources cannot be matched across consultations.
-- Results count sessions of one source that vote alike as one participant (core/results,
-- Coalesce). Erasing a participant clears it on their votes. '' for votes cast before.
ALTER TABLE votes ADD COLUMN source TEXT NOT NULL DEFAULT '';
