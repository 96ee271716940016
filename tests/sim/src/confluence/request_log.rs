//! Every request the simulator answered, counted per route template (`/rest/api/space`,
//! `/wiki/api/v2/spaces/{id}/pages`) and status, so tests and benchmarks can assert how many
//! requests a sync made and of which kind; the body bytes handed out; and how many files
//! were being handed out at once, at most (a count a test can assert on whatever the
//! machine's load, where a wall time cannot).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A shared, cloneable view of the request counts.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    inner: Arc<Mutex<BTreeMap<(String, u16), u64>>>,
    /// Body bytes handed to the connection, per route template.
    bytes: Arc<Mutex<BTreeMap<String, u64>>>,
    /// Files whose bodies are being handed out now, and the most there were at once.
    files: Arc<Mutex<FilesInFlight>>,
}

/// Files whose bodies are being handed out.
#[derive(Debug, Default)]
struct FilesInFlight {
    /// Now.
    now: u64,
    /// The most at once since the last reset.
    peak: u64,
}

/// One file's body being handed out, from its first byte to its last (or to the connection's
/// end): counted in [`RequestLog::peak_files_in_flight`] while it lives.
#[derive(Debug)]
pub struct FileInFlight {
    /// The log it counts in; `None` once it has ended.
    log: Option<RequestLog>,
}

impl FileInFlight {
    /// The body's last byte is handed out: the file no longer counts.
    pub fn end(&mut self) {
        if let Some(log) = self.log.take() {
            if let Ok(mut files) = log.files.lock() {
                files.now = files.now.saturating_sub(1);
            }
        }
    }
}

impl Drop for FileInFlight {
    fn drop(&mut self) {
        self.end();
    }
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

    /// Counts a file whose body starts being handed out, until the guard ends or is dropped.
    pub fn file_started(&self) -> FileInFlight {
        if let Ok(mut files) = self.files.lock() {
            files.now += 1;
            files.peak = files.peak.max(files.now);
        }
        FileInFlight { log: Some(self.clone()) }
    }

    /// The most files whose bodies were being handed out at once (attachment downloads in
    /// flight, as the server sees them).
    pub fn peak_files_in_flight(&self) -> u64 {
        self.files.lock().map(|f| f.peak).unwrap_or(0)
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
        if let Ok(mut files) = self.files.lock() {
            files.peak = files.now;
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

    #[test]
    fn files_in_flight_peak() {
        let log = RequestLog::default();
        let mut first = log.file_started();
        let second = log.file_started();
        first.end();
        let third = log.file_started();
        assert_eq!(log.peak_files_in_flight(), 2);
        drop((second, third));
        let _fourth = log.file_started();
        assert_eq!(log.peak_files_in_flight(), 2, "ended, then dropped: counted once");
        log.reset();
        assert_eq!(log.peak_files_in_flight(), 1, "the one still in flight");
    }
}
