//! Credentials: issuing API keys and personal access tokens, and resolving a bearer token
//! (plus the `seam-workspace` header) to the workspace it may act in.
//!
//! Verified records are cached for a short, configurable time, so a revoked credential
//! stops working on every instance within that bound. Unknown ids are never cached, so a
//! new credential works at once.
//!
//! Timing: the presented secret is hashed before any lookup, every well-formed token is
//! looked up (an unknown id reads the database like a known one), and the comparison is
//! constant-time, against a decoy hash when the id is unknown. What timing can still tell
//! apart is whether a public id is in the cache; public ids are not secret (they are
//! printed in every token), so that reveals nothing that helps guess a secret.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::credential::{BearerToken, IssuedToken, TokenHash, TokenParts};
use crate::domain::ids::WorkspaceId;
use crate::store::{SharedStore, StoreError, Workspace};

/// Who is calling, once authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthContext {
    pub workspace_id: WorkspaceId,
    pub method: AuthMethod,
    /// The credential used, for per-credential limits.
    pub credential: CredentialKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    ApiKey,
    PersonalAccessToken,
}

/// A credential's kind and public id (never its secret): the key of its rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CredentialKey {
    method: AuthMethod,
    public_id: [u8; 12],
}

impl CredentialKey {
    /// Ids are 12 ASCII characters; a longer one is cut, a shorter one padded with zeros.
    pub fn new(method: AuthMethod, public_id: &str) -> Self {
        let mut id = [0; 12];
        for (slot, byte) in id.iter_mut().zip(public_id.bytes()) {
            *slot = byte;
        }
        Self {
            method,
            public_id: id,
        }
    }
}

/// Why a request is not authenticated. Each maps to one Seam error type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("No Authorization header")]
    MissingAuthorization,
    #[error("No token provided")]
    NoToken,
    #[error("API Key not found")]
    ApiKeyNotFound,
    #[error("Access token not found")]
    AccessTokenNotFound,
    #[error("When using access token authentication, you must provide the Seam-Workspace header")]
    MissingWorkspace,
    #[error("A client session token was used instead of an API key")]
    ClientSessionUsedForApiKey,
    #[error("A JWT was used instead of an API key")]
    JwtUsedForApiKey,
    #[error("A publishable key was used instead of an API key")]
    PublishableKeyUsedForApiKey,
    #[error("credential store unavailable: {0}")]
    Unavailable(String),
}

impl AuthError {
    /// Whether the request was refused for its credentials (a wrong, missing or unusable
    /// token), rather than because they could not be checked.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Self::Unavailable(_))
    }
}

#[derive(Clone)]
enum CachedCredential {
    ApiKey {
        hash: TokenHash,
        workspace_id: WorkspaceId,
    },
    PersonalAccessToken {
        hash: TokenHash,
        workspace_ids: Vec<WorkspaceId>,
    },
}

pub struct Authenticator {
    store: SharedStore,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, CachedCredential)>>,
    /// Compared against when a token's id is unknown, so that path costs what a wrong
    /// secret costs.
    decoy: TokenHash,
}

impl Authenticator {
    pub fn new(store: SharedStore, ttl: Duration) -> Self {
        let decoy = TokenHash::of_secret(&IssuedToken::new_api_key().plaintext);
        Self {
            store,
            ttl,
            cache: Mutex::new(HashMap::new()),
            decoy,
        }
    }

    /// Resolves the `Authorization` and `seam-workspace` header values. An empty
    /// `seam-workspace` counts as absent.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        workspace_header: Option<&str>,
    ) -> Result<AuthContext, AuthError> {
        let header = authorization.ok_or(AuthError::MissingAuthorization)?;
        let token = bearer_token(header).ok_or(AuthError::NoToken)?;
        let workspace_header = workspace_header
            .map(str::trim)
            .filter(|value| !value.is_empty());
        match BearerToken::classify(token) {
            BearerToken::ApiKey(parts) => self.api_key(&parts).await,
            BearerToken::PersonalAccessToken(parts) => {
                let workspace = workspace_header.ok_or(AuthError::MissingWorkspace)?;
                self.personal_access_token(&parts, workspace).await
            }
            BearerToken::ClientSession => Err(AuthError::ClientSessionUsedForApiKey),
            BearerToken::Jwt => Err(AuthError::JwtUsedForApiKey),
            BearerToken::PublishableKey => Err(AuthError::PublishableKeyUsedForApiKey),
            BearerToken::Unrecognized => {
                self.decoy.matches(&TokenHash::of_secret(token));
                Err(AuthError::ApiKeyNotFound)
            }
        }
    }

    async fn api_key(&self, parts: &TokenParts) -> Result<AuthContext, AuthError> {
        let presented = TokenHash::of_secret(&parts.secret);
        match self.lookup(&parts.public_id, false).await? {
            Some(CachedCredential::ApiKey { hash, workspace_id }) if hash.matches(&presented) => {
                Ok(AuthContext {
                    workspace_id,
                    method: AuthMethod::ApiKey,
                    credential: CredentialKey::new(AuthMethod::ApiKey, &parts.public_id),
                })
            }
            Some(_) => Err(AuthError::ApiKeyNotFound),
            None => {
                self.decoy.matches(&presented);
                Err(AuthError::ApiKeyNotFound)
            }
        }
    }

    async fn personal_access_token(
        &self,
        parts: &TokenParts,
        workspace: &str,
    ) -> Result<AuthContext, AuthError> {
        let presented = TokenHash::of_secret(&parts.secret);
        let requested: Option<WorkspaceId> = workspace.parse().ok();
        match self.lookup(&parts.public_id, true).await? {
            Some(CachedCredential::PersonalAccessToken {
                hash,
                workspace_ids,
            }) => {
                let secret_ok = hash.matches(&presented);
                match requested.filter(|id| workspace_ids.contains(id)) {
                    Some(workspace_id) if secret_ok => Ok(AuthContext {
                        workspace_id,
                        method: AuthMethod::PersonalAccessToken,
                        credential: CredentialKey::new(
                            AuthMethod::PersonalAccessToken,
                            &parts.public_id,
                        ),
                    }),
                    _ => Err(AuthError::AccessTokenNotFound),
                }
            }
            _ => {
                self.decoy.matches(&presented);
                Err(AuthError::AccessTokenNotFound)
            }
        }
    }

    async fn lookup(
        &self,
        public_id: &str,
        personal: bool,
    ) -> Result<Option<CachedCredential>, AuthError> {
        let cache_key = if personal {
            format!("pat:{public_id}")
        } else {
            public_id.to_owned()
        };
        if let Some(fresh) = self.cached(&cache_key) {
            return Ok(Some(fresh));
        }
        let unavailable = |error: StoreError| AuthError::Unavailable(error.to_string());
        let record = if personal {
            self.store
                .personal_access_token(public_id)
                .await
                .map_err(unavailable)?
                .map(|pat| CachedCredential::PersonalAccessToken {
                    hash: pat.secret_hash,
                    workspace_ids: pat.workspace_ids,
                })
        } else {
            self.store
                .api_key(public_id)
                .await
                .map_err(unavailable)?
                .map(|key| CachedCredential::ApiKey {
                    hash: key.secret_hash,
                    workspace_id: key.workspace_id,
                })
        };
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        match &record {
            Some(credential) => {
                cache.insert(cache_key, (Instant::now(), credential.clone()));
            }
            None => {
                cache.remove(&cache_key);
            }
        }
        Ok(record)
    }

    fn cached(&self, cache_key: &str) -> Option<CachedCredential> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let (fetched_at, credential) = cache.get(cache_key)?;
        (fetched_at.elapsed() < self.ttl).then(|| credential.clone())
    }
}

/// The token of an `Authorization: Bearer <token>` header value.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Creates a workspace and its first API key. Returns the workspace and the key's
/// plaintext, which exists nowhere else.
pub async fn create_workspace(
    store: &SharedStore,
    name: &str,
) -> Result<(Workspace, String), StoreError> {
    let workspace = store.create_workspace(name).await?;
    let api_key = issue_api_key(store, workspace.workspace_id).await?;
    Ok((workspace, api_key))
}

/// Issues an API key for the workspace and returns its plaintext.
pub async fn issue_api_key(
    store: &SharedStore,
    workspace_id: WorkspaceId,
) -> Result<String, StoreError> {
    let token = IssuedToken::new_api_key();
    store
        .insert_api_key(workspace_id, &token.public_id, &token.hash)
        .await?;
    Ok(token.plaintext)
}

/// Issues a personal access token usable in each of the workspaces.
pub async fn issue_personal_access_token(
    store: &SharedStore,
    workspace_ids: &[WorkspaceId],
) -> Result<String, StoreError> {
    let token = IssuedToken::new_personal_access_token();
    store
        .insert_personal_access_token(&token.public_id, &token.hash, workspace_ids)
        .await?;
    Ok(token.plaintext)
}

/// The public id of an API key or personal access token given in full (or the id alone).
pub fn public_id_of(token_or_id: &str) -> Option<String> {
    match BearerToken::classify(token_or_id.trim()) {
        BearerToken::ApiKey(parts) | BearerToken::PersonalAccessToken(parts) => {
            Some(parts.public_id)
        }
        _ => {
            let id = token_or_id.trim();
            (id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_owned())
        }
    }
}
