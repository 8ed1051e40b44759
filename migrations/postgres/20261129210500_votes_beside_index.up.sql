-- Votes outside the sequence (trust 1: a direct link, a search, the results page, or a card
-- that carried an "ignored" key), per proposal: the results publish them per origin, beside
-- the sequence estimate (core/vote, Service.BesideByOrigin). A partial index, so the
-- sequence votes, most of them, cost nothing more to write.
CREATE INDEX votes_beside ON votes (tenant_id, consultation_id, proposal_id) WHERE trust = 1;
