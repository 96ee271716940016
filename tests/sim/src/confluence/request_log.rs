//! Every request the simulator answered, counted per route template (`/rest/api/space`,
//! `/wiki/api/v2/spaces/{id}/pages`) and status, so tests and benchmarks can assert how many
//! requests a sync made and of which kind.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A shared, cloneable view of the request counts.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    inner: Arc<Mutex<BTreeMap<(String, u16), u64>>>,
    /// Body bytes handed to the connection, per route template.
    bytes: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl RequestLog {
    /// Records one answered request.
    pub fn record(&self, route: &str, status: u16) {
        if let Ok(mut counts) = self.inner.lock() {
            *counts.entry((route.to_string(), status)).or_default() += 1;
        }
    }

    /// Counts `bytes` more of a response body to `route` handed to the connection.
    pub fn served(&self, route: &str, bytes: u64) {
        if let Ok(mut served) = self.bytes.lock() {
            *served.entry(route.to_string()).or_default() += bytes;
        }
    }

    /// Body bytes handed to the connection for every route whose template contains `part`
    /// (`download`): what a client received, or at most a socket's buffers more when it
    /// stopped reading.
    pub fn served_bytes(&self, part: &str) -> u64 {
        let served = self.bytes.lock().map(|b| b.clone()).unwrap_or_default();
        served.iter().filter(|(route, _)| route.contains(part)).map(|(_, n)| n).sum()
    }

    /// Requests to a route template, any status.
    pub fn count(&self, route: &str) -> u64 {
        self.snapshot().iter().filter(|((r, _), _)| r == route).map(|(_, n)| n).sum()
    }

    /// Requests to a route template that were answered with `status`.
    pub fn count_status(&self, route: &str, status: u16) -> u64 {
        self.snapshot().get(&(route.to_string(), status)).copied().unwrap_or(0)
    }

    /// Requests answered with `status`, any route.
    pub fn count_any_route(&self, status: u16) -> u64 {
        self.snapshot().iter().filter(|((_, s), _)| *s == status).map(|(_, n)| n).sum()
    }

    /// All requests.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// Counts per (route template, status).
    pub fn snapshot(&self) -> BTreeMap<(String, u16), u64> {
        self.inner.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Forgets every count.
    pub fn reset(&self) {
        if let Ok(mut counts) = self.inner.lock() {
            counts.clear();
        }
        if let Ok(mut served) = self.bytes.lock() {
            served.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_route_and_status() {
        let log = RequestLog::default();
        log.record("/rest/api/space", 200);
        log.record("/rest/api/space", 200);
        log.record("/rest/api/space", 429);
        log.record("/rest/api/content/search", 200);
        assert_eq!(log.count("/rest/api/space"), 3);
        assert_eq!(log.count_status("/rest/api/space", 429), 1);
        assert_eq!(log.count_any_route(200), 3);
        assert_eq!(log.total(), 4);
        log.served("/download/attachments/{id}/{file}", 10);
        log.served("/rest/api/space", 3);
        assert_eq!(log.served_bytes("download"), 10);
        log.reset();
        assert_eq!((log.total(), log.served_bytes("")), (0, 0));
    }
}
