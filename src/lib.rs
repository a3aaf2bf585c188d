//! identity-server: a self-hostable server for the user identity part of Seam Connect's
//! API, compatible with Seam's official SDKs and CLI.
//!
//! Data flows one way: [`http`] (the wire) calls [`service`] (the rules), which calls
//! [`store`] (SQL on SQLite or PostgreSQL). [`domain`] types are shared by all three.

#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod domain;
pub mod http;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;

pub use app::{AppConfig, build_app};
