//! Use cases: the rules between the wire and the store. Each call is one store transaction.

pub mod credentials;
pub mod pagination;
pub mod rate_limit;
pub mod user_identities;
pub mod workspaces;

use crate::domain::user_identity::UniqueField;
use crate::store::StoreError;

/// Why a use case did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No such identity in the caller's workspace.
    #[error("user identity not found")]
    NotFound,
    /// Another identity in the workspace already has this value; nothing was stored.
    #[error("{} already in use", .0.wire_name())]
    Duplicate(UniqueField),
    /// The page cursor is not one this server issued.
    #[error("invalid page cursor")]
    InvalidPageCursor,
    /// The page cursor was issued for a different query.
    #[error("page cursor used with different parameters")]
    MismatchedPageParameters,
    /// The database is unreachable; the request may be retried.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A bug or corrupt data. The message is logged, never shown to a client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict(field) => Self::Duplicate(field),
            StoreError::Unavailable(cause) => Self::Unavailable(cause),
            StoreError::Other(cause) => Self::Internal(cause),
        }
    }
}
