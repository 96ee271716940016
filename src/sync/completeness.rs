//! Whether a sync saw the whole of its scope, as a type: the one thing that decides whether
//! it may delete and move the cursor.
//!
//! Every sync kind records each reason it is incomplete as an [`Incomplete`] in its report.
//! One policy reads them ([`may_delete_unseen`], [`may_advance_cursor`], and
//! [`nothing_listed`] for listings that found nothing at all): a sync with any reason deletes
//! nothing outside the scopes it listed completely, and leaves the cursor
//! where it was, so that the next sync looks again. Reasons are values, not strings, so that
//! no caller has to recognise a message to know what happened.

use std::fmt;

/// Why the crawl stopped early when shutdown was requested or the lease was lost.
pub(super) const STOPPED: &str =
    "stopped before the crawl finished: shutdown was requested, or the sync lease was lost";

/// One reason a sync did not see (or write) the whole of its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incomplete {
    /// Shutdown was requested, or the sync lease was lost, before the sync finished.
    Stopped,
    /// The error monitor stopped the bulk sink (too many writes failed), or the sync lease's
    /// fence did.
    SinkStopped(String),
    /// The lease could not be confirmed before the state was written: another process may
    /// hold the index, so this sync's state and cursor are not written.
    LeaseLost(String),
    /// The list of spaces could not be read: no space is known to be in scope.
    SpaceList(String),
    /// A listing inside this space failed after its retries: the space keeps its documents.
    Space {
        /// The space key.
        key: String,
        /// What Confluence answered.
        error: String,
    },
    /// A listing that belongs to no one space failed after its retries: an advanced rule's
    /// query, a listing of an incremental sync's plan, the people and groups of the
    /// directory.
    Listing {
        /// What was being listed.
        what: String,
        /// What Confluence answered.
        error: String,
    },
    /// A listing of the people and groups (the directory of an access-control sync) failed.
    Directory(String),
    /// The crawl task ended abnormally.
    CrawlAborted(String),
    /// Confluence listed nothing at all in scope — no space, no content — while the index
    /// holds documents: a space key with a typo, an account that lost its permissions, or
    /// rules that suddenly match nothing look exactly like this, and emptying the index
    /// would be the wrong answer to each.
    NothingListed {
        /// Documents the index holds, all kept.
        indexed: u64,
    },
}

impl Incomplete {
    /// A failed listing of `what` that belongs to no one space.
    pub(crate) fn listing(what: impl Into<String>, error: impl fmt::Display) -> Incomplete {
        Incomplete::Listing { what: what.into(), error: error.to_string() }
    }

    /// True for the reasons that stopped the sync rather than a listing.
    pub(crate) fn is_stop(&self) -> bool {
        matches!(self, Incomplete::Stopped | Incomplete::SinkStopped(_) | Incomplete::LeaseLost(_))
    }
}

impl fmt::Display for Incomplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Incomplete::Stopped => f.write_str(STOPPED),
            Incomplete::SinkStopped(why) => f.write_str(why),
            Incomplete::LeaseLost(why) => write!(f, "{why}: the sync state and cursor were not written"),
            Incomplete::SpaceList(e) => write!(f, "listing spaces: {e}"),
            Incomplete::Space { key, error } => write!(f, "space {key}: {error}"),
            Incomplete::Listing { what, error } => write!(f, "{what}: {error}"),
            Incomplete::Directory(failure) => f.write_str(failure),
            Incomplete::CrawlAborted(e) => write!(f, "the crawl stopped: {e}"),
            Incomplete::NothingListed { indexed } => write!(
                f,
                "Confluence listed nothing in scope while the index holds {indexed} documents, so nothing was \
                 deleted: check `spaces`, the sync rules and the account's permissions (to empty the index on \
                 purpose, delete it)"
            ),
        }
    }
}

/// Whether a sync that is incomplete for `reasons` may delete what it did not see, where its
/// deletions are not judged scope by scope (incremental and access-control syncs): only when
/// there is no reason at all.
pub(super) fn may_delete_unseen(reasons: &[Incomplete]) -> bool {
    reasons.is_empty()
}

/// The reason to keep everything when a sync's listings found nothing at all (`listed`: the
/// documents, spaces included, they found) while the index holds `indexed` documents; `None`
/// when they found something, or there is nothing to keep.
pub(super) fn nothing_listed(listed: u64, indexed: usize) -> Option<Incomplete> {
    (listed == 0 && indexed > 0).then_some(Incomplete::NothingListed { indexed: indexed as u64 })
}

/// Whether a sync may move the cursor (and record itself as completed): every listing
/// completed, nothing stopped it, and every document it found was written — a document that
/// failed is then fetched again by the next incremental sync.
pub(super) fn may_advance_cursor(reasons: &[Incomplete], failed_documents: usize) -> bool {
    reasons.is_empty() && failed_documents == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_reason_keeps_deletions_and_the_cursor() {
        assert!(may_delete_unseen(&[]));
        assert!(may_advance_cursor(&[], 0));
        assert!(!may_advance_cursor(&[], 1), "a failed document keeps the cursor");
        for reason in [
            Incomplete::Stopped,
            Incomplete::SinkStopped("too many errors".into()),
            Incomplete::LeaseLost("taken over".into()),
            Incomplete::SpaceList("500".into()),
            Incomplete::Space { key: "DEV".into(), error: "500".into() },
            Incomplete::listing("advanced rule 1", "400"),
            Incomplete::Directory("listing groups: 500".into()),
            Incomplete::CrawlAborted("panicked".into()),
            Incomplete::NothingListed { indexed: 3 },
        ] {
            assert!(!may_delete_unseen(std::slice::from_ref(&reason)), "{reason}");
            assert!(!may_advance_cursor(std::slice::from_ref(&reason), 0), "{reason}");
        }
    }

    #[test]
    fn a_listing_that_found_nothing_keeps_a_full_index() {
        assert_eq!(nothing_listed(0, 1538), Some(Incomplete::NothingListed { indexed: 1538 }));
        assert_eq!(nothing_listed(0, 0), None, "an empty index of an empty site is fine");
        assert_eq!(nothing_listed(1, 1538), None, "one space is enough to judge deletions");
    }

    #[test]
    fn each_reason_reads_as_before() {
        assert_eq!(Incomplete::SpaceList("500".into()).to_string(), "listing spaces: 500");
        assert_eq!(
            Incomplete::Space { key: "DEV".into(), error: "500".into() }.to_string(),
            "space DEV: 500"
        );
        assert_eq!(Incomplete::listing("listing users", "403").to_string(), "listing users: 403");
        assert!(Incomplete::Stopped.is_stop() && !Incomplete::SpaceList(String::new()).is_stop());
    }
}
