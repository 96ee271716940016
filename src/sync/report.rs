//! What a sync did, for the log line at its end and for the exit code of `sync`.

use std::fmt;
use std::time::Duration;

use crate::confluence::StatsSnapshot;

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
    /// Text documents over `elasticsearch.bulk.max_text_document_size`, not indexed.
    pub too_large_documents: u64,
    /// Documents that failed for good, with the reason: `id (type): reason`.
    pub failed: Vec<String>,
    /// Listings that failed after their retries: the sync is incomplete.
    pub listing_failures: Vec<String>,
    /// Confluence requests made.
    pub confluence_requests: u64,
    /// Confluence requests retried.
    pub confluence_retries: u64,
    /// Confluence requests per route template and HTTP status (0: no response).
    pub confluence_routes: Vec<(String, u16, u64)>,
    /// Bytes of Confluence responses.
    pub confluence_bytes: u64,
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

    /// Records the Confluence requests a sync made.
    pub fn count_requests(&mut self, stats: &StatsSnapshot) {
        self.confluence_requests = stats.requests();
        self.confluence_retries = stats.retries;
        self.confluence_bytes = stats.bytes;
        self.confluence_routes =
            stats.by_route.iter().map(|((route, status), n)| (route.to_string(), *status, *n)).collect();
    }
}

impl SyncReport {
    /// One line: requests per route and status, most used first.
    pub fn routes_line(&self) -> String {
        let mut routes = self.confluence_routes.clone();
        routes.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        let parts: Vec<String> = routes
            .iter()
            .map(|(route, status, n)| match status {
                200 => format!("{n} {route}"),
                0 => format!("{n} {route} (no response)"),
                s => format!("{n} {route} ({s})"),
            })
            .collect();
        format!(
            "Confluence requests by route: {}; {:.1} MiB received",
            parts.join(", "),
            self.confluence_bytes as f64 / (1024.0 * 1024.0)
        )
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
        if self.too_large_documents > 0 {
            write!(f, "; {} documents over max_text_document_size not indexed", self.too_large_documents)?;
        }
        if self.kept_unverified > 0 {
            write!(f, "; {} documents kept because their listing did not complete", self.kept_unverified)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_listed_most_used_first_with_unusual_statuses() {
        let report = SyncReport {
            confluence_routes: vec![
                ("GET /rest/api/space".into(), 200, 1),
                ("GET /rest/api/content/search".into(), 200, 40),
                ("GET /rest/api/content/search".into(), 429, 2),
                ("GET /download".into(), 0, 1),
            ],
            confluence_bytes: 3 * 1024 * 1024,
            ..SyncReport::default()
        };
        assert_eq!(
            report.routes_line(),
            "Confluence requests by route: 40 GET /rest/api/content/search, 2 GET /rest/api/content/search (429), \
             1 GET /download (no response), 1 GET /rest/api/space; 3.0 MiB received"
        );
    }
}
