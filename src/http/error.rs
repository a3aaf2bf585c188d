//! The Seam error envelope. [`ApiError`] is the one place where a failure becomes a status
//! code and an `error.type`. 5xx bodies carry a generic message; the cause travels to the
//! request logger in a response extension and is logged there once.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::domain::user_identity::UniqueField;
use crate::service::ServiceError;
use crate::service::credentials::AuthError;

#[derive(Debug)]
pub enum ApiError {
    /// 400 `invalid_input`, with zod-style `validation_errors`.
    InvalidInput {
        message: String,
        validation_errors: Value,
    },
    /// 400 `invalid_content_type`: a body that is not JSON.
    InvalidContentType,
    /// 413 `payload_too_large`.
    PayloadTooLarge { limit_bytes: usize },
    /// 408 `request_timeout`: the body did not arrive in time.
    RequestTimeout { limit: Duration },
    /// 431 `request_header_fields_too_large`.
    HeadersTooLarge { limit_bytes: usize },
    /// 429 `rate_limited`, with `Retry-After`.
    RateLimited {
        retry_after: Duration,
        limited: Limited,
    },
    /// 401 (or 400 `missing_workspace_id`) from authentication.
    Auth(AuthError),
    /// 405 `method_not_allowed`.
    MethodNotAllowed { allowed: &'static str },
    /// 404 `not_found`: no such route.
    RouteNotFound,
    /// 404 `<resource>_not_found`.
    NotFound {
        error_type: &'static str,
        message: &'static str,
    },
    /// 400 `duplicate_<field>`.
    Duplicate(UniqueField),
    /// 400 `mismatched_page_parameters`.
    MismatchedPageParameters,
    /// 503 `service_unavailable`; the cause is logged.
    Unavailable(String),
    /// 500 `internal_server_error`; the cause is logged.
    Internal(String),
}

/// What a `429` counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// Requests made with one API key or personal access token.
    Credential,
    /// Failed authentications from one client network.
    ClientNetwork,
}

/// The cause of a 5xx, for the request logger only.
#[derive(Debug, Clone)]
pub struct ErrorCause(pub String);

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
    ok: bool,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    error_type: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    validation_errors: Option<&'a Value>,
}

impl ApiError {
    pub fn user_identity_not_found() -> Self {
        Self::NotFound {
            error_type: "user_identity_not_found",
            message: "User identity not found",
        }
    }

    fn status_and_type(&self) -> (StatusCode, &'static str) {
        match self {
            Self::InvalidInput { .. } => (StatusCode::BAD_REQUEST, "invalid_input"),
            Self::InvalidContentType => (StatusCode::BAD_REQUEST, "invalid_content_type"),
            Self::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::RequestTimeout { .. } => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            Self::HeadersTooLarge { .. } => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "request_header_fields_too_large",
            ),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Auth(error) => auth_status_and_type(error),
            Self::MethodNotAllowed { .. } => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::RouteNotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::NotFound { error_type, .. } => (StatusCode::NOT_FOUND, error_type),
            Self::Duplicate(field) => (StatusCode::BAD_REQUEST, duplicate_type(*field)),
            Self::MismatchedPageParameters => {
                (StatusCode::BAD_REQUEST, "mismatched_page_parameters")
            }
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_server_error"),
        }
    }

    fn message(&self) -> String {
        match self {
            Self::InvalidInput { message, .. } => message.clone(),
            Self::InvalidContentType => {
                "Content-Type must be application/json for a request with a body".into()
            }
            Self::PayloadTooLarge { limit_bytes } => {
                format!("Request body is larger than the limit of {limit_bytes} bytes")
            }
            Self::RequestTimeout { limit } => format!(
                "The request body did not arrive within {} seconds",
                limit.as_secs_f64()
            ),
            Self::HeadersTooLarge { limit_bytes } => {
                format!("Request headers are larger than the limit of {limit_bytes} bytes")
            }
            Self::RateLimited {
                retry_after,
                limited,
            } => {
                let what = match limited {
                    Limited::Credential => "Too many requests for this credential",
                    Limited::ClientNetwork => {
                        "Too many failed authentication attempts from this address"
                    }
                };
                format!(
                    "{what}; retry after {} second(s)",
                    retry_after_seconds(*retry_after)
                )
            }
            Self::Auth(AuthError::Unavailable(_)) | Self::Unavailable(_) => {
                "The service is temporarily unavailable; retry shortly".into()
            }
            Self::Auth(error) => error.to_string(),
            Self::MethodNotAllowed { allowed } => format!("only {allowed} accepted"),
            Self::RouteNotFound => "Route not found".into(),
            Self::NotFound { message, .. } => (*message).into(),
            Self::Duplicate(field) => {
                format!(
                    "A user identity with this {} already exists",
                    field.wire_name()
                )
            }
            Self::MismatchedPageParameters => "When using next_page_cursor, the request must \
                send parameters identical to the initial request."
                .into(),
            Self::Internal(_) => "An internal server error occurred".into(),
        }
    }

    fn cause(&self) -> Option<&str> {
        match self {
            Self::Unavailable(cause) | Self::Internal(cause) => Some(cause),
            Self::Auth(AuthError::Unavailable(cause)) => Some(cause),
            _ => None,
        }
    }
}

fn auth_status_and_type(error: &AuthError) -> (StatusCode, &'static str) {
    match error {
        AuthError::MissingWorkspace => (StatusCode::BAD_REQUEST, "missing_workspace_id"),
        AuthError::ClientSessionUsedForApiKey => (
            StatusCode::UNAUTHORIZED,
            "client_session_token_used_for_api_key",
        ),
        AuthError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"),
        _ => (StatusCode::UNAUTHORIZED, "unauthorized"),
    }
}

/// Whole seconds for `Retry-After`, rounded up and at least 1.
fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

fn duplicate_type(field: UniqueField) -> &'static str {
    match field {
        UniqueField::UserIdentityKey => "duplicate_user_identity_key",
        UniqueField::EmailAddress => "duplicate_email_address",
        UniqueField::PhoneNumber => "duplicate_phone_number",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error_type) = self.status_and_type();
        let message = self.message();
        let validation_errors = match &self {
            Self::InvalidInput {
                validation_errors, ..
            } => Some(validation_errors),
            _ => None,
        };
        let envelope = Envelope {
            error: Body {
                error_type,
                message: &message,
                validation_errors,
            },
            ok: false,
        };
        let mut response = (status, Json(envelope)).into_response();
        if let Self::RateLimited { retry_after, .. } = self {
            let seconds = HeaderValue::from(retry_after_seconds(retry_after));
            response.headers_mut().insert(header::RETRY_AFTER, seconds);
        }
        if let Some(cause) = self.cause() {
            response
                .extensions_mut()
                .insert(ErrorCause(cause.to_owned()));
        }
        response
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        Self::Auth(error)
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound => Self::user_identity_not_found(),
            ServiceError::Duplicate(field) => Self::Duplicate(field),
            ServiceError::InvalidPageCursor => {
                super::params::single_issue("page_cursor", "Invalid page cursor")
            }
            ServiceError::MismatchedPageParameters => Self::MismatchedPageParameters,
            ServiceError::Unavailable(cause) => Self::Unavailable(cause),
            ServiceError::Internal(cause) => Self::Internal(cause),
        }
    }
}
