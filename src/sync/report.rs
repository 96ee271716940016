//! What a sync did, for the log line at its end and for the exit code of `sync`.

use std::fmt;
use std::time::Duration;

use crate::confluence::StatsSnapshot;
use crate::elastic::sink::SinkReport;

use super::completeness::{self, Incomplete};

/// Counters of one sync.
#[derive(Debug, Default, Clone)]
pub struct SyncReport {
    /// Documents the crawl produced.
    pub seen: u64,
    /// New documents: sent to be indexed while the sync runs; once it ended, those
    /// Elasticsearch confirmed it created ([`SyncReport::absorb_sink`]).
    pub created: u64,
    /// Changed documents: sent to be re-indexed while the sync runs; once it ended, those
    /// Elasticsearch confirmed it replaced.
    pub updated: u64,
    /// Documents whose `_timestamp` had not changed: neither re-indexed nor re-downloaded.
    pub unchanged: u64,
    /// Documents removed by basic rules (and deleted if indexed before).
    pub filtered: u64,
    /// Indexed documents sent to be deleted because they are no longer in scope (or excluded
    /// by a rule); see `es_deleted`.
    pub deleted: u64,
    /// Indexed documents kept because their scope's listing did not complete.
    pub kept_unverified: u64,
    /// Attachments whose content was downloaded.
    pub downloaded: u64,
    /// Bytes downloaded.
    pub downloaded_bytes: u64,
    /// Attachments over the size limit, indexed without content.
    pub too_large: u64,
    /// Attachments named as text (`.txt`, `.csv`…) that held binary data: sent as files
    /// (`_attachment`) rather than decoded into garbage text.
    pub not_text: u64,
    /// Attachments whose text could not be extracted (the extraction service refused or did
    /// not answer, or the local reader could not read the file): indexed without content,
    /// each named in the log.
    pub unextracted: u64,
    /// Text documents over `elasticsearch.bulk.max_text_document_size`, indexed without
    /// their text.
    pub too_large_documents: u64,
    /// Documents that failed for good, with the reason: `id (type): reason`.
    pub failed: Vec<String>,
    /// Why the sync is incomplete, if it is: listings that failed after their retries,
    /// shutdown or a lost lease, the error monitor stopping the sink.
    pub incomplete: Vec<Incomplete>,
    /// Confluence requests made.
    pub confluence_requests: u64,
    /// Confluence requests retried.
    pub(crate) confluence_retries: u64,
    /// Confluence requests per route template and HTTP status (0: no response).
    pub(crate) confluence_routes: Vec<(String, u16, u64)>,
    /// Bytes of Confluence responses.
    pub(crate) confluence_bytes: u64,
    /// `_bulk` requests made, retries included.
    pub(crate) bulk_requests: u64,
    /// Whole `_bulk` requests sent again (429/5xx/no answer).
    pub(crate) bulk_retried_requests: u64,
    /// `_bulk` items sent again alone (rejected with 429/5xx).
    pub(crate) bulk_retried_items: u64,
    /// NDJSON bytes sent to Elasticsearch, retries included.
    pub bulk_bytes: u64,
    /// The most bytes of operations that waited at once in the sink's queue: at its bound
    /// (`queue_max_mem_size`) when Elasticsearch was slower than the crawl.
    pub(crate) sink_queue_peak_bytes: u64,
    /// Other Elasticsearch requests (refresh, point in time, search, index setup) retried.
    pub(crate) es_retries: u64,
    /// Documents Elasticsearch confirmed indexed.
    pub es_indexed: u64,
    /// Documents Elasticsearch confirmed deleted (or already gone).
    pub(crate) es_deleted: u64,
    /// Operations not sent because the error monitor stopped the sink.
    pub(crate) es_not_sent: u64,
    /// Wall time.
    pub(crate) duration: Duration,
}

impl SyncReport {
    /// True when every listing completed and nothing stopped the sync.
    pub fn completed(&self) -> bool {
        self.incomplete.is_empty()
    }

    /// Whether this sync may move the cursor ([`completeness::may_advance_cursor`]).
    pub(crate) fn may_advance_cursor(&self) -> bool {
        completeness::may_advance_cursor(&self.incomplete, self.failed.len())
    }

    /// Records that the sync stopped early (once, however many parts of it noticed).
    pub(crate) fn stop(&mut self, why: Incomplete) {
        if !self.incomplete.iter().any(Incomplete::is_stop) {
            self.incomplete.insert(0, why);
        }
    }

    /// Why the sync stopped early, if it did — shutdown, a lost lease, or the error monitor
    /// stopping the sink.
    pub fn stopped(&self) -> Option<String> {
        self.incomplete.iter().find(|reason| reason.is_stop()).map(ToString::to_string)
    }

    /// The listings that failed after their retries.
    pub fn listing_failures(&self) -> impl Iterator<Item = &Incomplete> {
        self.incomplete.iter().filter(|reason| !reason.is_stop())
    }

    /// Why the sync is incomplete, when it is.
    pub fn incomplete_reason(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(why) = self.stopped() {
            parts.push(why);
        }
        let listings: Vec<String> = self.listing_failures().map(ToString::to_string).collect();
        if !listings.is_empty() {
            parts.push(format!(
                "{} listing(s) failed, nothing was deleted in their scope: {}",
                listings.len(),
                listings.join("; ")
            ));
        }
        (!parts.is_empty()).then(|| format!("sync incomplete: {}", parts.join("; ")))
    }

    /// Adds what the sink wrote, as Elasticsearch confirmed it; `es_retries` are the other
    /// requests' retries.
    pub fn absorb_sink(&mut self, written: &SinkReport, es_retries: u64) {
        self.bulk_requests = written.requests;
        self.bulk_retried_requests = written.retried_requests;
        self.bulk_retried_items = written.retried_items;
        self.bulk_bytes = written.bytes;
        self.sink_queue_peak_bytes = written.peak_queued_bytes;
        self.es_retries = es_retries;
        self.es_indexed = written.indexed;
        self.es_deleted = written.deleted;
        // What Elasticsearch confirmed, not what was sent: a document whose write failed is
        // counted under `failed`, never as created.
        self.created = written.created;
        self.updated = written.indexed.saturating_sub(written.created);
        self.es_not_sent = written.discarded;
        if let Some(why) = &written.stopped {
            self.stop(Incomplete::SinkStopped(why.clone()));
        }
        for failure in &written.failed {
            self.failed.push(failure.to_string());
        }
    }

    /// Logs every failure: the count at warn, the first ones at warn and the rest at debug.
    pub(crate) fn log_failures(&self) {
        const AT_WARN: usize = 20;
        if self.failed.is_empty() {
            return;
        }
        tracing::warn!(
            failed = self.failed.len(),
            "{} documents failed{}",
            self.failed.len(),
            if self.failed.len() > AT_WARN { " (all of them are logged at debug level)" } else { "" }
        );
        for (i, failure) in self.failed.iter().enumerate() {
            if i < AT_WARN {
                tracing::warn!("failed: {failure}");
            } else {
                tracing::debug!("failed: {failure}");
            }
        }
    }

    /// Documents written (created + updated).
    pub fn indexed(&self) -> u64 {
        self.created + self.updated
    }

    /// Records the Confluence requests a sync made.
    pub(crate) fn count_requests(&mut self, stats: &StatsSnapshot) {
        self.confluence_requests = stats.requests();
        self.confluence_retries = stats.retries;
        self.confluence_bytes = stats.bytes;
        self.confluence_routes =
            stats.by_route.iter().map(|((route, status), n)| (route.to_string(), *status, *n)).collect();
    }
}

impl SyncReport {
    /// Logs the end of a sync as one event: the prose line for people, and every count as
    /// its own field (numbers in JSON logs) for machines.
    pub(crate) fn log_finished(&self, kind: &str, index: &str) {
        tracing::info!(
            event = "sync_report",
            kind,
            index,
            complete = self.incomplete.is_empty(),
            seen = self.seen,
            created = self.created,
            updated = self.updated,
            unchanged = self.unchanged,
            filtered = self.filtered,
            deleted = self.deleted,
            failed = self.failed.len() as u64,
            es_indexed = self.es_indexed,
            es_deleted = self.es_deleted,
            downloaded = self.downloaded,
            downloaded_bytes = self.downloaded_bytes,
            too_large = self.too_large,
            confluence_requests = self.confluence_requests,
            confluence_retries = self.confluence_retries,
            bulk_requests = self.bulk_requests,
            bulk_retried_items = self.bulk_retried_items,
            bulk_bytes = self.bulk_bytes,
            es_retries = self.es_retries,
            duration_seconds = self.duration.as_secs_f64(),
            "{kind} sync of {index}: {self}"
        );
    }

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
             Elasticsearch confirmed {} indexed and {} deleted; \
             {} attachments downloaded ({:.1} MiB, {} too large); {} Confluence requests ({} retried), \
             {} _bulk requests ({} retried, {} items retried, {:.1} MiB sent, sink queue peak {:.1} MiB), {} other Elasticsearch requests retried; {:.1}s",
            self.seen,
            self.created,
            self.updated,
            self.unchanged,
            self.filtered,
            self.deleted,
            self.failed.len(),
            self.es_indexed,
            self.es_deleted,
            self.downloaded,
            self.downloaded_bytes as f64 / (1024.0 * 1024.0),
            self.too_large,
            self.confluence_requests,
            self.confluence_retries,
            self.bulk_requests,
            self.bulk_retried_requests,
            self.bulk_retried_items,
            self.bulk_bytes as f64 / (1024.0 * 1024.0),
            self.sink_queue_peak_bytes as f64 / (1024.0 * 1024.0),
            self.es_retries,
            self.duration.as_secs_f64()
        )?;
        if self.too_large_documents > 0 {
            write!(
                f,
                "; {} documents over max_text_document_size indexed without their text",
                self.too_large_documents
            )?;
        }
        if self.not_text > 0 {
            write!(f, "; {} attachments named as text held binary data (sent as files)", self.not_text)?;
        }
        if self.unextracted > 0 {
            write!(f, "; {} attachments indexed without their text (extraction failed)", self.unextracted)?;
        }
        if self.kept_unverified > 0 {
            write!(f, "; {} documents kept because their listing did not complete", self.kept_unverified)?;
        }
        if self.es_not_sent > 0 {
            write!(f, "; {} operations not sent after the error monitor stopped the sync", self.es_not_sent)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_is_one_event_with_its_counts_as_fields() {
        let report = SyncReport { seen: 10, created: 8, updated: 1, unchanged: 1, ..SyncReport::default() };
        let events = crate::logging::capture_json(|| report.log_finished("full", "search-wiki"));
        assert_eq!(events.len(), 1, "{events:?}");
        let event = &events[0];
        assert_eq!(event["event"], "sync_report");
        assert_eq!(event["kind"], "full");
        assert_eq!(event["index"], "search-wiki");
        assert_eq!(event["seen"], 10);
        assert_eq!(event["created"], 8);
        assert_eq!(event["failed"], 0);
        assert_eq!(event["complete"], true);
        assert!(event["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("full sync of search-wiki: 10 documents seen")));
    }

    #[test]
    fn the_sink_report_is_merged_with_what_elasticsearch_confirmed() {
        use crate::elastic::bulk::OpKind;
        use crate::elastic::sink::ItemFailure;
        let written = SinkReport {
            indexed: 7,
            created: 6,
            deleted: 2,
            requests: 4,
            retried_requests: 1,
            retried_items: 3,
            bytes: 3 * 1024 * 1024,
            peak_queued_bytes: 512 * 1024,
            discarded: 5,
            failed: vec![ItemFailure {
                id: "42".into(),
                op: OpKind::Index,
                status: 400,
                error_type: "document_parsing_exception".into(),
                reason: "failed to parse field [size]".into(),
            }],
            stopped: Some("too many errors writing to Elasticsearch: …".into()),
            ..SinkReport::default()
        };
        let mut report = SyncReport { seen: 10, created: 8, deleted: 2, ..SyncReport::default() };
        report.absorb_sink(&written, 2);
        assert_eq!(
            report.failed,
            ["index 42 (400): document_parsing_exception: failed to parse field [size]"]
        );
        let line = report.to_string();
        assert!(line.contains("6 created, 1 updated"), "what Elasticsearch confirmed: {line}");
        assert!(line.contains("Elasticsearch confirmed 7 indexed and 2 deleted"), "{line}");
        assert!(
            line.contains(
                "4 _bulk requests (1 retried, 3 items retried, 3.0 MiB sent, sink queue peak 0.5 MiB)"
            ),
            "{line}"
        );
        assert!(line.contains("2 other Elasticsearch requests retried"), "{line}");
        assert!(line.contains("5 operations not sent"), "{line}");
        assert!(!report.completed(), "a stopped sink makes the sync incomplete");
        let why = report.incomplete_reason().unwrap();
        assert!(why.starts_with("sync incomplete: too many errors"), "{why}");
        assert!(SyncReport::default().incomplete_reason().is_none());
    }

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
