//! API tests: every test starts the application on its own fresh database and talks to it
//! over real HTTP.

mod auth;
mod binary;
mod helpers;
mod protocol;
mod user_identities;
