//! One module per Seam resource; one handler per Seam action.

pub mod health;
pub mod user_identities;
pub mod workspaces;
