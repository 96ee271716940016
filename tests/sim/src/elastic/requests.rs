//! The request log: how many requests each route received (`POST /{index}/_bulk`) and each
//! concrete path (`POST /search-x/_bulk`), with their statuses, so tests can assert how a
//! client talked to the cluster (retries, batch counts).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

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
}

#[derive(Debug, Default)]
struct LogState {
    by_route: BTreeMap<String, u64>,
    by_path: BTreeMap<String, u64>,
    total: u64,
    entries: Vec<LoggedRequest>,
}

/// Most entries kept (counts are kept for every request).
const MAX_ENTRIES: usize = 100_000;

/// Handle to a server's request log (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    inner: Arc<Mutex<LogState>>,
}

impl RequestLog {
    fn state(&self) -> MutexGuard<'_, LogState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
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
            });
        }
        assert_eq!(log.count("POST /{index}/_bulk"), 2);
        assert_eq!(log.count("POST /a/_bulk"), 1);
        assert_eq!(log.count_matching("_bulk"), 2);
        assert_eq!(log.total(), 2);
        log.clear();
        assert_eq!(log.total(), 0);
    }
}
