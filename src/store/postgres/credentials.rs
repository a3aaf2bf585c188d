//! SQL for API keys and personal access tokens on PostgreSQL. Only hashes of secrets are
//! stored; the public id finds the row.

use deadpool_postgres::{GenericClient, Object};

use crate::domain::credential::TokenHash;
use crate::domain::ids::WorkspaceId;
use crate::domain::timestamp::Timestamp;
use crate::store::{ApiKeyRecord, PersonalAccessTokenRecord, StoreError, StoreResult};

fn token_hash(bytes: &[u8]) -> StoreResult<TokenHash> {
    TokenHash::from_bytes(bytes)
        .ok_or_else(|| StoreError::Other("a stored secret hash is not 32 bytes".into()))
}

/// `NotFound` (from the foreign key) when the workspace does not exist.
pub async fn insert_api_key(
    client: &impl GenericClient,
    workspace_id: WorkspaceId,
    public_id: &str,
    secret_hash: &TokenHash,
) -> StoreResult<()> {
    let statement = client
        .prepare_cached(
            "INSERT INTO api_keys (public_id, workspace_id, secret_hash, created_at)
             VALUES ($1, $2, $3, $4)",
        )
        .await?;
    client
        .execute(
            &statement,
            &[
                &public_id,
                workspace_id.as_uuid(),
                &secret_hash.as_bytes().as_slice(),
                &Timestamp::now().as_millis(),
            ],
        )
        .await?;
    Ok(())
}

/// The token and its grants in one transaction: a missing workspace stores nothing.
pub async fn insert_personal_access_token(
    client: &mut Object,
    public_id: &str,
    secret_hash: &TokenHash,
    workspace_ids: &[WorkspaceId],
) -> StoreResult<()> {
    let transaction = client.transaction().await?;
    let token = transaction
        .prepare_cached(
            "INSERT INTO personal_access_tokens (public_id, secret_hash, created_at)
             VALUES ($1, $2, $3)",
        )
        .await?;
    transaction
        .execute(
            &token,
            &[
                &public_id,
                &secret_hash.as_bytes().as_slice(),
                &Timestamp::now().as_millis(),
            ],
        )
        .await?;
    let grant = transaction
        .prepare_cached(
            "INSERT INTO personal_access_token_workspaces (public_id, workspace_id)
             SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING",
        )
        .await?;
    let uuids: Vec<uuid::Uuid> = workspace_ids.iter().map(|id| *id.as_uuid()).collect();
    transaction.execute(&grant, &[&public_id, &uuids]).await?;
    transaction.commit().await?;
    Ok(())
}

pub async fn api_key(
    client: &impl GenericClient,
    public_id: &str,
) -> StoreResult<Option<ApiKeyRecord>> {
    let statement = client
        .prepare_cached(
            "SELECT workspace_id, secret_hash FROM api_keys
             WHERE public_id = $1 AND revoked_at IS NULL",
        )
        .await?;
    let Some(row) = client.query_opt(&statement, &[&public_id]).await? else {
        return Ok(None);
    };
    Ok(Some(ApiKeyRecord {
        workspace_id: WorkspaceId::from_uuid(row.get(0)),
        secret_hash: token_hash(row.get(1))?,
    }))
}

pub async fn personal_access_token(
    client: &impl GenericClient,
    public_id: &str,
) -> StoreResult<Option<PersonalAccessTokenRecord>> {
    let statement = client
        .prepare_cached(
            "SELECT t.secret_hash,
                 array(SELECT w.workspace_id FROM personal_access_token_workspaces w
                       WHERE w.public_id = t.public_id ORDER BY w.workspace_id)
             FROM personal_access_tokens t
             WHERE t.public_id = $1 AND t.revoked_at IS NULL",
        )
        .await?;
    let Some(row) = client.query_opt(&statement, &[&public_id]).await? else {
        return Ok(None);
    };
    let workspace_ids: Vec<uuid::Uuid> = row.get(1);
    Ok(Some(PersonalAccessTokenRecord {
        secret_hash: token_hash(row.get(0))?,
        workspace_ids: workspace_ids
            .into_iter()
            .map(WorkspaceId::from_uuid)
            .collect(),
    }))
}

/// Which credential table a revocation touches.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    ApiKey,
    PersonalAccessToken,
}

/// `NotFound` when no unrevoked credential has this public id.
pub async fn revoke(client: &impl GenericClient, kind: Kind, public_id: &str) -> StoreResult<()> {
    let sql = match kind {
        Kind::ApiKey => {
            "UPDATE api_keys SET revoked_at = $1 WHERE public_id = $2 AND revoked_at IS NULL"
        }
        Kind::PersonalAccessToken => {
            "UPDATE personal_access_tokens SET revoked_at = $1
             WHERE public_id = $2 AND revoked_at IS NULL"
        }
    };
    let statement = client.prepare_cached(sql).await?;
    let changed = client
        .execute(&statement, &[&Timestamp::now().as_millis(), &public_id])
        .await?;
    if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
