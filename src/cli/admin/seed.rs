//! `admin seed`: bulk-inserts generated identities through the store's bulk path.
//! Row `i` has key `seed-<i>`, email `seed<i>@bench.example`, phone `+1555<i, 7 digits>`
//! and full name `Bench Person <i> c<i % 100, 2 digits>x`, so searching `c42x` matches 1%.

use anyhow::Context as _;
use clap::Args;
use serde_json::json;

use crate::cli::DatabaseArgs;
use crate::domain::contact::{EmailAddress, PhoneNumber};
use crate::domain::ids::WorkspaceId;
use crate::domain::user_identity::NewUserIdentity;
use crate::store;

const BATCH: u64 = 10_000;

#[derive(Debug, Args)]
pub struct SeedArgs {
    #[arg(long)]
    workspace: WorkspaceId,
    /// How many identities to insert.
    #[arg(long)]
    count: u64,
    /// First row number, so that several seeds into one workspace do not collide.
    #[arg(long, default_value_t = 0)]
    start: u64,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.start + args.count <= 10_000_000,
        "seeds are numbered below 10,000,000"
    );
    let store = store::connect(&args.database.database).await?;
    let end = args.start + args.count;
    let mut next = args.start;
    while next < end {
        let batch_end = (next + BATCH).min(end);
        let rows = (next..batch_end)
            .map(seed_row)
            .collect::<anyhow::Result<Vec<_>>>()?;
        store
            .bulk_create_user_identities(args.workspace, rows)
            .await
            .with_context(|| format!("inserting seed rows {next}..{batch_end}"))?;
        next = batch_end;
    }
    store
        .compact()
        .await
        .context("compacting the database after seeding")?;
    super::print_json(&json!({ "inserted": args.count }))
}

fn seed_row(i: u64) -> anyhow::Result<NewUserIdentity> {
    Ok(NewUserIdentity {
        user_identity_key: Some(format!("seed-{i}")),
        email_address: Some(EmailAddress::parse(&format!("seed{i}@bench.example"))?),
        phone_number: Some(PhoneNumber::parse(&format!("+1555{i:07}"))?),
        full_name: Some(format!("Bench Person {i} c{:02}x", i % 100)),
    })
}
