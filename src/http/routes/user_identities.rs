//! `/user_identities/*`: one handler per Seam action, with its request parsing and its
//! response shape.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::app::AppState;
use crate::domain::ids::UserIdentityId;
use crate::domain::timestamp;
use crate::domain::user_identity::{
    NewUserIdentity, UserIdentity, UserIdentityLookup, UserIdentityPatch, UserIdentityRef,
};
use crate::http::Call;
use crate::http::LIST;
use crate::http::error::ApiError;
use crate::http::json_writer;
use crate::http::pagination::{self, Pagination};
use crate::http::params::{Length, MAX_TEXT_CHARS, Params};
use crate::service::user_identities::{ListPage, ListRequest};
use crate::store::{ListFilter, UserIdentityRows};

/// Largest `limit` served; larger values are capped to it.
pub const MAX_LIMIT: u64 = 1000;
const DEFAULT_LIMIT: u64 = 500;
/// `user_identity_key` and `full_name`: not empty, at most 255 characters.
const TEXT: Length = Length::between(1, MAX_TEXT_CHARS);

/// Writes a user identity as Seam shows it, every key always present, in Seam's order.
/// `workspace_id` is the identity's, already encoded (a page encodes it once).
fn write_identity(out: &mut Vec<u8>, identity: UserIdentityRef<'_>, workspace_id: &str) {
    let mut id = uuid::Uuid::encode_buffer();
    let mut created_at = [0; timestamp::ENCODED_LEN];
    out.extend_from_slice(b"{\"user_identity_id\":\"");
    out.extend_from_slice(encode_id(identity.user_identity_id.as_uuid(), &mut id).as_bytes());
    out.extend_from_slice(b"\",\"user_identity_key\":");
    json_writer::push_optional_str(out, identity.user_identity_key);
    out.extend_from_slice(b",\"email_address\":");
    json_writer::push_optional_str(out, identity.email_address);
    out.extend_from_slice(b",\"phone_number\":");
    json_writer::push_optional_str(out, identity.phone_number);
    out.extend_from_slice(b",\"display_name\":");
    json_writer::push_str(out, &identity.display_name());
    out.extend_from_slice(b",\"full_name\":");
    json_writer::push_optional_str(out, identity.full_name);
    out.extend_from_slice(b",\"created_at\":\"");
    out.extend_from_slice(identity.created_at.encode(&mut created_at).as_bytes());
    out.extend_from_slice(b"\",\"workspace_id\":\"");
    out.extend_from_slice(workspace_id.as_bytes());
    out.extend_from_slice(b"\",\"errors\":[],\"warnings\":[],\"acs_user_ids\":[]}");
}

fn encode_id<'b>(id: &uuid::Uuid, buffer: &'b mut [u8; 45]) -> &'b str {
    id.hyphenated().encode_lower(buffer)
}

/// Room reserved per identity in a response body besides its text: keys, id, workspace
/// id, timestamp and punctuation take about 300 bytes.
const JSON_BYTES_PER_IDENTITY: usize = 320;

fn one(identity: &UserIdentity) -> Response {
    json_response(one_body(identity.as_borrowed()))
}

/// `{"user_identity":{..},"ok":true}`
fn one_body(identity: UserIdentityRef<'_>) -> Vec<u8> {
    let mut workspace_id = uuid::Uuid::encode_buffer();
    let workspace_id = encode_id(identity.workspace_id.as_uuid(), &mut workspace_id);
    let mut body = Vec::with_capacity(JSON_BYTES_PER_IDENTITY + 512);
    body.extend_from_slice(b"{\"user_identity\":");
    write_identity(&mut body, identity, workspace_id);
    body.extend_from_slice(b",\"ok\":true}");
    body
}

/// `{"user_identities":[..],"pagination":{..},"ok":true}`
fn list_body(rows: &UserIdentityRows, pagination: &Pagination) -> serde_json::Result<Vec<u8>> {
    let mut workspace_id = uuid::Uuid::encode_buffer();
    let workspace_id = encode_id(rows.workspace_id().as_uuid(), &mut workspace_id);
    // Text may appear twice (as itself and as the display name) and grow when escaped.
    let capacity = 1024 + rows.len() * JSON_BYTES_PER_IDENTITY + rows.text_len() * 2;
    let mut body = Vec::with_capacity(capacity);
    body.extend_from_slice(b"{\"user_identities\":[");
    for (index, identity) in rows.iter().enumerate() {
        if index > 0 {
            body.push(b',');
        }
        write_identity(&mut body, identity, workspace_id);
    }
    body.extend_from_slice(b"],\"pagination\":");
    serde_json::to_writer(&mut body, pagination)?;
    body.extend_from_slice(b",\"ok\":true}");
    Ok(body)
}

fn json_response(body: Vec<u8>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

#[derive(Serialize)]
struct OkResponse {
    ok: bool,
}

pub fn ok() -> Response {
    Json(OkResponse { ok: true }).into_response()
}

/// The parameters of `create`.
pub struct CreateRequest {
    acs_system_ids: Option<Vec<UserIdentityId>>,
    new: NewUserIdentity,
}

impl CreateRequest {
    pub fn read(params: &mut Params) -> Self {
        let acs_system_ids = params.optional_array("acs_system_ids");
        let email_address = params.nullable("email_address");
        let full_name = params.nullable_string("full_name", TEXT);
        let phone_number = params.nullable("phone_number");
        let user_identity_key = params.nullable_string("user_identity_key", TEXT);
        let new = NewUserIdentity {
            user_identity_key: user_identity_key.into_option(),
            email_address: email_address.into_option(),
            phone_number: phone_number.into_option(),
            full_name: full_name.into_option(),
        };
        Self {
            acs_system_ids,
            new,
        }
    }
}

/// `POST /user_identities/create`
pub async fn create(state: AppState, call: Call, mut params: Params) -> Result<Response, ApiError> {
    let request = CreateRequest::read(&mut params);
    params.finish()?;
    if request.acs_system_ids.is_some_and(|ids| !ids.is_empty()) {
        return Err(acs_system_not_found());
    }

    let identity = state
        .user_identities()
        .create(call.auth.workspace_id, request.new)
        .await?;
    Ok(one(&identity))
}

/// The parameters of `get`: exactly one of `user_identity_id` or `user_identity_key`.
pub fn read_lookup(params: &mut Params) -> Option<UserIdentityLookup> {
    let (by_id, by_key) = (
        params.has("user_identity_id"),
        params.has("user_identity_key"),
    );
    let id = params.optional::<UserIdentityId>("user_identity_id");
    let key = params.optional::<String>("user_identity_key");
    if by_id == by_key {
        let message = "Provide exactly one of user_identity_id or user_identity_key";
        params.reject(
            if by_id {
                "user_identity_key"
            } else {
                "user_identity_id"
            },
            message,
        );
        return None;
    }
    id.map(UserIdentityLookup::Id)
        .or(key.map(UserIdentityLookup::Key))
}

/// `GET|POST /user_identities/get`
pub async fn get(state: AppState, call: Call, mut params: Params) -> Result<Response, ApiError> {
    let lookup = read_lookup(&mut params);
    params.finish()?;

    let lookup = lookup.ok_or_else(ApiError::user_identity_not_found)?;
    let identity = state
        .user_identities()
        .get(call.auth.workspace_id, &lookup)
        .await?;
    Ok(one(&identity))
}

/// The parameters of `list`.
pub struct ListParams {
    request: ListRequest,
    credential_manager_acs_system_id: Option<UserIdentityId>,
}

impl ListParams {
    pub fn read(params: &mut Params) -> Self {
        let created_before = params.optional("created_before");
        let credential_manager_acs_system_id = params.optional("credential_manager_acs_system_id");
        let limit = params.optional_positive_integer("limit", DEFAULT_LIMIT);
        // The SDKs send `page_cursor=` for a null cursor: it means the first page.
        let page_cursor = params
            .optional_or_null::<String>("page_cursor")
            .filter(|c| !c.is_empty());
        let search = params
            .optional_string("search", MAX_TEXT_CHARS)
            .filter(|text| !text.is_empty());
        let user_identity_ids = params.optional_array("user_identity_ids");
        let limit = limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT) as usize;
        let filter = ListFilter {
            search,
            user_identity_ids,
            created_before,
        };
        let request = ListRequest {
            filter,
            limit,
            page_cursor,
        };
        Self {
            request,
            credential_manager_acs_system_id,
        }
    }
}

/// `GET|POST /user_identities/list`
pub async fn list(state: AppState, call: Call, mut params: Params) -> Result<Response, ApiError> {
    let ListParams {
        request,
        credential_manager_acs_system_id,
    } = ListParams::read(&mut params);
    params.finish()?;

    let page = match credential_manager_acs_system_id {
        // No identity here is enrolled with a credential manager, so that filter matches none.
        Some(_) => ListPage {
            user_identities: UserIdentityRows::with_capacity(call.auth.workspace_id, 0),
            next_page_cursor: None,
        },
        None => {
            state
                .user_identities()
                .list(call.auth.workspace_id, request.clone())
                .await?
        }
    };
    let pagination = pagination::block(&call, LIST.path, page.next_page_cursor, &request);
    let body = list_body(&page.user_identities, &pagination)
        .map_err(|error| ApiError::Internal(format!("serializing a response: {error}")))?;
    Ok(json_response(body))
}

/// The parameters of `update`.
pub struct UpdateRequest {
    user_identity_id: Option<UserIdentityId>,
    patch: UserIdentityPatch,
}

impl UpdateRequest {
    pub fn read(params: &mut Params) -> Self {
        let email_address = params.nullable("email_address");
        let full_name = params.nullable_string("full_name", TEXT);
        let phone_number = params.nullable("phone_number");
        let user_identity_id = params.required("user_identity_id");
        let user_identity_key = params.nullable_string("user_identity_key", TEXT);
        let patch = UserIdentityPatch {
            user_identity_key,
            email_address,
            phone_number,
            full_name,
        };
        Self {
            user_identity_id,
            patch,
        }
    }
}

/// `PATCH|POST /user_identities/update`; reads the JSON body only.
pub async fn update(state: AppState, call: Call, mut params: Params) -> Result<Response, ApiError> {
    let request = UpdateRequest::read(&mut params);
    params.finish()?;

    let id = request
        .user_identity_id
        .ok_or_else(ApiError::user_identity_not_found)?;
    state
        .user_identities()
        .update(call.auth.workspace_id, id, request.patch)
        .await?;
    Ok(ok())
}

/// The parameters of `delete`.
pub fn read_delete(params: &mut Params) -> Option<UserIdentityId> {
    params.required("user_identity_id")
}

/// `DELETE|POST /user_identities/delete`
pub async fn delete(state: AppState, call: Call, mut params: Params) -> Result<Response, ApiError> {
    let user_identity_id = read_delete(&mut params);
    params.finish()?;

    let id = user_identity_id.ok_or_else(ApiError::user_identity_not_found)?;
    state
        .user_identities()
        .delete(call.auth.workspace_id, id)
        .await?;
    Ok(ok())
}

fn acs_system_not_found() -> ApiError {
    ApiError::NotFound {
        error_type: "acs_system_not_found",
        message: "ACS system not found",
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::Serialize;

    use super::*;
    use crate::domain::ids::WorkspaceId;
    use crate::domain::timestamp::Timestamp;

    /// The response shapes as serde derives them: the written bodies must equal these.
    #[derive(Serialize)]
    struct SerdeIdentity<'a> {
        user_identity_id: String,
        user_identity_key: Option<&'a str>,
        email_address: Option<&'a str>,
        phone_number: Option<&'a str>,
        display_name: String,
        full_name: Option<&'a str>,
        created_at: String,
        workspace_id: String,
        errors: [(); 0],
        warnings: [(); 0],
        acs_user_ids: [(); 0],
    }

    impl<'a> From<&'a UserIdentity> for SerdeIdentity<'a> {
        fn from(identity: &'a UserIdentity) -> Self {
            Self {
                user_identity_id: identity.user_identity_id.to_string(),
                user_identity_key: identity.user_identity_key.as_deref(),
                email_address: identity.email_address.as_deref(),
                phone_number: identity.phone_number.as_deref(),
                display_name: identity.display_name().into_owned(),
                full_name: identity.full_name.as_deref(),
                created_at: identity.created_at.to_string(),
                workspace_id: identity.workspace_id.to_string(),
                errors: [],
                warnings: [],
                acs_user_ids: [],
            }
        }
    }

    #[derive(Serialize)]
    struct SerdeOne<'a> {
        user_identity: SerdeIdentity<'a>,
        ok: bool,
    }

    #[derive(Serialize)]
    struct SerdeList<'a> {
        user_identities: Vec<SerdeIdentity<'a>>,
        pagination: &'a Pagination,
        ok: bool,
    }

    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("\\PC{0,12}|[\\x00-\\x7f]{0,12}")
    }

    fn identity() -> impl Strategy<Value = UserIdentity> {
        (any::<u128>(), text(), text(), text(), text(), any::<i64>()).prop_map(
            |(id, key, email, phone, name, millis)| UserIdentity {
                user_identity_id: UserIdentityId::from_uuid(uuid::Uuid::from_u128(id)),
                workspace_id: WorkspaceId::from_uuid(uuid::Uuid::from_u128(id.rotate_left(7))),
                user_identity_key: key,
                email_address: email,
                phone_number: phone,
                full_name: name,
                created_at: Timestamp::from_millis(millis),
            },
        )
    }

    proptest! {
        #[test]
        fn one_body_equals_what_serde_writes(identity in identity()) {
            let expected = SerdeOne { user_identity: (&identity).into(), ok: true };
            let written = one_body(identity.as_borrowed());
            prop_assert_eq!(
                String::from_utf8(written).unwrap(),
                serde_json::to_string(&expected).unwrap()
            );
        }

        #[test]
        fn list_body_equals_what_serde_writes(identities in proptest::collection::vec(identity(), 0..5)) {
            let workspace_id = WorkspaceId::new_random();
            let identities: Vec<UserIdentity> = identities
                .into_iter()
                .map(|identity| UserIdentity { workspace_id, ..identity })
                .collect();
            let mut rows = UserIdentityRows::with_capacity(workspace_id, 0);
            identities.iter().for_each(|identity| rows.push(identity.as_borrowed()));
            let pagination = Pagination::default();
            let expected = SerdeList {
                user_identities: identities.iter().map(SerdeIdentity::from).collect(),
                pagination: &pagination,
                ok: true,
            };
            let written = list_body(&rows, &pagination).unwrap();
            prop_assert_eq!(
                String::from_utf8(written).unwrap(),
                serde_json::to_string(&expected).unwrap()
            );
        }
    }
}
