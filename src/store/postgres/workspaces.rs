//! SQL for workspaces on PostgreSQL.

use deadpool_postgres::{GenericClient, Object};

use crate::domain::ids::WorkspaceId;
use crate::domain::timestamp::Timestamp;
use crate::store::{StoreResult, Workspace};

/// Advisory lock key held while deciding whether to create the first workspace.
const FIRST_WORKSPACE_LOCK: i64 = 0x6964_6669_7273_7477;

const INSERT: &str = "INSERT INTO workspaces (workspace_id, name, created_at) VALUES ($1, $2, $3)";

fn new_workspace(name: &str) -> Workspace {
    Workspace {
        workspace_id: WorkspaceId::new_random(),
        name: name.to_owned(),
        created_at: Timestamp::now(),
    }
}

async fn insert(client: &impl GenericClient, workspace: &Workspace) -> StoreResult<()> {
    let statement = client.prepare_cached(INSERT).await?;
    client
        .execute(
            &statement,
            &[
                workspace.workspace_id.as_uuid(),
                &workspace.name,
                &workspace.created_at.as_millis(),
            ],
        )
        .await?;
    Ok(())
}

pub async fn create(client: &impl GenericClient, name: &str) -> StoreResult<Workspace> {
    let workspace = new_workspace(name);
    insert(client, &workspace).await?;
    Ok(workspace)
}

/// In one transaction under an advisory lock, so that of several processes asking at
/// once exactly one creates it.
pub async fn create_first(client: &mut Object, name: &str) -> StoreResult<Option<Workspace>> {
    let transaction = client.transaction().await?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&FIRST_WORKSPACE_LOCK])
        .await?;
    if count(&transaction).await? > 0 {
        return Ok(None);
    }
    let workspace = new_workspace(name);
    insert(&transaction, &workspace).await?;
    transaction.commit().await?;
    Ok(Some(workspace))
}

pub async fn find(
    client: &impl GenericClient,
    workspace_id: WorkspaceId,
) -> StoreResult<Option<Workspace>> {
    let statement = client
        .prepare_cached(
            "SELECT workspace_id, name, created_at FROM workspaces WHERE workspace_id = $1",
        )
        .await?;
    let row = client
        .query_opt(&statement, &[workspace_id.as_uuid()])
        .await?;
    Ok(row.map(|row| Workspace {
        workspace_id: WorkspaceId::from_uuid(row.get(0)),
        name: row.get(1),
        created_at: Timestamp::from_millis(row.get(2)),
    }))
}

pub async fn count(client: &impl GenericClient) -> StoreResult<u64> {
    let statement = client
        .prepare_cached("SELECT count(*) FROM workspaces")
        .await?;
    let count: i64 = client.query_one(&statement, &[]).await?.get(0);
    Ok(count.unsigned_abs())
}
