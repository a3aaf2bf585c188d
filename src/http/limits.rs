//! Request-size limits enforced by the application, so that they answer in the error
//! envelope: header size here, body size and body read time in [`super::params`].

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Largest request line plus headers answered normally; larger is `431` in the envelope.
/// Beyond [`crate::server::HARD_MAX_HEADER_BYTES`] the HTTP parser refuses it first.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuses requests whose request line and headers exceed [`MAX_HEADER_BYTES`].
pub async fn header_size(request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(1, |target| target.as_str().len());
    let request_line = request.method().as_str().len() + target + 11;
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if request_line + headers > MAX_HEADER_BYTES {
        return ApiError::HeadersTooLarge {
            limit_bytes: MAX_HEADER_BYTES,
        }
        .into_response();
    }
    next.run(request).await
}
