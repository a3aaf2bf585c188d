-- Search reads one trigram index instead of four. The four indexes (one per searched
-- column) made every search plan four index scans and combine them, and every create
-- write four GIN entries; planning alone cost more than running the search. The one index
-- holds the four values joined by chr(1), lowercased, and the list query matches its
-- pattern against the same function. A match that does not contain chr(1) cannot span two
-- values; for a search that contains it, the query also checks each value on its own.
CREATE FUNCTION user_identity_search_text(
    full_name text, email_address text, phone_number text, user_identity_id uuid
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT lower(coalesce(full_name, '') || chr(1) || coalesce(email_address, '') || chr(1)
                 || coalesce(phone_number, '') || chr(1) || user_identity_id::text)
$$;

CREATE INDEX user_identities_search ON user_identities USING gin (
    user_identity_search_text(full_name, email_address, phone_number, user_identity_id)
    gin_trgm_ops
);

-- The planner chooses between walking the list order until a page is full and collecting
-- the matches from this index by how common it judges the pattern, from a histogram of
-- the indexed values. With the default 100 entries, one term in eight of those matching
-- 1% of a 10,000-row workspace was judged common enough to walk the list, and then read
-- the whole workspace, since its page never filled; with 1,000 entries none was.
ALTER INDEX user_identities_search ALTER COLUMN 1 SET STATISTICS 1000;

DROP INDEX user_identities_search_full_name;
DROP INDEX user_identities_search_email;
DROP INDEX user_identities_search_phone;
DROP INDEX user_identities_search_id;
