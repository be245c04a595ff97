-- Issue 7: case search and statistics over 100 000 cases.
-- The case list is ordered newest first within a commission (or an arbitrator's cases),
-- so those orders get their own indexes and a page never sorts the whole set; a whole
-- phone number is an index lookup. Substring searches (name, number, part of a phone)
-- scan the parties table once per query: see docs/performance.md for the figures.
CREATE INDEX cases_commission_accepted ON cases(commission_id, accepted_at, id);
CREATE INDEX cases_arbitrator_accepted ON cases(arbitrator_id, accepted_at);
DROP INDEX cases_arbitrator;
CREATE INDEX parties_phone ON parties(phone);
