-- The search index is no longer fed by these triggers: the store's single writer
-- records changed rows and indexes them once per group commit, in the same transaction
-- (see src/store/sqlite/search_index.rs). Fed row by row, FTS5 wrote one index segment
-- per write, because every savepoint and statement journal flushes its pending terms.
DROP TRIGGER user_identities_search_insert;
DROP TRIGGER user_identities_search_delete;
DROP TRIGGER user_identities_search_update;
