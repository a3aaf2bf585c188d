//! The embedded SQLite store: one writer thread with group commit (see [`writer`]) and a
//! pool of reader connections, on a WAL database with `synchronous = FULL`.

mod clock;
mod migrations;
mod search_index;
mod user_identities;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};

use self::clock::IdClock;
use self::writer::Writer;
use super::{
    ApiKeyRecord, ListFilter, PageRequest, PersonalAccessTokenRecord, Store, StoreError,
    StoreResult, UserIdentityRows, Workspace,
};
use crate::domain::credential::TokenHash;
use crate::domain::ids::{UserIdentityId, WorkspaceId};
use crate::domain::timestamp::Timestamp;
use crate::domain::user_identity::{
    NewUserIdentity, UniqueField, UserIdentity, UserIdentityLookup, UserIdentityPatch,
};

/// Reader connections kept open between requests.
const IDLE_READERS: usize = 16;

/// The path a `sqlite://PATH` (or `sqlite:PATH`) URL names, if it is one.
pub fn path_from_url(url: &str) -> Option<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(PathBuf::from(path))
}

pub struct SqliteStore {
    path: PathBuf,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and its directory, and migrates it.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        use anyhow::Context as _;

        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating the directory {}", parent.display()))?;
        }
        let mut conn = open_connection(path, false)
            .with_context(|| format!("opening the SQLite database {}", path.display()))?;
        migrations::apply(&mut conn).context("applying SQLite migrations")?;
        search_index::prepare(&conn).context("preparing the search index's change log")?;
        let last_id = conn
            .query_row(
                "SELECT user_identity_id FROM user_identities ORDER BY user_identity_id DESC LIMIT 1",
                [],
                |row| row.get::<_, String>(0),
            )
            .optional()?
            .and_then(|text| uuid::Uuid::parse_str(&text).ok());
        let writer = Writer::spawn(conn, IdClock::resume_after(last_id))
            .context("starting the SQLite writer thread")?;
        Ok(Self {
            path: path.to_owned(),
            writer,
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Runs a read on a pooled connection. Reads are short indexed lookups, so they run on
    /// the calling thread rather than paying for a hop to a blocking pool.
    fn read<T>(&self, op: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let pooled = self
            .readers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => open_connection(&self.path, true).map_err(map_error)?,
        };
        let outcome = op(&conn).map_err(map_error);
        let mut readers = self
            .readers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if readers.len() < IDLE_READERS {
            readers.push(conn);
        }
        outcome
    }
}

fn open_connection(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(64);
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    // FULL: a commit is on disk (the WAL is fsynced) before the writer acknowledges it.
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    register_contains_folded(&conn)?;
    Ok(conn)
}

/// `contains_folded(text, needle)`: whether `text`, lowercased, contains `needle` (already
/// lowercased), for the searches the trigram index cannot answer. SQLite's own `lower()`
/// folds ASCII only; this folds like the trigram index and PostgreSQL's `lower()`. Those
/// searches read every row of the workspace, so an ASCII value, the common case, is
/// compared in place instead of being copied into a lowercased string first.
fn register_contains_folded(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::ValueRef;

    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("contains_folded", 2, flags, |context| {
        Ok(match (context.get_raw(0), context.get_raw(1)) {
            (ValueRef::Text(text), ValueRef::Text(needle)) => contains_folded(text, needle),
            _ => false,
        })
    })
}

fn contains_folded(text: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    if text.is_ascii() {
        // Lowercasing ASCII gives ASCII, so a needle with anything else cannot match.
        return needle.is_ascii()
            && text
                .windows(needle.len())
                .any(|window| window.eq_ignore_ascii_case(needle));
    }
    let needle = String::from_utf8_lossy(needle);
    String::from_utf8_lossy(text)
        .to_lowercase()
        .contains(needle.as_ref())
}

/// Maps SQLite errors to store errors; unique violations name the field they protect.
fn map_error(error: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, message) = &error {
        let message = message.as_deref().unwrap_or_default();
        match failure.code {
            ErrorCode::ConstraintViolation if message.starts_with("UNIQUE") => {
                if let Some(field) = unique_field(message) {
                    return StoreError::Conflict(field);
                }
            }
            // The file cannot be reached or written just now (a full disk, an I/O error, a
            // file made read-only): retrying may succeed once an operator steps in.
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure
            | ErrorCode::ReadOnly => {
                return StoreError::Unavailable(error.to_string());
            }
            _ => {}
        }
    }
    StoreError::Other(error.to_string())
}

fn unique_field(message: &str) -> Option<UniqueField> {
    if message.contains("user_identity_key") || message.contains("user_identities_unique_key") {
        Some(UniqueField::UserIdentityKey)
    } else if message.contains("user_identities_unique_email") {
        Some(UniqueField::EmailAddress)
    } else if message.contains("phone_number") || message.contains("user_identities_unique_phone") {
        Some(UniqueField::PhoneNumber)
    } else {
        None
    }
}

fn workspace_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Workspace> {
    Ok(Workspace {
        workspace_id: parse_column(row, 0)?,
        name: row.get(1)?,
        created_at: Timestamp::from_millis(row.get(2)?),
    })
}

/// Reads a column holding an id written by this store.
fn parse_column<T: std::str::FromStr>(
    row: &rusqlite::Row<'_>,
    index: usize,
) -> rusqlite::Result<T> {
    let text = row.get_ref(index)?.as_str()?;
    text.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!("column {index} does not hold a valid id").into(),
        )
    })
}

fn token_hash(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<TokenHash> {
    let bytes: Vec<u8> = row.get(index)?;
    TokenHash::from_bytes(&bytes).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Blob,
            "a stored secret hash is not 32 bytes".into(),
        )
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())))
    }

    async fn create_workspace(&self, name: &str) -> StoreResult<Workspace> {
        let workspace = Workspace {
            workspace_id: WorkspaceId::new_random(),
            name: name.to_owned(),
            created_at: Timestamp::now(),
        };
        let row = workspace.clone();
        self.writer
            .write(move |context| {
                context
                    .conn
                    .prepare_cached(
                        "INSERT INTO workspaces (workspace_id, name, created_at) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![
                        row.workspace_id.to_string(),
                        row.name,
                        row.created_at.as_millis()
                    ])?;
                Ok(())
            })
            .await?;
        Ok(workspace)
    }

    async fn workspace(&self, workspace_id: WorkspaceId) -> StoreResult<Option<Workspace>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT workspace_id, name, created_at FROM workspaces WHERE workspace_id = ?1",
            )?
            .query_row([workspace_id.to_string()], workspace_from_row)
            .optional()
        })
    }

    async fn count_workspaces(&self) -> StoreResult<u64> {
        self.read(|conn| conn.query_row("SELECT count(*) FROM workspaces", [], |row| row.get(0)))
    }

    async fn insert_api_key(
        &self,
        workspace_id: WorkspaceId,
        public_id: &str,
        secret_hash: &TokenHash,
    ) -> StoreResult<()> {
        let (public_id, hash) = (public_id.to_owned(), secret_hash.as_bytes().to_vec());
        self.writer
            .write(move |context| {
                require_workspace(context.conn, workspace_id)?;
                context
                    .conn
                    .prepare_cached(
                        "INSERT INTO api_keys (public_id, workspace_id, secret_hash, created_at)
                         VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![
                        public_id,
                        workspace_id.to_string(),
                        hash,
                        Timestamp::now().as_millis()
                    ])?;
                Ok(())
            })
            .await
    }

    async fn insert_personal_access_token(
        &self,
        public_id: &str,
        secret_hash: &TokenHash,
        workspace_ids: &[WorkspaceId],
    ) -> StoreResult<()> {
        let (public_id, hash) = (public_id.to_owned(), secret_hash.as_bytes().to_vec());
        let workspace_ids = workspace_ids.to_vec();
        self.writer
            .write(move |context| {
                let conn = context.conn;
                conn.prepare_cached(
                    "INSERT INTO personal_access_tokens (public_id, secret_hash, created_at)
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![public_id, hash, Timestamp::now().as_millis()])?;
                for workspace_id in workspace_ids {
                    require_workspace(conn, workspace_id)?;
                    conn.prepare_cached(
                        "INSERT OR IGNORE INTO personal_access_token_workspaces (public_id, workspace_id)
                         VALUES (?1, ?2)",
                    )?
                    .execute(params![public_id, workspace_id.to_string()])?;
                }
                Ok(())
            })
            .await
    }

    async fn api_key(&self, public_id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT workspace_id, secret_hash FROM api_keys
                 WHERE public_id = ?1 AND revoked_at IS NULL",
            )?
            .query_row([public_id], |row| {
                Ok(ApiKeyRecord {
                    workspace_id: parse_column(row, 0)?,
                    secret_hash: token_hash(row, 1)?,
                })
            })
            .optional()
        })
    }

    async fn personal_access_token(
        &self,
        public_id: &str,
    ) -> StoreResult<Option<PersonalAccessTokenRecord>> {
        self.read(|conn| {
            let Some(secret_hash) = conn
                .prepare_cached(
                    "SELECT secret_hash FROM personal_access_tokens
                     WHERE public_id = ?1 AND revoked_at IS NULL",
                )?
                .query_row([public_id], |row| token_hash(row, 0))
                .optional()?
            else {
                return Ok(None);
            };
            let workspace_ids = conn
                .prepare_cached(
                    "SELECT workspace_id FROM personal_access_token_workspaces WHERE public_id = ?1",
                )?
                .query_map([public_id], |row| parse_column(row, 0))?
                .collect::<rusqlite::Result<Vec<WorkspaceId>>>()?;
            Ok(Some(PersonalAccessTokenRecord { secret_hash, workspace_ids }))
        })
    }

    async fn revoke_api_key(&self, public_id: &str) -> StoreResult<()> {
        let public_id = public_id.to_owned();
        self.writer
            .write(move |context| revoke(context.conn, "api_keys", &public_id))
            .await
    }

    async fn revoke_personal_access_token(&self, public_id: &str) -> StoreResult<()> {
        let public_id = public_id.to_owned();
        self.writer
            .write(move |context| revoke(context.conn, "personal_access_tokens", &public_id))
            .await
    }

    /// Merges the search index into one segment (bulk loads leave many, and every search
    /// reads each one), then empties the WAL into the database file.
    async fn compact(&self) -> StoreResult<()> {
        self.writer
            .write(|context| {
                context.conn.execute(
                    "INSERT INTO user_identities_search (user_identities_search) VALUES ('optimize')",
                    [],
                )?;
                Ok(())
            })
            .await?;
        let conn = open_connection(&self.path, false)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    async fn create_user_identity(
        &self,
        workspace_id: WorkspaceId,
        new: NewUserIdentity,
    ) -> StoreResult<UserIdentity> {
        self.writer
            .write(move |context| user_identities::insert(context, workspace_id, new))
            .await
    }

    async fn bulk_create_user_identities(
        &self,
        workspace_id: WorkspaceId,
        new: Vec<NewUserIdentity>,
    ) -> StoreResult<usize> {
        self.writer
            .write(move |context| {
                let count = new.len();
                for identity in new {
                    user_identities::insert(context, workspace_id, identity)?;
                }
                Ok(count)
            })
            .await
    }

    async fn user_identity(
        &self,
        workspace_id: WorkspaceId,
        lookup: &UserIdentityLookup,
    ) -> StoreResult<Option<UserIdentity>> {
        self.read(|conn| user_identities::find(conn, workspace_id, lookup))
    }

    async fn list_user_identities(
        &self,
        workspace_id: WorkspaceId,
        filter: &ListFilter,
        page: PageRequest,
    ) -> StoreResult<UserIdentityRows> {
        self.read(|conn| user_identities::list(conn, workspace_id, filter, page))
    }

    async fn update_user_identity(
        &self,
        workspace_id: WorkspaceId,
        user_identity_id: UserIdentityId,
        patch: UserIdentityPatch,
    ) -> StoreResult<()> {
        self.writer
            .write(move |context| {
                user_identities::update(context.conn, workspace_id, user_identity_id, &patch)
            })
            .await
    }

    async fn delete_user_identity(
        &self,
        workspace_id: WorkspaceId,
        user_identity_id: UserIdentityId,
    ) -> StoreResult<()> {
        self.writer
            .write(move |context| {
                user_identities::delete(context.conn, workspace_id, user_identity_id)
            })
            .await
    }
}

fn require_workspace(conn: &Connection, workspace_id: WorkspaceId) -> StoreResult<()> {
    conn.prepare_cached("SELECT 1 FROM workspaces WHERE workspace_id = ?1")?
        .query_row([workspace_id.to_string()], |_| Ok(()))
        .optional()?
        .ok_or(StoreError::NotFound)
}

fn revoke(conn: &Connection, table: &str, public_id: &str) -> StoreResult<()> {
    let sql =
        format!("UPDATE {table} SET revoked_at = ?1 WHERE public_id = ?2 AND revoked_at IS NULL");
    let changed = conn.execute(&sql, params![Timestamp::now().as_millis(), public_id])?;
    if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        map_error(error)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{contains_folded, map_error};
    use crate::store::StoreError;

    #[test]
    fn a_full_disk_or_failing_file_is_unavailable_not_an_internal_error() {
        for code in [
            rusqlite::ffi::SQLITE_FULL,
            rusqlite::ffi::SQLITE_IOERR,
            rusqlite::ffi::SQLITE_READONLY,
            rusqlite::ffi::SQLITE_BUSY,
        ] {
            let error = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
            assert!(
                matches!(map_error(error), StoreError::Unavailable(_)),
                "code {code}"
            );
        }
        let corrupt = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            None,
        );
        assert!(matches!(map_error(corrupt), StoreError::Other(_)));
    }

    proptest! {
        /// The ASCII shortcut answers exactly what lowercasing the whole value would.
        #[test]
        fn contains_folded_is_lowercase_then_contains(
            text in "[a-zA-Z0-9 @.+_\u{212A}İÉé-]{0,24}",
            needle in "[a-zA-Z0-9 @.+_\u{212A}İÉé-]{0,3}",
        ) {
            let needle = needle.to_lowercase();
            prop_assert_eq!(
                contains_folded(text.as_bytes(), needle.as_bytes()),
                text.to_lowercase().contains(&needle)
            );
        }
    }

    #[test]
    fn contains_folded_folds_beyond_ascii() {
        assert!(contains_folded("ÉLODIE".as_bytes(), "él".as_bytes()));
        // The Kelvin sign lowercases to an ASCII k.
        assert!(contains_folded("\u{212A}elvin".as_bytes(), "k".as_bytes()));
        assert!(contains_folded("Kelvin".as_bytes(), "k".as_bytes()));
        assert!(!contains_folded("Elodie".as_bytes(), "é".as_bytes()));
        assert!(contains_folded(b"Jean", b""));
    }
}
