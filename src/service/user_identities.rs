//! User identity use cases: create, get, list, update and delete within one workspace.

use super::ServiceError;
use super::pagination::{PageCursor, QueryHash};
use crate::domain::ids::{UserIdentityId, WorkspaceId};
use crate::domain::user_identity::{
    NewUserIdentity, UserIdentity, UserIdentityLookup, UserIdentityPatch,
};
use crate::store::{ListFilter, ListPosition, PageRequest, SharedStore, UserIdentityRows};

/// A list request as the caller gave it, cursor still encoded.
#[derive(Debug, Clone)]
pub struct ListRequest {
    pub filter: ListFilter,
    pub limit: usize,
    pub page_cursor: Option<String>,
}

/// One page of a list and the cursor of the next, if there is one.
#[derive(Debug, Clone)]
pub struct ListPage {
    pub user_identities: UserIdentityRows,
    pub next_page_cursor: Option<String>,
}

#[derive(Clone)]
pub struct UserIdentities {
    store: SharedStore,
}

impl UserIdentities {
    pub fn new(store: SharedStore) -> Self {
        Self { store }
    }

    pub async fn create(
        &self,
        workspace_id: WorkspaceId,
        new: NewUserIdentity,
    ) -> Result<UserIdentity, ServiceError> {
        Ok(self.store.create_user_identity(workspace_id, new).await?)
    }

    pub async fn get(
        &self,
        workspace_id: WorkspaceId,
        lookup: &UserIdentityLookup,
    ) -> Result<UserIdentity, ServiceError> {
        self.store
            .user_identity(workspace_id, lookup)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// Reads one page. The cursor must come from the same query in the same workspace;
    /// one row beyond the page is read to learn whether another page follows.
    pub async fn list(
        &self,
        workspace_id: WorkspaceId,
        request: ListRequest,
    ) -> Result<ListPage, ServiceError> {
        let query = QueryHash::of(workspace_id, &request.filter, request.limit);
        let after = match request.page_cursor.as_deref() {
            None => None,
            Some(text) => {
                let cursor =
                    PageCursor::decode(text).map_err(|_| ServiceError::InvalidPageCursor)?;
                if cursor.query != query {
                    return Err(ServiceError::MismatchedPageParameters);
                }
                Some(cursor.after)
            }
        };
        let page = PageRequest {
            after,
            limit: request.limit + 1,
        };
        let mut rows = self
            .store
            .list_user_identities(workspace_id, &request.filter, page)
            .await?;
        let next_page_cursor = if rows.len() > request.limit {
            rows.truncate(request.limit);
            rows.last().map(|last| {
                PageCursor {
                    query,
                    after: ListPosition::of_row(last),
                }
                .encode()
            })
        } else {
            None
        };
        Ok(ListPage {
            user_identities: rows,
            next_page_cursor,
        })
    }

    /// Applies the patch; `display_name` follows since it is derived on read.
    pub async fn update(
        &self,
        workspace_id: WorkspaceId,
        user_identity_id: UserIdentityId,
        patch: UserIdentityPatch,
    ) -> Result<(), ServiceError> {
        Ok(self
            .store
            .update_user_identity(workspace_id, user_identity_id, patch)
            .await?)
    }

    /// Deletes at once and for good; a second delete finds nothing.
    pub async fn delete(
        &self,
        workspace_id: WorkspaceId,
        user_identity_id: UserIdentityId,
    ) -> Result<(), ServiceError> {
        Ok(self
            .store
            .delete_user_identity(workspace_id, user_identity_id)
            .await?)
    }
}
