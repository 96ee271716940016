//! The sync kinds, each told as a story in its own file, and the pieces they share.
//!
//! [`crawl`] walks Confluence into a stream of [`document`]s; [`full`] decides for each
//! whether to write, skip or delete it, within the [`scope`] the crawl completed; the
//! [`report`] says what happened.

pub mod attachment;
pub mod crawl;
pub mod document;
pub mod full;

pub mod report;
pub mod scope;
pub mod source;
pub mod target;
