//! Counters of every request a client made, for the sync report.
//!
//! Requests are counted by route template (`GET /api/v2/spaces/{id}/pages`, never the
//! concrete URL, so the table stays short) and status (`0` stands for "no response":
//! connection errors and timeouts), plus retries and bytes received.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Live counters, shared by all requests of a client.
#[derive(Debug, Default)]
pub(crate) struct RequestStats {
    by_route: Mutex<BTreeMap<(&'static str, u16), u64>>,
    retries: AtomicU64,
    bytes: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Requests per (route template, status); status 0 = no response.
    pub by_route: BTreeMap<(&'static str, u16), u64>,
    /// Retries made (attempts after a first failure).
    pub retries: u64,
    /// Response body bytes received.
    pub(crate) bytes: u64,
}

impl StatsSnapshot {
    /// Total requests sent.
    pub(crate) fn requests(&self) -> u64 {
        self.by_route.values().sum()
    }
}

impl RequestStats {
    /// Counts one response (or failure, status 0) on a route.
    pub(crate) fn record(&self, route: &'static str, status: u16) {
        crate::telemetry::confluence_request(route, status);
        let mut table = self.by_route.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *table.entry((route, status)).or_default() += 1;
    }

    /// Counts one retry.
    pub(crate) fn record_retry(&self) {
        crate::telemetry::confluence_retry();
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts body bytes received.
    pub(crate) fn record_bytes(&self, bytes: u64) {
        crate::telemetry::confluence_bytes(bytes);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The counters now.
    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            by_route: self.by_route.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone(),
            retries: self.retries.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
}

impl fmt::Display for StatsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} requests, {} retries, {} bytes received", self.requests(), self.retries, self.bytes)?;
        for ((route, status), count) in &self.by_route {
            let status = if *status == 0 { "no response".to_string() } else { status.to_string() };
            writeln!(f, "  {count:>8}  {status:<11}  {route}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_route_and_status() {
        let stats = RequestStats::default();
        stats.record("GET /rest/api/space", 200);
        stats.record("GET /rest/api/space", 200);
        stats.record("GET /rest/api/space", 429);
        stats.record_retry();
        stats.record_bytes(10);
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.requests(), 3);
        assert_eq!(snapshot.by_route[&("GET /rest/api/space", 200)], 2);
        assert!(snapshot.to_string().contains("3 requests, 1 retries, 10 bytes"));
    }
}
