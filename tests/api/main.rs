//! API tests: every test starts the application on its own fresh database and talks to it
//! over real HTTP.

mod auth;
mod binary;
mod crash;
mod fuzz;
mod helpers;
mod limits;
mod process;
mod protocol;
mod shutdown;
mod user_identities;
