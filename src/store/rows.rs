//! [`UserIdentityRows`]: a page of user identities as a list query reads them, with every
//! row's text packed into one buffer, so reading a page costs a few allocations rather
//! than several per row.

use crate::domain::ids::{UserIdentityId, WorkspaceId};
use crate::domain::timestamp::Timestamp;
use crate::domain::user_identity::{UserIdentity, UserIdentityRef};

/// Identities of one workspace, in the order they were pushed.
#[derive(Debug, Clone)]
pub struct UserIdentityRows {
    workspace_id: WorkspaceId,
    /// The text of every row's optional columns, one after another.
    text: String,
    rows: Vec<PackedRow>,
}

/// One row: its fixed-size columns, and where its text columns sit in `text`.
#[derive(Debug, Clone, Copy)]
struct PackedRow {
    user_identity_id: UserIdentityId,
    created_at: Timestamp,
    /// Key, email, phone and full name; `None` for SQL NULL.
    fields: [Option<Span>; 4],
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

/// Bytes reserved per row for its text: a typical identity holds about 80.
const TEXT_BYTES_PER_ROW: usize = 96;

impl UserIdentityRows {
    /// An empty page with room for `capacity` rows.
    pub fn with_capacity(workspace_id: WorkspaceId, capacity: usize) -> Self {
        Self {
            workspace_id,
            text: String::with_capacity(capacity * TEXT_BYTES_PER_ROW),
            rows: Vec::with_capacity(capacity),
        }
    }

    pub fn workspace_id(&self) -> WorkspaceId {
        self.workspace_id
    }

    /// Appends a copy of `row`, which must belong to this page's workspace.
    pub fn push(&mut self, row: UserIdentityRef<'_>) {
        debug_assert_eq!(row.workspace_id, self.workspace_id);
        let fields = [
            row.user_identity_key,
            row.email_address,
            row.phone_number,
            row.full_name,
        ]
        .map(|field| {
            field.map(|value| {
                let start = self.text.len();
                self.text.push_str(value);
                Span {
                    start,
                    end: self.text.len(),
                }
            })
        });
        self.rows.push(PackedRow {
            user_identity_id: row.user_identity_id,
            created_at: row.created_at,
            fields,
        });
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Keeps the first `len` rows.
    pub fn truncate(&mut self, len: usize) {
        self.rows.truncate(len);
        let text_end = self
            .rows
            .iter()
            .rev()
            .flat_map(|row| row.fields.iter().rev().flatten())
            .next()
            .map_or(0, |span| span.end);
        self.text.truncate(text_end);
    }

    pub fn get(&self, index: usize) -> Option<UserIdentityRef<'_>> {
        self.rows.get(index).map(|row| self.unpack(row))
    }

    pub fn last(&self) -> Option<UserIdentityRef<'_>> {
        self.rows.last().map(|row| self.unpack(row))
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = UserIdentityRef<'_>> + '_ {
        self.rows.iter().map(|row| self.unpack(row))
    }

    /// Every row as an owned identity.
    pub fn to_identities(&self) -> Vec<UserIdentity> {
        self.iter().map(|row| row.to_identity()).collect()
    }

    /// How many bytes of text the rows hold, to size what is built from them.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    fn unpack(&self, row: &PackedRow) -> UserIdentityRef<'_> {
        let [user_identity_key, email_address, phone_number, full_name] = row
            .fields
            .map(|field| field.map(|span| &self.text[span.start..span.end]));
        UserIdentityRef {
            user_identity_id: row.user_identity_id,
            workspace_id: self.workspace_id,
            user_identity_key,
            email_address,
            phone_number,
            full_name,
            created_at: row.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(n: i64, name: Option<&str>, email: Option<&str>) -> UserIdentity {
        UserIdentity {
            user_identity_id: UserIdentityId::new_random(),
            workspace_id: WorkspaceId::from_uuid(uuid::Uuid::nil()),
            user_identity_key: Some(format!("key-{n}")),
            email_address: email.map(str::to_owned),
            phone_number: None,
            full_name: name.map(str::to_owned),
            created_at: Timestamp::from_millis(n),
        }
    }

    #[test]
    fn rows_read_back_as_pushed_and_truncate_keeps_the_first() {
        let identities = [
            identity(1, Some("Jean Doe"), Some("jean@example.com")),
            identity(2, None, Some("")),
            identity(3, Some("Émile Zoë 🙂"), None),
        ];
        let mut rows = UserIdentityRows::with_capacity(identities[0].workspace_id, 1);
        identities.iter().for_each(|i| rows.push(i.as_borrowed()));
        assert_eq!(rows.len(), 3);
        assert_eq!(rows.to_identities(), identities);
        assert_eq!(rows.last(), Some(identities[2].as_borrowed()));

        rows.truncate(2);
        assert_eq!(rows.to_identities(), identities[..2]);
        rows.push(identities[2].as_borrowed());
        assert_eq!(
            rows.to_identities(),
            identities,
            "truncating frees the text too"
        );
        rows.truncate(0);
        assert!(rows.is_empty());
        assert_eq!(rows.text_len(), 0);
    }
}
