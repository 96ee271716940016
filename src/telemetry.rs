//! Counters of the whole process that move as the work happens, for `/metrics`: a long sync
//! is seen working while it runs, not only when it ends.
//!
//! The places that count for a sync's own report (the Confluence client's
//! [`RequestStats`](crate::confluence::stats::RequestStats), the sink's
//! [`Progress`](crate::elastic::progress::Progress)) add here too; the metrics read a
//! [`Totals`] at each scrape. Totals only grow, from the start of the process.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The process's counters.
static TELEMETRY: Telemetry = Telemetry {
    requests: Mutex::new(BTreeMap::new()),
    retries: AtomicU64::new(0),
    received_bytes: AtomicU64::new(0),
    seen: AtomicU64::new(0),
    unchanged: AtomicU64::new(0),
    indexed: AtomicU64::new(0),
    deleted: AtomicU64::new(0),
    failed: AtomicU64::new(0),
    sink_queued_bytes: AtomicU64::new(0),
    bulk_items: Mutex::new(BTreeMap::new()),
};

/// Live counters; one for the process ([`totals`]).
#[derive(Debug)]
struct Telemetry {
    /// Confluence requests by route template and status (0: no response).
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Confluence requests retried.
    retries: AtomicU64,
    /// Bytes of Confluence responses.
    received_bytes: AtomicU64,
    /// Documents the crawls produced.
    seen: AtomicU64,
    /// Of which unchanged.
    unchanged: AtomicU64,
    /// Index operations Elasticsearch confirmed.
    indexed: AtomicU64,
    /// Delete operations Elasticsearch confirmed.
    deleted: AtomicU64,
    /// Operations that failed for good.
    failed: AtomicU64,
    /// Bytes of operations waiting in the sinks' queues now.
    sink_queued_bytes: AtomicU64,
    /// `_bulk` items by result and status.
    bulk_items: Mutex<BTreeMap<(&'static str, u16), u64>>,
}

/// The counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Confluence requests by route template and status (0: no response).
    pub(crate) requests: BTreeMap<(&'static str, u16), u64>,
    /// Confluence requests retried.
    pub(crate) retries: u64,
    /// Bytes of Confluence responses.
    pub(crate) received_bytes: u64,
    /// Documents by what happened to them: `seen`, `unchanged`, `indexed`, `deleted`,
    /// `failed`.
    pub(crate) documents: [(&'static str, u64); 5],
    /// Bytes of operations waiting in the sinks' queues now (a gauge, not a total).
    pub(crate) sink_queued_bytes: u64,
    /// `_bulk` items by result (`created`, `updated`, `noop`, `deleted`, `not_found`,
    /// `rejected`, `failed`) and HTTP status (0: no answer).
    pub(crate) bulk_items: BTreeMap<(&'static str, u16), u64>,
}

/// One Confluence response (or failure, status 0) on `route`.
pub(crate) fn confluence_request(route: &'static str, status: u16) {
    let mut table = TELEMETRY.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    *table.entry((route, status)).or_default() += 1;
}

/// One Confluence request retried.
pub(crate) fn confluence_retry() {
    TELEMETRY.retries.fetch_add(1, Ordering::Relaxed);
}

/// Bytes of a Confluence response.
pub(crate) fn confluence_bytes(bytes: u64) {
    TELEMETRY.received_bytes.fetch_add(bytes, Ordering::Relaxed);
}

/// One document seen by a sync.
pub(crate) fn document_seen(unchanged: bool) {
    TELEMETRY.seen.fetch_add(1, Ordering::Relaxed);
    if unchanged {
        TELEMETRY.unchanged.fetch_add(1, Ordering::Relaxed);
    }
}

/// What Elasticsearch confirmed for a batch.
pub(crate) fn confirmed(indexed: u64, deleted: u64, failed: u64) {
    TELEMETRY.indexed.fetch_add(indexed, Ordering::Relaxed);
    TELEMETRY.deleted.fetch_add(deleted, Ordering::Relaxed);
    TELEMETRY.failed.fetch_add(failed, Ordering::Relaxed);
}

/// The items of one `_bulk` answer (or of a request that failed as a whole), counted by
/// result and status.
pub(crate) fn bulk_items(items: &BTreeMap<(&'static str, u16), u64>) {
    let mut table = TELEMETRY.bulk_items.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for (key, count) in items {
        *table.entry(*key).or_default() += count;
    }
}

/// Operations of `bytes` entered a sink's queue.
pub(crate) fn sink_queued(bytes: u64) {
    TELEMETRY.sink_queued_bytes.fetch_add(bytes, Ordering::Relaxed);
}

/// Operations of `bytes` left a sink's queue (taken to be sent, or dropped).
pub(crate) fn sink_dequeued(bytes: u64) {
    // Never below zero, whatever the order of the two calls across threads.
    let _ = TELEMETRY
        .sink_queued_bytes
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| Some(now.saturating_sub(bytes)));
}

/// The counters now.
pub(crate) fn totals() -> Totals {
    let t = &TELEMETRY;
    let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    Totals {
        requests: t.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone(),
        retries: load(&t.retries),
        received_bytes: load(&t.received_bytes),
        documents: [
            ("seen", load(&t.seen)),
            ("unchanged", load(&t.unchanged)),
            ("indexed", load(&t.indexed)),
            ("deleted", load(&t.deleted)),
            ("failed", load(&t.failed)),
        ],
        sink_queued_bytes: load(&t.sink_queued_bytes),
        bulk_items: t.bulk_items.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_gauge_never_goes_below_zero() {
        sink_queued(100);
        let during = totals().sink_queued_bytes;
        assert!(during >= 100);
        sink_dequeued(100);
        sink_dequeued(u64::MAX);
        // Other tests may queue meanwhile: small, never wrapped round to nearly u64::MAX.
        assert!(totals().sink_queued_bytes < 1 << 40);
    }
}
