-- Issue 7: case search and statistics over 100 000 cases.
-- The case list is ordered newest first within a commission (or an arbitrator's cases),
-- so those orders get their own indexes and a page never sorts the whole set; a whole
-- phone number is an index lookup.
CREATE INDEX cases_commission_accepted ON cases(commission_id, accepted_at, id);
CREATE INDEX cases_arbitrator_accepted ON cases(arbitrator_id, accepted_at);
DROP INDEX cases_arbitrator;
CREATE INDEX parties_phone ON parties(phone);

-- Substring searches (LIKE '%…%' on names, numbers, parts of phones) use trigram indexes
-- when the pg_trgm extension can be installed (it ships with PostgreSQL's contrib modules
-- and is a trusted extension since PostgreSQL 13). Without it the same queries scan, and
-- this migration still succeeds.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX parties_name_trgm ON parties USING gin (name gin_trgm_ops);
    CREATE INDEX parties_phone_trgm ON parties USING gin (phone gin_trgm_ops);
    CREATE INDEX cases_number_trgm ON cases USING gin (number gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%): substring search without trigram indexes', SQLERRM;
END
$$;
