//! The sync kinds, each told as a story in its own file, over shared pieces.
//!
//! [`run()`] is the one entry every driver calls: it takes the lease, reads the state, picks
//! the window, runs the sync and moves the cursor. A content sync is a [`ContentSync`](content::ContentSync)
//! ([`content`]): [`crawl`] walks Confluence into a stream of [`document`]s ([`advanced_rules`]
//! and incremental syncs crawl a [`selected`] part of it instead); [`full`] and
//! [`incremental`] decide for each whether to write, skip or delete it. Whether a sync saw
//! all of its scope is a type ([`completeness`]), read by one policy for deletions and the
//! cursor; [`scope`] applies it space by space. The [`report`] says what happened.
//! [`access_control`] writes the identity documents of document-level security.

mod access_control;
mod advanced_rules;
mod attachment;
mod completeness;
mod content;
mod crawl;
mod document;
mod error;
mod full;
mod history;
mod incremental;
mod kind;
mod report;
mod run;
mod scope;
mod selected;
mod selection;
mod shape;
mod source;
mod target;
mod watch;

// Public: the engine's entry, what a sync ends with, and the document types the
// bulk_encode bench builds.
pub use completeness::Incomplete;
pub use document::{DocType, Document, Indexed, PipelineFlags};
pub use error::SyncError;
pub use kind::SyncKind;
pub use report::SyncReport;
pub use run::run;
pub use target::elastic_options;

// For the drivers (cli, service, managed).
pub(crate) use access_control::identity_index;
pub(crate) use advanced_rules::check_remotely as check_advanced_rules_remotely;
pub(crate) use run::{run_watched, standalone_source};
pub(crate) use source::client_options;
pub(crate) use watch::Watch;
