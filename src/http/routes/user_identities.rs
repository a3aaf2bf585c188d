//! `/user_identities/*`: one handler per Seam action, with its request parsing and its
//! response shape.

use std::borrow::Cow;

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::app::AppState;
use crate::domain::ids::{UserIdentityId, WorkspaceId};
use crate::domain::timestamp::Timestamp;
use crate::domain::user_identity::{
    NewUserIdentity, UserIdentity, UserIdentityLookup, UserIdentityPatch,
};
use crate::http::Call;
use crate::http::LIST;
use crate::http::error::ApiError;
use crate::http::pagination::{self, Pagination};
use crate::http::params::{Length, MAX_TEXT_CHARS, Params};
use crate::service::user_identities::{ListPage, ListRequest};
use crate::store::ListFilter;

/// Largest `limit` served; larger values are capped to it.
pub const MAX_LIMIT: u64 = 1000;
const DEFAULT_LIMIT: u64 = 500;
/// `user_identity_key` and `full_name`: not empty, at most 255 characters.
const TEXT: Length = Length::between(1, MAX_TEXT_CHARS);

/// A user identity as Seam shows it. Every key is always present.
#[derive(Serialize)]
pub struct UserIdentityView<'a> {
    user_identity_id: UserIdentityId,
    user_identity_key: Option<&'a str>,
    email_address: Option<&'a str>,
    phone_number: Option<&'a str>,
    display_name: Cow<'a, str>,
    full_name: Option<&'a str>,
    created_at: Timestamp,
    workspace_id: WorkspaceId,
    errors: [(); 0],
    warnings: [(); 0],
    acs_user_ids: [(); 0],
}

impl<'a> From<&'a UserIdentity> for UserIdentityView<'a> {
    fn from(identity: &'a UserIdentity) -> Self {
        Self {
            user_identity_id: identity.user_identity_id,
            user_identity_key: identity.user_identity_key.as_deref(),
            email_address: identity.email_address.as_deref(),
            phone_number: identity.phone_number.as_deref(),
            display_name: identity.display_name(),
            full_name: identity.full_name.as_deref(),
            created_at: identity.created_at,
            workspace_id: identity.workspace_id,
            errors: [],
            warnings: [],
            acs_user_ids: [],
        }
    }
}

#[derive(Serialize)]
struct OneResponse<'a> {
    user_identity: UserIdentityView<'a>,
    ok: bool,
}

#[derive(Serialize)]
struct ListResponse<'a> {
    user_identities: Vec<UserIdentityView<'a>>,
    pagination: Pagination,
    ok: bool,
}

#[derive(Serialize)]
struct OkResponse {
    ok: bool,
}

fn one(identity: &UserIdentity) -> Response {
    json_response(
        &OneResponse {
            user_identity: identity.into(),
            ok: true,
        },
        JSON_BYTES_PER_IDENTITY,
    )
}

/// Room reserved per identity in a response body: a typical identity serializes to about
/// 400 bytes, and reserving once avoids regrowing (and copying) the body while writing it.
const JSON_BYTES_PER_IDENTITY: usize = 512;

/// Serializes `body` into a buffer of `capacity` bytes reserved up front.
fn json_response(body: &impl Serialize, capacity: usize) -> Response {
    let mut bytes = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut bytes, body) {
        Ok(()) => (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(error) => {
            ApiError::Internal(format!("serializing a response: {error}")).into_response()
        }
    }
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
            user_identities: Vec::new(),
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
    let user_identities: Vec<UserIdentityView<'_>> = page
        .user_identities
        .iter()
        .map(UserIdentityView::from)
        .collect();
    let capacity = 1024 + JSON_BYTES_PER_IDENTITY * user_identities.len();
    Ok(json_response(
        &ListResponse {
            user_identities,
            pagination,
            ok: true,
        },
        capacity,
    ))
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
