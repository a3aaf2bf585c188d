//! SQL for user identities on PostgreSQL.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::domain::ids::{UserIdentityId, WorkspaceId};
use crate::domain::timestamp::Timestamp;
use crate::domain::user_identity::{
    FieldUpdate, NewUserIdentity, UniqueField, UserIdentity, UserIdentityLookup, UserIdentityPatch,
    UserIdentityRef,
};
use crate::store::{ListFilter, PageRequest, StoreError, StoreResult, UserIdentityRows};

/// The columns [`borrowed_row`] reads, in its order.
macro_rules! columns {
    () => {
        "u.user_identity_id, u.workspace_id, u.user_identity_key, u.email_address, \
         u.phone_number, u.full_name, u.created_at"
    };
}
const COLUMNS: &str = columns!();

/// The start of a multi-row insert from the arrays of [`Columns::params`]; the caller names
/// the `unnest` and says what to do with conflicts.
macro_rules! insert_columns {
    () => {
        "INSERT INTO user_identities (user_identity_id, workspace_id, user_identity_key,
             email_address, phone_number, full_name, created_at)
         SELECT id, workspace, key, email, phone, name, created
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],
                     $6::text[], $7::int8[])"
    };
}

/// One identity by id: `$1` the id, `$2` the workspace.
pub const FIND_BY_ID: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM user_identities u WHERE u.user_identity_id = $1 AND u.workspace_id = $2"
);

/// One identity by key: `$1` the workspace, `$2` the key.
pub const FIND_BY_KEY: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM user_identities u WHERE u.workspace_id = $1 AND u.user_identity_key = $2"
);

type Param = Box<dyn ToSql + Sync + Send>;

/// What joins the searched values in `user_identity_search_text` (migration
/// `20261204080000_one_search_index`): `chr(1)`.
const SEARCH_SEPARATOR: char = '\u{1}';

/// When a write collides on several unique fields, the one reported. SQLite checks its
/// unique indexes newest first, so this is its order; PostgreSQL checks in creation order
/// and reports the first, so [`name_conflict`] looks again to report the same field.
const CONFLICT_PRECEDENCE: [UniqueField; 3] = [
    UniqueField::PhoneNumber,
    UniqueField::EmailAddress,
    UniqueField::UserIdentityKey,
];

/// Reads a row of [`COLUMNS`], borrowing its text from the row.
fn borrowed_row(row: &Row) -> UserIdentityRef<'_> {
    UserIdentityRef {
        user_identity_id: UserIdentityId::from_uuid(row.get(0)),
        workspace_id: WorkspaceId::from_uuid(row.get(1)),
        user_identity_key: row.get(2),
        email_address: row.get(3),
        phone_number: row.get(4),
        full_name: row.get(5),
        created_at: Timestamp::from_millis(row.get(6)),
    }
}

pub fn from_row(row: &Row) -> UserIdentity {
    borrowed_row(row).to_identity()
}

/// A new id and its creation time. The id is a UUIDv7, ordered within this process, and
/// `created_at` is the millisecond it carries, so `(created_at, id)` order is id order.
fn new_id() -> (UserIdentityId, Timestamp) {
    let id = Uuid::now_v7();
    let millis = (id.as_u128() >> 80) as i64;
    (
        UserIdentityId::from_uuid(id),
        Timestamp::from_millis(millis),
    )
}

/// The identity a create stores: `new` with a fresh id and creation time.
pub fn new_row(workspace_id: WorkspaceId, new: NewUserIdentity) -> UserIdentity {
    let (user_identity_id, created_at) = new_id();
    new.into_identity(user_identity_id, workspace_id, created_at)
}

/// One insert; the unique indexes refuse a duplicate key, email or phone, and the error
/// names the field as [`CONFLICT_PRECEDENCE`] orders them.
pub async fn insert(
    client: &impl GenericClient,
    identity: UserIdentity,
) -> StoreResult<UserIdentity> {
    let workspace_id = identity.workspace_id;
    let statement = client
        .prepare_cached(
            "INSERT INTO user_identities (user_identity_id, workspace_id, user_identity_key,
                 email_address, phone_number, full_name, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?;
    let inserted = client
        .execute(
            &statement,
            &[
                identity.user_identity_id.as_uuid(),
                workspace_id.as_uuid(),
                &identity.user_identity_key,
                &identity.email_address,
                &identity.phone_number,
                &identity.full_name,
                &identity.created_at.as_millis(),
            ],
        )
        .await;
    match inserted.map_err(StoreError::from) {
        Ok(_) => Ok(identity),
        Err(StoreError::Conflict(field)) => {
            let taken = Taken {
                key: identity.user_identity_key.as_deref(),
                email: identity.email_address.as_deref(),
                phone: identity.phone_number.as_deref(),
            };
            Err(name_conflict(client, workspace_id, None, taken, field).await)
        }
        Err(error) => Err(error),
    }
}

/// Inserts the rows in one statement, skipping each row a unique index refuses (another
/// identity or an earlier row of `rows` holds its key, email or phone), and answers the ids
/// of the rows inserted. The statement commits every row it inserts, or none.
pub async fn insert_unless_taken(
    client: &impl GenericClient,
    rows: &[&UserIdentity],
) -> StoreResult<Vec<Uuid>> {
    let columns = Columns::of(rows.iter().copied());
    let statement = client
        .prepare_cached(concat!(
            insert_columns!(),
            " WITH ORDINALITY AS batch (id, workspace, key, email, phone, name, created, n)
             ORDER BY n
             ON CONFLICT DO NOTHING
             RETURNING user_identity_id"
        ))
        .await?;
    let inserted = client.query(&statement, &columns.params()).await?;
    Ok(inserted.iter().map(|row| row.get(0)).collect())
}

/// The values a refused write tried to take.
struct Taken<'a> {
    key: Option<&'a str>,
    email: Option<&'a str>,
    phone: Option<&'a str>,
}

/// The conflict to report for a write the index named `reported` refused: the first
/// field in [`CONFLICT_PRECEDENCE`] that another identity holds.
async fn name_conflict(
    client: &impl GenericClient,
    workspace_id: WorkspaceId,
    writer: Option<UserIdentityId>,
    taken: Taken<'_>,
    reported: UniqueField,
) -> StoreError {
    let lookup = async {
        let statement = client
            .prepare_cached(
                "SELECT coalesce(bool_or(phone_number = $3), false),
                     coalesce(bool_or(lower(email_address) = lower($4)), false),
                     coalesce(bool_or(user_identity_key = $5), false)
                 FROM user_identities
                 WHERE workspace_id = $1 AND user_identity_id IS DISTINCT FROM $2
                     AND (phone_number = $3 OR lower(email_address) = lower($4)
                          OR user_identity_key = $5)",
            )
            .await?;
        let writer = writer.map(|id| *id.as_uuid());
        let row = client
            .query_one(
                &statement,
                &[
                    workspace_id.as_uuid(),
                    &writer,
                    &taken.phone,
                    &taken.email,
                    &taken.key,
                ],
            )
            .await?;
        Ok::<_, tokio_postgres::Error>([row.get::<_, bool>(0), row.get(1), row.get(2)])
    };
    let field = match lookup.await {
        Ok(held) => CONFLICT_PRECEDENCE
            .into_iter()
            .zip(held)
            .find_map(|(field, held)| held.then_some(field))
            .unwrap_or(reported),
        Err(_) => reported,
    };
    StoreError::Conflict(field)
}

/// Inserts every row in one statement, so the call is all or nothing.
pub async fn insert_many(
    client: &impl GenericClient,
    workspace_id: WorkspaceId,
    new: Vec<NewUserIdentity>,
) -> StoreResult<usize> {
    let rows: Vec<UserIdentity> = new
        .into_iter()
        .map(|identity| new_row(workspace_id, identity))
        .collect();
    let columns = Columns::of(rows.iter());
    let statement = client
        .prepare_cached(concat!(
            insert_columns!(),
            " AS batch (id, workspace, key, email, phone, name, created)"
        ))
        .await?;
    client.execute(&statement, &columns.params()).await?;
    Ok(rows.len())
}

/// Identities as one array per column, in the order of the multi-row inserts' `unnest`.
struct Columns<'a> {
    ids: Vec<Uuid>,
    workspaces: Vec<Uuid>,
    keys: Vec<Option<&'a str>>,
    emails: Vec<Option<&'a str>>,
    phones: Vec<Option<&'a str>>,
    names: Vec<Option<&'a str>>,
    created: Vec<i64>,
}

impl<'a> Columns<'a> {
    fn of(rows: impl ExactSizeIterator<Item = &'a UserIdentity>) -> Self {
        let mut columns = Self {
            ids: Vec::with_capacity(rows.len()),
            workspaces: Vec::with_capacity(rows.len()),
            keys: Vec::with_capacity(rows.len()),
            emails: Vec::with_capacity(rows.len()),
            phones: Vec::with_capacity(rows.len()),
            names: Vec::with_capacity(rows.len()),
            created: Vec::with_capacity(rows.len()),
        };
        for row in rows {
            columns.ids.push(*row.user_identity_id.as_uuid());
            columns.workspaces.push(*row.workspace_id.as_uuid());
            columns.keys.push(row.user_identity_key.as_deref());
            columns.emails.push(row.email_address.as_deref());
            columns.phones.push(row.phone_number.as_deref());
            columns.names.push(row.full_name.as_deref());
            columns.created.push(row.created_at.as_millis());
        }
        columns
    }

    /// `$1` to `$7`: ids, workspaces, keys, emails, phones, names, creation times.
    fn params(&self) -> [&(dyn ToSql + Sync); 7] {
        [
            &self.ids,
            &self.workspaces,
            &self.keys,
            &self.emails,
            &self.phones,
            &self.names,
            &self.created,
        ]
    }
}

pub async fn find(
    client: &impl GenericClient,
    workspace_id: WorkspaceId,
    lookup: &UserIdentityLookup,
) -> StoreResult<Option<UserIdentity>> {
    let row = match lookup {
        UserIdentityLookup::Id(id) => {
            let statement = client.prepare_cached(FIND_BY_ID).await?;
            client
                .query_opt(&statement, &[id.as_uuid(), workspace_id.as_uuid()])
                .await?
        }
        UserIdentityLookup::Key(key) => {
            let statement = client.prepare_cached(FIND_BY_KEY).await?;
            client
                .query_opt(&statement, &[workspace_id.as_uuid(), key])
                .await?
        }
    };
    Ok(row.as_ref().map(from_row))
}

/// The text and parameters of one list query. It reads the workspace in
/// `(created_at, user_identity_id)` order from the cursor: either along the
/// `user_identities_list_order` index, or, for a selective search, from the trigram
/// indexes followed by a sort of the matches; the planner picks whichever is cheaper.
fn list_query(
    workspace_id: WorkspaceId,
    filter: &ListFilter,
    page: PageRequest,
) -> (String, Vec<Param>) {
    let mut values: Vec<Param> = Vec::with_capacity(8);
    let mut bind = |value: Param| {
        values.push(value);
        format!("${}", values.len())
    };
    let mut sql = format!(
        "SELECT {COLUMNS} FROM user_identities u WHERE u.workspace_id = {}",
        bind(Box::new(*workspace_id.as_uuid()))
    );
    if let Some(after) = page.after {
        sql.push_str(&format!(
            " AND (u.created_at, u.user_identity_id) > ({}, {})",
            bind(Box::new(after.created_at.as_millis())),
            bind(Box::new(*after.user_identity_id.as_uuid())),
        ));
    }
    if let Some(text) = filter.search.as_deref() {
        // TODO(perf): searches under three characters cannot use the trigram index and walk the workspace in list order — trigrams need three characters.
        let pattern = bind(Box::new(format!("%{}%", escape_like(text))));
        // `user_identities_search` indexes the four values joined by SEARCH_SEPARATOR. A
        // match of a pattern without the separator lies within one value; with it, each
        // value is checked on its own as well.
        sql.push_str(&format!(
            " AND user_identity_search_text(u.full_name, u.email_address, u.phone_number,
                    u.user_identity_id) LIKE lower({pattern})"
        ));
        if text.contains(SEARCH_SEPARATOR) {
            sql.push_str(&format!(
                " AND (lower(u.full_name) LIKE lower({pattern})
                    OR lower(u.email_address) LIKE lower({pattern})
                    OR u.phone_number LIKE lower({pattern})
                    OR u.user_identity_id::text LIKE lower({pattern}))"
            ));
        }
    }
    if let Some(before) = filter.created_before {
        sql.push_str(&format!(
            " AND u.created_at < {}",
            bind(Box::new(before.as_millis()))
        ));
    }
    if let Some(ids) = &filter.user_identity_ids {
        let ids: Vec<Uuid> = ids.iter().map(|id| *id.as_uuid()).collect();
        sql.push_str(&format!(
            " AND u.user_identity_id = ANY({})",
            bind(Box::new(ids))
        ));
    }
    let limit = i64::try_from(page.limit).unwrap_or(i64::MAX);
    sql.push_str(&format!(
        " ORDER BY u.created_at, u.user_identity_id LIMIT {}",
        bind(Box::new(limit))
    ));
    (sql, values)
}

/// Escapes LIKE's wildcards so the search text matches literally.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn as_params(values: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    values
        .iter()
        .map(|value| value.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

pub async fn list(
    client: &impl GenericClient,
    workspace_id: WorkspaceId,
    filter: &ListFilter,
    page: PageRequest,
) -> StoreResult<UserIdentityRows> {
    let (sql, values) = list_query(workspace_id, filter, page);
    let params = as_params(&values);
    let rows = if filter.search.is_some() || filter.user_identity_ids.is_some() {
        // Planned for these values every time: a cached statement soon gets a generic
        // plan, which cannot see that a search is selective or an id list short, and
        // walks the whole workspace in list order instead of using the indexes.
        client.query(sql.as_str(), &params).await?
    } else {
        let statement = client.prepare_cached(&sql).await?;
        client.query(&statement, &params).await?
    };
    let mut page_rows = UserIdentityRows::with_capacity(workspace_id, rows.len());
    rows.iter()
        .for_each(|row| page_rows.push(borrowed_row(row)));
    Ok(page_rows)
}

pub async fn explain_list(
    client: &impl GenericClient,
    workspace_id: WorkspaceId,
    filter: &ListFilter,
    page: PageRequest,
) -> StoreResult<String> {
    let (sql, values) = list_query(workspace_id, filter, page);
    let rows = client
        .query(&format!("EXPLAIN {sql}"), &as_params(&values))
        .await?;
    let lines: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    Ok(lines.join("\n"))
}

/// One statement whatever the patch: each column has a flag saying whether to keep it,
/// so a single prepared statement serves every combination.
pub async fn update(
    client: &impl GenericClient,
    workspace_id: WorkspaceId,
    user_identity_id: UserIdentityId,
    patch: &UserIdentityPatch,
) -> StoreResult<()> {
    if patch.is_empty() {
        let exists = find(
            client,
            workspace_id,
            &UserIdentityLookup::Id(user_identity_id),
        )
        .await?;
        return exists.map(|_| ()).ok_or(StoreError::NotFound);
    }
    let (keep_key, key) = split(patch.user_identity_key.clone());
    let (keep_email, email) = split(patch.email_address.clone().map(|e| e.into_string()));
    let (keep_phone, phone) = split(patch.phone_number.clone().map(|p| p.into_string()));
    let (keep_name, name) = split(patch.full_name.clone());
    let statement = client
        .prepare_cached(
            "UPDATE user_identities SET
                 user_identity_key = CASE WHEN $3 THEN user_identity_key ELSE $4 END,
                 email_address = CASE WHEN $5 THEN email_address ELSE $6 END,
                 phone_number = CASE WHEN $7 THEN phone_number ELSE $8 END,
                 full_name = CASE WHEN $9 THEN full_name ELSE $10 END
             WHERE user_identity_id = $1 AND workspace_id = $2",
        )
        .await?;
    let updated = client
        .execute(
            &statement,
            &[
                user_identity_id.as_uuid(),
                workspace_id.as_uuid(),
                &keep_key,
                &key,
                &keep_email,
                &email,
                &keep_phone,
                &phone,
                &keep_name,
                &name,
            ],
        )
        .await;
    let changed = match updated.map_err(StoreError::from) {
        Ok(changed) => changed,
        Err(StoreError::Conflict(field)) => {
            let taken = Taken {
                key: key.as_deref(),
                email: email.as_deref(),
                phone: phone.as_deref(),
            };
            let writer = Some(user_identity_id);
            return Err(name_conflict(client, workspace_id, writer, taken, field).await);
        }
        Err(error) => return Err(error),
    };
    if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// `(keep, new value)` for one column of an update.
fn split(update: FieldUpdate<String>) -> (bool, Option<String>) {
    match update {
        FieldUpdate::Keep => (true, None),
        FieldUpdate::Clear => (false, None),
        FieldUpdate::Set(value) => (false, Some(value)),
    }
}

pub async fn delete(
    client: &impl GenericClient,
    workspace_id: WorkspaceId,
    user_identity_id: UserIdentityId,
) -> StoreResult<()> {
    let statement = client
        .prepare_cached(
            "DELETE FROM user_identities WHERE user_identity_id = $1 AND workspace_id = $2",
        )
        .await?;
    let deleted = client
        .execute(
            &statement,
            &[user_identity_id.as_uuid(), workspace_id.as_uuid()],
        )
        .await?;
    if deleted == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
