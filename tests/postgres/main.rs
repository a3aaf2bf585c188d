//! PostgreSQL-only tests: several `serve` processes on one database, a database outage
//! during traffic, statement timeouts, and the query plans behind lists and searches.
//! Each test is skipped (with a note) unless `IDENTITY_TEST_POSTGRES_URL` is set; run them
//! through `scripts/with-postgres.sh cargo nextest run`.

#[path = "../common/postgres.rs"]
mod database;
mod indexes;
mod instances;
mod outage;
mod parity;
mod server;
mod timeouts;
