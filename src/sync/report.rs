//! What a sync did, for the log line at its end and for the exit code of `sync`.

use std::fmt;
use std::time::Duration;

/// Counters of one sync.
#[derive(Debug, Default, Clone)]
pub struct SyncReport {
    /// Documents the crawl produced.
    pub seen: u64,
    /// New documents indexed.
    pub created: u64,
    /// Changed documents re-indexed.
    pub updated: u64,
    /// Documents whose `_timestamp` had not changed: neither re-indexed nor re-downloaded.
    pub unchanged: u64,
    /// Documents removed by basic rules (and deleted if indexed before).
    pub filtered: u64,
    /// Indexed documents deleted because they are no longer in scope.
    pub deleted: u64,
    /// Indexed documents kept because their scope's listing did not complete.
    pub kept_unverified: u64,
    /// Attachments whose content was downloaded.
    pub downloaded: u64,
    /// Bytes downloaded.
    pub downloaded_bytes: u64,
    /// Attachments over the size limit, indexed without content.
    pub too_large: u64,
    /// Documents that failed for good, with the reason: `id (type): reason`.
    pub failed: Vec<String>,
    /// Listings that failed after their retries: the sync is incomplete.
    pub listing_failures: Vec<String>,
    /// Confluence requests made.
    pub confluence_requests: u64,
    /// Confluence requests retried.
    pub confluence_retries: u64,
    /// `_bulk` requests made.
    pub bulk_requests: u64,
    /// Wall time.
    pub duration: Duration,
}

impl SyncReport {
    /// True when every listing completed.
    pub fn completed(&self) -> bool {
        self.listing_failures.is_empty()
    }

    /// Documents written (created + updated).
    pub fn indexed(&self) -> u64 {
        self.created + self.updated
    }
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} documents seen: {} created, {} updated, {} unchanged, {} filtered, {} deleted, {} failed; \
             {} attachments downloaded ({:.1} MiB, {} too large); {} Confluence requests ({} retried), \
             {} _bulk requests; {:.1}s",
            self.seen,
            self.created,
            self.updated,
            self.unchanged,
            self.filtered,
            self.deleted,
            self.failed.len(),
            self.downloaded,
            self.downloaded_bytes as f64 / (1024.0 * 1024.0),
            self.too_large,
            self.confluence_requests,
            self.confluence_retries,
            self.bulk_requests,
            self.duration.as_secs_f64()
        )?;
        if self.kept_unverified > 0 {
            write!(f, "; {} documents kept because their listing did not complete", self.kept_unverified)?;
        }
        Ok(())
    }
}
