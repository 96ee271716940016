//! One `_bulk` request: a batch posted with the retries of every request, and its answer
//! read item by item — written, failed for good (and why), or rejected with 429/5xx and
//! handed back to wait outside the request slots.

use std::collections::BTreeMap;

use bytes::Bytes;
use elasticsearch::http::headers::{HeaderMap, HeaderValue, CONTENT_TYPE};
use elasticsearch::http::Method;
use rand::Rng;
use serde::Deserialize;
use tokio::time::Instant;

use super::super::batch::{Batch, Rejections};
use super::super::bulk::OpKind;
use super::super::request::{send_with_retries, Request};
use super::super::retry::{item_verdict, ItemVerdict};

use super::{BatchOutcome, ItemFailure, Shared, SinkReport, Target, Waiting};

#[derive(Deserialize)]
pub(super) struct BulkResponse {
    #[serde(default)]
    pub(super) items: Vec<std::collections::HashMap<String, BulkItem>>,
}

#[derive(Deserialize)]
pub(super) struct BulkItem {
    pub(super) status: u16,
    #[serde(default)]
    pub(super) result: Option<String>,
    #[serde(default)]
    pub(super) error: Option<ItemError>,
}

#[derive(Deserialize)]
pub(super) struct ItemError {
    #[serde(default, rename = "type")]
    pub(super) error_type: String,
    #[serde(default)]
    pub(super) reason: String,
}

/// A request that failed as a whole, for every item in it.
pub(super) struct RequestFailure {
    pub(super) status: u16,
    pub(super) error_type: String,
    pub(super) reason: String,
}

/// Sends one batch (with the retries of the whole request); what became of its items, and
/// the items rejected with 429/5xx that are to be sent again.
///
/// The shares of the content budget the batch holds are given back when this returns (once
/// Elasticsearch has answered, or the request failed for good), except those of items to be
/// sent again, which go on with them.
pub(super) async fn send_batch(target: &Target, mut batch: Batch, shared: &Shared) -> BatchOutcome {
    let mut report = SinkReport::default();
    let items = std::mem::take(&mut batch.items);
    let body = std::mem::take(&mut batch.body).freeze();
    let response = match post(target, body.clone(), &mut report).await {
        Ok(response) => response,
        // Not sent (or not again) since the lease is in doubt: not written, not failed.
        Err(_) if shared.fenced() => {
            shared.discard(items.len());
            target.pool.give(body);
            return BatchOutcome { report, again: None };
        }
        Err(f) => {
            crate::telemetry::bulk_items(&BTreeMap::from([(("failed", f.status), items.len() as u64)]));
            let failures: Vec<ItemFailure> =
                items.iter().map(|i| failure(&i.id, i.kind, f.status, &f.error_type, &f.reason)).collect();
            {
                let mut monitor = shared.monitor();
                for f in &failures {
                    monitor.error(|| f.to_string());
                }
            }
            record(shared, &mut report, 0, 0, failures);
            target.pool.give(body);
            return BatchOutcome { report, again: None };
        }
    };
    let now = Instant::now();
    // One jitter for the whole answer: its rejected items leave together, and apart from
    // those of other answers.
    let jitter = rand::thread_rng().gen_range(0.5..=1.0);
    let total = items.len() as u64;
    let (mut indexed, mut deleted, mut failures, mut again) = (0, 0, Vec::new(), Vec::new());
    let mut rejected = 0u64;
    // What each item came to, for the live metrics: counted once for the whole answer.
    let mut tally: BTreeMap<(&'static str, u16), u64> = BTreeMap::new();
    {
        let mut monitor = shared.monitor();
        for (i, item) in items.into_iter().enumerate() {
            let Some(result) = response.items.get(i).and_then(|m| m.values().next()) else {
                *tally.entry(("failed", 0)).or_default() += 1;
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
            let (error_type, reason) = result
                .error
                .as_ref()
                .map(|e| (e.error_type.as_str(), e.reason.as_str()))
                .unwrap_or(("unknown", "no error detail"));
            let verdict = item_verdict(item.kind, result.status);
            let mut label = outcome(verdict, result);
            match verdict {
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
                ItemVerdict::Retry => {
                    rejected += 1;
                    let since = item.rejected.since.unwrap_or(now);
                    let retries = item.rejected.retries;
                    let stopping = target.es.stop().requested();
                    if stopping || target.items.item_gives_up(retries, now - since) {
                        let reason = format!(
                            "{reason} (rejected {} times over {:.1} s; {})",
                            retries + 1,
                            (now - since).as_secs_f64(),
                            if stopping { "not sent again: shutdown was requested" } else { "gave up" }
                        );
                        let f = failure(&item.id, item.kind, result.status, error_type, &reason);
                        monitor.error(|| f.to_string());
                        failures.push(f);
                        label = "failed";
                    } else {
                        again.push(Waiting {
                            held: batch.take_held(i),
                            lines: Bytes::copy_from_slice(&body[item.range]),
                            id: item.id,
                            kind: item.kind,
                            rejected: Rejections { retries: retries + 1, since: Some(since) },
                        });
                    }
                }
                ItemVerdict::Failed => {
                    let f = failure(&item.id, item.kind, result.status, error_type, reason);
                    monitor.error(|| f.to_string());
                    failures.push(f);
                }
            }
            *tally.entry((label, result.status)).or_default() += 1;
        }
    }
    crate::telemetry::bulk_items(&tally);
    record(shared, &mut report, indexed, deleted, failures);
    target.pool.give(body);
    // The share of recent items rejected tells how loaded the cluster is.
    let share = shared.recent.lock().unwrap_or_else(|p| p.into_inner()).add(rejected, total);
    if again.is_empty() {
        return BatchOutcome { report, again: None };
    }
    report.retried_items += again.len() as u64;
    // The item rejected most often sets the wait of all (they leave together).
    let most = again.iter().map(|w: &Waiting| w.rejected.retries).max().unwrap_or(1);
    let due = now + target.items.item_delay(most, share, jitter);
    tracing::debug!(
        items = again.len(),
        "sending _bulk items rejected with 429/5xx again in {:?}",
        due - now
    );
    BatchOutcome { report, again: Some((due, again)) }
}

/// The `result` label of an item of the live metrics: what Elasticsearch did (`created`,
/// `updated`, `noop`, `deleted`, `not_found`), `rejected` for an item rejected with 429/5xx
/// that is sent again, `failed` (one given up is failed).
fn outcome(verdict: ItemVerdict, item: &BulkItem) -> &'static str {
    match verdict {
        ItemVerdict::Indexed => match item.result.as_deref() {
            Some("noop") => "noop",
            Some("updated") => "updated",
            Some("created") => "created",
            _ if item.status == 201 => "created",
            _ => "updated",
        },
        ItemVerdict::Deleted => "deleted",
        ItemVerdict::AlreadyDeleted => "not_found",
        ItemVerdict::Retry => "rejected",
        ItemVerdict::Failed => "failed",
    }
}

/// Adds a response's outcome to the report and the progress, and stops the sink when the
/// monitor (which has seen the failures) tripped.
pub(super) fn record(
    shared: &Shared,
    report: &mut SinkReport,
    indexed: u64,
    deleted: u64,
    failures: Vec<ItemFailure>,
) {
    if !failures.is_empty() {
        shared.stop_if_tripped();
    }
    shared.progress.confirmed(indexed, deleted, failures.len() as u64);
    report.indexed += indexed;
    report.deleted += deleted;
    report.failed.extend(failures);
}

/// Posts `body` with the retries of every request ([`send_with_retries`]); the parsed
/// answer.
pub(super) async fn post(
    target: &Target,
    body: Bytes,
    report: &mut SinkReport,
) -> Result<BulkResponse, RequestFailure> {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    let size = body.len() as u64;
    let request = Request {
        method: Method::Post,
        path: &target.path,
        query: &target.query,
        headers,
        body: Some(body),
        fence: target.fence.as_ref(),
    };
    let sent =
        send_with_retries(&target.es, target.requests, &request, || report.retried_requests += 1).await;
    report.requests += u64::from(sent.attempts);
    report.bytes += size * u64::from(sent.attempts);
    let attempts = sent.attempts;
    let (status, text) = match sent.outcome {
        Ok(answer) => answer,
        Err(no_answer) => {
            return Err(RequestFailure {
                status: 0,
                error_type: "request_failed".into(),
                reason: format!(
                    "_bulk got no answer after {attempts} attempt(s): {}",
                    short(&no_answer.to_string())
                ),
            })
        }
    };
    if !(200..300).contains(&status) {
        let error: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let error_type = error["error"]["type"].as_str().unwrap_or("request_rejected").to_string();
        let mut reason =
            error["error"]["reason"].as_str().map(str::to_string).unwrap_or_else(|| short(&text));
        if attempts > 1 {
            reason.push_str(&format!(" (after {attempts} attempts)"));
        }
        return Err(RequestFailure { status, error_type, reason });
    }
    serde_json::from_str(&text).map_err(|e| RequestFailure {
        status,
        error_type: "unreadable_response".into(),
        reason: e.to_string(),
    })
}

pub(super) fn failure(id: &str, op: OpKind, status: u16, error_type: &str, reason: &str) -> ItemFailure {
    ItemFailure { id: id.to_string(), op, status, error_type: error_type.into(), reason: reason.into() }
}

pub(super) fn short(text: &str) -> String {
    text.chars().take(300).collect()
}
