//! Identifier newtypes. Seam ids are canonical hyphenated UUIDs; every id that crosses a
//! boundary is parsed into one of these types first, so a malformed id never reaches a lookup.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// The text given for an id is not a canonical hyphenated UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Invalid uuid")]
pub struct InvalidUuid;

/// Parses the canonical 8-4-4-4-12 hyphenated form (any case, any version), as Seam's
/// validator does. Braced, URN and simple forms are refused.
pub fn parse_canonical_uuid(text: &str) -> Result<Uuid, InvalidUuid> {
    // At 36 bytes the parser accepts exactly the hyphenated form: hex digits with hyphens
    // at 8, 13, 18 and 23.
    if text.len() != 36 {
        return Err(InvalidUuid);
    }
    Uuid::try_parse_ascii(text.as_bytes()).map_err(|_| InvalidUuid)
}

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidUuid;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                parse_canonical_uuid(text).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut buffer = uuid::Uuid::encode_buffer();
                serializer.serialize_str(self.0.hyphenated().encode_lower(&mut buffer))
            }
        }
    };
}

uuid_id!(
    /// A workspace: the unit of isolation. Every identity and API key belongs to one.
    WorkspaceId
);
uuid_id!(
    /// A user identity's `user_identity_id`.
    UserIdentityId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_canonical_forms_in_any_case() {
        let lower = "48500a8e-5e7e-4bde-b7e5-0be97cae5d7a";
        assert!(parse_canonical_uuid(lower).is_ok());
        assert!(parse_canonical_uuid(&lower.to_uppercase()).is_ok());
    }

    #[test]
    fn parse_refuses_non_canonical_forms() {
        for text in [
            "",
            "48500a8e5e7e4bde b7e50be97cae5d7a",
            "48500a8e5e7e4bdeb7e50be97cae5d7a",
            "{48500a8e-5e7e-4bde-b7e5-0be97cae5d7a}",
            "urn:uuid:48500a8e-5e7e-4bde-b7e5-0be97cae5d7a",
            "48500a8e-5e7e-4bde-b7e5-0be97cae5d7g",
            "48500a8e-5e7e-4bde-b7e5+0be97cae5d7a",
        ] {
            assert_eq!(parse_canonical_uuid(text), Err(InvalidUuid), "{text}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_uuid_round_trips_in_either_case(bytes in any::<[u8; 16]>(), upper in any::<bool>()) {
            let uuid = Uuid::from_bytes(bytes);
            let text = uuid.hyphenated().to_string();
            let text = if upper { text.to_uppercase() } else { text };
            prop_assert_eq!(parse_canonical_uuid(&text), Ok(uuid));
        }

        #[test]
        fn only_the_canonical_form_is_accepted(text in "\\PC{0,40}|[0-9a-fA-F-]{30,40}") {
            if let Ok(uuid) = parse_canonical_uuid(&text) {
                prop_assert_eq!(text.to_lowercase(), uuid.hyphenated().to_string());
            }
        }
    }
}
