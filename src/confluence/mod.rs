//! The Confluence REST client: transport, pagination, typed listings and downloads.
//!
//! [`ConfluenceClient`] is built from plain [`ClientOptions`] and is the only way the
//! connector talks to Confluence. Its listings ([`listing`]) are streams of typed items that
//! hide the differences between Cloud (v2 cursors, v1 CQL cursors) and Server/Data Center
//! (offset pagination with hidden page caps), and fail loudly rather than end early: a
//! listing either yields every item or ends with an error, never silently short.

pub mod ancestors;
pub mod api;
pub mod client;
pub mod configured_spaces;
pub mod directory;
pub mod download;
pub mod error;
pub mod hits;
pub mod listing;
pub mod model;
pub mod options;
pub mod paging;
pub mod permissions;
pub mod queries;
pub mod rate_limit;
pub mod restrictions;
pub mod retry;
pub mod seen_ids;
pub mod server_info;
pub mod stats;
#[cfg(test)]
pub(crate) mod test_server;
pub mod users;

pub use crate::config::Secret;
pub use client::ConfluenceClient;
pub use configured_spaces::{check_space_keys, SpaceCheckError, UnknownSpaces};
pub use directory::Account;
pub use download::{AttachmentRef, Download};
pub use error::ConfluenceError;
pub use hits::{Hit, HitKind};
pub use listing::{ContentOptions, Listing};
pub use model::*;
pub use options::{Auth, ClientOptions, Flavour, GatewayCredential};
pub use permissions::Viewer;
pub use restrictions::Presence;
pub use server_info::ServerInfo;
pub use stats::{RequestStats, StatsSnapshot};
