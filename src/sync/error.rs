//! Why a sync could not start or run at all (as opposed to a sync that ran and is
//! incomplete, which is a [`super::SyncReport`]).

use std::fmt;

/// A sync that did not run; `Display` is the one line the user sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncError {
    /// The configuration asks for something this kind of sync or this version cannot do.
    Unsupported(String),
    /// A step before the crawl failed: the rules, Confluence, Elasticsearch, the lease.
    Start(String),
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Unsupported(why) | SyncError::Start(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for SyncError {}

/// `Result::map_err` for the steps before the crawl: their errors already say what failed.
pub(super) fn start<E: fmt::Display>(e: E) -> SyncError {
    SyncError::Start(e.to_string())
}
