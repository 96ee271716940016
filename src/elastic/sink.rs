//! The bulk sink: operations in, `_bulk` requests out.
//!
//! Operations wait in a [`queue`](super::queue) bounded by count and bytes (back-pressure
//! reaches the crawl); a task writes them into [`batch`](super::batch)es and keeps up to
//! `max_concurrency` requests in flight. A whole request that fails with 429/5xx or no
//! answer is sent again (`elasticsearch.max_retries`, `retry_interval`; timeouts only with
//! `retry_on_timeout`); items rejected with 429/5xx are sent again *alone*, copied out of the
//! sent body into a later batch after a short wait that holds no request slot (see
//! [`pump`] and [`super::retry`]); items that fail for good are listed
//! in the [`SinkReport`] with their id, operation, error type and reason — nothing is dropped
//! silently. The [`ErrorMonitor`] stops the sink when errors pile up: what is still queued is
//! then not sent, and the report says why.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::batch::{Batcher, BufferPool};
use super::bulk::{OpKind, Operation};
use super::client::EsClient;
use super::lease::Fence;
use super::monitor::ErrorMonitor;
use super::options::ElasticOptions;
use super::progress::Progress;
use super::progress_bar::Bar;
use super::queue::{queue, QueueSender};
use super::retry::RetryPolicy;
use crate::extract::budget::Share;

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
    /// Why the error monitor or the lease's fence stopped the sink, if either did: the sync
    /// is then incomplete.
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
    /// The sync lease's fence: once it closes nothing more is sent.
    fence: Option<Fence>,
    discarded: AtomicU64,
    queued_index: AtomicU64,
    queued_delete: AtomicU64,
    log_operations: bool,
    /// Items of recent answers: rejected with 429/5xx, and all.
    recent: Mutex<Recent>,
}

/// Counts of the items of recent answers, halved as they grow so that they follow the
/// cluster's current state: the share rejected is what [`RetryPolicy::item_delay`] reads as
/// the cluster's load. Sink-wide, since the few items of a single small retry answer say
/// little.
#[derive(Debug, Default)]
struct Recent {
    rejected: u64,
    all: u64,
}

/// Items over which [`Recent`] keeps its counts (about).
const RECENT_ITEMS: u64 = 2000;

impl Recent {
    /// Counts one answer; the share rejected of recent items, this answer's included.
    fn add(&mut self, rejected: u64, all: u64) -> f64 {
        self.rejected += rejected;
        self.all += all;
        if self.all > RECENT_ITEMS {
            self.rejected /= 2;
            self.all /= 2;
        }
        self.rejected as f64 / self.all.max(1) as f64
    }
}

impl Shared {
    fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed) || self.fenced()
    }

    /// The sync lease's fence closed: writes must stop.
    fn fenced(&self) -> bool {
        self.fence.as_ref().is_some_and(|fence| !fence.holds())
    }

    /// Why the sink stopped, if it did: the error monitor, or the lease's fence.
    fn stop_reason(&self) -> Option<String> {
        if let Some(why) = self.monitor().tripped() {
            return Some(why.to_string());
        }
        self.fenced().then(|| FENCE_CLOSED.to_string())
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

/// Why a sink stopped when the sync lease's fence closed.
pub const FENCE_CLOSED: &str =
    "the sync lease could not be renewed in time or was taken over: writes stopped before it could lapse";

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
    fence: Option<Fence>,
}

impl Sink {
    /// Starts the sink task for `index`, for writes no lease guards.
    pub fn start(es: EsClient, index: &str, options: &ElasticOptions) -> Sink {
        Sink::start_fenced(es, index, options, None)
    }

    /// Starts the sink task for `index`; nothing is sent once `fence` closes (the sync
    /// lease is in doubt), not even a retry of a batch already sent.
    pub fn start_fenced(es: EsClient, index: &str, options: &ElasticOptions, fence: Option<Fence>) -> Sink {
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
            fence: fence.clone(),
            discarded: AtomicU64::new(0),
            queued_index: AtomicU64::new(0),
            queued_delete: AtomicU64::new(0),
            log_operations: bulk.log_operations,
            recent: Mutex::default(),
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
            fence,
        };
        let batcher = Batcher::new(target.pool.clone(), bulk.chunk_size, chunk_bytes);
        let task = tokio::spawn(run(rx, target, batcher, bulk.max_concurrency.max(1), shared.clone()));
        Sink { queue, shared, task, bar: Bar::start(index, progress) }
    }

    /// Queues an operation, waiting while the queue is full (by count or bytes). After the
    /// error monitor stopped the sink, the operation is counted as not sent.
    pub async fn send(&self, op: Operation) {
        self.send_holding(op, None).await;
    }

    /// Queues an operation like [`Sink::send`], with the share of the content budget its
    /// document's content holds ([`crate::extract::budget`]): the queue's byte bound does not
    /// apply to it (the budget bounds it), and the share is given back once Elasticsearch
    /// has answered the request that wrote it — or at once if it is not sent.
    pub async fn send_holding(&self, op: Operation, held: Option<Share>) {
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
        if op.kind() == OpKind::Index {
            self.shared.progress.queued_for_indexing(size as u64);
        }
        if self.queue.send(op, size, held).await.is_err() {
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

    /// Its live counters, for a driver that reports progress while the sync runs.
    pub fn progress(&self) -> Arc<Progress> {
        self.shared.progress.clone()
    }

    /// Whether the error monitor or the lease's fence stopped the sink (what is sent from now
    /// on is not written).
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
        report.stopped = shared.stop_reason();
        report
    }
}

mod pump;
mod send;

use pump::{run, BatchOutcome, Waiting};

#[cfg(test)]
mod tests;
