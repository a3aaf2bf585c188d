//! `serve`: bind, bootstrap a first workspace on an empty database, serve until SIGTERM or
//! Ctrl-C, then finish the requests in flight within the grace period.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tokio::net::TcpListener;

use super::{DEFAULT_DATABASE, DatabaseArgs};
use crate::app::{AppConfig, build_app};
use crate::server::{self, ConnectionLimits};
use crate::service::credentials;
use crate::service::rate_limit::RateLimit;
use crate::store::{self, ConnectOptions, SharedStore};

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "IDENTITY_SERVER_LISTEN", default_value = "127.0.0.1:3020")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Seconds a verified credential is trusted before it is read again; the longest a
    /// revoked credential keeps working on a running instance.
    #[arg(
        long,
        env = "IDENTITY_SERVER_CREDENTIAL_CACHE_SECONDS",
        default_value_t = 5.0
    )]
    pub credential_cache_seconds: f64,

    /// Base URL used in `next_page_url` (default: http://<Host header>).
    #[arg(long, env = "IDENTITY_SERVER_PUBLIC_URL")]
    pub public_url: Option<String>,

    #[command(flatten)]
    pub pool: PoolArgs,

    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Shutdown, connection and request limits.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// After SIGTERM or Ctrl-C, seconds that requests in flight get to finish.
    #[arg(
        long,
        env = "IDENTITY_SERVER_SHUTDOWN_GRACE_SECONDS",
        default_value_t = 30.0,
        value_parser = non_negative_number
    )]
    pub shutdown_grace_seconds: f64,

    /// Connections served at once; more wait in the OS accept backlog.
    #[arg(
        long,
        env = "IDENTITY_SERVER_MAX_CONNECTIONS",
        default_value_t = 1024,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub max_connections: usize,

    /// Seconds a client has to send request headers; also the idle keep-alive timeout.
    #[arg(
        long,
        env = "IDENTITY_SERVER_HEADER_READ_TIMEOUT_SECONDS",
        default_value_t = 10.0,
        value_parser = positive_number
    )]
    pub header_read_timeout_seconds: f64,

    /// Seconds a client has to send a request body (`408` after).
    #[arg(
        long,
        env = "IDENTITY_SERVER_BODY_READ_TIMEOUT_SECONDS",
        default_value_t = 30.0,
        value_parser = positive_number
    )]
    pub body_read_timeout_seconds: f64,

    /// Requests per second allowed per API key or token, per instance; 0 turns it off.
    #[arg(
        long,
        env = "IDENTITY_SERVER_RATE_LIMIT_PER_SECOND",
        default_value_t = 0.0,
        value_parser = non_negative_number
    )]
    pub rate_limit_per_second: f64,

    /// Requests a credential may make at once above the sustained rate.
    #[arg(
        long,
        env = "IDENTITY_SERVER_RATE_LIMIT_BURST",
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub rate_limit_burst: u32,

    /// Failed authentications allowed per second from one client network (an IPv4
    /// address or IPv6 /64), per instance; 0 turns the bound off. Behind a load balancer
    /// every client shares the balancer's address: leave it off there.
    #[arg(
        long,
        env = "IDENTITY_SERVER_AUTH_FAILURE_RATE_PER_SECOND",
        default_value_t = 0.0,
        value_parser = non_negative_number
    )]
    pub auth_failure_rate_per_second: f64,

    /// Failed authentications a client network may make at once above that rate.
    #[arg(
        long,
        env = "IDENTITY_SERVER_AUTH_FAILURE_BURST",
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub auth_failure_burst: u32,
}

impl Default for LimitArgs {
    fn default() -> Self {
        Self {
            shutdown_grace_seconds: 30.0,
            max_connections: 1024,
            header_read_timeout_seconds: 10.0,
            body_read_timeout_seconds: 30.0,
            rate_limit_per_second: 0.0,
            rate_limit_burst: 100,
            auth_failure_rate_per_second: 0.0,
            auth_failure_burst: 100,
        }
    }
}

impl LimitArgs {
    fn rate_limit(&self) -> Option<RateLimit> {
        (self.rate_limit_per_second > 0.0).then_some(RateLimit {
            per_second: self.rate_limit_per_second,
            burst: self.rate_limit_burst,
        })
    }

    fn auth_failure_limit(&self) -> Option<RateLimit> {
        (self.auth_failure_rate_per_second > 0.0).then_some(RateLimit {
            per_second: self.auth_failure_rate_per_second,
            burst: self.auth_failure_burst,
        })
    }

    fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: self.max_connections,
            header_read_timeout: seconds(self.header_read_timeout_seconds),
            shutdown_grace: seconds(self.shutdown_grace_seconds),
        }
    }
}

/// A finite number greater than zero, for timeouts: zero would refuse every request.
fn positive_number(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err("expected a number greater than 0".into()),
    }
}

/// A finite number of zero or more.
fn non_negative_number(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
        _ => Err("expected a number of 0 or more".into()),
    }
}

/// A duration from a flag in seconds; negative or non-finite values read as zero.
fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value.max(0.0)).unwrap_or(Duration::ZERO)
}

/// Connection pool settings; PostgreSQL only (SQLite ignores them).
#[derive(Debug, Clone, Args)]
pub struct PoolArgs {
    /// Most database connections this process opens. Across instances, keep the sum
    /// below PostgreSQL's max_connections.
    #[arg(long, env = "IDENTITY_SERVER_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: usize,

    /// Seconds a statement may run before PostgreSQL cancels it (the request answers 503).
    #[arg(
        long,
        env = "IDENTITY_SERVER_DB_STATEMENT_TIMEOUT_SECONDS",
        default_value_t = 5.0
    )]
    pub db_statement_timeout_seconds: f64,

    /// Seconds to wait for a new connection, or for a free one when the pool is full,
    /// before the request answers 503.
    #[arg(
        long,
        env = "IDENTITY_SERVER_DB_CONNECT_TIMEOUT_SECONDS",
        default_value_t = 5.0
    )]
    pub db_connect_timeout_seconds: f64,
}

impl Default for PoolArgs {
    fn default() -> Self {
        let defaults = ConnectOptions::default();
        Self {
            db_pool_size: defaults.pool_size,
            db_statement_timeout_seconds: defaults.statement_timeout.as_secs_f64(),
            db_connect_timeout_seconds: defaults.connect_timeout.as_secs_f64(),
        }
    }
}

impl PoolArgs {
    pub fn connect_options(&self) -> ConnectOptions {
        let seconds = |value: f64| Duration::from_secs_f64(value.max(0.001));
        ConnectOptions {
            pool_size: self.db_pool_size.max(1),
            statement_timeout: seconds(self.db_statement_timeout_seconds),
            connect_timeout: seconds(self.db_connect_timeout_seconds),
        }
    }
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3020)),
            database: DatabaseArgs {
                database: DEFAULT_DATABASE.to_owned(),
            },
            credential_cache_seconds: 5.0,
            public_url: None,
            pool: PoolArgs::default(),
            limits: LimitArgs::default(),
        }
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let store = store::connect_with(&args.database.database, &args.pool.connect_options())
        .await
        .context("opening the database")?;
    bootstrap(&store).await?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let config = AppConfig {
        credential_cache_ttl: seconds(args.credential_cache_seconds),
        public_url: args.public_url,
        body_read_timeout: seconds(args.limits.body_read_timeout_seconds),
        rate_limit: args.limits.rate_limit(),
        auth_failure_limit: args.limits.auth_failure_limit(),
    };
    serve(listener, store, &config, args.limits.connection_limits()).await
}

/// Serves on an already bound listener until a shutdown signal.
pub async fn serve(
    listener: TcpListener,
    store: SharedStore,
    config: &AppConfig,
    limits: ConnectionLimits,
) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    let shutdown = shutdown_signal()?;
    tracing::info!(%address, "identity-server listening");
    server::serve(listener, build_app(store, config), limits, shutdown).await;
    tracing::info!("identity-server stopped");
    Ok(())
}

/// On a database without any workspace, creates one and prints its API key, once.
async fn bootstrap(store: &SharedStore) -> anyhow::Result<()> {
    let Some(workspace) = store.create_first_workspace("Default workspace").await? else {
        return Ok(());
    };
    let api_key = credentials::issue_api_key(store, workspace.workspace_id).await?;
    println!(
        "Created workspace {} (\"{}\") on this new database.\n\
         Its API key is shown only this once; keep it safe:\n\n    {api_key}\n",
        workspace.workspace_id, workspace.name
    );
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C. The SIGTERM handler is installed before this returns,
/// so a signal sent once the server says it is listening is never missed.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    Ok(async move {
        #[cfg(unix)]
        let terminate = terminate.recv();
        #[cfg(not(unix))]
        let terminate = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = terminate => {},
        }
        tracing::info!("shutdown signal received; finishing requests in flight");
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    fn serve(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(["identity-server", "serve"].iter().chain(args))
    }

    #[test]
    fn limits_that_would_refuse_every_request_are_rejected_at_start() {
        for args in [
            ["--header-read-timeout-seconds", "0"],
            ["--body-read-timeout-seconds", "-1"],
            ["--body-read-timeout-seconds", "inf"],
            ["--max-connections", "0"],
            ["--rate-limit-burst", "0"],
            ["--shutdown-grace-seconds", "NaN"],
            ["--rate-limit-per-second", "-5"],
            ["--auth-failure-burst", "0"],
            ["--auth-failure-rate-per-second", "-1"],
        ] {
            assert!(serve(&args).is_err(), "{args:?}");
        }
        assert!(
            serve(&[
                "--shutdown-grace-seconds",
                "0",
                "--rate-limit-per-second",
                "2.5"
            ])
            .is_ok()
        );
    }

    #[test]
    fn both_rate_limits_are_off_unless_configured() {
        for limits in [
            match serve(&[]).unwrap().command {
                Some(Command::Serve(args)) => args.limits,
                _ => unreachable!(),
            },
            super::LimitArgs::default(),
        ] {
            assert_eq!(limits.rate_limit(), None);
            assert_eq!(limits.auth_failure_limit(), None);
        }
        let on = match serve(&["--auth-failure-rate-per-second", "0.5"])
            .unwrap()
            .command
        {
            Some(Command::Serve(args)) => args.limits.auth_failure_limit(),
            _ => unreachable!(),
        };
        assert_eq!(
            on,
            Some(super::RateLimit {
                per_second: 0.5,
                burst: 100
            })
        );
    }
}
