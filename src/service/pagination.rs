//! Page cursors: opaque, URL-safe, bound to the query that issued them. A cursor carries a
//! hash of the query (workspace and every parameter except the cursor) and the list
//! position of the last row served, so the next page is one index seek away.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use crate::domain::ids::{UserIdentityId, WorkspaceId};
use crate::domain::timestamp::Timestamp;
use crate::store::{ListFilter, ListPosition};

const VERSION: u8 = 1;
const HASH_LEN: usize = 12;
const ENCODED_LEN: usize = 1 + HASH_LEN + 8 + 16;

/// The query a cursor is bound to, reduced to a short hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryHash([u8; HASH_LEN]);

impl QueryHash {
    pub fn of(workspace_id: WorkspaceId, filter: &ListFilter, limit: usize) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(workspace_id.as_uuid().as_bytes());
        hasher.update((limit as u64).to_be_bytes());
        let search = filter.search.as_deref().unwrap_or_default();
        hasher.update([u8::from(filter.search.is_some())]);
        hasher.update((search.len() as u64).to_be_bytes());
        hasher.update(search.as_bytes());
        match &filter.user_identity_ids {
            None => hasher.update([0]),
            Some(ids) => {
                hasher.update([1]);
                hasher.update((ids.len() as u64).to_be_bytes());
                ids.iter()
                    .for_each(|id| hasher.update(id.as_uuid().as_bytes()));
            }
        }
        match filter.created_before {
            None => hasher.update([0]),
            Some(before) => {
                hasher.update([1]);
                hasher.update(before.as_millis().to_be_bytes());
            }
        }
        let digest = hasher.finalize();
        let mut hash = [0; HASH_LEN];
        hash.copy_from_slice(&digest[..HASH_LEN]);
        Self(hash)
    }
}

/// A decoded `page_cursor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    pub query: QueryHash,
    pub after: ListPosition,
}

/// The text is not a cursor this server issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Invalid page cursor")]
pub struct InvalidCursor;

impl PageCursor {
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(ENCODED_LEN);
        bytes.push(VERSION);
        bytes.extend_from_slice(&self.query.0);
        bytes.extend_from_slice(&self.after.created_at.as_millis().to_be_bytes());
        bytes.extend_from_slice(self.after.user_identity_id.as_uuid().as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Accepts the URL-safe alphabet this server emits, and the standard one, with or
    /// without padding, since clients may re-encode what they got.
    pub fn decode(text: &str) -> Result<Self, InvalidCursor> {
        let trimmed = text.trim_end_matches('=');
        let bytes = URL_SAFE_NO_PAD
            .decode(trimmed)
            .or_else(|_| STANDARD_NO_PAD.decode(trimmed))
            .map_err(|_| InvalidCursor)?;
        if bytes.len() != ENCODED_LEN || bytes[0] != VERSION {
            return Err(InvalidCursor);
        }
        let (hash, rest) = bytes[1..].split_at(HASH_LEN);
        let (millis, id) = rest.split_at(8);
        let millis = i64::from_be_bytes(millis.try_into().map_err(|_| InvalidCursor)?);
        let id = uuid::Uuid::from_slice(id).map_err(|_| InvalidCursor)?;
        Ok(Self {
            query: QueryHash(hash.try_into().map_err(|_| InvalidCursor)?),
            after: ListPosition {
                created_at: Timestamp::from_millis(millis),
                user_identity_id: UserIdentityId::from_uuid(id),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> PageCursor {
        let filter = ListFilter {
            search: Some("jean".into()),
            ..ListFilter::default()
        };
        PageCursor {
            query: QueryHash::of(WorkspaceId::new_random(), &filter, 100),
            after: ListPosition {
                created_at: Timestamp::from_millis(1_704_951_470_264),
                user_identity_id: UserIdentityId::new_random(),
            },
        }
    }

    #[test]
    fn cursor_round_trips() {
        let cursor = cursor();
        assert_eq!(PageCursor::decode(&cursor.encode()), Ok(cursor));
    }

    #[test]
    fn decode_refuses_foreign_text() {
        for text in [
            "",
            "abc",
            "!!!!",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(PageCursor::decode(text), Err(InvalidCursor), "{text}");
        }
    }

    #[test]
    fn the_hash_changes_with_every_parameter() {
        let workspace = WorkspaceId::new_random();
        let base = ListFilter::default();
        let hash = QueryHash::of(workspace, &base, 100);
        assert_eq!(hash, QueryHash::of(workspace, &base, 100));
        assert_ne!(hash, QueryHash::of(workspace, &base, 101));
        assert_ne!(hash, QueryHash::of(WorkspaceId::new_random(), &base, 100));
        let searched = ListFilter {
            search: Some(String::new()),
            ..base.clone()
        };
        assert_ne!(hash, QueryHash::of(workspace, &searched, 100));
        let dated = ListFilter {
            created_before: Some(Timestamp::from_millis(0)),
            ..base.clone()
        };
        assert_ne!(hash, QueryHash::of(workspace, &dated, 100));
        let ids = ListFilter {
            user_identity_ids: Some(vec![]),
            ..base
        };
        assert_ne!(hash, QueryHash::of(workspace, &ids, 100));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_cursor_round_trips_through_url_safe_text(
            workspace in any::<[u8; 16]>(),
            search in proptest::option::of("\\PC{0,20}"),
            limit in 1usize..=1000,
            millis in any::<i64>(),
            id in any::<[u8; 16]>(),
        ) {
            let filter = ListFilter { search, ..ListFilter::default() };
            let workspace = WorkspaceId::from_uuid(uuid::Uuid::from_bytes(workspace));
            let cursor = PageCursor {
                query: QueryHash::of(workspace, &filter, limit),
                after: ListPosition {
                    created_at: Timestamp::from_millis(millis),
                    user_identity_id: UserIdentityId::from_uuid(uuid::Uuid::from_bytes(id)),
                },
            };
            let text = cursor.encode();
            prop_assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            prop_assert_eq!(PageCursor::decode(&text), Ok(cursor));
        }

        #[test]
        fn decoding_any_text_fails_cleanly_or_round_trips(text in "\\PC{0,60}|[A-Za-z0-9_=+/-]{40,56}") {
            if let Ok(cursor) = PageCursor::decode(&text) {
                prop_assert_eq!(PageCursor::decode(&cursor.encode()), Ok(cursor));
            }
        }
    }
}
