//! The user identity: who a person is in one workspace, independent of any access system.

use std::borrow::Cow;

use super::contact::{EmailAddress, PhoneNumber};
use super::ids::{UserIdentityId, WorkspaceId};
use super::timestamp::Timestamp;

/// A stored user identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserIdentity {
    pub user_identity_id: UserIdentityId,
    pub workspace_id: WorkspaceId,
    pub user_identity_key: Option<String>,
    /// As stored; valid when it was written, never re-validated when read.
    pub email_address: Option<String>,
    pub phone_number: Option<String>,
    pub full_name: Option<String>,
    pub created_at: Timestamp,
}

impl UserIdentity {
    /// The same identity with its text borrowed.
    pub fn as_borrowed(&self) -> UserIdentityRef<'_> {
        UserIdentityRef {
            user_identity_id: self.user_identity_id,
            workspace_id: self.workspace_id,
            user_identity_key: self.user_identity_key.as_deref(),
            email_address: self.email_address.as_deref(),
            phone_number: self.phone_number.as_deref(),
            full_name: self.full_name.as_deref(),
            created_at: self.created_at,
        }
    }

    /// See [`UserIdentityRef::display_name`].
    pub fn display_name(&self) -> Cow<'_, str> {
        self.as_borrowed().display_name()
    }
}

/// A stored user identity whose text is borrowed, from a row or from a page of rows, so
/// reading one allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserIdentityRef<'a> {
    pub user_identity_id: UserIdentityId,
    pub workspace_id: WorkspaceId,
    pub user_identity_key: Option<&'a str>,
    pub email_address: Option<&'a str>,
    pub phone_number: Option<&'a str>,
    pub full_name: Option<&'a str>,
    pub created_at: Timestamp,
}

impl<'a> UserIdentityRef<'a> {
    /// Seam's `display_name`, which is never empty: the full name, else the email address,
    /// else the phone number, else the key, else a label built from the id. Derived on
    /// every read, so it always reflects the latest update.
    pub fn display_name(&self) -> Cow<'a, str> {
        [
            self.full_name,
            self.email_address,
            self.phone_number,
            self.user_identity_key,
        ]
        .into_iter()
        .flatten()
        .find(|value| !value.is_empty())
        .map_or_else(
            || Cow::Owned(format!("User identity {}", self.user_identity_id)),
            Cow::Borrowed,
        )
    }

    pub fn to_identity(&self) -> UserIdentity {
        UserIdentity {
            user_identity_id: self.user_identity_id,
            workspace_id: self.workspace_id,
            user_identity_key: self.user_identity_key.map(str::to_owned),
            email_address: self.email_address.map(str::to_owned),
            phone_number: self.phone_number.map(str::to_owned),
            full_name: self.full_name.map(str::to_owned),
            created_at: self.created_at,
        }
    }
}

/// The fields a caller gives when creating an identity. The store assigns the id and
/// `created_at`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUserIdentity {
    pub user_identity_key: Option<String>,
    pub email_address: Option<EmailAddress>,
    pub phone_number: Option<PhoneNumber>,
    pub full_name: Option<String>,
}

impl NewUserIdentity {
    /// The identity this becomes once stored under the id and time the store assigned.
    pub fn into_identity(
        self,
        user_identity_id: UserIdentityId,
        workspace_id: WorkspaceId,
        created_at: Timestamp,
    ) -> UserIdentity {
        UserIdentity {
            user_identity_id,
            workspace_id,
            user_identity_key: self.user_identity_key,
            email_address: self.email_address.map(EmailAddress::into_string),
            phone_number: self.phone_number.map(PhoneNumber::into_string),
            full_name: self.full_name,
            created_at,
        }
    }
}

/// What an update does to one field: leave it, clear it, or replace it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FieldUpdate<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> FieldUpdate<T> {
    pub fn is_keep(&self) -> bool {
        matches!(self, Self::Keep)
    }

    /// The new value, if this update sets one.
    pub fn into_option(self) -> Option<T> {
        match self {
            Self::Set(value) => Some(value),
            Self::Keep | Self::Clear => None,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> FieldUpdate<U> {
        match self {
            Self::Keep => FieldUpdate::Keep,
            Self::Clear => FieldUpdate::Clear,
            Self::Set(value) => FieldUpdate::Set(f(value)),
        }
    }
}

/// A partial update of an identity. Absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserIdentityPatch {
    pub user_identity_key: FieldUpdate<String>,
    pub email_address: FieldUpdate<EmailAddress>,
    pub phone_number: FieldUpdate<PhoneNumber>,
    pub full_name: FieldUpdate<String>,
}

impl UserIdentityPatch {
    pub fn is_empty(&self) -> bool {
        self.user_identity_key.is_keep()
            && self.email_address.is_keep()
            && self.phone_number.is_keep()
            && self.full_name.is_keep()
    }
}

/// How a caller names one identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserIdentityLookup {
    Id(UserIdentityId),
    Key(String),
}

/// A field that must be unique within a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueField {
    UserIdentityKey,
    EmailAddress,
    PhoneNumber,
}

impl UniqueField {
    pub const fn wire_name(self) -> &'static str {
        match self {
            Self::UserIdentityKey => "user_identity_key",
            Self::EmailAddress => "email_address",
            Self::PhoneNumber => "phone_number",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> UserIdentity {
        UserIdentity {
            user_identity_id: "48500a8e-5e7e-4bde-b7e5-0be97cae5d7a".parse().unwrap(),
            workspace_id: "398d80b7-3f96-47c2-b85a-6f8ba21d07be".parse().unwrap(),
            user_identity_key: None,
            email_address: None,
            phone_number: None,
            full_name: None,
            created_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn display_name_prefers_full_name_then_email_then_phone_then_key() {
        let mut identity = identity();
        assert_eq!(
            identity.display_name(),
            "User identity 48500a8e-5e7e-4bde-b7e5-0be97cae5d7a"
        );
        identity.user_identity_key = Some("jean_doe".into());
        assert_eq!(identity.display_name(), "jean_doe");
        identity.phone_number = Some("+15555550110".into());
        assert_eq!(identity.display_name(), "+15555550110");
        identity.email_address = Some("jean@example.com".into());
        assert_eq!(identity.display_name(), "jean@example.com");
        identity.full_name = Some("Jean Doe".into());
        assert_eq!(identity.display_name(), "Jean Doe");
    }
}
