//! `admin pat create | revoke`: personal access tokens, used with the `seam-workspace`
//! header.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::cli::DatabaseArgs;
use crate::domain::ids::WorkspaceId;
use crate::service::credentials;
use crate::store::{self, StoreError};

#[derive(Debug, Subcommand)]
pub enum PatCommand {
    /// Issue a personal access token usable in each listed workspace.
    Create(CreateArgs),
    /// Revoke a personal access token, given in full or by its 12-character id.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A workspace the token may act in; repeat for several.
    #[arg(long = "workspace", required = true)]
    workspaces: Vec<WorkspaceId>,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The token (`seam_at...`) or its id.
    #[arg(long)]
    token: String,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub async fn run(command: PatCommand) -> anyhow::Result<()> {
    match command {
        PatCommand::Create(args) => {
            let store = store::connect(&args.database.database).await?;
            let token =
                match credentials::issue_personal_access_token(&store, &args.workspaces).await {
                    Err(StoreError::NotFound) => anyhow::bail!("a listed workspace does not exist"),
                    other => other.context("issuing the personal access token")?,
                };
            super::print_json(&json!({ "personal_access_token": token }))
        }
        PatCommand::Revoke(args) => {
            let public_id = credentials::public_id_of(&args.token)
                .context("--token is neither a personal access token nor its id")?;
            let store = store::connect(&args.database.database).await?;
            match store.revoke_personal_access_token(&public_id).await {
                Err(StoreError::NotFound) => {
                    anyhow::bail!("no active personal access token has id {public_id}")
                }
                other => other.context("revoking the personal access token")?,
            }
            super::print_json(&json!({ "revoked": true, "personal_access_token_id": public_id }))
        }
    }
}
