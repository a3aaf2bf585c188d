//! Schema migrations for PostgreSQL, embedded in the binary and applied in name order at
//! start. Instances that start together take turns through an advisory lock, so each
//! migration runs once. A migration that has shipped is never edited.

use tokio_postgres::Client;

/// Advisory lock key held while migrating ("identity" in ASCII).
const MIGRATION_LOCK: i64 = 0x6964_656e_7469_7479;

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "20261203170000_initial",
        include_str!("../../../migrations/postgres/20261203170000_initial.sql"),
    ),
    (
        "20261204080000_one_search_index",
        include_str!("../../../migrations/postgres/20261204080000_one_search_index.sql"),
    ),
];

/// Applies every migration not yet recorded, each in its own transaction, while holding
/// the migration lock. The lock is a session lock, so it also ends with the connection.
pub async fn apply(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    // Migrations may build indexes on large tables: no statement timeout here.
    client
        .batch_execute("SET statement_timeout = 0; SET lock_timeout = 0")
        .await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let outcome = apply_locked(client).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    outcome.and(unlocked.map(|_| ()))
}

async fn apply_locked(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version text PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await?;
    for (version, sql) in MIGRATIONS {
        let transaction = client.transaction().await?;
        let applied: bool = transaction
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)",
                &[version],
            )
            .await?
            .get(0);
        if !applied {
            transaction.batch_execute(sql).await?;
            transaction
                .execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)",
                    &[version],
                )
                .await?;
            tracing::info!(migration = version, "applied a PostgreSQL migration");
        }
        transaction.commit().await?;
    }
    Ok(())
}
