//! The PostgreSQL store, for any number of server instances on one database: a pool of
//! connections with prepared statements, unique indexes for every uniqueness rule, and
//! nothing kept in the process that another instance would need.

mod batched_inserts;
mod credentials;
mod migrations;
mod shared_reads;
mod user_identities;
mod workspaces;

use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime,
};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use super::{
    ApiKeyRecord, ConnectOptions, ListFilter, PageRequest, PersonalAccessTokenRecord, PoolStatus,
    Store, StoreError, StoreResult, UserIdentityRows, Workspace,
};
use crate::domain::credential::TokenHash;
use crate::domain::ids::{UserIdentityId, WorkspaceId};
use crate::domain::user_identity::{
    NewUserIdentity, UniqueField, UserIdentity, UserIdentityLookup, UserIdentityPatch,
};

/// Whether a URL names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

pub struct PostgresStore {
    pool: Pool,
    /// Connections shared by single-row reads, apart from the pool (none for a small pool).
    reads: Option<shared_reads::SharedReads>,
    /// Creates, gathered into multi-row inserts on pooled connections.
    inserts: batched_inserts::BatchedInserts,
    /// The longest a store call waits for the database once it has a connection.
    deadline: Duration,
}

/// Runs `$body` with a pooled connection bound to `$client`, bounded by the store's
/// deadline. A connection that stops answering (a network partition, a frozen server)
/// then answers `Unavailable` instead of hanging until TCP gives up, and is thrown away
/// rather than returned to the pool. A write cut off this way may still be applied.
macro_rules! on_connection {
    ($store:expr, |$client:ident| $body:expr) => {{
        let $client = $store.client().await?;
        let outcome = tokio::time::timeout($store.deadline, $body).await;
        settle(outcome, $client, $store.deadline)
    }};
    ($store:expr, |mut $client:ident| $body:expr) => {{
        let mut $client = $store.client().await?;
        let outcome = tokio::time::timeout($store.deadline, $body).await;
        settle(outcome, $client, $store.deadline)
    }};
}

impl PostgresStore {
    /// Connects, applies pending migrations (one instance at a time) and builds the pool.
    /// Fails when the database cannot be reached within the connect timeout.
    pub async fn connect(url: &str, options: &ConnectOptions) -> anyhow::Result<Self> {
        let config = client_config(url, options)?;
        let (mut client, connection) = config
            .connect(NoTls)
            .await
            .context("connecting to PostgreSQL")?;
        let connection = tokio::spawn(connection);
        migrations::apply(&mut client)
            .await
            .context("applying PostgreSQL migrations")?;
        drop(client);
        let _ = connection.await;

        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let lanes = shared_read_connections(options.pool_size);
        let pool = Pool::builder(manager)
            .max_size((options.pool_size - lanes).max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .context("building the PostgreSQL connection pool")?;
        // Past the statement timeout the server cancels the statement and says so; a
        // connect timeout more without any answer means the connection is gone.
        let deadline = options.statement_timeout + options.connect_timeout;
        let reads =
            shared_reads::SharedReads::new(config, lanes, options.connect_timeout, deadline);
        let inserts = batched_inserts::BatchedInserts::start(
            pool.clone(),
            insert_batches(options.pool_size),
            deadline,
        );
        Ok(Self {
            pool,
            reads,
            inserts,
            deadline,
        })
    }

    /// A pooled connection; `Unavailable` when none can be had within the connect timeout.
    async fn client(&self) -> StoreResult<Object> {
        self.pool.get().await.map_err(map_pool_error)
    }

    /// The plan PostgreSQL picks for the list query these arguments build, as `EXPLAIN`
    /// prints it. For tests and operators checking that lists and searches use indexes.
    pub async fn explain_list(
        &self,
        workspace_id: WorkspaceId,
        filter: &ListFilter,
        page: PageRequest,
    ) -> StoreResult<String> {
        let client = self.client().await?;
        user_identities::explain_list(&client, workspace_id, filter, page).await
    }
}

/// The result of a statement run on a pooled connection within `deadline` (see
/// [`on_connection!`]); a connection that ran out of time is detached from the pool and
/// closed.
fn settle<T>(
    outcome: Result<StoreResult<T>, tokio::time::error::Elapsed>,
    client: Object,
    deadline: Duration,
) -> StoreResult<T> {
    match outcome {
        Ok(result) => result,
        Err(_) => {
            drop(Object::take(client));
            Err(StoreError::Unavailable(format!(
                "no answer from PostgreSQL within {deadline:?}"
            )))
        }
    }
}

/// How many of the `pool_size` connections single-row reads share (see [`shared_reads`]):
/// one per four, at most two, so that a pool of 1 to 3 keeps every connection for itself.
fn shared_read_connections(pool_size: usize) -> usize {
    (pool_size / 4).min(2)
}

/// How many batches of creates (see [`batched_inserts`]) may hold a pooled connection at
/// once: one per four connections, from one to four, so that creates alone never take the
/// whole pool from lists and updates.
fn insert_batches(pool_size: usize) -> usize {
    (pool_size / 4).clamp(1, 4)
}

/// The driver's settings: the URL's, plus our timeouts and an application name that shows
/// in `pg_stat_activity`.
fn client_config(url: &str, options: &ConnectOptions) -> anyhow::Result<tokio_postgres::Config> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .context("parsing the PostgreSQL URL (expected postgres://USER@HOST/DB)")?;
    let statement_timeout = format!(
        "-c statement_timeout={}",
        options.statement_timeout.as_millis()
    );
    let server_options = match config.get_options() {
        Some(given) if !given.is_empty() => format!("{given} {statement_timeout}"),
        _ => statement_timeout,
    };
    config
        .options(server_options)
        .connect_timeout(options.connect_timeout)
        .keepalives_idle(Duration::from_secs(30));
    if config.get_application_name().is_none() {
        config.application_name("identity-server");
    }
    Ok(config)
}

/// Maps driver errors to store errors. Unique violations name the field their index
/// protects; a missing workspace row (foreign key) is `NotFound`; lost connections,
/// timeouts, shutdowns and exhausted resources are `Unavailable`, so callers answer 503.
fn map_error(error: tokio_postgres::Error) -> StoreError {
    let Some(db) = error.as_db_error() else {
        // Not a server answer: the connection broke, timed out or never opened.
        return StoreError::Unavailable(error.to_string());
    };
    let code = db.code();
    if *code == SqlState::UNIQUE_VIOLATION {
        if let Some(field) = db.constraint().and_then(unique_field) {
            return StoreError::Conflict(field);
        }
    }
    if *code == SqlState::FOREIGN_KEY_VIOLATION {
        return StoreError::NotFound;
    }
    let class = &code.code()[..2];
    let transient = matches!(class, "08" | "40" | "53" | "57" | "58");
    if transient {
        StoreError::Unavailable(describe(db))
    } else {
        StoreError::Other(describe(db))
    }
}

/// Severity, SQLSTATE and message of a server error, for the log. `DETAIL` is left out:
/// it can quote the row's values ("Failing row contains ..."), which are personal data.
fn describe(db: &tokio_postgres::error::DbError) -> String {
    format!("{} {}: {}", db.severity(), db.code().code(), db.message())
}

fn map_pool_error(error: PoolError) -> StoreError {
    match error {
        PoolError::Backend(error) => map_error(error),
        other => StoreError::Unavailable(other.to_string()),
    }
}

fn unique_field(index: &str) -> Option<UniqueField> {
    match index {
        "user_identities_unique_key" => Some(UniqueField::UserIdentityKey),
        "user_identities_unique_email" => Some(UniqueField::EmailAddress),
        "user_identities_unique_phone" => Some(UniqueField::PhoneNumber),
        _ => None,
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        map_error(error)
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        on_connection!(self, |client| async {
            client.simple_query("SELECT 1").await?;
            Ok(())
        })
    }

    /// After a bulk load: moves the new rows out of the trigram indexes' pending lists into
    /// the indexes proper, and refreshes the planner's statistics. Until then every search
    /// reads each pending list from end to end (10,000 pending rows made a 1% search take
    /// 6 ms instead of 0.7 ms), and the planner, which counts that cost, walks the table or
    /// the list order instead of using the trigram indexes. Autovacuum does the same, later.
    async fn compact(&self) -> StoreResult<()> {
        on_connection!(self, |client| async {
            client
                .simple_query(
                    "SELECT gin_clean_pending_list(i.indexrelid)
                     FROM pg_index i
                     JOIN pg_class c ON c.oid = i.indexrelid
                     JOIN pg_am a ON a.oid = c.relam
                     WHERE i.indrelid = 'user_identities'::regclass AND a.amname = 'gin'",
                )
                .await?;
            client.simple_query("ANALYZE user_identities").await?;
            Ok(())
        })
    }

    fn pool_status(&self) -> Option<PoolStatus> {
        let status = self.pool.status();
        Some(PoolStatus {
            max_size: status.max_size,
            size: status.size,
            available: status.available,
            waiting: status.waiting,
        })
    }

    async fn create_workspace(&self, name: &str) -> StoreResult<Workspace> {
        on_connection!(self, |client| workspaces::create(&client, name))
    }

    async fn workspace(&self, workspace_id: WorkspaceId) -> StoreResult<Option<Workspace>> {
        on_connection!(self, |client| workspaces::find(&client, workspace_id))
    }

    async fn count_workspaces(&self) -> StoreResult<u64> {
        on_connection!(self, |client| workspaces::count(&client))
    }

    async fn create_first_workspace(&self, name: &str) -> StoreResult<Option<Workspace>> {
        on_connection!(self, |mut client| workspaces::create_first(
            &mut client,
            name
        ))
    }

    async fn insert_api_key(
        &self,
        workspace_id: WorkspaceId,
        public_id: &str,
        secret_hash: &TokenHash,
    ) -> StoreResult<()> {
        on_connection!(self, |client| credentials::insert_api_key(
            &client,
            workspace_id,
            public_id,
            secret_hash
        ))
    }

    async fn insert_personal_access_token(
        &self,
        public_id: &str,
        secret_hash: &TokenHash,
        workspace_ids: &[WorkspaceId],
    ) -> StoreResult<()> {
        on_connection!(self, |mut client| {
            credentials::insert_personal_access_token(
                &mut client,
                public_id,
                secret_hash,
                workspace_ids,
            )
        })
    }

    async fn api_key(&self, public_id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        on_connection!(self, |client| credentials::api_key(&client, public_id))
    }

    async fn personal_access_token(
        &self,
        public_id: &str,
    ) -> StoreResult<Option<PersonalAccessTokenRecord>> {
        on_connection!(self, |client| credentials::personal_access_token(
            &client, public_id
        ))
    }

    async fn revoke_api_key(&self, public_id: &str) -> StoreResult<()> {
        let kind = credentials::Kind::ApiKey;
        on_connection!(self, |client| credentials::revoke(&client, kind, public_id))
    }

    async fn revoke_personal_access_token(&self, public_id: &str) -> StoreResult<()> {
        let kind = credentials::Kind::PersonalAccessToken;
        on_connection!(self, |client| credentials::revoke(&client, kind, public_id))
    }

    async fn create_user_identity(
        &self,
        workspace_id: WorkspaceId,
        new: NewUserIdentity,
    ) -> StoreResult<UserIdentity> {
        let row = user_identities::new_row(workspace_id, new);
        match self.inserts.insert(row).await? {
            batched_inserts::Outcome::Inserted(row) => Ok(row),
            batched_inserts::Outcome::Refused(row) => {
                on_connection!(self, |client| user_identities::insert(&client, row))
            }
        }
    }

    async fn bulk_create_user_identities(
        &self,
        workspace_id: WorkspaceId,
        new: Vec<NewUserIdentity>,
    ) -> StoreResult<usize> {
        on_connection!(self, |client| user_identities::insert_many(
            &client,
            workspace_id,
            new
        ))
    }

    async fn user_identity(
        &self,
        workspace_id: WorkspaceId,
        lookup: &UserIdentityLookup,
    ) -> StoreResult<Option<UserIdentity>> {
        if let Some(reads) = &self.reads {
            return reads.user_identity(workspace_id, lookup).await;
        }
        on_connection!(self, |client| user_identities::find(
            &client,
            workspace_id,
            lookup
        ))
    }

    async fn list_user_identities(
        &self,
        workspace_id: WorkspaceId,
        filter: &ListFilter,
        page: PageRequest,
    ) -> StoreResult<UserIdentityRows> {
        on_connection!(self, |client| user_identities::list(
            &client,
            workspace_id,
            filter,
            page
        ))
    }

    async fn update_user_identity(
        &self,
        workspace_id: WorkspaceId,
        user_identity_id: UserIdentityId,
        patch: UserIdentityPatch,
    ) -> StoreResult<()> {
        on_connection!(self, |client| user_identities::update(
            &client,
            workspace_id,
            user_identity_id,
            &patch
        ))
    }

    async fn delete_user_identity(
        &self,
        workspace_id: WorkspaceId,
        user_identity_id: UserIdentityId,
    ) -> StoreResult<()> {
        on_connection!(self, |client| user_identities::delete(
            &client,
            workspace_id,
            user_identity_id
        ))
    }
}
