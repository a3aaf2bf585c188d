//! Application state and router assembly, shared by `serve` and the tests.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use crate::http;
use crate::service::credentials::Authenticator;
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
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            credential_cache_ttl: Duration::from_secs(5),
            public_url: None,
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
    http::router(AppState::new(store, config))
        .layer(axum::middleware::from_fn(http::observe::observe))
}
