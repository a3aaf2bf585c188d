//! Domain types shared by every layer: identifiers, contact details, user identities,
//! credentials and timestamps. Nothing here does IO or is async.

pub mod contact;
pub mod credential;
pub mod ids;
pub mod timestamp;
pub mod user_identity;
