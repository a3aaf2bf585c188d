//! `/user_identities/*`: one handler per Seam action, with its request parsing and its
//! response shape.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::app::AppState;
use crate::domain::contact::{EmailAddress, PhoneNumber};
use crate::domain::ids::{UserIdentityId, WorkspaceId};
use crate::domain::timestamp::Timestamp;
use crate::domain::user_identity::{
    NewUserIdentity, UserIdentity, UserIdentityLookup, UserIdentityPatch,
};
use crate::http::Call;
use crate::http::error::ApiError;
use crate::http::pagination::{self, Pagination};
use crate::http::params::Params;
use crate::service::user_identities::ListRequest;
use crate::store::ListFilter;

/// Largest `limit` served; larger values are capped to it.
pub const MAX_LIMIT: u64 = 1000;
const DEFAULT_LIMIT: u64 = 500;

/// A user identity as Seam shows it. Every key is always present.
#[derive(Serialize)]
pub struct UserIdentityView<'a> {
    user_identity_id: UserIdentityId,
    user_identity_key: Option<&'a str>,
    email_address: Option<&'a str>,
    phone_number: Option<&'a str>,
    display_name: String,
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
    Json(OneResponse {
        user_identity: identity.into(),
        ok: true,
    })
    .into_response()
}

pub fn ok() -> Response {
    Json(OkResponse { ok: true }).into_response()
}

/// `POST /user_identities/create`
pub async fn create(state: AppState, call: Call, mut params: Params) -> Result<Response, ApiError> {
    let acs_system_ids = params.optional_array("acs_system_ids", str::parse::<UserIdentityId>);
    let email_address = params.nullable_parsed("email_address", EmailAddress::parse);
    let full_name = params.nullable_string("full_name", 1);
    let phone_number = params.nullable_parsed("phone_number", PhoneNumber::parse);
    let user_identity_key = params.nullable_string("user_identity_key", 1);
    params.finish()?;
    if acs_system_ids.is_some_and(|ids| !ids.is_empty()) {
        return Err(acs_system_not_found());
    }

    let new = NewUserIdentity {
        user_identity_key: user_identity_key.into_option(),
        email_address: email_address.into_option(),
        phone_number: phone_number.into_option(),
        full_name: full_name.into_option(),
    };
    let identity = state
        .user_identities()
        .create(call.auth.workspace_id, new)
        .await?;
    Ok(one(&identity))
}

/// `GET|POST /user_identities/get`, by `user_identity_id` or by `user_identity_key`.
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

fn read_lookup(params: &mut Params) -> Option<UserIdentityLookup> {
    let by_id = params.has("user_identity_id");
    let by_key = params.has("user_identity_key");
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
    if by_id {
        params
            .required_parsed("user_identity_id", str::parse)
            .map(UserIdentityLookup::Id)
    } else {
        params
            .optional_string("user_identity_key")
            .map(UserIdentityLookup::Key)
    }
}

/// `GET|POST /user_identities/list`
pub async fn list(state: AppState, call: Call, mut params: Params) -> Result<Response, ApiError> {
    let created_before = params.optional_timestamp("created_before");
    let credential_manager = params.optional_parsed(
        "credential_manager_acs_system_id",
        str::parse::<UserIdentityId>,
    );
    let limit = params
        .optional_positive_integer("limit")
        .unwrap_or(DEFAULT_LIMIT)
        .min(MAX_LIMIT);
    let page_cursor = params.optional_nullable_string("page_cursor");
    let search = params
        .optional_string("search")
        .filter(|text| !text.is_empty());
    let user_identity_ids = params.optional_array("user_identity_ids", str::parse);
    params.finish()?;

    let filter = ListFilter {
        search,
        user_identity_ids,
        created_before,
    };
    let request = ListRequest {
        filter,
        limit: limit as usize,
        page_cursor,
    };
    let page = if credential_manager.is_some() {
        // No identity here is enrolled with a credential manager, so that filter matches none.
        crate::service::user_identities::ListPage {
            user_identities: Vec::new(),
            next_page_cursor: None,
        }
    } else {
        state
            .user_identities()
            .list(call.auth.workspace_id, request.clone())
            .await?
    };
    let pagination = pagination::block(
        &call,
        "/user_identities/list",
        page.next_page_cursor,
        &request,
    );
    let user_identities = page
        .user_identities
        .iter()
        .map(UserIdentityView::from)
        .collect();
    Ok(Json(ListResponse {
        user_identities,
        pagination,
        ok: true,
    })
    .into_response())
}

/// `PATCH|POST /user_identities/update`; reads the JSON body only.
pub async fn update(state: AppState, call: Call, mut params: Params) -> Result<Response, ApiError> {
    let email_address = params.nullable_parsed("email_address", EmailAddress::parse);
    let full_name = params.nullable_string("full_name", 1);
    let phone_number = params.nullable_parsed("phone_number", PhoneNumber::parse);
    let user_identity_id = params.required_parsed("user_identity_id", str::parse);
    let user_identity_key = params.nullable_string("user_identity_key", 1);
    params.finish()?;

    let patch = UserIdentityPatch {
        user_identity_key,
        email_address,
        phone_number,
        full_name,
    };
    let id = user_identity_id.ok_or_else(ApiError::user_identity_not_found)?;
    state
        .user_identities()
        .update(call.auth.workspace_id, id, patch)
        .await?;
    Ok(ok())
}

/// `DELETE|POST /user_identities/delete`
pub async fn delete(state: AppState, call: Call, mut params: Params) -> Result<Response, ApiError> {
    let user_identity_id = params.required_parsed("user_identity_id", str::parse);
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
