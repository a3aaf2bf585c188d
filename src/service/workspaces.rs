//! Workspace use cases visible to API callers.

use super::ServiceError;
use crate::domain::ids::WorkspaceId;
use crate::store::{SharedStore, Workspace};

#[derive(Clone)]
pub struct Workspaces {
    store: SharedStore,
}

impl Workspaces {
    pub fn new(store: SharedStore) -> Self {
        Self { store }
    }

    /// The caller's own workspace. It exists unless it was removed from the database
    /// after the caller's credential was verified.
    pub async fn get(&self, workspace_id: WorkspaceId) -> Result<Option<Workspace>, ServiceError> {
        Ok(self.store.workspace(workspace_id).await?)
    }
}
