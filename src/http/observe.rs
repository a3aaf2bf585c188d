//! Per-request observability and headers: a request id (taken from `x-request-id` when the
//! caller sends a sane one), one `http.request` span, one log line when the response is
//! ready, `seam-request-id` on every response and Seam's CORS headers. A handler that
//! panics answers `500` in the envelope instead of dropping the connection.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::{Instrument, Level, field};

use super::error::{ApiError, ErrorCause};

static SEAM_REQUEST_ID: HeaderName = HeaderName::from_static("seam-request-id");
const ALLOWED_HEADERS: &str = "authorization, content-type, seam-workspace, \
    seam-client-session-token, client-session-token, seam-publishable-key, seam-sdk-name, \
    seam-sdk-version, seam-lts-version, x-request-id";

/// A random per-process prefix and a counter: unique, cheap, and free of caller data.
static REQUEST_PREFIX: LazyLock<String> = LazyLock::new(|| {
    let simple = uuid::Uuid::new_v4().simple().to_string();
    simple[..12].to_owned()
});
static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(1);

fn request_id(request: &Request) -> String {
    let incoming = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .filter(|id| (1..=128).contains(&id.len()))
        .filter(|id| {
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        });
    match incoming {
        Some(id) => id.to_owned(),
        None => {
            let number = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
            format!("req_{}_{number}", REQUEST_PREFIX.as_str())
        }
    }
}

pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&request);
    let probe = matches!(request.uri().path(), "/health" | "/ready" | "/metrics");
    let span = tracing::info_span!(
        "http.request",
        method = %request.method(),
        route = field::Empty,
        request_id = %id,
        workspace.id = field::Empty,
    );
    let mut response = catching_panics(next.run(request).instrument(span.clone())).await;

    let status = response.status().as_u16();
    // Whole microseconds, so that the field reads 0.489 rather than 0.48904700000000006.
    let duration_ms = started.elapsed().as_micros() as f64 / 1000.0;
    let cause = response.extensions_mut().remove::<ErrorCause>();
    span.in_scope(|| {
        if let Some(ErrorCause(cause)) = &cause {
            tracing::error!(status, duration_ms, cause = %cause, "request failed");
        } else if probe {
            tracing::debug!(status, duration_ms, "request finished");
        } else if tracing::enabled!(Level::INFO) {
            tracing::info!(status, duration_ms, "request finished");
        }
    });

    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(SEAM_REQUEST_ID.clone(), value);
    }
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("seam-request-id"),
    );
    response
}

/// Runs the request; a panic becomes a `500` whose cause is logged like any other.
async fn catching_panics(future: impl Future<Output = Response>) -> Response {
    let mut future = Box::pin(future);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|text| (*text).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let cause = format!("handler panicked: {message}");
                Poll::Ready(ApiError::Internal(cause).into_response())
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::routing::get;

    use crate::server::{self, ConnectionLimits};

    async fn boom() -> &'static str {
        panic!("boom")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_in_the_envelope() {
        let app = Router::new()
            .route("/boom", get(boom))
            .layer(axum::middleware::from_fn(super::observe));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let limits = ConnectionLimits::default();
        tokio::spawn(server::serve(listener, app, limits, std::future::pending()));

        let response = reqwest::get(format!("http://{address}/boom"))
            .await
            .unwrap();

        assert_eq!(response.status(), 500);
        assert!(response.headers().contains_key("seam-request-id"));
        let body = response.text().await.unwrap();
        assert_eq!(
            body,
            r#"{"error":{"type":"internal_server_error","message":"An internal server error occurred"},"ok":false}"#
        );
    }
}
