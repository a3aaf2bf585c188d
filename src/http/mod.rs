//! The wire: the route table, Seam's request pipeline (authenticate, check the verb, read
//! parameters, call the handler) and the error envelope.

pub mod error;
pub mod json_writer;
pub mod limits;
pub mod metrics;
pub mod observe;
pub mod openapi;
pub mod pagination;
pub mod params;
pub mod request;
pub mod routes;

use std::future::Future;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

use self::error::{ApiError, Limited};
use self::params::Params;
use self::request::Source;
use self::routes::{health, user_identities, workspaces};
use crate::app::AppState;
use crate::server::PeerAddress;
use crate::service::credentials::AuthContext;
use crate::service::rate_limit::ClientNetwork;

/// Who is calling and how to build absolute URLs for them.
#[derive(Debug, Clone)]
pub struct Call {
    pub auth: AuthContext,
    /// Scheme and authority the caller reached us at, for `next_page_url`.
    pub origin: String,
}

/// What a successful call answers, besides `"ok": true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    UserIdentity,
    UserIdentities,
    Workspace,
    Ok,
}

impl Reply {
    /// Seam's `x-response-key`: the key SDKs return.
    pub fn key(self) -> Option<&'static str> {
        match self {
            Self::UserIdentity => Some("user_identity"),
            Self::UserIdentities => Some("user_identities"),
            Self::Workspace => Some("workspace"),
            Self::Ok => None,
        }
    }
}

/// A Seam action: its path, the verbs it accepts, where its parameters come from, what it
/// answers, and its parameter reader (which also generates its OpenAPI description).
pub struct Action {
    pub path: &'static str,
    pub methods: &'static [Method],
    pub allowed: &'static str,
    pub source: Source,
    pub description: &'static str,
    pub reply: Reply,
    pub read: fn(&mut Params),
}

pub const CREATE: Action = Action {
    path: "/user_identities/create",
    methods: &[Method::POST],
    allowed: "POST",
    source: Source::QueryAndBody,
    description: "Creates a user identity.",
    reply: Reply::UserIdentity,
    read: |params| drop(user_identities::CreateRequest::read(params)),
};
pub const GET: Action = Action {
    path: "/user_identities/get",
    methods: &[Method::GET, Method::POST],
    allowed: "GET,POST",
    source: Source::QueryAndBody,
    description: "Returns a user identity, by user_identity_id or by user_identity_key.",
    reply: Reply::UserIdentity,
    read: |params| drop(user_identities::read_lookup(params)),
};
pub const LIST: Action = Action {
    path: "/user_identities/list",
    methods: &[Method::GET, Method::POST],
    allowed: "GET,POST",
    source: Source::QueryAndBody,
    description: "Lists user identities in created_at, user_identity_id order.",
    reply: Reply::UserIdentities,
    read: |params| drop(user_identities::ListParams::read(params)),
};
pub const UPDATE: Action = Action {
    path: "/user_identities/update",
    methods: &[Method::PATCH, Method::POST],
    allowed: "PATCH,POST",
    source: Source::BodyOnly,
    description: "Updates a user identity: absent fields stay, null clears, a value replaces.",
    reply: Reply::Ok,
    read: |params| drop(user_identities::UpdateRequest::read(params)),
};
pub const DELETE: Action = Action {
    path: "/user_identities/delete",
    methods: &[Method::DELETE, Method::POST],
    allowed: "DELETE,POST",
    source: Source::QueryAndBody,
    description: "Deletes a user identity, at once and for good.",
    reply: Reply::Ok,
    read: |params| {
        user_identities::read_delete(params);
    },
};
pub const WORKSPACES_GET: Action = Action {
    path: "/workspaces/get",
    methods: &[Method::GET, Method::POST],
    allowed: "GET,POST",
    source: Source::QueryAndBody,
    description: "Returns the caller's workspace.",
    reply: Reply::Workspace,
    read: |_| {},
};

/// Every Seam action, in the order the OpenAPI description lists them.
pub const ACTIONS: &[&Action] = &[&CREATE, &GET, &LIST, &UPDATE, &DELETE, &WORKSPACES_GET];

/// Every route the server answers, in one list.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(CREATE.path, seam(&CREATE, user_identities::create))
        .route(GET.path, seam(&GET, user_identities::get))
        .route(LIST.path, seam(&LIST, user_identities::list))
        .route(UPDATE.path, seam(&UPDATE, user_identities::update))
        .route(DELETE.path, seam(&DELETE, user_identities::delete))
        .route(WORKSPACES_GET.path, seam(&WORKSPACES_GET, workspaces::get))
        .route("/health", get_only(get(health::health)))
        .route("/ready", get_only(get(health::ready)))
        .route("/metrics", get_only(get(metrics::serve)))
        .route("/openapi.json", get_only(get(openapi::serve)))
        .fallback(|| async { ApiError::RouteNotFound })
        .with_state(state)
}

/// A GET route whose other verbs answer `405` in the envelope.
fn get_only(route: axum::routing::MethodRouter<AppState>) -> axum::routing::MethodRouter<AppState> {
    route.fallback(|| async { ApiError::MethodNotAllowed { allowed: "GET" } })
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
    // A client network over its failed-authentication bound is refused before its token
    // is looked at, valid or not: answering a right guess differently would let it keep
    // guessing.
    let failures = state.auth_failure_limiter().zip(
        parts
            .extensions
            .get::<PeerAddress>()
            .map(|peer| ClientNetwork::of(peer.0.ip())),
    );
    if let Some((limiter, network)) = failures {
        limiter
            .allow(network)
            .map_err(|retry_after| ApiError::RateLimited {
                retry_after,
                limited: Limited::ClientNetwork,
            })?;
    }
    let auth = state
        .authenticator()
        .authenticate(
            header_text(&parts.headers, "authorization"),
            header_text(&parts.headers, "seam-workspace"),
        )
        .await
        .inspect_err(|error| {
            if let Some((limiter, network)) = failures {
                if error.is_refusal() {
                    limiter.spend(network);
                }
            }
        })?;
    tracing::Span::current().record("workspace.id", tracing::field::display(auth.workspace_id));
    if let Some(limiter) = state.rate_limiter() {
        limiter
            .check(auth.credential)
            .map_err(|retry_after| ApiError::RateLimited {
                retry_after,
                limited: Limited::Credential,
            })?;
    }
    if !action.methods.contains(&parts.method) {
        return Err(ApiError::MethodNotAllowed {
            allowed: action.allowed,
        });
    }
    let params = request::read(
        &parts.method,
        parts.uri.query(),
        &parts.headers,
        body,
        action.source,
        state.body_read_timeout(),
    )
    .await?;
    let origin = state.origin_for(header_text(&parts.headers, header::HOST.as_str()));
    handler(state, Call { auth, origin }, params).await
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}
