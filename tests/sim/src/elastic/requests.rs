//! The request log: how many requests each route received (`POST /{index}/_bulk`) and each
//! concrete path (`POST /search-x/_bulk`), with their statuses, so tests can assert how a
//! client talked to the cluster (retries, batch counts); the bodies too when asked
//! ([`RequestLog::keep_bodies`]: which items a retry re-sent), and the most requests that
//! were in flight at once (a client's concurrency).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

/// One logged request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// HTTP method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Route pattern, e.g. `POST /{index}/_bulk`.
    pub route: String,
    /// Response status.
    pub status: u16,
    /// The request body, when bodies are kept.
    pub body: Option<Bytes>,
}

#[derive(Debug, Default)]
struct LogState {
    by_route: BTreeMap<String, u64>,
    by_path: BTreeMap<String, u64>,
    total: u64,
    entries: Vec<LoggedRequest>,
}

#[derive(Debug, Default)]
struct InFlight {
    now: AtomicUsize,
    peak: AtomicUsize,
}

/// Most entries kept (counts are kept for every request).
const MAX_ENTRIES: usize = 100_000;

/// Handle to a server's request log (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    inner: Arc<Mutex<LogState>>,
    keep_bodies: Arc<AtomicBool>,
    in_flight: Arc<InFlight>,
}

/// A request being answered; counted in flight until dropped.
#[derive(Debug)]
pub struct Answering {
    in_flight: Arc<InFlight>,
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.in_flight.now.fetch_sub(1, Ordering::Relaxed);
    }
}

impl RequestLog {
    fn state(&self) -> MutexGuard<'_, LogState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps the body of every request from now on (off by default: benchmarks send GiBs).
    pub fn keep_bodies(&self, keep: bool) {
        self.keep_bodies.store(keep, Ordering::Relaxed);
    }

    pub(crate) fn keeps_bodies(&self) -> bool {
        self.keep_bodies.load(Ordering::Relaxed)
    }

    /// Counts a request in flight while the returned guard lives.
    pub(crate) fn answering(&self) -> Answering {
        let now = self.in_flight.now.fetch_add(1, Ordering::Relaxed) + 1;
        self.in_flight.peak.fetch_max(now, Ordering::Relaxed);
        Answering { in_flight: self.in_flight.clone() }
    }

    /// The most requests that were being answered at once (since the last `clear`).
    pub fn peak_in_flight(&self) -> usize {
        self.in_flight.peak.load(Ordering::Relaxed)
    }

    pub(crate) fn record(&self, entry: LoggedRequest) {
        let mut s = self.state();
        s.total += 1;
        *s.by_route.entry(entry.route.clone()).or_default() += 1;
        *s.by_path.entry(format!("{} {}", entry.method, entry.path)).or_default() += 1;
        if s.entries.len() < MAX_ENTRIES {
            s.entries.push(entry);
        }
    }

    /// Requests received for a route pattern (`"POST /{index}/_bulk"`) or a concrete
    /// `"METHOD /path"` (`"POST /search-x/_bulk"`).
    pub fn count(&self, route: &str) -> u64 {
        let s = self.state();
        s.by_route.get(route).or_else(|| s.by_path.get(route)).copied().unwrap_or(0)
    }

    /// Requests whose concrete `METHOD /path` contains `needle` (e.g. `"_bulk"`).
    pub fn count_matching(&self, needle: &str) -> u64 {
        let s = self.state();
        s.by_path.iter().filter(|(k, _)| k.contains(needle)).map(|(_, v)| v).sum()
    }

    /// All requests received.
    pub fn total(&self) -> u64 {
        self.state().total
    }

    /// Counts per route pattern.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.state().by_route.clone()
    }

    /// The logged requests, oldest first.
    pub fn entries(&self) -> Vec<LoggedRequest> {
        self.state().entries.clone()
    }

    /// Forgets everything logged so far.
    pub fn clear(&self) {
        *self.state() = LogState::default();
        self.in_flight.peak.store(self.in_flight.now.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_route_and_path() {
        let log = RequestLog::default();
        for p in ["/a/_bulk", "/b/_bulk"] {
            log.record(LoggedRequest {
                method: "POST".into(),
                path: p.into(),
                query: String::new(),
                route: "POST /{index}/_bulk".into(),
                status: 200,
                body: None,
            });
        }
        assert_eq!(log.count("POST /{index}/_bulk"), 2);
        assert_eq!(log.count("POST /a/_bulk"), 1);
        assert_eq!(log.count_matching("_bulk"), 2);
        assert_eq!(log.total(), 2);
        log.clear();
        assert_eq!(log.total(), 0);
    }

    #[test]
    fn the_peak_of_requests_in_flight() {
        let log = RequestLog::default();
        let a = log.answering();
        let b = log.answering();
        drop(a);
        let _c = log.answering();
        drop(b);
        assert_eq!(log.peak_in_flight(), 2);
        log.clear();
        assert_eq!(log.peak_in_flight(), 1, "one is still being answered");
    }
}
