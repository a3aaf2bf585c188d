//! Keeps the trigram search index in step with `user_identities`, once per group commit.
//!
//! FTS5 writes its pending terms out as a new index segment whenever a savepoint or a
//! statement journal opens, so feeding it from per-row triggers inside the writer's
//! per-job savepoints cost one segment (and its merges) per write. Instead, temporary
//! triggers on the writer's connection note which rows changed, with the values the index
//! holds for them, and [`index_changes`] brings the index up to date in one statement just
//! before the commit: one segment per commit, in the same transaction as the rows.

use rusqlite::Connection;

/// Creates the writer connection's change log and the triggers that fill it. A job that
/// rolls back to its savepoint rolls back its entries too. Only the first change of a row
/// in a transaction is recorded: its values are what the index still holds for it.
pub fn prepare(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "PRAGMA temp_store = MEMORY;
         CREATE TEMP TABLE search_changes (
             seq INTEGER PRIMARY KEY,
             indexed INTEGER NOT NULL,
             full_name TEXT,
             email_address TEXT,
             phone_number TEXT,
             user_identity_id TEXT
         );
         CREATE TEMP TRIGGER search_changes_insert AFTER INSERT ON main.user_identities BEGIN
             INSERT INTO search_changes (seq, indexed)
             SELECT new.seq, 0 WHERE NOT EXISTS (SELECT 1 FROM search_changes WHERE seq = new.seq);
         END;
         CREATE TEMP TRIGGER search_changes_update
         AFTER UPDATE OF full_name, email_address, phone_number, user_identity_id
         ON main.user_identities BEGIN
             INSERT INTO search_changes
             SELECT old.seq, 1, old.full_name, old.email_address, old.phone_number, old.user_identity_id
             WHERE NOT EXISTS (SELECT 1 FROM search_changes WHERE seq = old.seq);
         END;
         CREATE TEMP TRIGGER search_changes_delete AFTER DELETE ON main.user_identities BEGIN
             INSERT INTO search_changes
             SELECT old.seq, 1, old.full_name, old.email_address, old.phone_number, old.user_identity_id
             WHERE NOT EXISTS (SELECT 1 FROM search_changes WHERE seq = old.seq);
         END;",
    )
}

/// Applies the recorded changes to the index inside the open transaction: the old entry of
/// each changed row out, its current values (if the row still exists) in, in row order.
pub fn index_changes(conn: &Connection) -> rusqlite::Result<()> {
    let pending: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM search_changes)")?
        .query_row([], |row| row.get(0))?;
    if !pending {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO main.user_identities_search (user_identities_search, rowid,
             full_name, email_address, phone_number, user_identity_id)
         SELECT command, seq, full_name, email_address, phone_number, user_identity_id FROM (
             SELECT 'delete' AS command, seq, full_name, email_address, phone_number,
                    user_identity_id, 0 AS step
             FROM search_changes WHERE indexed
             UNION ALL
             SELECT NULL, u.seq, u.full_name, u.email_address, u.phone_number,
                    u.user_identity_id, 1
             FROM search_changes c JOIN main.user_identities u ON u.seq = c.seq
         )
         ORDER BY seq, step",
    )?
    .execute([])?;
    conn.prepare_cached("DELETE FROM search_changes")?
        .execute([])?;
    Ok(())
}
