//! The bulk sink: operations in, `_bulk` requests out.
//!
//! Operations wait in a [`queue`](super::queue) bounded by count and bytes (back-pressure
//! reaches the crawl); a task writes them into [`batch`](super::batch)es and keeps up to
//! `max_concurrency` requests in flight. A whole request that fails with 429/5xx or no
//! answer is sent again (`elasticsearch.max_retries`, `retry_interval`; timeouts only with
//! `retry_on_timeout`); items rejected with 429/5xx are sent again *alone*, copied out of the
//! sent body (`bulk.max_retries`, `bulk.retry_interval`); items that fail for good are listed
//! in the [`SinkReport`] with their id, operation, error type and reason — nothing is dropped
//! silently. The [`ErrorMonitor`] stops the sink when errors pile up: what is still queued is
//! then not sent, and the report says why.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use elasticsearch::http::headers::{HeaderMap, HeaderValue, CONTENT_TYPE};
use elasticsearch::http::Method;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::batch::{Batch, Batcher, BufferPool};
use super::bulk::{OpKind, Operation};
use super::client::EsClient;
use super::monitor::ErrorMonitor;
use super::options::ElasticOptions;
use super::progress::Progress;
use super::progress_bar::Bar;
use super::queue::{queue, Message, QueueSender};
use super::retry::{item_verdict, request_status_is_transient, ItemVerdict, RetryPolicy};

/// Room above `chunk_max_mem_size` in a batch buffer: the operation that crosses the limit
/// is written before the batch closes.
const BUFFER_HEADROOM: usize = 64 * 1024;

/// An item that failed for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFailure {
    /// The document id as the sync gave it.
    pub id: String,
    /// Index or delete.
    pub op: OpKind,
    /// HTTP status of the item (0 when the whole request got no answer).
    pub status: u16,
    /// Elasticsearch's error type (`document_parsing_exception`…).
    pub error_type: String,
    /// Elasticsearch's reason.
    pub reason: String,
}

impl fmt::Display for ItemFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({}): {}: {}", self.op, self.id, self.status, self.error_type, self.reason)
    }
}

/// What the sink wrote, as Elasticsearch confirmed it.
#[derive(Debug, Default, Clone)]
pub struct SinkReport {
    /// Index operations queued.
    pub queued_index: u64,
    /// Delete operations queued.
    pub queued_delete: u64,
    /// Documents Elasticsearch confirmed indexed (created or replaced).
    pub indexed: u64,
    /// Of which created (201).
    pub created: u64,
    /// Documents Elasticsearch confirmed deleted (or already gone).
    pub deleted: u64,
    /// Items that failed for good.
    pub failed: Vec<ItemFailure>,
    /// Operations not sent because the sink stopped (see `stopped`).
    pub discarded: u64,
    /// NDJSON bytes sent, retries included.
    pub bytes: u64,
    /// `_bulk` requests made, retries included.
    pub requests: u64,
    /// Items sent again after a 429/5xx.
    pub retried_items: u64,
    /// Whole requests sent again.
    pub retried_requests: u64,
    /// The most bytes of operations that waited in the queue at once.
    pub peak_queued_bytes: u64,
    /// Why the error monitor stopped the sink, if it did: the sync is then incomplete.
    pub stopped: Option<String>,
    /// From start to finish.
    pub duration: Duration,
}

impl SinkReport {
    fn absorb(&mut self, other: SinkReport) {
        self.indexed += other.indexed;
        self.created += other.created;
        self.deleted += other.deleted;
        self.failed.extend(other.failed);
        self.discarded += other.discarded;
        self.bytes += other.bytes;
        self.requests += other.requests;
        self.retried_items += other.retried_items;
        self.retried_requests += other.retried_requests;
    }
}

/// What the sync's task and the requests in flight share.
#[derive(Debug)]
struct Shared {
    progress: Arc<Progress>,
    monitor: Mutex<ErrorMonitor>,
    stopped: AtomicBool,
    discarded: AtomicU64,
    queued_index: AtomicU64,
    queued_delete: AtomicU64,
    log_operations: bool,
}

impl Shared {
    fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    fn discard(&self, n: usize) {
        self.discarded.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn monitor(&self) -> std::sync::MutexGuard<'_, ErrorMonitor> {
        // A poisoned lock only means a request task panicked; the counts are still usable.
        self.monitor.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops the sink once the monitor has tripped (and says so, once).
    fn stop_if_tripped(&self) {
        let why = self.monitor().tripped().map(str::to_string);
        if let Some(why) = why {
            if !self.stopped.swap(true, Ordering::Relaxed) {
                tracing::error!("{why}; the sync stops here and deletes nothing");
            }
        }
    }
}

/// A running sink. [`Sink::finish`] flushes and returns the report.
pub struct Sink {
    queue: QueueSender,
    shared: Arc<Shared>,
    task: JoinHandle<SinkReport>,
    bar: Option<Bar>,
}

/// Where and how batches go.
#[derive(Clone)]
struct Target {
    es: EsClient,
    path: String,
    query: Vec<(String, String)>,
    requests: RetryPolicy,
    items: RetryPolicy,
    pool: BufferPool,
}

impl Sink {
    /// Starts the sink task for `index`.
    pub fn start(es: EsClient, index: &str, options: &ElasticOptions) -> Sink {
        let bulk = &options.bulk;
        let (queue, rx) = queue(bulk.queue_size, bulk.queue_max_mem_size);
        let mut query = Vec::new();
        if let Some(pipeline) = &bulk.pipeline {
            query.push(("pipeline".to_string(), pipeline.clone()));
        }
        let progress = Arc::new(Progress::new(bulk.display_every));
        let shared = Arc::new(Shared {
            progress: progress.clone(),
            monitor: Mutex::new(ErrorMonitor::new(bulk.error_monitor)),
            stopped: AtomicBool::new(false),
            discarded: AtomicU64::new(0),
            queued_index: AtomicU64::new(0),
            queued_delete: AtomicU64::new(0),
            log_operations: bulk.log_operations,
        });
        let chunk_bytes = bulk.chunk_max_mem_size.max(1);
        let target = Target {
            es,
            path: format!("/{index}/_bulk"),
            query,
            requests: options.request_policy(),
            items: options.item_policy(),
            // Every request in flight, the batch being filled and one retry.
            pool: BufferPool::new(chunk_bytes + BUFFER_HEADROOM, bulk.max_concurrency.max(1) + 2),
        };
        let batcher = Batcher::new(target.pool.clone(), bulk.chunk_size, chunk_bytes);
        let task = tokio::spawn(run(rx, target, batcher, bulk.max_concurrency.max(1), shared.clone()));
        Sink { queue, shared, task, bar: Bar::start(index, progress) }
    }

    /// Queues an operation, waiting while the queue is full (by count or bytes). After the
    /// error monitor stopped the sink, the operation is counted as not sent.
    pub async fn send(&self, op: Operation) {
        if self.shared.is_stopped() {
            self.shared.discard(1);
            return;
        }
        let counter = match op.kind() {
            OpKind::Index => &self.shared.queued_index,
            OpKind::Delete => &self.shared.queued_delete,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let size = op.queued_size();
        if self.queue.send(op, size).await.is_err() {
            self.shared.discard(1);
        }
    }

    /// Waits until everything sent before is written and confirmed (or failed): a sync calls
    /// it before deleting what it did not see, so that deletes only start once the error
    /// monitor has judged every write before them.
    pub async fn flush(&self) {
        self.queue.flush().await;
    }

    /// One document the sync saw, written or not: what progress lines count.
    pub fn document_seen(&self, unchanged: bool) {
        self.shared.progress.document_seen(unchanged);
    }

    /// Whether the error monitor stopped the sink (what is sent from now on is not written).
    pub fn is_stopped(&self) -> bool {
        self.shared.is_stopped()
    }

    /// Bytes of operations waiting in the queue now.
    pub fn queued_bytes(&self) -> usize {
        self.queue.queued_bytes()
    }

    /// Flushes everything and waits for the requests in flight.
    pub async fn finish(self) -> SinkReport {
        let Sink { queue, shared, task, bar } = self;
        let peak = queue.peak_bytes() as u64;
        drop(queue);
        let mut report = match task.await {
            Ok(report) => report,
            Err(e) => SinkReport {
                failed: vec![ItemFailure {
                    id: "(sink)".into(),
                    op: OpKind::Index,
                    status: 0,
                    error_type: "sink_task_failed".into(),
                    reason: e.to_string(),
                }],
                ..SinkReport::default()
            },
        };
        drop(bar);
        report.peak_queued_bytes = peak;
        report.queued_index = shared.queued_index.load(Ordering::Relaxed);
        report.queued_delete = shared.queued_delete.load(Ordering::Relaxed);
        report.discarded = shared.discarded.load(Ordering::Relaxed);
        report.stopped = shared.monitor().tripped().map(str::to_string);
        report
    }
}

async fn run(
    mut rx: mpsc::Receiver<Message>,
    target: Target,
    mut batcher: Batcher,
    max_concurrency: usize,
    shared: Arc<Shared>,
) -> SinkReport {
    let started = Instant::now();
    let mut report = SinkReport::default();
    let mut in_flight: JoinSet<SinkReport> = JoinSet::new();
    while let Some(message) = rx.recv().await {
        let queued = match message {
            Message::Op(queued) => queued,
            Message::Flush(done) => {
                if let Some(batch) = batcher.finish() {
                    dispatch(batch, &target, &mut in_flight, &mut report, max_concurrency, &shared).await;
                }
                while let Some(finished) = in_flight.join_next().await {
                    absorb(&mut report, finished);
                }
                let _ = done.send(());
                continue;
            }
        };
        if shared.is_stopped() {
            // Drained, not sent: senders are told at once from now on.
            rx.close();
            shared.discard(1);
            continue;
        }
        let closed = batcher.push(&queued.op);
        let op = &queued.op;
        match closed {
            Ok(closed) => {
                drop(queued);
                for batch in closed {
                    dispatch(batch, &target, &mut in_flight, &mut report, max_concurrency, &shared).await;
                }
            }
            Err(e) => {
                let f = failure(op.id(), op.kind(), 0, "serialization", &e.to_string());
                shared.monitor().error(|| f.to_string());
                record(&shared, &mut report, 0, 0, vec![f]);
            }
        }
    }
    if let Some(batch) = batcher.finish() {
        dispatch(batch, &target, &mut in_flight, &mut report, max_concurrency, &shared).await;
    }
    while let Some(done) = in_flight.join_next().await {
        absorb(&mut report, done);
    }
    report.duration = started.elapsed();
    report
}

fn absorb(report: &mut SinkReport, done: Result<SinkReport, tokio::task::JoinError>) {
    match done {
        Ok(r) => report.absorb(r),
        Err(e) => report.failed.push(ItemFailure {
            id: "(batch)".into(),
            op: OpKind::Index,
            status: 0,
            error_type: "bulk_task_failed".into(),
            reason: e.to_string(),
        }),
    }
}

/// Sends a batch, first waiting for a free slot among the requests in flight.
async fn dispatch(
    batch: Batch,
    target: &Target,
    in_flight: &mut JoinSet<SinkReport>,
    report: &mut SinkReport,
    max_concurrency: usize,
    shared: &Arc<Shared>,
) {
    while in_flight.len() >= max_concurrency {
        if let Some(done) = in_flight.join_next().await {
            absorb(report, done);
        }
    }
    if shared.is_stopped() {
        shared.discard(batch.items.len());
        target.pool.give(batch.body.freeze());
        return;
    }
    let (target, shared) = (target.clone(), shared.clone());
    in_flight.spawn(async move { send_batch(&target, batch, &shared).await });
}

#[derive(Deserialize)]
struct BulkResponse {
    #[serde(default)]
    items: Vec<std::collections::HashMap<String, BulkItem>>,
}

#[derive(Deserialize)]
struct BulkItem {
    status: u16,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    error: Option<ItemError>,
}

#[derive(Deserialize)]
struct ItemError {
    #[serde(default, rename = "type")]
    error_type: String,
    #[serde(default)]
    reason: String,
}

/// A request that failed as a whole, for every item in it.
struct RequestFailure {
    status: u16,
    error_type: String,
    reason: String,
}

/// Sends one batch with its retries; the report of what became of its items.
async fn send_batch(target: &Target, batch: Batch, shared: &Shared) -> SinkReport {
    let mut report = SinkReport::default();
    let mut items = batch.items;
    let mut body = batch.body.freeze();
    let mut round = 0u32;
    loop {
        let response = match post_with_retries(target, &body, &mut report).await {
            Ok(response) => response,
            Err(f) => {
                let failures: Vec<ItemFailure> = items
                    .iter()
                    .map(|i| failure(&i.id, i.kind, f.status, &f.error_type, &f.reason))
                    .collect();
                {
                    let mut monitor = shared.monitor();
                    for f in &failures {
                        monitor.error(|| f.to_string());
                    }
                }
                record(shared, &mut report, 0, 0, failures);
                target.pool.give(body);
                return report;
            }
        };
        let (mut indexed, mut deleted, mut failures, mut again) = (0, 0, Vec::new(), Vec::new());
        {
            let mut monitor = shared.monitor();
            for (i, item) in items.into_iter().enumerate() {
                let Some(result) = response.items.get(i).and_then(|m| m.values().next()) else {
                    let f = failure(
                        &item.id,
                        item.kind,
                        0,
                        "missing_item",
                        "no result for this item in the _bulk answer",
                    );
                    monitor.error(|| f.to_string());
                    failures.push(f);
                    continue;
                };
                if shared.log_operations {
                    tracing::debug!(
                        id = item.id.as_str(),
                        op = item.kind.as_str(),
                        status = result.status,
                        result = result.result.as_deref().unwrap_or(""),
                        error = result.error.as_ref().map(|e| e.error_type.as_str()).unwrap_or(""),
                        "_bulk item"
                    );
                }
                match item_verdict(item.kind, result.status) {
                    ItemVerdict::Indexed => {
                        indexed += 1;
                        if result.status == 201 {
                            report.created += 1;
                        }
                        monitor.success();
                    }
                    ItemVerdict::Deleted | ItemVerdict::AlreadyDeleted => {
                        deleted += 1;
                        monitor.success();
                    }
                    ItemVerdict::Retry if round < target.items.max_retries => again.push(item),
                    ItemVerdict::Retry | ItemVerdict::Failed => {
                        let (t, r) = result
                            .error
                            .as_ref()
                            .map(|e| (e.error_type.as_str(), e.reason.as_str()))
                            .unwrap_or(("unknown", "no error detail"));
                        let f = failure(&item.id, item.kind, result.status, t, r);
                        monitor.error(|| f.to_string());
                        failures.push(f);
                    }
                }
            }
        }
        record(shared, &mut report, indexed, deleted, failures);
        if again.is_empty() {
            target.pool.give(body);
            return report;
        }
        if shared.is_stopped() {
            shared.discard(again.len());
            target.pool.give(body);
            return report;
        }
        round += 1;
        report.retried_items += again.len() as u64;
        let wait = target.items.delay(round);
        tracing::debug!(
            items = again.len(),
            round,
            "re-sending _bulk items rejected with 429/5xx in {wait:?}"
        );
        tokio::time::sleep(wait).await;
        let next = Batch::subset(&target.pool, &body, again);
        target.pool.give(body);
        items = next.items;
        body = next.body.freeze();
    }
}

/// Adds a response's outcome to the report and the progress, and stops the sink when the
/// monitor (which has seen the failures) tripped.
fn record(shared: &Shared, report: &mut SinkReport, indexed: u64, deleted: u64, failures: Vec<ItemFailure>) {
    if !failures.is_empty() {
        shared.stop_if_tripped();
    }
    shared.progress.confirmed(indexed, deleted, failures.len() as u64);
    report.indexed += indexed;
    report.deleted += deleted;
    report.failed.extend(failures);
}

/// Posts `body`, retrying whole-request failures; the parsed answer.
async fn post_with_retries(
    target: &Target,
    body: &Bytes,
    report: &mut SinkReport,
) -> Result<BulkResponse, RequestFailure> {
    let policy = target.requests;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        report.requests += 1;
        report.bytes += body.len() as u64;
        let outcome = post(target, body.clone()).await;
        let transient = match &outcome {
            Ok((status, _)) => request_status_is_transient(*status),
            Err((timed_out, _)) => policy.retries_no_answer(*timed_out),
        };
        if transient && attempt <= policy.max_retries {
            let wait = policy.delay(attempt);
            match &outcome {
                Ok((status, _)) => tracing::warn!(
                    path = target.path.as_str(),
                    status,
                    attempt,
                    "_bulk answered {status}; retrying in {wait:?}"
                ),
                Err((_, reason)) => tracing::warn!(
                    path = target.path.as_str(),
                    attempt,
                    "_bulk got no answer ({reason}); retrying in {wait:?}"
                ),
            }
            report.retried_requests += 1;
            tokio::time::sleep(wait).await;
            continue;
        }
        let (status, text) = match outcome {
            Ok(answer) => answer,
            Err((_, reason)) => {
                return Err(RequestFailure {
                    status: 0,
                    error_type: "request_failed".into(),
                    reason: format!("_bulk got no answer after {attempt} attempt(s): {}", short(&reason)),
                })
            }
        };
        if !(200..300).contains(&status) {
            let error: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let error_type = error["error"]["type"].as_str().unwrap_or("request_rejected").to_string();
            let mut reason =
                error["error"]["reason"].as_str().map(str::to_string).unwrap_or_else(|| short(&text));
            if attempt > 1 {
                reason.push_str(&format!(" (after {attempt} attempts)"));
            }
            return Err(RequestFailure { status, error_type, reason });
        }
        return serde_json::from_str(&text).map_err(|e| RequestFailure {
            status,
            error_type: "unreadable_response".into(),
            reason: e.to_string(),
        });
    }
}

fn failure(id: &str, op: OpKind, status: u16, error_type: &str, reason: &str) -> ItemFailure {
    ItemFailure { id: id.to_string(), op, status, error_type: error_type.into(), reason: reason.into() }
}

fn short(text: &str) -> String {
    text.chars().take(300).collect()
}

/// One `_bulk` POST: `(status, body)`, or `(timed out, why)` when no answer came.
async fn post(target: &Target, body: Bytes) -> Result<(u16, String), (bool, String)> {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    let response = target
        .es
        .elasticsearch()
        .send(Method::Post, &target.path, headers, Some(&target.query), Some(body), None)
        .await
        .map_err(|e| (e.is_timeout(), super::request::cause(&e)))?;
    let status = response.status_code().as_u16();
    let text = response.text().await.map_err(|e| (e.is_timeout(), super::request::cause(&e)))?;
    Ok((status, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_failures_read_well() {
        let f = failure(
            "42",
            OpKind::Index,
            400,
            "document_parsing_exception",
            "failed to parse field [size] of type [long]",
        );
        assert_eq!(
            f.to_string(),
            "index 42 (400): document_parsing_exception: failed to parse field [size] of type [long]"
        );
    }
}
