//! The Confluence REST client: transport, pagination, typed listings and downloads.
//!
//! [`ConfluenceClient`] is built from plain [`ClientOptions`] and is the only way the
//! connector talks to Confluence. Its listings ([`listing`]) are streams of typed items that
//! hide the differences between Cloud (v2 cursors, v1 CQL cursors) and Server/Data Center
//! (offset pagination with hidden page caps), and fail loudly rather than end early: a
//! listing either yields every item or ends with an error, never silently short.

mod ancestors;
pub(crate) mod api;
pub(crate) mod client;
mod configured_spaces;
mod directory;
mod download;
mod error;
mod hits;
pub(crate) mod listing;
mod model;
mod options;
mod paging;
mod permissions;
pub(crate) mod queries;
mod rate_limit;
mod restrictions;
mod retry;
mod seen_ids;
mod server_info;
pub(crate) mod stats;
#[cfg(test)]
pub(crate) mod test_server;
mod users;

// Public: the client as tests/confluence_client.rs and tests/tls.rs drive it.
pub use client::ConfluenceClient;
pub use error::ConfluenceError;
pub use listing::ContentOptions;
pub use model::{ContentType, UserRef};
pub use options::{Auth, ClientOptions, Flavour, GatewayCredential};

// For the rest of the crate.
pub(crate) use directory::Account;
pub(crate) use download::AttachmentRef;
pub(crate) use hits::{Hit, HitKind};
pub(crate) use listing::Listing;
pub(crate) use model::*;
pub(crate) use permissions::Viewer;
pub(crate) use restrictions::Presence;
pub(crate) use stats::StatsSnapshot;
