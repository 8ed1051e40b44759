-- The moderator's comment on a refusal, for the author: it was only in the audit log, so the
-- author never read it.
ALTER TABLE proposals ADD COLUMN refusal_comment TEXT NOT NULL DEFAULT '';
