//! The bulk sink: operations in, `_bulk` requests out.
//!
//! A task fed by a bounded channel (back-pressure reaches the crawl) encodes operations
//! straight into an NDJSON buffer; a batch closes at `chunk_size` lines or
//! `chunk_max_mem_size` bytes (closing *before* an operation that would cross either, and
//! after one that reaches it, as Elastic's sink does). Up to `max_concurrency` requests are
//! in flight. A whole request that fails with 429/5xx or no answer is sent again; items
//! rejected with 429/5xx are sent again *alone*; items that fail for good are listed in the
//! [`SinkReport`] with their id, operation, error type and reason — nothing is dropped
//! silently.

use std::fmt;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use elasticsearch::http::headers::{HeaderMap, HeaderValue, CONTENT_TYPE};
use elasticsearch::http::Method;
use elasticsearch::Elasticsearch;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::bulk::{encode, OpKind, Operation};
use super::options::ElasticOptions;
use super::retry::{item_verdict, request_status_is_transient, ItemVerdict, RetryPolicy};

/// An item that failed for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFailure {
    /// The document id as the sync gave it.
    pub id: String,
    /// Index or delete.
    pub op: OpKind,
    /// HTTP status of the item (0 when the whole request failed).
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

/// What the sink wrote.
#[derive(Debug, Default, Clone)]
pub struct SinkReport {
    /// Documents indexed (created or replaced).
    pub indexed: u64,
    /// Documents deleted (or already gone).
    pub deleted: u64,
    /// Items that failed for good.
    pub failed: Vec<ItemFailure>,
    /// NDJSON bytes sent (first attempts).
    pub bytes: u64,
    /// `_bulk` requests made, retries included.
    pub requests: u64,
    /// Items sent again after a 429/5xx.
    pub retried_items: u64,
    /// Whole requests sent again.
    pub retried_requests: u64,
    /// From start to finish.
    pub duration: Duration,
}

impl SinkReport {
    fn absorb(&mut self, other: SinkReport) {
        self.indexed += other.indexed;
        self.deleted += other.deleted;
        self.failed.extend(other.failed);
        self.bytes += other.bytes;
        self.requests += other.requests;
        self.retried_items += other.retried_items;
        self.retried_requests += other.retried_requests;
    }
}

/// A running sink. [`Sink::finish`] flushes and returns the report.
pub struct Sink {
    tx: mpsc::Sender<Operation>,
    task: JoinHandle<SinkReport>,
}

/// Where and how batches go.
#[derive(Clone)]
struct Target {
    es: Elasticsearch,
    path: String,
    query: Vec<(String, String)>,
    policy: RetryPolicy,
}

impl Sink {
    /// Starts the sink task for `index`.
    pub fn start(es: Elasticsearch, index: &str, options: &ElasticOptions) -> Sink {
        let (tx, rx) = mpsc::channel(options.bulk.queue_size.max(1));
        let mut query = Vec::new();
        if let Some(pipeline) = &options.bulk.pipeline {
            query.push(("pipeline".to_string(), pipeline.clone()));
        }
        let target = Target {
            es,
            path: format!("/{index}/_bulk"),
            query,
            policy: RetryPolicy { max_retries: options.max_retries, interval: options.retry_interval },
        };
        let task = tokio::spawn(run(rx, target, options.clone()));
        Sink { tx, task }
    }

    /// Queues an operation, waiting while the queue is full.
    pub async fn send(&self, op: Operation) {
        // The task only ends after `finish` drops the sender, so this cannot fail before.
        let _ = self.tx.send(op).await;
    }

    /// Flushes everything and waits for the requests in flight.
    pub async fn finish(self) -> SinkReport {
        drop(self.tx);
        match self.task.await {
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
        }
    }
}

/// One batch: the NDJSON body and the operations in it (kept for per-item retries).
struct Batch {
    body: BytesMut,
    ops: Vec<Operation>,
    lines: usize,
}

impl Batch {
    fn new() -> Self {
        Batch { body: BytesMut::new(), ops: Vec::new(), lines: 0 }
    }
}

async fn run(mut rx: mpsc::Receiver<Operation>, target: Target, options: ElasticOptions) -> SinkReport {
    let started = Instant::now();
    let mut report = SinkReport::default();
    let mut in_flight: JoinSet<SinkReport> = JoinSet::new();
    let mut batch = Batch::new();
    let (max_lines, max_bytes) = (options.bulk.chunk_size.max(1), options.bulk.chunk_max_mem_size.max(1));
    let mut written_since_log = 0u64;
    while let Some(op) = rx.recv().await {
        let lines = op.kind().lines();
        let before = batch.body.len();
        if let Err(e) = encode(&op, &mut batch.body) {
            report.failed.push(ItemFailure {
                id: op.id().to_string(),
                op: op.kind(),
                status: 0,
                error_type: "serialization".into(),
                reason: e.to_string(),
            });
            continue;
        }
        let size = batch.body.len() - before;
        // Close the batch before this operation if it would cross a limit.
        if !batch.ops.is_empty() && (batch.lines + lines > max_lines || before + size > max_bytes) {
            let mut full = std::mem::replace(&mut batch, Batch::new());
            let tail = full.body.split_off(before);
            batch.body = tail;
            dispatch(full, &target, &mut in_flight, &mut report, options.bulk.max_concurrency).await;
        }
        batch.ops.push(op);
        batch.lines += lines;
        if batch.lines >= max_lines || batch.body.len() >= max_bytes {
            let full = std::mem::replace(&mut batch, Batch::new());
            dispatch(full, &target, &mut in_flight, &mut report, options.bulk.max_concurrency).await;
        }
        written_since_log += 1;
        if written_since_log >= options.bulk.display_every.max(1) {
            written_since_log = 0;
            tracing::info!(
                indexed = report.indexed,
                deleted = report.deleted,
                failed = report.failed.len(),
                "bulk progress"
            );
        }
    }
    if !batch.ops.is_empty() {
        dispatch(batch, &target, &mut in_flight, &mut report, options.bulk.max_concurrency).await;
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
) {
    while in_flight.len() >= max_concurrency.max(1) {
        if let Some(done) = in_flight.join_next().await {
            absorb(report, done);
        }
    }
    let target = target.clone();
    in_flight.spawn(async move { send_batch(&target, batch).await });
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
    error: Option<ItemError>,
}

#[derive(Deserialize)]
struct ItemError {
    #[serde(default, rename = "type")]
    error_type: String,
    #[serde(default)]
    reason: String,
}

/// Sends one batch with its retries; the report of what became of its items.
async fn send_batch(target: &Target, batch: Batch) -> SinkReport {
    let mut report = SinkReport { bytes: batch.body.len() as u64, ..SinkReport::default() };
    let mut ops = batch.ops;
    let mut body = batch.body.freeze();
    let mut retry = 0u32;
    loop {
        report.requests += 1;
        let outcome = post(target, body.clone()).await;
        let (status, text) = match outcome {
            Ok(answer) => answer,
            Err(reason) => (0, reason),
        };
        if status == 0 || request_status_is_transient(status) {
            if retry < target.policy.max_retries {
                retry += 1;
                report.retried_requests += 1;
                tokio::time::sleep(target.policy.delay(retry)).await;
                continue;
            }
            fail_all(
                &mut report,
                &ops,
                status,
                "request_failed",
                &format!("_bulk failed after {} attempts: {}", retry + 1, short(&text)),
            );
            return report;
        }
        if !(200..300).contains(&status) {
            let error: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let error_type = error["error"]["type"].as_str().unwrap_or("request_rejected").to_string();
            let reason =
                error["error"]["reason"].as_str().map(str::to_string).unwrap_or_else(|| short(&text));
            fail_all(&mut report, &ops, status, &error_type, &reason);
            return report;
        }
        let response: BulkResponse = match serde_json::from_str(&text) {
            Ok(r) => r,
            Err(e) => {
                fail_all(&mut report, &ops, status, "unreadable_response", &e.to_string());
                return report;
            }
        };
        let mut again = Vec::new();
        for (i, op) in ops.into_iter().enumerate() {
            let Some(item) = response.items.get(i).and_then(|m| m.values().next()) else {
                report.failed.push(failure(
                    &op,
                    0,
                    "missing_item",
                    "no result for this item in the _bulk answer",
                ));
                continue;
            };
            match item_verdict(op.kind(), item.status) {
                ItemVerdict::Indexed => report.indexed += 1,
                ItemVerdict::Deleted | ItemVerdict::AlreadyDeleted => report.deleted += 1,
                ItemVerdict::Retry if retry < target.policy.max_retries => again.push(op),
                ItemVerdict::Retry | ItemVerdict::Failed => {
                    let (t, r) = item
                        .error
                        .as_ref()
                        .map(|e| (e.error_type.as_str(), e.reason.as_str()))
                        .unwrap_or(("unknown", "no error detail"));
                    report.failed.push(failure(&op, item.status, t, r));
                }
            }
        }
        if again.is_empty() {
            return report;
        }
        retry += 1;
        report.retried_items += again.len() as u64;
        tokio::time::sleep(target.policy.delay(retry)).await;
        let mut buf = BytesMut::new();
        let mut kept = Vec::with_capacity(again.len());
        for op in again {
            match encode(&op, &mut buf) {
                Ok(()) => kept.push(op),
                Err(e) => report.failed.push(failure(&op, 0, "serialization", &e.to_string())),
            }
        }
        if kept.is_empty() {
            return report;
        }
        ops = kept;
        body = buf.freeze();
    }
}

fn failure(op: &Operation, status: u16, error_type: &str, reason: &str) -> ItemFailure {
    ItemFailure {
        id: op.id().to_string(),
        op: op.kind(),
        status,
        error_type: error_type.into(),
        reason: reason.into(),
    }
}

fn fail_all(report: &mut SinkReport, ops: &[Operation], status: u16, error_type: &str, reason: &str) {
    for op in ops {
        report.failed.push(failure(op, status, error_type, reason));
    }
}

fn short(text: &str) -> String {
    text.chars().take(300).collect()
}

/// One `_bulk` POST: `(status, body)`, or why no answer came.
async fn post(target: &Target, body: Bytes) -> Result<(u16, String), String> {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    let response = target
        .es
        .send(Method::Post, &target.path, headers, Some(&target.query), Some(body), None)
        .await
        .map_err(|e| super::request::cause(&e))?;
    let status = response.status_code().as_u16();
    let text = response.text().await.map_err(|e| e.to_string())?;
    Ok((status, text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elastic::bulk::Document;
    use serde_json::json;

    #[test]
    fn item_failures_read_well() {
        let op = Operation::Index { id: "42".into(), doc: Document::Json(json!({})) };
        let f =
            failure(&op, 400, "document_parsing_exception", "failed to parse field [size] of type [long]");
        assert_eq!(
            f.to_string(),
            "index 42 (400): document_parsing_exception: failed to parse field [size] of type [long]"
        );
    }
}
