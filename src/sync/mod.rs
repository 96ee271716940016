//! The sync kinds, each told as a story in its own file, and the pieces they share.
//!
//! [`crawl`] walks Confluence into a stream of [`document`]s ([`advanced_rules`] and incremental
//! syncs crawl a [`selected`] part of it instead); [`full`] decides for each
//! whether to write, skip or delete it, within the [`scope`] the crawl completed; the
//! [`report`] says what happened. [`access_control`] writes the identity documents of
//! document-level security.

pub mod access_control;
pub mod advanced_rules;
pub mod attachment;
pub mod crawl;
pub mod document;
pub mod full;
pub mod incremental;
pub mod report;
pub mod scope;
pub mod selected;
pub mod shape;
pub mod source;
pub mod target;
