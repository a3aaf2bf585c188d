//! SQL for user identities on SQLite.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::writer::WriteContext;
use super::{parse_column, require_workspace};
use crate::domain::ids::{UserIdentityId, WorkspaceId};
use crate::domain::timestamp::Timestamp;
use crate::domain::user_identity::{
    FieldUpdate, NewUserIdentity, UserIdentity, UserIdentityLookup, UserIdentityPatch,
    UserIdentityRef,
};
use crate::store::{ListFilter, PageRequest, StoreError, StoreResult, UserIdentityRows};

// The workspace is not read back: every query is already scoped to the caller's.
const COLUMNS: &str = "u.user_identity_id, u.user_identity_key, u.email_address, \
                       u.phone_number, u.full_name, u.created_at";

/// Most rows a page reserves room for before reading; larger pages grow as they read.
const MAX_PRESIZED_ROWS: usize = 1001;

/// The trigram index needs at least three characters to answer a search.
const MIN_INDEXED_SEARCH_CHARS: usize = 3;

/// Reads a row of [`COLUMNS`], borrowing its text from the row.
fn borrowed_row<'r>(
    row: &'r Row<'_>,
    workspace_id: WorkspaceId,
) -> rusqlite::Result<UserIdentityRef<'r>> {
    Ok(UserIdentityRef {
        user_identity_id: parse_column(row, 0)?,
        workspace_id,
        user_identity_key: row.get_ref(1)?.as_str_or_null()?,
        email_address: row.get_ref(2)?.as_str_or_null()?,
        phone_number: row.get_ref(3)?.as_str_or_null()?,
        full_name: row.get_ref(4)?.as_str_or_null()?,
        created_at: Timestamp::from_millis(row.get(5)?),
    })
}

fn from_row(row: &Row<'_>, workspace_id: WorkspaceId) -> rusqlite::Result<UserIdentity> {
    borrowed_row(row, workspace_id).map(|row| row.to_identity())
}

pub fn insert(
    context: &mut WriteContext<'_>,
    workspace_id: WorkspaceId,
    new: NewUserIdentity,
) -> StoreResult<UserIdentity> {
    let (user_identity_id, created_at) = context.clock.next(Timestamp::now());
    let identity = new.into_identity(user_identity_id, workspace_id, created_at);
    let inserted = context
        .conn
        .prepare_cached(
            "INSERT INTO user_identities (user_identity_id, workspace_id, user_identity_key,
                 email_address, phone_number, full_name, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            identity.user_identity_id.to_string(),
            workspace_id.to_string(),
            identity.user_identity_key,
            identity.email_address,
            identity.phone_number,
            identity.full_name,
            created_at.as_millis(),
        ]);
    match inserted {
        Ok(_) => Ok(identity),
        Err(rusqlite::Error::SqliteFailure(failure, _))
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
        {
            require_workspace(context.conn, workspace_id)?;
            Err(StoreError::Other("foreign key violation on insert".into()))
        }
        Err(error) => Err(error.into()),
    }
}

pub fn find(
    conn: &Connection,
    workspace_id: WorkspaceId,
    lookup: &UserIdentityLookup,
) -> rusqlite::Result<Option<UserIdentity>> {
    let workspace = workspace_id.to_string();
    match lookup {
        UserIdentityLookup::Id(id) => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM user_identities u
                 WHERE u.user_identity_id = ?1 AND u.workspace_id = ?2"
            ))?
            .query_row(params![id.to_string(), workspace], |row| {
                from_row(row, workspace_id)
            })
            .optional(),
        UserIdentityLookup::Key(key) => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM user_identities u
                 WHERE u.workspace_id = ?1 AND u.user_identity_key = ?2"
            ))?
            .query_row(params![workspace, key], |row| from_row(row, workspace_id))
            .optional(),
    }
}

/// Builds one list query. Without a search it walks the `(workspace_id, created_at,
/// user_identity_id)` index from the cursor. With a search of three or more characters it
/// walks the trigram index in `seq` order, which is list order, from the cursor's row, so a
/// page costs the same wherever it starts.
pub fn list(
    conn: &Connection,
    workspace_id: WorkspaceId,
    filter: &ListFilter,
    page: PageRequest,
) -> rusqlite::Result<UserIdentityRows> {
    let mut sql = String::with_capacity(512);
    let mut values: Vec<Value> = Vec::with_capacity(8);
    let mut bind = |value: Value| {
        values.push(value);
        format!("?{}", values.len())
    };
    let search = filter.search.as_deref();
    let indexed_search = search.filter(|text| text.chars().count() >= MIN_INDEXED_SEARCH_CHARS);

    if let Some(text) = indexed_search {
        let phrase = format!("\"{}\"", text.replace('"', "\"\""));
        sql.push_str(&format!(
            "SELECT {COLUMNS} FROM user_identities_search s
             JOIN user_identities u ON u.seq = s.rowid
             WHERE s.user_identities_search MATCH {} AND u.workspace_id = {}",
            bind(Value::Text(phrase)),
            bind(Value::Text(workspace_id.to_string())),
        ));
        if let Some(after) = page.after {
            sql.push_str(&format!(
                " AND s.rowid > coalesce((SELECT seq FROM user_identities
                     WHERE user_identity_id <= {} ORDER BY user_identity_id DESC LIMIT 1), 0)",
                bind(Value::Text(after.user_identity_id.to_string())),
            ));
        }
    } else {
        // With an id filter, `+` keeps the planner off the list-order index, so it looks the
        // given ids up one by one instead of walking the whole workspace.
        let workspace_column = if filter.user_identity_ids.is_some() {
            "+u.workspace_id"
        } else {
            "u.workspace_id"
        };
        sql.push_str(&format!(
            "SELECT {COLUMNS} FROM user_identities u WHERE {workspace_column} = {}",
            bind(Value::Text(workspace_id.to_string())),
        ));
        if let Some(after) = page.after {
            sql.push_str(&format!(
                " AND (u.created_at, u.user_identity_id) > ({}, {})",
                bind(Value::Integer(after.created_at.as_millis())),
                bind(Value::Text(after.user_identity_id.to_string())),
            ));
        }
        if let Some(text) = search {
            // TODO(perf): one- and two-character searches scan the workspace in list order — the trigram index cannot answer them.
            let needle = bind(Value::Text(text.to_lowercase()));
            sql.push_str(&format!(
                " AND (contains_folded(u.full_name, {needle})
                   OR contains_folded(u.email_address, {needle})
                   OR instr(u.phone_number, {needle}) OR instr(u.user_identity_id, {needle}))"
            ));
        }
    }
    if let Some(before) = filter.created_before {
        sql.push_str(&format!(
            " AND u.created_at < {}",
            bind(Value::Integer(before.as_millis()))
        ));
    }
    if let Some(ids) = &filter.user_identity_ids {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
        sql.push_str(&format!(
            " AND u.user_identity_id IN (SELECT value FROM json_each({}))",
            bind(Value::Text(json))
        ));
    }
    let order = if indexed_search.is_some() {
        "s.rowid"
    } else {
        "u.created_at, u.user_identity_id"
    };
    // The limit is written into the SQL, not bound: SQLite plans with a bound LIMIT's value
    // and so re-prepares the statement every time that parameter is bound again, which cost
    // a list page an eighth of its CPU. Limits are few (1 to 1001), so the statement cache
    // holds the common ones.
    sql.push_str(&format!(" ORDER BY {order} LIMIT {}", page.limit));

    let mut statement = conn.prepare_cached(&sql)?;
    let mut rows = statement.query(params_from_iter(values))?;
    let mut page_rows =
        UserIdentityRows::with_capacity(workspace_id, page.limit.min(MAX_PRESIZED_ROWS));
    while let Some(row) = rows.next()? {
        page_rows.push(borrowed_row(row, workspace_id)?);
    }
    Ok(page_rows)
}

pub fn update(
    conn: &Connection,
    workspace_id: WorkspaceId,
    user_identity_id: UserIdentityId,
    patch: &UserIdentityPatch,
) -> StoreResult<()> {
    let mut assignments = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut assign = |column: &str, update: FieldUpdate<String>| match update {
        FieldUpdate::Keep => {}
        FieldUpdate::Clear => assignments.push(format!("{column} = NULL")),
        FieldUpdate::Set(value) => {
            values.push(Value::Text(value));
            assignments.push(format!("{column} = ?{}", values.len()));
        }
    };
    assign("user_identity_key", patch.user_identity_key.clone());
    assign(
        "email_address",
        patch.email_address.clone().map(|email| email.into_string()),
    );
    assign(
        "phone_number",
        patch.phone_number.clone().map(|phone| phone.into_string()),
    );
    assign("full_name", patch.full_name.clone());

    values.push(Value::Text(user_identity_id.to_string()));
    let id_param = values.len();
    values.push(Value::Text(workspace_id.to_string()));
    let workspace_param = values.len();
    let changed = if assignments.is_empty() {
        conn.prepare_cached(&format!(
            "SELECT count(*) FROM user_identities
             WHERE user_identity_id = ?{id_param} AND workspace_id = ?{workspace_param}"
        ))?
        .query_row(params_from_iter(values), |row| row.get::<_, usize>(0))?
    } else {
        conn.prepare_cached(&format!(
            "UPDATE user_identities SET {}
             WHERE user_identity_id = ?{id_param} AND workspace_id = ?{workspace_param}",
            assignments.join(", ")
        ))?
        .execute(params_from_iter(values))?
    };
    if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub fn delete(
    conn: &Connection,
    workspace_id: WorkspaceId,
    user_identity_id: UserIdentityId,
) -> StoreResult<()> {
    let deleted = conn
        .prepare_cached(
            "DELETE FROM user_identities WHERE user_identity_id = ?1 AND workspace_id = ?2",
        )?
        .execute(params![
            user_identity_id.to_string(),
            workspace_id.to_string()
        ])?;
    if deleted == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
