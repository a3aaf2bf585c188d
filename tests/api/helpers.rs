//! `TestApp`: a server on a fresh database, reached over a real TCP listener, with a
//! seeded workspace and API key, and request helpers that return status and JSON.

use std::net::SocketAddr;
use std::sync::Arc;

use identity_server::AppConfig;
use identity_server::domain::ids::WorkspaceId;
use identity_server::server::{self, ConnectionLimits};
use identity_server::service::credentials;
use identity_server::store::{self, SharedStore};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tempfile::TempDir;

pub const JEAN: &str = r#"{"user_identity_key":"jean_doe","email_address":"jean@example.com","phone_number":"+15555550110","full_name":"Jean Doe"}"#;

pub struct TestApp {
    pub address: SocketAddr,
    pub workspace_id: String,
    pub api_key: String,
    pub store: SharedStore,
    pub database_url: String,
    client: reqwest::Client,
    _dir: Arc<TempDir>,
}

/// A response: status, the `seam-request-id` header and the parsed JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub request_id: Option<String>,
    pub body: Value,
}

impl Reply {
    pub fn error_type(&self) -> &str {
        self.body["error"]["type"].as_str().unwrap_or("<none>")
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Value {
        assert!(
            self.status.is_success(),
            "expected success, got {} {}",
            self.status,
            self.body
        );
        assert_eq!(self.body["ok"], true, "{}", self.body);
        &self.body
    }

    #[track_caller]
    pub fn assert_error(&self, status: u16, error_type: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.error_type(), error_type, "{}", self.body);
        assert_eq!(self.body["ok"], false, "{}", self.body);
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

/// Where a test's database lives: a new SQLite file in the test's own directory, or a
/// new PostgreSQL database when `IDENTITY_TEST_POSTGRES_URL` is set.
/// The database is left behind: the test cluster is thrown away as a whole.
pub async fn fresh_database_url(dir: &TempDir) -> String {
    match crate::database::admin_url() {
        Some(admin_url) => crate::database::fresh_database(&admin_url).await,
        None => format!("sqlite://{}", dir.path().join("identity.db").display()),
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(AppConfig::default()).await
    }

    pub async fn spawn_with(config: AppConfig) -> Self {
        Self::spawn_limited(config, ConnectionLimits::default()).await
    }

    /// A server with the given application settings and connection limits.
    pub async fn spawn_limited(config: AppConfig, limits: ConnectionLimits) -> Self {
        let dir = Arc::new(TempDir::new().expect("temp dir"));
        let database_url = fresh_database_url(&dir).await;
        let store = store::connect(&database_url).await.expect("open store");
        let (workspace, api_key) = credentials::create_workspace(&store, "Test workspace")
            .await
            .expect("workspace");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let app = identity_server::build_app(store.clone(), &config);
        tokio::spawn(server::serve(listener, app, limits, std::future::pending()));
        Self {
            address,
            workspace_id: workspace.workspace_id.to_string(),
            api_key,
            store,
            database_url,
            client: reqwest::Client::new(),
            _dir: dir,
        }
    }

    /// Another workspace on the same server, with its own API key.
    pub async fn other_workspace(&self) -> (String, String) {
        let (workspace, api_key) = credentials::create_workspace(&self.store, "Other workspace")
            .await
            .expect("workspace");
        (workspace.workspace_id.to_string(), api_key)
    }

    pub async fn personal_access_token(&self, workspace_ids: &[&str]) -> String {
        let ids: Vec<WorkspaceId> = workspace_ids.iter().map(|id| id.parse().unwrap()).collect();
        credentials::issue_personal_access_token(&self.store, &ids)
            .await
            .expect("pat")
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.address)
    }

    /// Sends a request with the workspace's API key and, if given, a JSON body.
    pub async fn call(&self, method: Method, path_and_query: &str, body: Option<Value>) -> Reply {
        let request = self
            .client
            .request(method, self.url(path_and_query))
            .bearer_auth(&self.api_key);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        Self::reply(request.send().await.expect("request sent")).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path_and_query: &str) -> Reply {
        self.call(Method::GET, path_and_query, None).await
    }

    /// A raw request, for tests of headers, credentials and bodies.
    pub fn request(&self, method: Method, path_and_query: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path_and_query))
    }

    pub async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status();
        let request_id = response
            .headers()
            .get("seam-request-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("response is not JSON ({status}): {text}"));
        Reply {
            status,
            request_id,
            body,
        }
    }

    /// Creates an identity and returns its JSON.
    pub async fn create(&self, body: Value) -> Value {
        let reply = self.post("/user_identities/create", body).await;
        reply.assert_ok()["user_identity"].clone()
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        Self::reply(request.send().await.expect("request sent")).await
    }
}

pub fn jean() -> Value {
    serde_json::from_str(JEAN).unwrap()
}
