//! The binary's commands. With no command, `identity-server` serves with defaults.

pub mod admin;
pub mod serve;

use clap::{Args, Parser, Subcommand};

use crate::telemetry::LogFormat;

pub const DEFAULT_DATABASE: &str = "sqlite://data/identity-server.db";

#[derive(Debug, Parser)]
#[command(
    name = "identity-server",
    version,
    about = "A self-hostable, Seam-compatible user identity server"
)]
pub struct Cli {
    /// Log output format.
    #[arg(
        long,
        env = "IDENTITY_SERVER_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API.
    Serve(serve::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Manage workspaces and credentials; each command prints one JSON object.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, env = "IDENTITY_SERVER_DATABASE", default_value = DEFAULT_DATABASE)]
    pub database: String,
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => serve::run(serve::ServeArgs::default()).await,
        Some(Command::Serve(args)) => serve::run(args).await,
        Some(Command::Migrate(args)) => {
            crate::store::connect(&args.database).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Some(Command::Admin(command)) => admin::run(command).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
