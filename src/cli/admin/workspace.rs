//! `admin workspace create`.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::cli::DatabaseArgs;
use crate::service::credentials;
use crate::store;

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace and its first API key.
    Create(CreateArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(long)]
    name: String,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub async fn run(command: WorkspaceCommand) -> anyhow::Result<()> {
    let WorkspaceCommand::Create(args) = command;
    anyhow::ensure!(!args.name.trim().is_empty(), "--name must not be empty");
    let store = store::connect(&args.database.database).await?;
    let (workspace, api_key) = credentials::create_workspace(&store, &args.name)
        .await
        .context("creating the workspace")?;
    super::print_json(&json!({
        "workspace_id": workspace.workspace_id,
        "name": workspace.name,
        "api_key": api_key,
    }))
}
