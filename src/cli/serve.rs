//! `serve`: bind, bootstrap a first workspace on an empty database, serve until SIGTERM or
//! Ctrl-C, then finish the requests in flight.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tokio::net::TcpListener;

use super::{DEFAULT_DATABASE, DatabaseArgs};
use crate::app::{AppConfig, build_app};
use crate::service::credentials;
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
        credential_cache_ttl: Duration::from_secs_f64(args.credential_cache_seconds.max(0.0)),
        public_url: args.public_url,
    };
    serve(listener, store, &config).await
}

/// Serves on an already bound listener until a shutdown signal.
pub async fn serve(
    listener: TcpListener,
    store: SharedStore,
    config: &AppConfig,
) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    tracing::info!(%address, "identity-server listening");
    axum::serve(listener, build_app(store, config))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;
    tracing::info!("identity-server stopped");
    Ok(())
}

/// On a database without any workspace, creates one and prints its API key, once.
async fn bootstrap(store: &SharedStore) -> anyhow::Result<()> {
    if store.count_workspaces().await? > 0 {
        return Ok(());
    }
    let (workspace, api_key) = credentials::create_workspace(store, "Default workspace").await?;
    println!(
        "Created workspace {} (\"{}\") on this new database.\n\
         Its API key is shown only this once; keep it safe:\n\n    {api_key}\n",
        workspace.workspace_id, workspace.name
    );
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}
