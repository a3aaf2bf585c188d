//! Application state and router assembly, shared by `serve` and the tests.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use crate::http;
use crate::http::metrics::Metrics;
use crate::service::credentials::Authenticator;
use crate::service::rate_limit::{ClientNetwork, RateLimit, RateLimiter};
use crate::service::user_identities::UserIdentities;
use crate::service::workspaces::Workspaces;
use crate::store::SharedStore;

/// Settings the HTTP application needs (the listener is the caller's business).
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// How long a verified credential is trusted before it is read again; the bound on
    /// how long a revoked credential keeps working.
    pub credential_cache_ttl: Duration,
    /// Base URL for `next_page_url`; by default the request's `Host` over plain HTTP.
    pub public_url: Option<String>,
    /// Time a client has to send a request body once its headers arrived; `408` after.
    pub body_read_timeout: Duration,
    /// Per-credential rate limit; `None` turns it off.
    pub rate_limit: Option<RateLimit>,
    /// Failed authentications allowed per client network (the connection's peer address);
    /// `None` turns the bound off.
    pub auth_failure_limit: Option<RateLimit>,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            credential_cache_ttl: Duration::from_secs(5),
            public_url: None,
            body_read_timeout: Duration::from_secs(30),
            rate_limit: None,
            auth_failure_limit: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: SharedStore,
    user_identities: UserIdentities,
    workspaces: Workspaces,
    authenticator: Authenticator,
    public_url: Option<String>,
    body_read_timeout: Duration,
    rate_limiter: Option<RateLimiter>,
    auth_failure_limiter: Option<RateLimiter<ClientNetwork>>,
    metrics: Metrics,
}

impl AppState {
    pub fn new(store: SharedStore, config: &AppConfig) -> Self {
        let inner = Inner {
            user_identities: UserIdentities::new(store.clone()),
            workspaces: Workspaces::new(store.clone()),
            authenticator: Authenticator::new(store.clone(), config.credential_cache_ttl),
            public_url: config
                .public_url
                .as_ref()
                .map(|url| url.trim_end_matches('/').to_owned()),
            body_read_timeout: config.body_read_timeout,
            rate_limiter: config.rate_limit.map(RateLimiter::new),
            auth_failure_limiter: config.auth_failure_limit.map(RateLimiter::new),
            metrics: Metrics::default(),
            store,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    pub fn store(&self) -> &SharedStore {
        &self.inner.store
    }

    pub fn user_identities(&self) -> &UserIdentities {
        &self.inner.user_identities
    }

    pub fn workspaces(&self) -> &Workspaces {
        &self.inner.workspaces
    }

    pub fn authenticator(&self) -> &Authenticator {
        &self.inner.authenticator
    }

    pub fn body_read_timeout(&self) -> Duration {
        self.inner.body_read_timeout
    }

    pub fn rate_limiter(&self) -> Option<&RateLimiter> {
        self.inner.rate_limiter.as_ref()
    }

    pub fn auth_failure_limiter(&self) -> Option<&RateLimiter<ClientNetwork>> {
        self.inner.auth_failure_limiter.as_ref()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The base URL a caller reached us at.
    pub fn origin_for(&self, host: Option<&str>) -> String {
        match (&self.inner.public_url, host) {
            (Some(url), _) => url.clone(),
            (None, Some(host)) => format!("http://{host}"),
            (None, None) => "http://localhost".to_owned(),
        }
    }
}

/// The whole HTTP application: routes plus the per-request middleware.
pub fn build_app(store: SharedStore, config: &AppConfig) -> Router {
    let state = AppState::new(store, config);
    http::router(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            state,
            http::metrics::track,
        ))
        .layer(axum::middleware::from_fn(http::limits::header_size))
        .layer(axum::middleware::from_fn(http::observe::observe))
}
