//! `admin`: commands that scripts rely on. Each prints exactly one JSON object on stdout
//! and works while a server runs on the same database.

mod api_key;
mod pat;
mod seed;
mod workspace;

use clap::Subcommand;
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Workspaces.
    #[command(subcommand)]
    Workspace(workspace::WorkspaceCommand),
    /// API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(api_key::ApiKeyCommand),
    /// Personal access tokens.
    #[command(subcommand)]
    Pat(pat::PatCommand),
    /// Bulk-insert generated identities into a workspace, for benchmarks and trials.
    Seed(seed::SeedArgs),
}

pub async fn run(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Workspace(command) => workspace::run(command).await,
        AdminCommand::ApiKey(command) => api_key::run(command).await,
        AdminCommand::Pat(command) => pat::run(command).await,
        AdminCommand::Seed(args) => seed::run(args).await,
    }
}

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}
