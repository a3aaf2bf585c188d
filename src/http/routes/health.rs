//! Probes for load balancers and operators; no credentials, no personal data.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::AppState;
use crate::http::error::ApiError;

/// `GET /health`: the process is up.
pub async fn health() -> Response {
    Json(json!({ "ok": true })).into_response()
}

/// `GET /ready`: the database answers.
pub async fn ready(State(state): State<AppState>) -> Result<Response, ApiError> {
    state
        .store()
        .ping()
        .await
        .map_err(|error| ApiError::Unavailable(error.to_string()))?;
    Ok(Json(json!({ "ok": true })).into_response())
}
