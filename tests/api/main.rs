//! API tests: every test starts the application on its own fresh database and talks to it
//! over real HTTP.

mod auth;
mod binary;
mod crash;
mod credentials;
#[path = "../common/postgres.rs"]
mod database;
mod disk_full;
mod fuzz;
mod helpers;
mod isolation;
mod limits;
mod logs;
mod metrics;
mod process;
mod protocol;
mod shutdown;
mod user_identities;
