//! `admin api-key create | revoke`.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::cli::DatabaseArgs;
use crate::domain::ids::WorkspaceId;
use crate::service::credentials;
use crate::store::{self, StoreError};

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Issue a new API key for a workspace.
    Create(CreateArgs),
    /// Revoke an API key, given in full or by its 12-character id.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(long)]
    workspace: WorkspaceId,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The key (`seam_...`) or its id.
    #[arg(long)]
    api_key: String,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub async fn run(command: ApiKeyCommand) -> anyhow::Result<()> {
    match command {
        ApiKeyCommand::Create(args) => {
            let store = store::connect(&args.database.database).await?;
            let api_key = match credentials::issue_api_key(&store, args.workspace).await {
                Err(StoreError::NotFound) => {
                    anyhow::bail!("workspace {} does not exist", args.workspace)
                }
                other => other.context("issuing the API key")?,
            };
            super::print_json(&json!({ "api_key": api_key }))
        }
        ApiKeyCommand::Revoke(args) => {
            let public_id = credentials::public_id_of(&args.api_key)
                .context("--api-key is neither an API key nor an API key id")?;
            let store = store::connect(&args.database.database).await?;
            match store.revoke_api_key(&public_id).await {
                Err(StoreError::NotFound) => anyhow::bail!("no active API key has id {public_id}"),
                other => other.context("revoking the API key")?,
            }
            super::print_json(&json!({ "revoked": true, "api_key_id": public_id }))
        }
    }
}
