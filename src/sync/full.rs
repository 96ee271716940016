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
//!    completed ([`Scope`]); keep the others and end the sync as incomplete.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use crate::confluence::ConfluenceClient;
use crate::elastic::bulk::{elasticsearch_id, Document as Source, Operation};
use crate::elastic::existing::ExistingDocs;
use crate::elastic::sink::Sink;
use crate::rules::BasicRules;
use crate::service::Shutdown;

use super::advanced_rules;
use super::attachment::{self, ContentOutcome, ContentPolicy};
use super::crawl::{self, CrawlEvent, CrawlSettings};
use super::document::{Document, Indexed, PipelineFlags};
use super::report::SyncReport;
use super::scope::Scope;

/// Everything a content sync needs, built once by the caller.
pub struct ContentSync {
    /// The Confluence client.
    pub client: Arc<ConfluenceClient>,
    /// What to crawl.
    pub crawl: Arc<CrawlSettings>,
    /// Attachment content handling.
    pub content: ContentPolicy,
    /// Attachment downloads at once.
    pub concurrent_downloads: usize,
    /// Flags for the ingest pipeline.
    pub flags: PipelineFlags,
    /// Basic sync rules (empty when none).
    pub rules: Arc<BasicRules>,
    /// Capacity of the crawl → sync channel.
    pub queue_size: usize,
    /// Advanced sync rules (CQL queries); when any, they replace the crawl by space.
    pub advanced: Arc<Vec<String>>,
    /// Text documents whose JSON is larger are not indexed (0: no limit).
    pub max_text_bytes: u64,
    /// Rewrite every document, unchanged or not: the settings that shape documents changed
    /// since the last completed sync ([`super::shape`]).
    pub rewrite_all: bool,
    /// Fires on shutdown: the crawl stops, what was sent to the sink is still written, and
    /// the sync ends incomplete (nothing deleted, the cursor stays).
    pub stop: Shutdown,
}

/// Why a sync stopped early, as its report says.
pub const STOPPED: &str =
    "stopped before the crawl finished: shutdown was requested, or the sync lease was lost";

/// A finished download task: the document with its content, or the document and why the
/// download failed.
type DownloadDone = Result<Result<(Document, ContentOutcome), (Document, String)>, tokio::task::JoinError>;

/// What [`ContentSync::ingest`] learned besides the report.
#[derive(Debug, Default)]
pub(super) struct Ingested {
    /// What the crawl completed.
    pub scope: Scope,
    /// Shutdown stopped the crawl before it finished.
    pub stopped: bool,
}

/// What a document becomes on its way to the sink.
enum Verdict {
    Unchanged,
    /// Excluded by a basic rule; `indexed` when the index holds it.
    Filtered {
        indexed: bool,
    },
    /// Indexed anew (`created`) or again.
    Write {
        created: bool,
    },
}

impl ContentSync {
    /// Runs a full sync into `sink`, deleting from `existing` what the crawl did not see.
    /// The returned report says whether the sync completed.
    pub async fn full(&self, mut existing: ExistingDocs, sink: &Sink) -> SyncReport {
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
            report.listing_failures.push(format!("the crawl stopped: {e}"));
        }

        // Every write judged first: if the error monitor stops the sink, nothing is deleted.
        sink.flush().await;
        let scope = ingested.scope;
        for (id, space_key) in existing.remaining() {
            if scope.may_delete(space_key) {
                sink.send(Operation::Delete { id: id.to_string() }).await;
                report.deleted += 1;
            } else {
                report.kept_unverified += 1;
            }
        }
        self.finish(&mut report, started);
        report
    }

    /// Writes what the crawl sends (skipping what has not changed, downloading attachment
    /// content on the way) until the crawl ends; returns what the crawl completed.
    pub(super) async fn ingest(
        &self,
        mut rx: mpsc::Receiver<CrawlEvent>,
        existing: &mut ExistingDocs,
        sink: &Sink,
        report: &mut SyncReport,
    ) -> Ingested {
        let mut ingested = Ingested::default();
        let downloads = Arc::new(Semaphore::new(self.concurrent_downloads.max(1)));
        let mut pending: JoinSet<Result<(Document, ContentOutcome), (Document, String)>> = JoinSet::new();
        let mut stop = self.stop.clone();

        loop {
            let event = tokio::select! {
                biased;
                _ = stop.wait() => {
                    ingested.stopped = true;
                    report.stopped.get_or_insert_with(|| STOPPED.to_string());
                    // Unfinished downloads are dropped: those attachments are fetched again
                    // by the next sync, the cursor having stayed.
                    pending.shutdown().await;
                    return ingested;
                }
                event = rx.recv() => match event {
                    Some(event) => event,
                    None => break,
                },
            };
            let scope = &mut ingested.scope;
            match event {
                CrawlEvent::SpaceList(keys) => scope.space_list_completed(keys),
                CrawlEvent::SpaceListFailed(e) => {
                    scope.listing_failed();
                    report.listing_failures.push(format!("listing spaces: {e}"));
                }
                CrawlEvent::SpaceDone(key) => scope.space_completed(&key),
                CrawlEvent::Complete => scope.everything_listed(),
                CrawlEvent::SpaceFailed(key, e) => {
                    scope.listing_failed();
                    report.listing_failures.push(format!("space {key}: {e}"));
                }
                CrawlEvent::Malformed(key, e) => {
                    scope.item_skipped(&key);
                    report.failed.push(format!("space {key}: {e}"));
                }
                CrawlEvent::Document(doc, download) => {
                    report.seen += 1;
                    let verdict = self.verdict(&doc, existing);
                    sink.document_seen(matches!(verdict, Verdict::Unchanged));
                    match verdict {
                        Verdict::Unchanged => report.unchanged += 1,
                        Verdict::Filtered { indexed } => {
                            report.filtered += 1;
                            if indexed {
                                sink.send(Operation::Delete { id: elasticsearch_id(&doc.id).into_owned() })
                                    .await;
                                report.deleted += 1;
                            }
                        }
                        Verdict::Write { created } => {
                            if created {
                                report.created += 1;
                            } else {
                                report.updated += 1;
                            }
                            match download {
                                Some(reference) => {
                                    let (client, policy) = (self.client.clone(), self.content);
                                    let permit = downloads.clone().acquire_owned().await;
                                    let mut doc = *doc;
                                    pending.spawn(async move {
                                        let _permit = permit;
                                        match attachment::fill(&client, &mut doc, &reference, policy).await {
                                            Ok(outcome) => Ok((doc, outcome)),
                                            Err(e) => Err((doc, e.to_string())),
                                        }
                                    });
                                }
                                None => self.send(sink, &doc, report).await,
                            }
                        }
                    }
                }
            }
            // Hand finished downloads to the sink as they come, keeping memory bounded.
            while let Some(done) = pending.try_join_next() {
                self.downloaded(done, sink, report).await;
            }
        }
        while let Some(done) = pending.join_next().await {
            self.downloaded(done, sink, report).await;
        }
        ingested
    }

    /// The counters every sync ends with.
    pub(super) fn finish(&self, report: &mut SyncReport, started: Instant) {
        report.count_requests(&self.client.stats());
        report.duration = started.elapsed();
    }

    fn verdict(&self, doc: &Document, existing: &mut ExistingDocs) -> Verdict {
        if !self.rules.is_empty() {
            if let Ok(serde_json::Value::Object(map)) =
                serde_json::to_value(Indexed { doc, flags: self.flags })
            {
                if !self.rules.should_index(&map) {
                    // Seen, and excluded: if it was indexed before, it goes whatever the
                    // scope of the sync.
                    let indexed = existing.take(&elasticsearch_id(&doc.id)).is_some();
                    return Verdict::Filtered { indexed };
                }
            }
        }
        match existing.take(&elasticsearch_id(&doc.id)) {
            Some((stamp, _)) if stamp == doc.stamp() && !self.rewrite_all => Verdict::Unchanged,
            Some(_) => Verdict::Write { created: false },
            None => Verdict::Write { created: true },
        }
    }

    async fn downloaded(&self, done: DownloadDone, sink: &Sink, report: &mut SyncReport) {
        match done {
            Ok(Ok((doc, outcome))) => {
                match outcome {
                    ContentOutcome::Extracted { bytes } => {
                        report.downloaded += 1;
                        report.downloaded_bytes += bytes;
                    }
                    ContentOutcome::TooLarge => report.too_large += 1,
                    ContentOutcome::Skipped => {}
                }
                self.send(sink, &doc, report).await;
            }
            Ok(Err((doc, reason))) => {
                // Not indexed: the next sync sees it as new or changed and tries again.
                report
                    .failed
                    .push(format!("{} (attachment {:?}): download failed: {reason}", doc.id, doc.title));
            }
            Err(e) => report.failed.push(format!("a download task ended abnormally: {e}")),
        }
    }

    async fn send(&self, sink: &Sink, doc: &Document, report: &mut SyncReport) {
        match Source::serialize(&doc.id, &Indexed { doc, flags: self.flags }) {
            // As Elastic's sink does: a text document (no `_attachment`) over the cap is
            // dropped and counted, so one huge page cannot fail a whole `_bulk` request.
            Ok(Source::Raw(bytes))
                if self.max_text_bytes > 0
                    && doc.attachment_base64.is_none()
                    && bytes.len() as u64 > self.max_text_bytes =>
            {
                report.too_large_documents += 1;
                tracing::warn!(
                    id = doc.id.as_str(),
                    bytes = bytes.len(),
                    "over elasticsearch.bulk.max_text_document_size: not indexed"
                );
            }
            Ok(source) => sink.send(Operation::Index { id: doc.id.clone(), doc: source }).await,
            Err(e) => report.failed.push(format!("{} ({}): {e}", doc.id, doc.doc_type.as_str())),
        }
    }
}
