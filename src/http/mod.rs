//! The wire: the route table, Seam's request pipeline (authenticate, check the verb, read
//! parameters, call the handler) and the error envelope.

pub mod error;
pub mod observe;
pub mod pagination;
pub mod params;
pub mod routes;

use std::future::Future;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

use self::error::ApiError;
use self::params::{Params, Source};
use self::routes::{health, user_identities, workspaces};
use crate::app::AppState;
use crate::service::credentials::AuthContext;

/// Who is calling and how to build absolute URLs for them.
#[derive(Debug, Clone)]
pub struct Call {
    pub auth: AuthContext,
    /// Scheme and authority the caller reached us at, for `next_page_url`.
    pub origin: String,
}

/// A Seam action: its path, the verbs it accepts and where its parameters come from.
pub struct Action {
    pub path: &'static str,
    pub methods: &'static [Method],
    pub allowed: &'static str,
    pub source: Source,
}

const fn action(path: &'static str, methods: &'static [Method], allowed: &'static str) -> Action {
    Action {
        path,
        methods,
        allowed,
        source: Source::QueryAndBody,
    }
}

pub const CREATE: Action = action("/user_identities/create", &[Method::POST], "POST");
pub const GET: Action = action(
    "/user_identities/get",
    &[Method::GET, Method::POST],
    "GET,POST",
);
pub const LIST: Action = action(
    "/user_identities/list",
    &[Method::GET, Method::POST],
    "GET,POST",
);
pub const UPDATE: Action = Action {
    source: Source::BodyOnly,
    ..action(
        "/user_identities/update",
        &[Method::PATCH, Method::POST],
        "PATCH,POST",
    )
};
pub const DELETE: Action = action(
    "/user_identities/delete",
    &[Method::DELETE, Method::POST],
    "DELETE,POST",
);
pub const WORKSPACES_GET: Action =
    action("/workspaces/get", &[Method::GET, Method::POST], "GET,POST");

/// Every route the server answers, in one list.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(CREATE.path, seam(&CREATE, user_identities::create))
        .route(GET.path, seam(&GET, user_identities::get))
        .route(LIST.path, seam(&LIST, user_identities::list))
        .route(UPDATE.path, seam(&UPDATE, user_identities::update))
        .route(DELETE.path, seam(&DELETE, user_identities::delete))
        .route(WORKSPACES_GET.path, seam(&WORKSPACES_GET, workspaces::get))
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .fallback(|| async { ApiError::RouteNotFound })
        .with_state(state)
}

/// Wraps a handler in Seam's pipeline, in Seam's order: authentication first, then the
/// verb, then the parameters.
fn seam<H, F>(action: &'static Action, handler: H) -> axum::routing::MethodRouter<AppState>
where
    H: Fn(AppState, Call, Params) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response, ApiError>> + Send + 'static,
{
    any(move |State(state): State<AppState>, request: Request| {
        let handler = handler.clone();
        async move {
            match run(state, action, request, handler).await {
                Ok(response) => response,
                Err(error) => error.into_response(),
            }
        }
    })
}

async fn run<H, F>(
    state: AppState,
    action: &'static Action,
    request: Request,
    handler: H,
) -> Result<Response, ApiError>
where
    H: Fn(AppState, Call, Params) -> F,
    F: Future<Output = Result<Response, ApiError>>,
{
    let (parts, body) = request.into_parts();
    if parts.method == Method::OPTIONS {
        return Ok(StatusCode::OK.into_response());
    }
    tracing::Span::current().record("route", action.path);
    let auth = state
        .authenticator()
        .authenticate(
            header_text(&parts.headers, "authorization"),
            header_text(&parts.headers, "seam-workspace"),
        )
        .await?;
    tracing::Span::current().record("workspace.id", tracing::field::display(auth.workspace_id));
    if !action.methods.contains(&parts.method) {
        return Err(ApiError::MethodNotAllowed {
            allowed: action.allowed,
        });
    }
    let params = params::read(
        &parts.method,
        parts.uri.query(),
        &parts.headers,
        body,
        action.source,
    )
    .await?;
    let origin = state.origin_for(header_text(&parts.headers, header::HOST.as_str()));
    handler(state, Call { auth, origin }, params).await
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}
