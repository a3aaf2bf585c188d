//! Schema migrations for SQLite, embedded in the binary and applied in name order at start.
//! A migration that has shipped is never edited; changes come as new files.

use rusqlite::Connection;

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "20261203170000_initial",
        include_str!("../../../migrations/sqlite/20261203170000_initial.sql"),
    ),
    (
        "20261203200000_search_index_maintained_by_writer",
        include_str!(
            "../../../migrations/sqlite/20261203200000_search_index_maintained_by_writer.sql"
        ),
    ),
];

/// Applies every migration not yet recorded, each in its own transaction.
pub fn apply(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version TEXT PRIMARY KEY NOT NULL,
             applied_at INTEGER NOT NULL
         )",
    )?;
    for (version, sql) in MIGRATIONS {
        let transaction =
            conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let applied: bool = transaction.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [version],
            |row| row.get(0),
        )?;
        if !applied {
            transaction.execute_batch(sql)?;
            transaction.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, unixepoch())",
                [version],
            )?;
        }
        transaction.commit()?;
    }
    Ok(())
}
