//! Persistence. One [`Store`] trait, implemented by SQLite (the embedded default) and
//! PostgreSQL (for many instances on one database). SQL lives in the implementations only;
//! nothing above this module knows which one runs.

pub mod postgres;
mod rows;
pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::credential::TokenHash;
use crate::domain::ids::{UserIdentityId, WorkspaceId};
use crate::domain::timestamp::Timestamp;
use crate::domain::user_identity::{
    NewUserIdentity, UniqueField, UserIdentity, UserIdentityLookup, UserIdentityPatch,
    UserIdentityRef,
};

pub use self::rows::UserIdentityRows;

/// What can go wrong in a store call.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row addressed does not exist in the caller's workspace.
    #[error("not found")]
    NotFound,
    /// A unique index refused the write; nothing was stored.
    #[error("{} is already taken in this workspace", .0.wire_name())]
    Conflict(UniqueField),
    /// The database cannot be reached or did not answer in time; retrying may succeed.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or a corrupt database.
    #[error("database error: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A workspace row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub created_at: Timestamp,
}

/// A stored, unrevoked API key.
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub workspace_id: WorkspaceId,
    pub secret_hash: TokenHash,
}

/// A stored, unrevoked personal access token and the workspaces it may act in.
#[derive(Debug, Clone)]
pub struct PersonalAccessTokenRecord {
    pub secret_hash: TokenHash,
    pub workspace_ids: Vec<WorkspaceId>,
}

/// Filters of a list; all of them must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Case-insensitive substring of full name, email, phone or id. Never empty.
    pub search: Option<String>,
    pub user_identity_ids: Option<Vec<UserIdentityId>>,
    /// Strictly before this instant.
    pub created_before: Option<Timestamp>,
}

/// A place in the list order, `(created_at, user_identity_id)` ascending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListPosition {
    pub created_at: Timestamp,
    pub user_identity_id: UserIdentityId,
}

impl ListPosition {
    pub fn of(identity: &UserIdentity) -> Self {
        Self::of_row(identity.as_borrowed())
    }

    pub fn of_row(row: UserIdentityRef<'_>) -> Self {
        Self {
            created_at: row.created_at,
            user_identity_id: row.user_identity_id,
        }
    }
}

/// Which slice of a list to read: up to `limit` rows strictly after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<ListPosition>,
    pub limit: usize,
}

/// How busy a connection pool is, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub max_size: usize,
    /// Connections open, in use or idle.
    pub size: usize,
    /// Idle connections ready for a request.
    pub available: usize,
    /// Requests waiting for a connection.
    pub waiting: usize,
}

/// Settings for server databases; the embedded SQLite store ignores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Most connections one process opens.
    pub pool_size: usize,
    /// Longest a statement may run; past it the request answers 503.
    pub statement_timeout: Duration,
    /// Longest to wait for a new connection, or for a free one when the pool is full.
    pub connect_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            statement_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Every persistence operation the service needs. Implementations assign
/// `user_identity_id` and `created_at` on insert, keep uniqueness with unique indexes and
/// make a write durable before its call returns `Ok`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> StoreResult<()>;

    /// The connection pool's occupancy, for stores that pool connections.
    fn pool_status(&self) -> Option<PoolStatus> {
        None
    }

    async fn create_workspace(&self, name: &str) -> StoreResult<Workspace>;

    async fn workspace(&self, workspace_id: WorkspaceId) -> StoreResult<Option<Workspace>>;

    async fn count_workspaces(&self) -> StoreResult<u64>;

    /// Creates a workspace when the database has none; `None` when one exists. Stores that
    /// several processes share make the check and the insert one step, so instances that
    /// start together on an empty database create one workspace between them.
    async fn create_first_workspace(&self, name: &str) -> StoreResult<Option<Workspace>> {
        if self.count_workspaces().await? > 0 {
            return Ok(None);
        }
        self.create_workspace(name).await.map(Some)
    }

    /// Compacts indexes and logs after a bulk load, so the first queries after it run at
    /// full speed. A no-op where the database keeps itself compact.
    async fn compact(&self) -> StoreResult<()> {
        Ok(())
    }

    /// `NotFound` when the workspace does not exist.
    async fn insert_api_key(
        &self,
        workspace_id: WorkspaceId,
        public_id: &str,
        secret_hash: &TokenHash,
    ) -> StoreResult<()>;

    /// `NotFound` when any of the workspaces does not exist; then nothing is stored.
    async fn insert_personal_access_token(
        &self,
        public_id: &str,
        secret_hash: &TokenHash,
        workspace_ids: &[WorkspaceId],
    ) -> StoreResult<()>;

    /// The unrevoked API key with this public id.
    async fn api_key(&self, public_id: &str) -> StoreResult<Option<ApiKeyRecord>>;

    /// The unrevoked personal access token with this public id.
    async fn personal_access_token(
        &self,
        public_id: &str,
    ) -> StoreResult<Option<PersonalAccessTokenRecord>>;

    /// `NotFound` when no unrevoked key has this public id.
    async fn revoke_api_key(&self, public_id: &str) -> StoreResult<()>;

    /// `NotFound` when no unrevoked token has this public id.
    async fn revoke_personal_access_token(&self, public_id: &str) -> StoreResult<()>;

    /// `Conflict` when the key, email (case-insensitively) or phone is taken.
    async fn create_user_identity(
        &self,
        workspace_id: WorkspaceId,
        new: NewUserIdentity,
    ) -> StoreResult<UserIdentity>;

    /// Inserts many identities in large transactions; for seeding and imports. All or
    /// nothing per call.
    async fn bulk_create_user_identities(
        &self,
        workspace_id: WorkspaceId,
        new: Vec<NewUserIdentity>,
    ) -> StoreResult<usize>;

    async fn user_identity(
        &self,
        workspace_id: WorkspaceId,
        lookup: &UserIdentityLookup,
    ) -> StoreResult<Option<UserIdentity>>;

    /// Up to `page.limit` identities matching `filter`, in list order, after `page.after`.
    async fn list_user_identities(
        &self,
        workspace_id: WorkspaceId,
        filter: &ListFilter,
        page: PageRequest,
    ) -> StoreResult<UserIdentityRows>;

    /// `NotFound` when the identity is not in the workspace; `Conflict` as for create.
    async fn update_user_identity(
        &self,
        workspace_id: WorkspaceId,
        user_identity_id: UserIdentityId,
        patch: UserIdentityPatch,
    ) -> StoreResult<()>;

    /// `NotFound` when the identity is not in the workspace.
    async fn delete_user_identity(
        &self,
        workspace_id: WorkspaceId,
        user_identity_id: UserIdentityId,
    ) -> StoreResult<()>;
}

pub type SharedStore = Arc<dyn Store>;

/// Opens the store a database URL names (`sqlite://PATH` or `postgres://...`) with
/// default options and applies pending migrations.
pub async fn connect(url: &str) -> anyhow::Result<SharedStore> {
    connect_with(url, &ConnectOptions::default()).await
}

/// Like [`connect`], with pool and timeout settings for a server database.
pub async fn connect_with(url: &str, options: &ConnectOptions) -> anyhow::Result<SharedStore> {
    if let Some(path) = sqlite::path_from_url(url) {
        return Ok(Arc::new(sqlite::SqliteStore::open(&path)?));
    }
    if postgres::is_postgres_url(url) {
        return Ok(Arc::new(
            postgres::PostgresStore::connect(url, options).await?,
        ));
    }
    anyhow::bail!("unsupported database URL (expected sqlite://PATH or postgres://...)")
}
