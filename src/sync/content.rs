//! What every content sync (full, incremental, rule-driven) shares: the settings it runs
//! with ([`ContentSync`]) and the path each document takes from the crawl to the sink —
//! unchanged documents skipped, basic rules applied, attachment content downloaded (at most
//! `concurrent_downloads` at once, large files to disk, inside one byte budget that each
//! document's content holds in memory until Elasticsearch has answered the request that wrote
//! it: [`crate::extract::budget`]), and the rest sent to be written — a finished download at
//! once, whatever the crawl is waiting for.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::confluence::ConfluenceClient;
use crate::elastic::bulk::{elasticsearch_id, Document as Source, Operation};
use crate::elastic::error::ElasticError;
use crate::elastic::existing::ExistingDocs;
use crate::elastic::sink::Sink;
use crate::extract::budget::{DownloadBudget, Share};
use crate::rules::BasicRules;
use crate::shutdown::Shutdown;

use super::attachment::{self, ContentOutcome, ContentPolicy, Plan};
use super::completeness::Incomplete;
use super::crawl::{CrawlEvent, CrawlSettings};
use super::document::{Document, Indexed, PipelineFlags};
use super::report::SyncReport;
use super::scope::Scope;

/// Everything a content sync needs, built once by the caller.
pub(super) struct ContentSync {
    /// The Confluence client.
    pub(crate) client: Arc<ConfluenceClient>,
    /// What to crawl.
    pub(crate) crawl: Arc<CrawlSettings>,
    /// Attachment content handling.
    pub(crate) content: ContentPolicy,
    /// Attachment downloads at once.
    pub(crate) concurrent_downloads: usize,
    /// Flags for the ingest pipeline.
    pub(crate) flags: PipelineFlags,
    /// Basic sync rules (empty when none).
    pub(crate) rules: Arc<BasicRules>,
    /// Capacity of the crawl → sync channel.
    pub(crate) queue_size: usize,
    /// Advanced sync rules (CQL queries); when any, they replace the crawl by space.
    pub(crate) advanced: Arc<Vec<String>>,
    /// Text documents whose JSON is larger are not indexed (0: no limit).
    pub(crate) max_text_bytes: u64,
    /// Rewrite every document, unchanged or not: the settings that shape documents changed
    /// since the last completed sync ([`super::shape`]).
    pub(crate) rewrite_all: bool,
    /// Fires on shutdown: the crawl stops, what was sent to the sink is still written, and
    /// the sync ends incomplete (nothing deleted, the cursor stays).
    pub(crate) stop: Shutdown,
}

/// Content from which a document is serialized into a buffer of its own
/// ([`ContentSync::serialize`]).
const OWN_BUFFER: usize = 256 * 1024;

/// What a download task ends with: the document with its content and the share of the
/// budget that content holds, or the document and why the download failed.
type Downloaded = Result<(Document, ContentOutcome, Share), (Document, String)>;

/// A finished download task.
type DownloadDone = Result<Downloaded, tokio::task::JoinError>;

/// What [`ContentSync::ingest`] learned besides the report.
#[derive(Debug, Default)]
pub(super) struct Ingested {
    /// What the crawl completed.
    pub(crate) scope: Scope,
    /// Shutdown stopped the crawl before it finished.
    pub(crate) stopped: bool,
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
    /// The basic rules could not be applied to it: not written (rules fail closed), any
    /// indexed copy kept, and reported as failed.
    Unjudged(String),
}

impl ContentSync {
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
        // Only a download holding one of the client's request slots holds buffers.
        let streams = self.concurrent_downloads.min(self.client.max_concurrent_requests());
        let budget = DownloadBudget::new(self.content.memory_budget, streams);
        let mut pending: JoinSet<Downloaded> = JoinSet::new();
        let mut stop = self.stop.clone();

        loop {
            let event = tokio::select! {
                biased;
                _ = stop.wait() => {
                    ingested.stopped = true;
                    report.stop(Incomplete::Stopped);
                    // Unfinished downloads are dropped: those attachments are fetched again
                    // by the next sync, the cursor having stayed.
                    pending.shutdown().await;
                    return ingested;
                }
                // A finished download goes to the sink at once, not with the next event: the
                // crawl may wait long for one (its listing requests queue behind downloads
                // for the client's slots), and the budget the download holds comes back
                // only once Elasticsearch has its document.
                Some(done) = pending.join_next(), if !pending.is_empty() => {
                    self.downloaded(done, sink, report).await;
                    continue;
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
                    report.incomplete.push(Incomplete::SpaceList(e.to_string()));
                }
                CrawlEvent::SpaceDone(key) => scope.space_completed(&key),
                CrawlEvent::Complete => scope.everything_listed(),
                CrawlEvent::SpaceFailed(key, e) => {
                    scope.listing_failed();
                    report.incomplete.push(Incomplete::Space { key, error: e.to_string() });
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
                        Verdict::Unjudged(failure) => report.failed.push(failure),
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
                            let plan =
                                download.map(|reference| (attachment::plan(&doc, &self.content), reference));
                            match plan {
                                Some((Plan::Download { reserve, spool }, reference)) => {
                                    let (mut share, slot) = self
                                        .admit(reserve, &budget, &downloads, &mut pending, sink, report)
                                        .await;
                                    let (client, policy) = (self.client.clone(), self.content.clone());
                                    let budget = budget.clone();
                                    let mut doc = *doc;
                                    pending.spawn(async move {
                                        // The slot is the download's; the share stays with
                                        // the document until Elasticsearch has answered.
                                        let _slot = slot;
                                        match attachment::fill(
                                            &client, &mut doc, &reference, &policy, spool, &mut share,
                                            &budget,
                                        )
                                        .await
                                        {
                                            Ok(outcome) => Ok((doc, outcome, share)),
                                            Err(e) => Err((doc, e.to_string())),
                                        }
                                    });
                                }
                                Some((Plan::Skip(outcome), _)) => {
                                    count(&outcome, report);
                                    self.send(sink, *doc, None, report).await;
                                }
                                None => self.send(sink, *doc, None, report).await,
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

    /// Waits for `bytes` of the budget and a download slot. Finished downloads are handed to
    /// the sink meanwhile: the budget they hold comes back only once they are queued, so
    /// waiting without taking them would wait forever — for the budget, and for a slot too,
    /// since a spooled download keeps its slot while it waits for the budget its base64 needs.
    async fn admit(
        &self,
        bytes: u64,
        budget: &DownloadBudget,
        slots: &Arc<Semaphore>,
        pending: &mut JoinSet<Downloaded>,
        sink: &Sink,
        report: &mut SyncReport,
    ) -> (Share, Option<OwnedSemaphorePermit>) {
        let share = budget.take(bytes);
        tokio::pin!(share);
        let share = loop {
            tokio::select! {
                share = &mut share => break share,
                Some(done) = pending.join_next() => self.downloaded(done, sink, report).await,
            }
        };
        let slot = slots.clone().acquire_owned();
        tokio::pin!(slot);
        let slot = loop {
            tokio::select! {
                slot = &mut slot => break slot.ok(),
                Some(done) = pending.join_next() => self.downloaded(done, sink, report).await,
            }
        };
        (share, slot)
    }

    /// The counters every sync ends with.
    pub(super) fn finish(&self, report: &mut SyncReport, started: Instant) {
        report.count_requests(&self.client.stats());
        report.duration = started.elapsed();
    }

    fn verdict(&self, doc: &Document, existing: &mut ExistingDocs) -> Verdict {
        if !self.rules.is_empty() {
            let map = match serde_json::to_value(Indexed { doc, flags: self.flags }) {
                Ok(serde_json::Value::Object(map)) => map,
                Ok(_) => return self.unjudged(doc, existing, "it is not a JSON object".into()),
                Err(e) => return self.unjudged(doc, existing, e.to_string()),
            };
            if !self.rules.should_index(&map) {
                // Seen, and excluded: if it was indexed before, it goes whatever the
                // scope of the sync.
                let indexed = existing.take(&elasticsearch_id(&doc.id)).is_some();
                return Verdict::Filtered { indexed };
            }
        }
        match existing.take(&elasticsearch_id(&doc.id)) {
            Some((stamp, _)) if stamp == doc.stamp() && !self.rewrite_all => Verdict::Unchanged,
            Some(_) => Verdict::Write { created: false },
            None => Verdict::Write { created: true },
        }
    }

    /// A document the basic rules cannot judge: its indexed copy (if any) is neither
    /// rewritten nor deleted.
    fn unjudged(&self, doc: &Document, existing: &mut ExistingDocs, why: String) -> Verdict {
        existing.take(&elasticsearch_id(&doc.id));
        Verdict::Unjudged(format!(
            "{} ({}): basic sync rules cannot be applied: {why}",
            doc.id,
            doc.doc_type.as_str()
        ))
    }

    async fn downloaded(&self, done: DownloadDone, sink: &Sink, report: &mut SyncReport) {
        match done {
            Ok(Ok((doc, outcome, share))) => {
                count(&outcome, report);
                if let ContentOutcome::Unextracted { reason, .. } = &outcome {
                    tracing::warn!(
                        id = doc.id.as_str(),
                        title = doc.title.as_str(),
                        "attachment {:?} indexed without its text: {reason}",
                        doc.title
                    );
                }
                if let ContentOutcome::NotText { bytes } = outcome {
                    tracing::warn!(
                        id = doc.id.as_str(),
                        title = doc.title.as_str(),
                        "attachment {:?} is named as text but holds binary data ({bytes} bytes): sent as a file \
                         for the pipeline, not decoded as text",
                        doc.title
                    );
                }
                // The share goes with the document: given back once Elasticsearch has answered
                // the request that wrote it (or at once, if it is not written).
                self.send(sink, doc, Some(share), report).await;
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

    /// The document's `_source`. A file goes beside the other fields, as downloaded: the
    /// sink writes its base64 straight into the `_bulk` body. A large text is written into a
    /// buffer of its own, sized once: the shared serialization arena would grow by doubling
    /// (copying the text each time) and keep the whole grown chunk alive with whatever else
    /// is cut from it later.
    fn serialize(&self, doc: &Document) -> Result<Source, ElasticError> {
        let indexed = Indexed { doc, flags: self.flags };
        if let Some(file) = &doc.attachment {
            return Source::serialize_with_file(&doc.id, &indexed, file.clone());
        }
        let content = doc.body.as_ref().map_or(0, String::len);
        if content < OWN_BUFFER {
            return Source::serialize(&doc.id, &indexed);
        }
        // Room for the other fields and for some escaping in a text body.
        let mut json = Vec::with_capacity(content + content / 16 + 64 * 1024);
        serde_json::to_writer(&mut json, &indexed)
            .map_err(|e| ElasticError::Document { id: doc.id.clone(), reason: e.to_string() })?;
        Source::raw(&doc.id, json.into())
    }

    /// The size of `source` when `doc` is a text document (no `_attachment`) over
    /// `max_text_document_size`. The cap is the text documents' (as Elastic's): a file's
    /// `_attachment` is the pipeline's to read, bounded by the download size cap instead.
    fn over_text_cap(&self, doc: &Document, source: &Result<Source, ElasticError>) -> Option<u64> {
        match source {
            Ok(Source::Raw(bytes))
                if self.max_text_bytes > 0
                    && doc.attachment.is_none()
                    && bytes.len() as u64 > self.max_text_bytes =>
            {
                Some(bytes.len() as u64)
            }
            _ => None,
        }
    }

    /// Sends `doc` to be written; `share` is the budget its content holds, which the sink
    /// gives back once Elasticsearch has answered.
    async fn send(&self, sink: &Sink, mut doc: Document, share: Option<Share>, report: &mut SyncReport) {
        let mut source = self.serialize(&doc);
        // A text document over the cap would fail a whole `_bulk` request: it is indexed
        // without its text (as one over the download cap is without content), counted, and
        // named in the log; unchanged, it is not read again by the next sync.
        if let Some(size) = self.over_text_cap(&doc, &source) {
            report.too_large_documents += 1;
            tracing::warn!(
                id = doc.id.as_str(),
                title = doc.title.as_str(),
                bytes = size,
                "{} {:?} is over elasticsearch.bulk.max_text_document_size ({size} bytes): indexed without its text",
                doc.doc_type.as_str(),
                doc.title
            );
            doc.body = None;
            source = self.serialize(&doc);
            if self.over_text_cap(&doc, &source).is_some() {
                report.failed.push(format!(
                    "{} ({}): over elasticsearch.bulk.max_text_document_size even without its text",
                    doc.id,
                    doc.doc_type.as_str()
                ));
                return;
            }
        }
        match source {
            Ok(source) => {
                // The document's own copy of its content goes before the wait for room in the
                // queue: only the serialized source waits there.
                let id = std::mem::take(&mut doc.id);
                drop(doc);
                sink.send_holding(Operation::Index { id, doc: source }, share).await
            }
            Err(e) => report.failed.push(format!("{} ({}): {e}", doc.id, doc.doc_type.as_str())),
        }
    }
}

/// Counts what happened to one attachment's content.
fn count(outcome: &ContentOutcome, report: &mut SyncReport) {
    match outcome {
        ContentOutcome::Extracted { bytes } => {
            report.downloaded += 1;
            report.downloaded_bytes += bytes;
        }
        ContentOutcome::NotText { bytes } => {
            report.downloaded += 1;
            report.downloaded_bytes += bytes;
            report.not_text += 1;
        }
        ContentOutcome::TooLarge => report.too_large += 1,
        ContentOutcome::Unextracted { bytes, .. } => {
            report.downloaded += 1;
            report.downloaded_bytes += bytes;
            report.unextracted += 1;
        }
        ContentOutcome::Skipped => {}
    }
}
