//! A full sync: index everything in scope, skip what has not changed, and delete what is
//! gone — only where the listing completed.
//!
//! The story:
//! 1. make sure the content index exists, and read the `_id`, `_timestamp` and `space_key`
//!    of every document already in it;
//! 2. crawl Confluence (a separate task feeding a bounded channel);
//! 3. for each document: if the index holds it with the same `_timestamp`, skip it — no
//!    re-index, no re-download; otherwise download its attachment content if it has one
//!    (bounded by `concurrent_downloads`) and send it to the bulk sink;
//! 4. delete the indexed documents the crawl did not see, inside the scopes whose listings
//!    completed ([`Scope`](super::scope::Scope)) — and nowhere when the listings found nothing at all; keep the others and end the sync as incomplete.

use std::time::Instant;

use tokio::sync::mpsc;

use crate::elastic::bulk::Operation;
use crate::elastic::existing::ExistingDocs;
use crate::elastic::sink::Sink;

use super::advanced_rules;
use super::completeness::{nothing_listed, Incomplete};
use super::content::ContentSync;
use super::crawl;
use super::report::SyncReport;

impl ContentSync {
    /// Runs a full sync into `sink`, deleting from `existing` what the crawl did not see.
    /// The returned report says whether the sync completed.
    pub(super) async fn full(&self, mut existing: ExistingDocs, sink: &Sink) -> SyncReport {
        let started = Instant::now();
        let mut report = SyncReport::default();
        let (tx, rx) = mpsc::channel(self.queue_size.max(1));
        let crawler = if self.advanced.is_empty() {
            tokio::spawn(crawl::crawl(self.client.clone(), self.crawl.clone(), tx))
        } else {
            tokio::spawn(advanced_rules::crawl(
                self.client.clone(),
                self.crawl.clone(),
                self.advanced.clone(),
                tx,
            ))
        };
        let ingested = self.ingest(rx, &mut existing, sink, &mut report).await;
        if ingested.stopped {
            // Its requests in flight are dropped; what reached the sink is still written.
            crawler.abort();
            self.finish(&mut report, started);
            return report;
        }
        if let Err(e) = crawler.await {
            report.incomplete.push(Incomplete::CrawlAborted(e.to_string()));
        }

        // Every write judged first: if the error monitor stops the sink, nothing is deleted.
        sink.flush().await;
        let scope = ingested.scope;
        let nothing = nothing_listed(report.seen, existing.len());
        let listed_something = nothing.is_none();
        report.incomplete.extend(nothing);
        for (id, space_key) in existing.remaining() {
            if listed_something && scope.may_delete(space_key) {
                sink.send(Operation::Delete { id: id.to_string() }).await;
                report.deleted += 1;
            } else {
                report.kept_unverified += 1;
            }
        }
        self.finish(&mut report, started);
        report
    }
}
