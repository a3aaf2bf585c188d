//! `/workspaces/get`: the caller's own workspace. It is also the cheapest authenticated
//! route, which the benchmark uses as its ceiling.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::app::AppState;
use crate::domain::ids::WorkspaceId;
use crate::http::Call;
use crate::http::error::ApiError;
use crate::http::params::Params;

#[derive(Serialize)]
struct WorkspaceView {
    workspace_id: WorkspaceId,
    name: String,
    company_name: String,
    is_sandbox: bool,
    connect_webview_customization: ConnectWebviewCustomization,
    is_suspended: bool,
    is_publishable_key_auth_enabled: bool,
    connect_partner_name: Option<String>,
    organization_id: Option<String>,
}

/// Required by Seam's schema; Connect Webviews are not served here, so nothing is customized.
#[derive(Serialize)]
struct ConnectWebviewCustomization {}

#[derive(Serialize)]
struct GetResponse {
    workspace: WorkspaceView,
    ok: bool,
}

/// `GET|POST /workspaces/get`
pub async fn get(state: AppState, call: Call, params: Params) -> Result<Response, ApiError> {
    params.finish()?;

    let not_found = ApiError::NotFound {
        error_type: "workspace_not_found",
        message: "Workspace not found",
    };
    let workspace = state
        .workspaces()
        .get(call.auth.workspace_id)
        .await?
        .ok_or(not_found)?;
    let view = WorkspaceView {
        workspace_id: workspace.workspace_id,
        company_name: workspace.name.clone(),
        name: workspace.name,
        is_sandbox: false,
        connect_webview_customization: ConnectWebviewCustomization {},
        is_suspended: false,
        is_publishable_key_auth_enabled: false,
        connect_partner_name: None,
        organization_id: None,
    };
    Ok(Json(GetResponse {
        workspace: view,
        ok: true,
    })
    .into_response())
}
